"""Generated kernels are cached on disk: a second process compiling the same network loads them from the cache."""
import json
import os
import subprocess
import sys
from pathlib import Path

SCRIPT = """
import json, sys, numpy as np, torch
sys.path.insert(0, {tests!r})
import eventprop
from nets import build
model = eventprop.compile(build("recurrent"), seed=0)
x = (np.random.default_rng(0).random((2, 30, 6)) < 0.2).astype(np.float32)
model(x).sum().backward()
mod = model.engine.module
print(json.dumps({{"hits": sum(f.stats.cache_hits.get(s, 0) for f in (mod.forward, mod.backward)
                             for s in f.signatures),
                  "misses": sum(sum(f.stats.cache_misses.values()) for f in (mod.forward, mod.backward)),
                  "seconds": model.engine.compile_seconds}}))
"""


def test_second_process_loads_kernels_from_cache(tmp_path):
    env = {**os.environ, "EVENTPROP_CACHE": str(tmp_path / "cache")}
    code = SCRIPT.format(tests=str(Path(__file__).parent))
    runs = [json.loads(subprocess.run([sys.executable, "-c", code], env=env, check=True, capture_output=True,
                                      text=True).stdout.strip().splitlines()[-1]) for _ in range(2)]
    assert runs[0]["misses"] == 2 and runs[0]["hits"] == 0      # first process compiles forward and backward
    assert runs[1]["misses"] == 0 and runs[1]["hits"] == 2      # second one loads both from disk
    assert set(runs[1]["seconds"]) == {"forward", "backward"}   # load/compile time is reported
    assert len(list((tmp_path / "cache").glob("eventprop_cpu_*.py"))) == 1
