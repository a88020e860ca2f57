"""Verify stage of the validation scenario, on the control machine: the lab helper tools/lab.py pointed at this
scenario's inventory (inventories/validation), and valnodes.py (this folder) for what only these tests need."""

import os
import pathlib
import sys

ROOT = pathlib.Path(__file__).resolve().parents[3]
# Before tools/lab.py is imported (it reads the variable once): these nodes, whatever lab the shell points at.
os.environ["REDIS_HA_LAB_INVENTORY"] = str(ROOT / "inventories" / "validation")
sys.path.insert(0, str(pathlib.Path(__file__).resolve().parent))
sys.path.insert(0, str(ROOT / "tools"))
