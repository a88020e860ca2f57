"""Pure unit tests (no process, no network), laid out as ansible-test expects: tests/unit/plugins/... mirrors
plugins/. `ansible-test units` runs them in the built collection's tree (make unit: tests/lint/test_units.py);
`python -m pytest tests/unit` runs them from the checkout: outside ansible-test, the package
ansible_collections.redis_ha.sentinel_vip is this checkout, through a symlink in a temporary directory."""

import importlib.util
import pathlib
import sys
import tempfile

ROOT = pathlib.Path(__file__).resolve().parents[2]

if importlib.util.find_spec("ansible_collections") is None or \
        importlib.util.find_spec("ansible_collections.redis_ha") is None:
    _BASE = pathlib.Path(tempfile.mkdtemp(prefix="redis-ha-unit-collections-"))
    (_BASE / "ansible_collections" / "redis_ha").mkdir(parents=True)
    (_BASE / "ansible_collections" / "redis_ha" / "sentinel_vip").symlink_to(ROOT, target_is_directory=True)
    sys.path.insert(0, str(_BASE))
