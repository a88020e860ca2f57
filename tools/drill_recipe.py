"""The same faults against the common recipe (tools/drill.py --compare-recipe; tools/recipe): our configuration's
series, the nodes converted to the recipe, its series, and our configuration restored (also after an error)."""

from __future__ import annotations

import json

from drill_group import now, progress, run_playbook, wait_healthy
from drill_run import OURS, drill

RECIPE_FAULTS = ("kill-master", "sentinel-failover", "stale-old-master", "switchover")


def recipe_plan(faults) -> tuple[list[str], list[str]]:
    """(our faults, the recipe's faults): the planned switchover pairs our switchover playbook with the
    recipe's plain SENTINEL FAILOVER, so either one brings the other."""
    ours = list(faults) + (["switchover"] if "sentinel-failover" in faults and "switchover" not in faults else [])
    recipe = [f for f in faults if f != "switchover"]
    if "switchover" in faults and "sentinel-failover" not in faults:
        recipe.append("sentinel-failover")
    return ours, recipe


def compare_recipe(faults, runs=1, observe_s=25.0, recipe_observe_s=150.0, out=None, tag="recipe-compare") -> dict:
    """Runs the faults `runs` times with our configuration, converts the nodes to the common recipe
    (tools/recipe/apply.yml), runs them `runs` times against it, and restores our configuration
    (tools/recipe/restore.yml, also after an error). Returns {"ours": ..., "recipe": ..., ...}."""
    our_faults, recipe_faults = recipe_plan(faults)
    ours_setup = dict(OURS, prefix=tag + "-ours-", title="ours: ")
    recipe_setup = {"label": "recipe", "prefix": tag + "-recipe-", "title": "common recipe: ",
                    "healthy_s": 300.0, "failover_s": recipe_observe_s}
    report = {"ours": {"faults": our_faults, "observe_s": observe_s},
              "recipe": {"faults": recipe_faults, "observe_s": recipe_observe_s,
                         "configuration": "tools/recipe/apply.yml (recipe_vars.yml, templates/)"}}

    def partial(label):
        def write(results):
            report[label]["runs"] = results
            if out:
                out.mkdir(parents=True, exist_ok=True)
                (out / ("%s-partial.json" % tag)).write_text(json.dumps(report, indent=1, default=str))
        return write

    progress("== our configuration: %s, %d run(s) each" % (", ".join(our_faults), runs))
    report["ours"].update(drill(our_faults, runs, observe_s, out, ours_setup, partial("ours")))
    progress("== converting the nodes to the common recipe (tools/recipe/apply.yml)")
    t = now()
    if run_playbook("tools/recipe/apply.yml") != 0:
        restore_ours(report)
        raise RuntimeError("tools/recipe/apply.yml failed")
    report["apply_s"] = round(now() - t, 1)
    try:
        progress("== common recipe: %s, %d run(s) each" % (", ".join(recipe_faults), runs))
        report["recipe"].update(drill(recipe_faults, runs, recipe_observe_s, out, recipe_setup, partial("recipe")))
    finally:
        restore_ours(report)
    return report


def restore_ours(report: dict):
    progress("== restoring our configuration (tools/recipe/restore.yml)")
    t = now()
    rc = run_playbook("tools/recipe/restore.yml", timeout=600)
    report["restore_rc"], report["restore_s"] = rc, round(now() - t, 1)
    if rc != 0:
        progress("!! tools/recipe/restore.yml failed (rc %d): the nodes may still run the recipe" % rc)
        return
    master = wait_healthy(OURS["healthy_s"])
    progress("   restored, master %s" % master)
