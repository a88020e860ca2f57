"""The watcher's write-fence lines (issue 28) from the lab nodes' journals: when a watcher paused or resumed the
writes of its master. The journals of the lab's containers live in /run, so a killed node forgets them: a soak
collects them before every fault (FenceLog.collect) and keeps what it has seen."""

from __future__ import annotations

import lab

PAUSED, RESUMED = "writes paused", "writes resumed"
WATCH_UNIT = "redis-vip-watch"


def fence_lines(node: str, since_epoch: float | None = None) -> list[tuple[float, str]]:
    """[(epoch, line)] of the node's watcher journal (this boot) that tell a pause or a resume."""
    cmd = ["exec", node, "journalctl", "--no-pager", "-o", "short-unix", "-u", WATCH_UNIT]
    if since_epoch is not None:
        cmd += ["--since", "@%d" % int(since_epoch)]
    res = lab.docker(*cmd, check=False, timeout=30)
    found = []
    for line in res.stdout.splitlines():
        if PAUSED in line or RESUMED in line:
            stamp, _, text = line.partition(" ")
            try:
                found.append((float(stamp), text))
            except ValueError:
                continue
    return found


class FenceLog:
    """Every fence line seen on any node since `since_epoch`, kept across node restarts."""

    def __init__(self, since_epoch: float):
        self.since, self.seen = since_epoch, set()

    def collect(self, nodes) -> None:
        for node in nodes:
            for stamp, text in fence_lines(node, self.since):
                self.seen.add((node, stamp, text))

    def pauses(self) -> list[tuple[str, float]]:
        """[(node, epoch)] of every pause, in time order."""
        return sorted(((node, stamp) for node, stamp, text in self.seen if PAUSED in text), key=lambda p: p[1])
