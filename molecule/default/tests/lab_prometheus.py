"""The scenario's Prometheus (molecule/default/prepare.yml, REDIS_HA_PROMETHEUS=1 on Debian 12 + Redis): its HTTP
API, from the control machine through the service bridge."""

import json
import os
import time
import urllib.parse
import urllib.request

import lab

URL = "http://172.31.250.9:9090"
READY_BOUND_S = 300  # the package is installed in the background while the converge runs


def enabled() -> bool:
    return os.environ.get("REDIS_HA_PROMETHEUS", "").lower() in ("1", "true", "yes")


def _get(path: str, **params) -> dict:
    query = ("?" + urllib.parse.urlencode(params)) if params else ""
    with urllib.request.urlopen(URL + path + query, timeout=5) as reply:
        return json.load(reply)


def wait_ready(bound: float = READY_BOUND_S) -> None:
    deadline = time.monotonic() + bound
    while True:
        try:
            with urllib.request.urlopen(URL + "/-/ready", timeout=2) as reply:
                if reply.status == 200:
                    return
        except OSError as exc:
            last = exc
        if time.monotonic() > deadline:
            raise AssertionError("Prometheus not ready within %d s: %r" % (bound, last))
        time.sleep(1)


def query(expr: str, at: float | None = None) -> list[dict]:
    params = {"query": expr} if at is None else {"query": expr, "time": "%.3f" % at}
    return _get("/api/v1/query", **params)["data"]["result"]


def query_range(expr: str, start: float, end: float, step: float = 1.0) -> list[dict]:
    return _get("/api/v1/query_range", query=expr, start="%.3f" % start, end="%.3f" % end,
                step="%g" % step)["data"]["result"]


def alert_rules() -> set[str]:
    groups = _get("/api/v1/rules", type="alert")["data"]["groups"]
    return {rule["name"] for group in groups for rule in group["rules"]}


def up_by_target() -> dict[tuple[str, str], float]:
    """{(job, instance): value of up}."""
    return {(r["metric"]["job"], r["metric"]["instance"]): float(r["value"][1]) for r in query("up")}


def firing_between(alertname: str, start: float, end: float) -> list[dict]:
    """The series of ALERTS{alertname, alertstate="firing"} Prometheus recorded between start and end (unix time)."""
    return query_range('ALERTS{alertname="%s", alertstate="firing"}' % alertname, start, end)


def check_metrics_wired(node: str, group: str = "redis-ha-metrics") -> bool:
    """Whether the node's VIP watcher runs with the textfile directory's group (roles/keepalived), i.e. can write the
    check's metrics for node_exporter."""
    shown = lab.docker("exec", node, "systemctl", "show", "-p", "SupplementaryGroups", "--value", "redis-vip-watch",
                       check=False)
    return group in shown.stdout.split()
