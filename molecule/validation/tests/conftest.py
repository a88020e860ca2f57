"""Verify stage of the validation scenario: helpers in valnodes.py (this folder) on the control machine."""

import pathlib
import sys

sys.path.insert(0, str(pathlib.Path(__file__).resolve().parent))
