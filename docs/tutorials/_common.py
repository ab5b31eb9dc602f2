"""Shared by the tutorials: where they work, how small they run, and how they call the command line.

EVENTPROP_TUTORIAL_QUICK=1 shrinks every tutorial to a smoke run (the test suite runs them that way);
EVENTPROP_TUTORIAL_DIR (default ./tutorial-runs) is where data and run folders go.
"""
import os
import subprocess
import sys
from pathlib import Path

QUICK = os.environ.get("EVENTPROP_TUTORIAL_QUICK") == "1"
WORK = Path(os.environ.get("EVENTPROP_TUTORIAL_DIR", "tutorial-runs")).resolve()
WORK.mkdir(parents=True, exist_ok=True)


def eventprop(*args) -> str:
    """Run `eventprop ARGS` (this Python's), echo the command and its output, return the output."""
    cmd = [sys.executable, "-m", "eventprop", *map(str, args)]
    print("$ eventprop", " ".join(map(str, args)), flush=True)
    out = subprocess.run(cmd, check=True, capture_output=True, text=True).stdout
    print(out, flush=True)
    return out


def spoken_digits(channels: int = 140) -> Path:
    """The offline spoken digits (espeak-ng), generated once per channel count."""
    root = WORK / f"spoken-digits-{channels}"
    if not (root / "SHD" / "shd_test.h5").exists():
        small = ["--speeds", "165", "--pitches", "50"] if QUICK else []
        eventprop("data", "spoken-digits", "--out", root, "--channels", channels, *small)
    return root
