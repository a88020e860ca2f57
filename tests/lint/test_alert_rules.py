"""The shipped Prometheus alert rules (prometheus/redis_ha.rules.yml): `promtool check rules` and their
`promtool test rules` unit tests (tests/prometheus), which must also fail when a rule is broken.

promtool is Debian 12's (prometheus 2.42), extracted by scripts/ensure-host-packages.sh into .cache/prometheus."""

import pathlib
import re
import shutil
import subprocess

import pytest
import yaml

ROOT = pathlib.Path(__file__).resolve().parents[2]
PROMTOOL = ROOT / ".cache" / "prometheus" / "bin" / "promtool"
RULES = ROOT / "prometheus" / "redis_ha.rules.yml"
TESTS = sorted((ROOT / "tests" / "prometheus").glob("*.test.yml"))
DOCS = ROOT / "docs" / "observability.md"


def _promtool(*args, cwd=ROOT):
    assert PROMTOOL.exists(), "no promtool at %s: run scripts/ensure-host-packages.sh (make host-packages)" % PROMTOOL
    result = subprocess.run([str(PROMTOOL), *map(str, args)], cwd=cwd, capture_output=True, text=True,
                            check=False, timeout=120)
    return result.returncode, result.stdout + result.stderr


def _alerts():
    return [rule for group in yaml.safe_load(RULES.read_text())["groups"] for rule in group["rules"]]


def _tested_firing():
    """Alert names some test expects to fire (a non-empty exp_alerts)."""
    names = set()
    for path in TESTS:
        for test in yaml.safe_load(path.read_text())["tests"]:
            names.update(case["alertname"] for case in test.get("alert_rule_test", []) if case.get("exp_alerts"))
    return names


def test_promtool_check_rules():
    code, output = _promtool("check", "rules", RULES)
    assert code == 0, output


def test_promtool_test_rules():
    assert TESTS
    code, output = _promtool("test", "rules", *TESTS)
    assert code == 0, output


def test_every_alert_has_a_firing_test_and_a_runbook_line():
    names = [rule["alert"] for rule in _alerts()]
    assert sorted(set(names) - _tested_firing()) == [], "alerts no promtool test expects to fire"
    headings = {re.sub(r"[^a-z0-9]", "", line.lower()) for line in DOCS.read_text().splitlines()
                if line.startswith("#")}
    for rule in _alerts():
        anchor = rule["annotations"]["runbook"].split("#", 1)[1]
        assert anchor in headings, "%s: no heading for #%s in %s" % (rule["alert"], anchor, DOCS.name)


def _mutated(tmp_path, old, new):
    """promtool test rules on a copy of the tree whose rules file has `old` replaced by `new` (once at least)."""
    text = RULES.read_text()
    assert old in text, old
    (tmp_path / "prometheus").mkdir()
    (tmp_path / "prometheus" / RULES.name).write_text(text.replace(old, new))
    shutil.copytree(ROOT / "tests" / "prometheus", tmp_path / "tests" / "prometheus")
    return _promtool("test", "rules", *[path.relative_to(ROOT) for path in TESTS], cwd=tmp_path)


@pytest.mark.parametrize("old, new", [
    ("for: 15s", "for: 5s"),                        # would fire during a normal failover
    ("for: 15s", "for: 30s"),                       # late
    ("== 0)", "== 1)"),                             # VIP-not-on-master joins the wrong verdict
    ("(redis_ha_check_vip_held{job=\"node\"}) > 1", "(redis_ha_check_vip_held{job=\"node\"}) > 2"),
    ("[5m]", "[1m]"),                               # the failover alert ends too early
    ("<= 2)", "<= 10)"),                            # a lagging replica still counted for writes
    ("> 10", "> 60"),                               # stale check noticed late
])
def test_promtool_tests_fail_on_a_broken_rule(tmp_path, old, new):
    code, output = _mutated(tmp_path, old, new)
    assert code != 0, "the promtool tests still pass with %r -> %r:\n%s" % (old, new, output)
