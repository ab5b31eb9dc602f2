"""`eventprop deploy` / `eventprop parity` on a small trained run, and their error messages."""
from __future__ import annotations

import json

import h5py
import torch
import pytest
from click.testing import CliRunner

from eventprop.cli import main
from eventprop.pipeline.training import config as configs
from eventprop.pipeline.training.trainer import Trainer, prepare_run_dir


@pytest.fixture(scope="module")
def trained_run(tmp_path_factory):
    """Sequence task with delays up to 50 steps (dt 0.5 ms, 25 ms), trained for a few epochs."""
    cfg = configs.preset("sequence")
    cfg.data.n_train, cfg.data.n_val, cfg.data.n_test = 64, 32, 40
    cfg.model.max_delay_ms = 40.0          # 80 steps: beyond Loihi's 62, so relays are needed
    cfg.model.delay_init_ms = [0.0, 40.0]
    cfg.train.epochs = 3
    out = tmp_path_factory.mktemp("runs") / "seq"
    cfg = prepare_run_dir(out, cfg, resume=False, force=False)
    Trainer(cfg, out, quiet=True).fit()
    return out


def invoke(*args):
    return CliRunner().invoke(main, [str(a) for a in args], catch_exceptions=False)


def test_deploy_emulator_and_lava_then_parity(trained_run):
    r = invoke("deploy", trained_run, "--long-delays", "relay")
    assert r.exit_code == 0, r.output
    rep = json.loads((trained_run / "loihi" / "deploy.json").read_text())
    assert rep["samples"] == 40 and 0 <= rep["emulator_acc"] <= 1 and rep["ops"]["totals"]["synaptic_ops"] > 0
    with h5py.File(trained_run / "loihi" / "model.h5") as f:
        assert f["layer/0/type"][()] == b"input" and f["layer/2/neuron/vThMant"][()] == (1 << 17) - 1
        assert not f.attrs["netx_compatible"] and "netx clamps them to 62" in f.attrs["netx_notes"]
    assert not rep["netx_compatible"] and "relay" in rep["netx_notes"][0]
    assert "netx clamps them to 62" in " ".join(r.output.split())
    r = invoke("deploy", trained_run, "--long-delays", "relay", "--target", "lava-sim", "--samples", "4")
    assert r.exit_code == 0, r.output
    rep = json.loads((trained_run / "loihi" / "deploy.json").read_text())
    assert rep["samples"] == 4 and rep["lava_acc"] == rep["emulator_acc"]
    r = invoke("parity", trained_run, "--samples", "4")
    assert r.exit_code == 0, r.output
    par = json.loads((trained_run / "loihi" / "parity.json").read_text())
    assert par["ok"] and par["emulator_vs_lava"]["exact_samples"] == 1.0
    assert par["accuracy"]["lava"] == par["accuracy"]["emulator"]
    assert (trained_run / "loihi" / "parity.png").stat().st_size > 0
    r = invoke("bench", trained_run, "--samples", "5", "--lava-samples", "1")
    assert r.exit_code == 0, r.output
    bench = json.loads((trained_run / "loihi" / "bench.json").read_text())
    assert bench["samples"] == 5 and bench["lava_ms_per_step"] > 0 and bench["ops"]["energy_uj_per_sample"] > 0
    assert bench["ops"]["layers"]["hidden0"]["neuron_updates"] == 8 * bench["steps_per_sample"]
    assert (trained_run / "plots" / "energy.png").stat().st_size > 0


@pytest.mark.parametrize("args,message", [
    (["deploy", "{run}"], "synapses have delays above Loihi 2's 62 steps"),
    (["deploy", "{run}", "--long-delays", "clip", "--samples", "0"], "--samples must lie in 1..40"),
    (["deploy", "{run}", "--long-delays", "clip", "--samples", "41"], "--samples must lie in 1..40"),
    (["deploy", "{missing}"], "does not exist"),
    (["parity", "{missing}"], "does not exist"),
    (["bench", "{missing}"], "does not exist"),
])
def test_errors_are_one_clear_message(trained_run, tmp_path, args, message):
    args = [a.format(run=trained_run, missing=tmp_path / "nope") for a in args]
    r = invoke(*args)
    assert r.exit_code == 2 and message in " ".join(r.output.split()), r.output
    assert "Traceback" not in r.output


def test_parity_reports_corrupt_model_file(trained_run, tmp_path):
    import shutil
    run = tmp_path / "copy"
    shutil.copytree(trained_run, run)
    (run / "loihi").mkdir(exist_ok=True)
    (run / "loihi" / "model.h5").write_bytes(b"garbage")
    r = invoke("parity", run)
    assert r.exit_code == 2 and "not an HDF5 file or corrupt" in r.output


def test_refused_deployment_writes_nothing(trained_run, tmp_path):
    import shutil
    run = tmp_path / "copy"
    shutil.copytree(trained_run, run)
    shutil.rmtree(run / "loihi", ignore_errors=True)
    r = invoke("deploy", run)
    assert r.exit_code == 2 and "above Loihi 2's 62 steps" in " ".join(r.output.split())
    assert not (run / "loihi" / "model.h5").exists()


def test_parity_and_bench_refuse_a_model_file_of_another_network(trained_run, tmp_path):
    import shutil
    run = tmp_path / "copy"
    shutil.copytree(trained_run, run)
    r = invoke("deploy", run, "--long-delays", "relay", "--samples", "4")
    assert r.exit_code == 0, r.output
    state = torch.load(run / "best.pt", weights_only=False)           # training moved on after the deployment
    state["model"]["hid_out.weight"] += 0.01
    torch.save(state, run / "best.pt")
    for cmd in ("parity", "bench"):
        r = invoke(cmd, run, "--samples", "2")
        assert r.exit_code == 2 and "deployed from another checkpoint or config" in " ".join(r.output.split()), r.output
    r = invoke("deploy", run, "--long-delays", "relay", "--samples", "4")
    assert r.exit_code == 0, r.output
    with h5py.File(run / "loihi" / "model.h5", "a") as f:                # a foreign netx file (no eventprop stamp)
        meta = json.loads(f.attrs["eventprop"])
        del meta["meta"]["source"]
        f.attrs["eventprop"] = json.dumps(meta)
    r = invoke("parity", run, "--samples", "2")
    assert r.exit_code == 2 and "carries no eventprop source stamp" in " ".join(r.output.split()), r.output
