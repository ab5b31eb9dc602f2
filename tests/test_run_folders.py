"""Run folders: --force replaces only run folders, one writer at a time (a lock taken over from dead processes), a full
disk costs no file and no checkpoint, and resume recovers from torn metrics, stray temporaries and edited configs."""
from __future__ import annotations

import json
import os
import shutil
import signal
import subprocess
import sys
from pathlib import Path

import pytest
import torch
from click.testing import CliRunner

from eventprop.cli import main
from eventprop.errors import RunError
from eventprop.files import append_line, write_atomic
from eventprop.pipeline.training import config as configs
from eventprop.pipeline.training.folders import lock_run, unlock_run
from eventprop.workflows import deploy
from test_trainer import small_config

ENV = {**os.environ, "PYTHONPATH": str(Path(__file__).resolve().parents[1])}


def invoke(*args):
    return CliRunner().invoke(main, [str(a) for a in args])


@pytest.fixture
def config_file(tmp_path) -> Path:
    cfg = small_config(1)
    cfg.train.schedule = "none"          # so that --epochs may extend a run
    cfg.dump(tmp_path / "small.toml")
    return tmp_path / "small.toml"


@pytest.fixture(scope="module")
def trained(tmp_path_factory) -> Path:
    """A finished one-epoch run, copied by the tests that change it."""
    root = tmp_path_factory.mktemp("trained")
    cfg = small_config(1)
    cfg.train.schedule = "none"
    cfg.dump(root / "small.toml")
    assert invoke("train", root / "small.toml", "--out", root / "run", "--quiet").exit_code == 0
    return root / "run"


def _copy(run: Path, to: Path) -> Path:
    shutil.copytree(run, to, ignore=shutil.ignore_patterns(".lock"))
    return to


# ---- --force and what is ours ----------------------------------------------------------------------------------
def test_force_refuses_a_folder_that_is_not_a_run(tmp_path, config_file):
    d = tmp_path / "d"
    (d / "sub").mkdir(parents=True)
    (d / "precious.txt").write_text("x")
    res = invoke("train", config_file, "--out", d, "--force")
    assert res.exit_code == 2 and "not an eventprop run folder" in res.output
    assert "precious.txt" in res.output and "sub/" in res.output
    assert (d / "precious.txt").read_text() == "x" and (d / "sub").is_dir()
    res = invoke("train", config_file, "--out", d)                   # without --force: --force is not suggested
    assert res.exit_code == 2 and "--force to replace" not in res.output


def test_force_refuses_a_run_folder_holding_foreign_files(tmp_path, trained, config_file):
    run = _copy(trained, tmp_path / "run")
    (run / "notes.md").write_text("mine")
    res = invoke("train", config_file, "--out", run, "--force")
    assert res.exit_code == 2 and "notes.md" in res.output
    assert (run / "notes.md").read_text() == "mine" and (run / "best.pt").exists()


def test_force_replaces_a_run_folder_and_a_file_is_never_deleted(tmp_path, trained, config_file):
    run = _copy(trained, tmp_path / "run")
    (run / "loihi").mkdir()
    (run / "loihi" / "deploy.json").write_text("{}")
    res = invoke("train", config_file, "--out", run, "--force", "--quiet")
    assert res.exit_code == 0, res.output
    assert not (run / "loihi").exists() and json.loads((run / "results.json").read_text())["epochs"] == 1
    f = tmp_path / "file"
    f.write_text("keep")
    res = invoke("train", config_file, "--out", f, "--force")
    assert res.exit_code == 2 and "is a file" in res.output and f.read_text() == "keep"


def test_demo_refuses_to_replace_what_is_not_its_run(tmp_path):
    (tmp_path / "yinyang-delays").mkdir()
    (tmp_path / "yinyang-delays" / "thesis.tex").write_text("x")
    res = invoke("demo", "--out", tmp_path, "--epochs", "1")
    assert res.exit_code == 2 and "thesis.tex" in res.output
    assert (tmp_path / "yinyang-delays" / "thesis.tex").exists()


# ---- one writer at a time ------------------------------------------------------------------------------------
HOLD = """
import sys, time
from eventprop.pipeline.training.folders import lock_run
lock_run(sys.argv[1], "test holder")
print("locked", flush=True)
time.sleep(120)
"""


def _holder(folder: Path) -> subprocess.Popen:
    proc = subprocess.Popen([sys.executable, "-c", HOLD, str(folder)], env=ENV, stdout=subprocess.PIPE, text=True)
    assert proc.stdout.readline().strip() == "locked"
    return proc


def test_a_held_run_folder_refuses_other_writers_and_a_dead_holder_frees_it(tmp_path, trained):
    run = _copy(trained, tmp_path / "run")
    proc = _holder(run)
    try:
        with pytest.raises(RunError, match=f"in use by process {proc.pid} \\(test holder"):
            lock_run(run, "me")
        res = invoke("train", "--out", run, "--resume", "--epochs", "2")
        assert res.exit_code == 2 and f"process {proc.pid}" in res.output
        with pytest.raises(RunError, match=f"process {proc.pid}"):
            deploy(run)
        assert not (run / "loihi").exists()
    finally:
        proc.send_signal(signal.SIGKILL)
        proc.wait()
    lock_run(run, "me")                    # the kernel dropped the dead holder's lock: taken over
    unlock_run(run)
    assert json.loads((run / ".lock").read_text())["purpose"] == "me"


HOLDER = """
import fcntl, json, os, sys, time
f = open(sys.argv[1], "a+")
fcntl.lockf(f, fcntl.LOCK_EX)
print("locked", flush=True)
time.sleep(float(sys.argv[2]))
f.write(json.dumps({"pid": os.getpid(), "purpose": "slow writer", "since": "now"}))
f.flush()
time.sleep(30)
"""


@pytest.mark.parametrize("delay, named", [(0.3, True), (4.0, False)])
def test_a_loser_by_microseconds_still_names_the_holder(tmp_path, delay, named):
    """The holder writes who it is just after taking the lock; a process that reads in between waits for the name
    (and says 'another process' when none comes)."""
    proc = subprocess.Popen([sys.executable, "-c", HOLDER, str(tmp_path / ".lock"), str(delay)], stdout=subprocess.PIPE,
                            text=True)
    try:
        assert proc.stdout.readline().strip() == "locked"
        with pytest.raises(RunError) as err:
            lock_run(tmp_path, "me")
        assert (f"process {proc.pid} (slow writer" in str(err.value)) == named, str(err.value)
        assert named or "in use by another process" in str(err.value)
    finally:
        proc.kill()
        proc.wait()


def test_two_trainings_started_at_once_into_one_folder(tmp_path, config_file):
    out = tmp_path / "race"
    procs = [subprocess.Popen([sys.executable, "-m", "eventprop", "train", str(config_file), "--out", str(out),
                               "--quiet", "--epochs", "3"], env=ENV, stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                              text=True) for _ in range(2)]
    outputs = [p.communicate(timeout=300)[0] for p in procs]
    codes = sorted(p.returncode for p in procs)
    assert codes == [0, 2], outputs
    loser = outputs[[p.returncode for p in procs].index(2)]
    assert "in use by process" in loser or "already exists" in loser, loser
    epochs = [json.loads(line)["epoch"] for line in (out / "metrics.jsonl").read_text().splitlines()]
    assert epochs == [1, 2, 3]
    assert configs.load(out / "config.toml").train.epochs == 3


# ---- a full disk -----------------------------------------------------------------------------------------------
@pytest.fixture
def tiny_disk(tmp_path):
    """A 256 KiB tmpfs (needs root and mount; CI runs as root)."""
    mount = tmp_path / "disk"
    mount.mkdir()
    if os.geteuid() != 0 or subprocess.run(["mount", "-t", "tmpfs", "-o", "size=256k", "tmpfs", str(mount)],
                                           capture_output=True).returncode != 0:
        pytest.skip("mounting a tmpfs needs root")
    yield mount
    subprocess.run(["umount", "-l", str(mount)], check=False)


def _fill(disk: Path, leave: int) -> Path:
    filler = disk / "filler"
    free = shutil.disk_usage(disk).free
    with open(filler, "wb") as f:
        f.write(b"\0" * max(0, free - leave))
    return filler


def _debris(folder: Path) -> list[str]:
    return [str(p) for p in folder.rglob("*") if p.is_file() and (".tmp" in p.name or p.stat().st_size == 0)]


def test_disk_full_mid_training_loses_nothing_and_resume_finishes(tiny_disk, config_file):
    run = tiny_disk / "run"
    assert invoke("train", config_file, "--out", run, "--quiet").exit_code == 0
    before = torch.load(run / "checkpoints" / "last.pt", weights_only=False)
    filler = _fill(tiny_disk, 2048)          # room for a metrics row, not for the plot or a checkpoint
    res = invoke("train", "--out", run, "--resume", "--epochs", "3", "--quiet")
    assert res.exit_code == 2, res.output
    assert "no space left on the device writing" in res.output and "bytes needed" in res.output
    assert "Traceback" not in res.output and _debris(run) == []
    after = torch.load(run / "checkpoints" / "last.pt", weights_only=False)
    assert after["epoch"] == before["epoch"] == 1                   # the last good checkpoint, intact
    filler.unlink()
    res = invoke("train", "--out", run, "--resume", "--epochs", "3", "--quiet")
    assert res.exit_code == 0, res.output
    epochs = [json.loads(line)["epoch"] for line in (run / "metrics.jsonl").read_text().splitlines()]
    assert epochs == [1, 2, 3]


def test_disk_full_during_deploy_leaves_no_partial_file(tiny_disk, trained):
    run = _copy(trained, tiny_disk / "run")
    _fill(tiny_disk, 4096)
    res = invoke("deploy", run)
    assert res.exit_code == 2 and "no space left on the device writing" in res.output, res.output
    assert _debris(run) == []


def test_failed_writes_leave_the_old_file_and_no_temporary(tmp_path, monkeypatch):
    target = tmp_path / "x.json"
    write_atomic(target, "old")
    real = Path.write_bytes

    def half_then_enospc(self, data):
        real(self, data[:len(data) // 2])
        raise OSError(28, "No space left on device")
    monkeypatch.setattr(Path, "write_bytes", half_then_enospc)
    with pytest.raises(RunError, match=r"no space left on the device writing .*x\.json: 9 bytes needed"):
        write_atomic(target, "new value")
    assert target.read_text() == "old" and sorted(p.name for p in tmp_path.iterdir()) == ["x.json"]
    metrics = tmp_path / "m.jsonl"
    append_line(metrics, '{"epoch": 1}')
    monkeypatch.undo()

    class Full:
        def __init__(self, f):
            self.f = f

        def write(self, data):
            self.f.write(data[:5])
            self.f.flush()
            raise OSError(28, "No space left on device")

        def __enter__(self):
            return self

        def __exit__(self, *exc):
            self.f.close()
    real_open = Path.open
    monkeypatch.setattr(Path, "open", lambda self, *a, **k: Full(real_open(self, *a, **k)))
    with pytest.raises(RunError, match="no space left"):
        append_line(metrics, '{"epoch": 2}')
    monkeypatch.undo()
    assert metrics.read_text() == '{"epoch": 1}\n'                     # cut back: no torn line


# ---- resume ----------------------------------------------------------------------------------------------------
def test_resume_drops_a_torn_line_and_stray_temporaries(tmp_path, trained):
    run = _copy(trained, tmp_path / "run")
    with (run / "metrics.jsonl").open("a") as f:
        f.write('{"epoch": 2, "loss": 0.9')                         # a crash mid-append
    stray = run / "checkpoints" / ".last.pt.tmp4242"
    stray.write_bytes(b"half")
    res = invoke("train", "--out", run, "--resume", "--epochs", "2", "--quiet")
    assert res.exit_code == 0, res.output
    text = " ".join(res.output.split())
    assert "dropped a torn last line" in text and "removed" in text and "resuming" in text and "at epoch 1 of 2" in text
    assert not stray.exists()
    epochs = [json.loads(line)["epoch"] for line in (run / "metrics.jsonl").read_text().splitlines()]
    assert epochs == [1, 2]


def test_resume_refuses_a_different_config(tmp_path, trained, config_file):
    run = _copy(trained, tmp_path / "run")
    other = configs.load(config_file)
    other.train.lr = 0.5
    other.dump(tmp_path / "other.toml")
    res = invoke("train", tmp_path / "other.toml", "--out", run, "--resume")
    assert res.exit_code == 2 and "train.lr" in res.output and "0.5" in res.output
    res = invoke("train", config_file, "--out", run, "--resume", "--epochs", "2", "--quiet")
    assert res.exit_code == 0, res.output                           # the same config file: fine
    edited = configs.load(run / "config.toml")
    edited.model.tau_mem = 5.0
    edited.dump(run / "config.toml")
    res = invoke("train", "--out", run, "--resume", "--epochs", "3")
    assert res.exit_code == 2 and "model.tau_mem" in res.output and "ran" in res.output


def test_ctrl_c_says_how_to_resume(tmp_path, config_file, monkeypatch):
    from eventprop.pipeline.training.trainer import Trainer

    def interrupted(self, progress):
        raise KeyboardInterrupt
    monkeypatch.setattr(Trainer, "_train_epoch", interrupted)
    res = invoke("train", config_file, "--out", tmp_path / "run", "--quiet")
    assert res.exit_code == 130 and "eventprop train --resume --out" in " ".join(res.output.split())


def test_deploy_of_an_unfinished_run_says_so(tmp_path, trained):
    run = _copy(trained, tmp_path / "run")
    (run / "results.json").unlink()
    cfg = configs.load(run / "config.toml")
    cfg.train.epochs = 5
    cfg.dump(run / "config.toml")
    res = invoke("deploy", run)
    assert res.exit_code == 0, res.output
    assert "unfinished (epoch 1 of 5)" in " ".join(res.output.split())
