"""Data-parallel training with torch.distributed, two gloo processes on this CPU: the parameters after K steps equal a
single-process run on the same global batches, a checkpoint resumes under another world size, and a killed rank ends
the run with a clear error instead of a hang."""
from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time

import pytest
import torch

from eventprop.pipeline.training import config as configs

CONFIG = """seed = 3
[data]
task = "yinyang"
n_train = {n_train}
n_val = 50
n_test = 50
[model]
dt = 0.5
hidden = [20]
max_delay_ms = 5.0
delay_init_ms = [0.0, 3.0]
[train]
epochs = {epochs}
batch_size = 30
reg_lambda = 1e-3
[space]
dims = 2
velocity = 0.5
cost = 1e-3
free_delays = true
"""
ENV = {**os.environ, "OMP_NUM_THREADS": "1", "NUMBA_NUM_THREADS": "1"}


def _config(tmp_path, epochs=2, n_train=200):
    path = tmp_path / f"net{epochs}_{n_train}.toml"
    path.write_text(CONFIG.format(epochs=epochs, n_train=n_train))
    configs.load(path)
    return path


def _eventprop(*args, timeout=300):
    return subprocess.run([sys.executable, "-m", "eventprop", *map(str, args)], env=ENV, capture_output=True,
                          text=True, timeout=timeout)


def _torchrun(n, *args, timeout=300):
    return subprocess.run([sys.executable, "-m", "torch.distributed.run", "--standalone", f"--nproc-per-node={n}",
                           "-m", "eventprop", *map(str, args)], env=ENV, capture_output=True, text=True,
                          timeout=timeout)


def _state(run):
    return torch.load(run / "checkpoints" / "last.pt", weights_only=False)


def _assert_same_parameters(a, b):
    sa, sb = _state(a), _state(b)
    assert sa["step"] == sb["step"] and sa["step"] > 0
    for key, value in sa["model"].items():
        torch.testing.assert_close(sb["model"][key], value, rtol=1e-5, atol=2e-6, msg=key)


@pytest.fixture(scope="module")
def single_run(tmp_path_factory):
    tmp = tmp_path_factory.mktemp("dist")
    r = _eventprop("train", _config(tmp), "--out", tmp / "single", "--quiet")
    assert r.returncode == 0, r.stdout + r.stderr
    return tmp


def test_two_gloo_ranks_equal_one_process(single_run):
    tmp = single_run
    r = _torchrun(2, "train", _config(tmp), "--out", tmp / "two", "--quiet")
    assert r.returncode == 0, r.stdout + r.stderr
    _assert_same_parameters(tmp / "single", tmp / "two")
    assert r.stdout.count("run folder:") == 1              # rank 0 alone reports and writes
    rows = [line for line in (tmp / "two" / "metrics.jsonl").read_text().splitlines()]
    assert len(rows) == 2


def test_resume_under_another_world_size(single_run):
    tmp = single_run
    r = _torchrun(2, "train", _config(tmp), "--out", tmp / "mixed", "--quiet", "--epochs", "1")
    assert r.returncode == 0, r.stdout + r.stderr
    r = _eventprop("train", "--out", tmp / "mixed", "--resume", "--epochs", "2", "--quiet")
    assert r.returncode == 0, r.stdout + r.stderr
    _assert_same_parameters(tmp / "single", tmp / "mixed")


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def test_killed_rank_gives_a_clear_error_not_a_hang(tmp_path):
    cfg = _config(tmp_path, epochs=200, n_train=400)
    port = _free_port()
    procs = []
    for rank in (0, 1):
        env = {**ENV, "RANK": str(rank), "LOCAL_RANK": str(rank), "WORLD_SIZE": "2", "MASTER_ADDR": "127.0.0.1",
               "MASTER_PORT": str(port)}
        procs.append(subprocess.Popen([sys.executable, "-m", "eventprop", "train", str(cfg), "--out",
                                       str(tmp_path / "run"), "--quiet", "--dist-timeout", "30"],
                                      env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True))
    metrics = tmp_path / "run" / "metrics.jsonl"
    deadline = time.monotonic() + 240
    while not (metrics.exists() and metrics.read_text().count("\n") >= 1):
        assert time.monotonic() < deadline and procs[0].poll() is None, procs[0].communicate()[0]
        time.sleep(0.2)
    procs[1].send_signal(signal.SIGKILL)
    out, _ = procs[0].communicate(timeout=120)
    assert procs[0].returncode == 2, out
    assert "rank 0:" in out and "another rank is gone or stalled" in out and "Traceback" not in out, out
