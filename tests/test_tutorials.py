"""Every tutorial in docs/tutorials runs as shown, at a small size (EVENTPROP_TUTORIAL_QUICK=1), and prints what its
page says it prints."""
from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

TUTORIALS = Path(__file__).resolve().parents[1] / "docs" / "tutorials"
EXPECT = {
    "learned_delays.py": r"no-delays\s+test accuracy [\d.]+ %",
    "positions_2d.py": r"layouts: \['layout_community.png', 'layout_initial.png', 'layout_preference.png', 'layout_trained.png'\]",
    "structure_learning.py": r"test accuracy: [\d.]+",
    "loihi_deploy.py": r"emulator = Lava on 100 % of samples",
    "mlgenn_import.py": r"wrote .*model.h5",
    "nir_export.py": r"max \|V_norse - V_eventprop\| = [0-9.]+e-0[5-9] .* same class in 100 % of samples",
    "data_parallel.py": r"world size 2, test accuracy",
}


@pytest.fixture(scope="module")
def work(tmp_path_factory):
    return tmp_path_factory.mktemp("tutorials")      # shared: the spoken digits are generated once


@pytest.mark.parametrize("script", sorted(EXPECT))
def test_tutorial_runs(script, work):
    if script in ("learned_delays.py", "positions_2d.py", "mlgenn_import.py") and not _has_espeak():
        pytest.skip("espeak-ng is not installed (make installs it)")
    env = {**os.environ, "EVENTPROP_TUTORIAL_QUICK": "1", "EVENTPROP_TUTORIAL_DIR": str(work)}
    r = subprocess.run([sys.executable, script], cwd=TUTORIALS, env=env, capture_output=True, text=True, timeout=600)
    assert r.returncode == 0, r.stdout[-3000:] + r.stderr[-3000:]
    assert re.search(EXPECT[script], " ".join(r.stdout.split())), r.stdout[-3000:]


def test_every_tutorial_is_run():
    assert {p.name for p in TUTORIALS.glob("*.py") if not p.name.startswith("_")} == set(EXPECT)


def _has_espeak() -> bool:
    from shutil import which
    return which("espeak-ng") is not None
