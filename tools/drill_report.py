"""The drills' output (tools/drill.py): median/max summaries of a series, the text and Markdown tables, the JSON
stamp, and the PNG timelines of a run and of a soak (matplotlib, imported only when a plot is drawn)."""

from __future__ import annotations

import pathlib
import statistics
import time

import lab

# (row, our fault, the recipe's fault) of the side-by-side table of --compare-recipe
RECIPE_PAIRS = (("kill master", "kill-master", "kill-master"),
                ("planned switchover", "switchover", "sentinel-failover"),
                ("plain SENTINEL FAILOVER", "sentinel-failover", "sentinel-failover"),
                ("old master restarted", "stale-old-master", "stale-old-master"))


def summarize(results: list[dict]) -> list[dict]:
    rows = []
    for fault in dict.fromkeys(r["fault"] for r in results):
        rs = [r for r in results if r["fault"] == fault]
        row = {"fault": fault, "runs": len(rs)}
        for key in ("recovery_s", "failed_s", "lost_acked", "deposed_acks", "replica_keys_lost", "rejoin_s",
                    "rejoin_after_redis_start_s"):
            vals = [r[key] for r in rs if r.get(key) is not None]
            row[key + "_median"] = round(statistics.median(vals), 3) if vals else None
            row[key + "_max"] = max(vals) if vals else None
            row[key + "_none"] = len(rs) - len(vals)
        row["failover_aborts"] = sum(r.get("failover_aborts", 0) for r in rs)
        rows.append(row)
    return rows


def mm(row: dict, key: str) -> str:
    """"median / max" of one summary field (+ how many runs had no value: not recovered)."""
    s = "%s / %s" % (row[key + "_median"], row[key + "_max"])
    return s + (" (%d not recovered)" % row[key + "_none"] if row[key + "_none"] else "")


def format_table(rows: list[dict]) -> str:
    head = ["fault", "runs", "recovery s (med/max)", "failed writes s (med/max)", "acked lost (med/max)",
            "deposed acks (med/max)", "replica keys lost", "rejoin s (from start / from redis start)",
            "failover aborts"]

    lines = [[r["fault"], str(r["runs"]), mm(r, "recovery_s"), mm(r, "failed_s"), mm(r, "lost_acked"),
              mm(r, "deposed_acks"), mm(r, "replica_keys_lost"),
              "-" if r["rejoin_s_max"] is None else "%s / %s" % (mm(r, "rejoin_s"), mm(r, "rejoin_after_redis_start_s")),
              str(r["failover_aborts"])]
             for r in rows]
    return text_table(head, lines)


def text_table(head: list[str], lines: list[list[str]], markdown: bool = False) -> str:
    if markdown:
        return "\n".join("| %s |" % " | ".join(cells) for cells in [head, ["---"] * len(head), *lines])
    widths = [max(len(h), *(len(line[i]) for line in lines)) for i, h in enumerate(head)]
    text = ["  ".join(h.ljust(w) for h, w in zip(head, widths)), "  ".join("-" * w for w in widths)]
    text += ["  ".join(c.ljust(w) for c, w in zip(line, widths)) for line in lines]
    return "\n".join(text)


def compare_table(ours: list[dict], recipe: list[dict], markdown: bool = False) -> str:
    """One row per configuration and drill (RECIPE_PAIRS), our row above the recipe's."""
    head = ["drill", "configuration", "fault", "runs", "recovery s", "failed writes s", "acked writes lost",
            "deposed acks"]
    lines = []
    for title, our_fault, recipe_fault in RECIPE_PAIRS:
        sides = [("ours", next((r for r in ours if r["fault"] == our_fault), None)),
                 ("common recipe", next((r for r in recipe if r["fault"] == recipe_fault), None))]
        if not all(row for _label, row in sides):
            continue
        for i, (label, row) in enumerate(sides):
            lines.append([title if i == 0 else "", label, row["fault"], str(row["runs"]), mm(row, "recovery_s"),
                          mm(row, "failed_s"), mm(row, "lost_acked"), mm(row, "deposed_acks")])
    return text_table(head, lines, markdown)


def stamp(report: dict):
    report["inventory"] = str(lab.INVENTORY)
    report["date"] = time.strftime("%Y-%m-%d %H:%M:%S UTC", time.gmtime())


def draw_timeline(axes, writes, monitor, ips, t0, size=1.0, sentinel_step=1):
    """The four panes of a timeline (writes ok/failed, node that answered, VIP holder, each Sentinel's
    master) against seconds from t0; the caller sets the title and the markers."""
    names = list(ips)
    ypos = {n: i for i, n in enumerate(names)}
    ok = [w["t0"] - t0 for w in writes if w["ok"]]
    bad = [w["t0"] - t0 for w in writes if not w["ok"]]
    axes[0].vlines(ok, 0.5, 1.5, colors="tab:green", linewidth=0.6 * size, label="ok")
    axes[0].vlines(bad, -0.5, 0.5, colors="tab:red", linewidth=0.6 * size, label="failed")
    axes[0].set_yticks([0, 1], ["failed", "ok"])
    served = [(w["t0"] - t0, ypos.get(w.get("node"), -1)) for w in writes if w["ok"]]
    if served:
        axes[1].scatter(*zip(*served), s=2 * size, c="tab:blue")
    axes[1].set_ylabel("write\nserved by", fontsize=8)
    vip = [(t - t0, ypos[n]) for t, held in monitor.vip for n in held]
    if vip:
        axes[2].scatter(*zip(*vip), s=4 * size, c="tab:orange")
    axes[2].set_ylabel("VIP on", fontsize=8)
    for j, n in enumerate(names):
        pts = [(t - t0, ypos[m]) for t, named in monitor.sentinel[::sentinel_step]
               for m in [next((k for k, ip in ips.items() if ip == named.get(n)), None)] if m]
        if pts:
            # each Sentinel's points a little apart, centred on the node's row whatever the node count
            offset = (j - (len(names) - 1) / 2) * min(0.15, 0.6 / max(len(names), 1))
            axes[3].scatter([p[0] for p in pts], [p[1] + offset for p in pts], s=2 * size,
                            label="Sentinel on %s" % n)
    axes[3].set_ylabel("Sentinel's\nmaster", fontsize=8)
    axes[3].legend(fontsize=6, loc="upper right")
    for ax in axes[1:]:
        ax.set_yticks(range(len(names)), names, fontsize=7)
        ax.set_ylim(-0.6, len(names) - 0.4)


def plot(fault, index, writes, monitor, ips, t_fault, result, out: pathlib.Path, setup: dict):
    """The PNG timeline of one run (<prefix><fault>-<run>.png in out); setup: the series' title and prefix."""
    import matplotlib
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, axes = plt.subplots(4, 1, sharex=True, figsize=(10, 6), gridspec_kw={"height_ratios": [1, 1.2, 1.2, 1.2]})
    draw_timeline(axes, writes, monitor, ips, t_fault)
    axes[0].set_title(setup["title"] + "%s run %d: recovery %s s, failed %.2f s, lost %s, deposed acks %d"
                      % (fault, index, result["recovery_s"], result["failed_s"], result["lost_acked"],
                         result["deposed_acks"]), fontsize=9)
    for ax in axes:
        ax.axvline(0, color="black", linestyle="--", linewidth=0.8)
    axes[3].set_xlabel("seconds from the fault")
    fig.tight_layout()
    out.mkdir(parents=True, exist_ok=True)
    fig.savefig(out / ("%s%s-%d.png" % (setup["prefix"], fault, index)), dpi=80)
    plt.close(fig)


def soak_plot(writes, events, monitor, ips, t_start, report, out: pathlib.Path):
    import matplotlib
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, axes = plt.subplots(4, 1, sharex=True, figsize=(22, 8), gridspec_kw={"height_ratios": [1, 1.2, 1.2, 1.2]})
    draw_timeline(axes, writes, monitor, ips, t_start, size=0.5, sentinel_step=4)
    axes[0].set_title("soak: %d faults in %.0f s, %d writes, %d acked, %d acked lost (%d outside the partition window), "
                      "failed %.1f s, VIP on the majority's master after every fault: %s, polls with two VIP holders: %d"
                      % (report["faults"], report["duration_s"], report["writes"], report["acked"],
                         report["lost_acked"], report["lost_outside_partition_window"], report["failed_writes_s"],
                         report["vip_ok_after_every_fault"], report["double_vip_polls"]), fontsize=9, pad=60)
    for ev in events:
        x = ev["t"] - t_start
        for ax in axes:
            ax.axvline(x, color="black", linestyle=":", linewidth=0.6)
        axes[0].text(x, 1.6, "%d %s" % (ev["n"], ev["fault"]), rotation=90, fontsize=5, va="bottom")
    axes[3].set_xlabel("seconds from the start of the soak")
    fig.tight_layout()
    out.mkdir(parents=True, exist_ok=True)
    fig.savefig(out / "soak.png", dpi=80)
    plt.close(fig)
