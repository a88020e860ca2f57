"""Verify-stage helpers: the lab tools (tools/lab.py) on the control machine."""

import pathlib
import sys

ROOT = pathlib.Path(__file__).resolve().parents[3]
sys.path.insert(0, str(ROOT / "tools"))
