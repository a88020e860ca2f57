#!/usr/bin/env python3
"""Plot several kill-master (or power-off) series of tools/drill.py side by side: each run's recovery (first write
through the VIP after the fault) and the surviving Sentinels' `+odown`, one column per series, medians marked.

  python tools/compare_series.py --out docs/drills/tls/CMP.png "label=drill-kill-master.json" ...
  python tools/compare_series.py --fault power-off --out P.png "label=drill-kill-master-power-off.json" ...

Reads only the JSON files drill.py wrote (runs[].recovery_s, runs[].failover_chain_s["+odown"])."""
import argparse
import json
import pathlib
import statistics

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402 - after the backend is chosen


def load(spec: str, fault: str) -> tuple[str, dict[str, list[float]]]:
    label, _, path = spec.partition("=")
    runs = [r for r in json.loads(pathlib.Path(path).read_text())["runs"] if r["fault"] == fault]
    return label, {"recovery": [r["recovery_s"] for r in runs],
                   "+odown": [r["failover_chain_s"]["+odown"] for r in runs]}


def plot(series: list[tuple[str, dict[str, list[float]]]], out: pathlib.Path, title: str) -> None:
    fig, axes = plt.subplots(1, 2, figsize=(11, 4), sharex=True)
    for ax, key in zip(axes, ("recovery", "+odown")):
        for i, (_, values) in enumerate(series):
            ax.scatter([i] * len(values[key]), values[key], s=18, alpha=0.7)
            median = statistics.median(values[key])
            ax.plot([i - 0.3, i + 0.3], [median, median], color="black", linewidth=1)
            ax.annotate("%.2f" % median, (i + 0.32, median), fontsize=8, va="center")
        ax.set_title("%s (s after the fault; bar: median)" % key, fontsize=9)
        ax.set_xticks(range(len(series)), [label for label, _ in series], fontsize=8, rotation=15, ha="right")
        ax.grid(axis="y", alpha=0.3)
    fig.suptitle(title, fontsize=10)
    fig.tight_layout()
    fig.savefig(out, dpi=100)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("series", nargs="+", help="label=path of a drill-kill-master.json")
    parser.add_argument("--out", type=pathlib.Path, required=True)
    parser.add_argument("--fault", default="kill-master", help="the runs of this fault (default kill-master)")
    parser.add_argument("--title", default=None, help="default: '<fault> series'")
    args = parser.parse_args()
    series = [load(spec, args.fault) for spec in args.series]
    plot(series, args.out, args.title or "%s series" % args.fault)
    for label, values in series:
        print("%-32s recovery %.2f / %.2f s, +odown %.2f / %.2f s (median / max of %d)" % (
            label, statistics.median(values["recovery"]), max(values["recovery"]),
            statistics.median(values["+odown"]), max(values["+odown"]), len(values["recovery"])))
    print("->", args.out)


if __name__ == "__main__":
    main()
