"""Verify-stage helpers of the drill scenario: the lab tools (tools/lab.py, tools/drill.py) on the control
machine, pointed at this scenario's nodes (inventories/drill) unless REDIS_HA_LAB_INVENTORY says otherwise."""

import os
import pathlib
import sys

ROOT = pathlib.Path(__file__).resolve().parents[3]
os.environ.setdefault("REDIS_HA_LAB_INVENTORY", str(ROOT / "inventories" / "drill"))
sys.path.insert(0, str(ROOT / "tools"))
