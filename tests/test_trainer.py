"""Training loop, run folders, resume, configs and CLI errors."""
import json

import numpy as np

import pytest
import torch
from click.testing import CliRunner

from eventprop.cli import main
from eventprop.pipeline.training import config as configs
from eventprop.pipeline.training.checkpoints import RunError, load_checkpoint
from eventprop.pipeline.training.trainer import Trainer, prepare_run_dir


def small_config(epochs=4) -> configs.RunConfig:
    cfg = configs.preset("yinyang-delays")
    cfg.data.n_train, cfg.data.n_val, cfg.data.n_test = 96, 48, 48
    cfg.model.dt, cfg.model.hidden = 0.5, [16]
    cfg.train.epochs, cfg.train.batch_size = epochs, 16
    cfg.train.reg_lambda = 1e-3   # exercise the spike-count regulariser path too
    return cfg


def _train(cfg, out, resume=False, stop_after=None):
    cfg = prepare_run_dir(out, cfg, resume, force=False)
    tr = Trainer(cfg, out, quiet=True)
    if resume:
        tr.resume()
    tr.fit(stop_after)
    return tr


def test_resume_is_bit_identical(tmp_path):
    straight = _train(small_config(4), tmp_path / "a")
    _train(small_config(4), tmp_path / "b", stop_after=2)   # an interrupted run
    resumed = _train(None, tmp_path / "b", resume=True)
    a = load_checkpoint(tmp_path / "a" / "checkpoints" / "last.pt")["model"]
    b = load_checkpoint(tmp_path / "b" / "checkpoints" / "last.pt")["model"]
    assert a.keys() == b.keys()
    for k in a:
        assert torch.equal(a[k], b[k]), k
    # the run actually moved the parameters
    init = Trainer(small_config(4), tmp_path / "a", quiet=True).model.state_dict()
    assert not torch.equal(init["in_hid.delay"], a["in_hid.delay"])
    rows = [json.loads(x) for x in (tmp_path / "b" / "metrics.jsonl").read_text().splitlines()]
    assert [r["epoch"] for r in rows] == [1, 2, 3, 4]
    assert (tmp_path / "b" / "plots" / "training.png").stat().st_size > 0
    assert straight.epoch == resumed.epoch == 4


def test_delays_stay_clamped(tmp_path):
    cfg = small_config(2)
    cfg.train.lr_delay = 50.0   # huge steps push delays against both bounds
    tr = _train(cfg, tmp_path / "r")
    d = tr.model.get_submodule("in_hid").delay.detach()
    assert d.min() >= 0 and d.max() <= tr.net.connection("in_hid").max_delay_steps


def test_existing_folder_is_not_overwritten(tmp_path):
    _train(small_config(1), tmp_path / "r")
    before = (tmp_path / "r" / "metrics.jsonl").read_text()
    with pytest.raises(RunError, match="already exists"):
        prepare_run_dir(tmp_path / "r", small_config(1), resume=False, force=False)
    assert (tmp_path / "r" / "metrics.jsonl").read_text() == before


def test_corrupt_checkpoint_message(tmp_path):
    _train(small_config(1), tmp_path / "r")
    (tmp_path / "r" / "checkpoints" / "last.pt").write_bytes(b"not a checkpoint")
    tr = Trainer(configs.load(tmp_path / "r" / "config.toml"), tmp_path / "r", quiet=True)
    with pytest.raises(RunError, match="corrupt"):
        tr.resume()


@pytest.mark.parametrize("text,msg", [
    ("[data]\ntsk = 'x'\n", "unknown config key 'data.tsk'"),
    ("[model]\nhidden = 3\n", "'model.hidden': expected a list"),
    ("[train]\nlr = 'fast'\n", "'train.lr': expected a number"),
    ("[train]\nschedule = 'linear'\n", "'train.schedule': must be one of"),
    ("seed = [\n", "not valid TOML"),
])
def test_config_errors_name_the_key(tmp_path, text, msg):
    path = tmp_path / "c.toml"
    path.write_text(text)
    with pytest.raises(ValueError, match=msg):
        configs.load(path)


def test_presets_load():
    assert {"yinyang", "yinyang-delays", "sequence"} <= set(configs.presets())
    for name in configs.presets():
        configs.preset(name)


def test_cli_train_and_errors(tmp_path):
    cfg = small_config(1)
    cfg.dump(tmp_path / "small.toml")
    runner = CliRunner()
    out = tmp_path / "run"
    res = runner.invoke(main, ["train", str(tmp_path / "small.toml"), "--out", str(out), "--quiet"])
    assert res.exit_code == 0, res.output
    assert json.loads((out / "results.json").read_text())["epochs"] == 1
    res = runner.invoke(main, ["train", str(tmp_path / "small.toml"), "--out", str(out)])
    assert res.exit_code == 2 and "already exists" in res.output
    res = runner.invoke(main, ["train", "--preset", "nope", "--out", str(tmp_path / "x")])
    assert res.exit_code == 2 and "unknown preset 'nope'" in res.output
    res = runner.invoke(main, ["train", "--out", str(out), "--resume", "--epochs", "2", "--quiet"])
    assert res.exit_code == 2 and "'cosine' learning-rate schedule spans its 1 epochs" in res.output
    cfg.train.schedule = "none"   # without a schedule, extending a finished run is the same as a longer run
    cfg.dump(tmp_path / "flat.toml")
    flat = tmp_path / "flat"
    assert runner.invoke(main, ["train", str(tmp_path / "flat.toml"), "--out", str(flat), "--quiet"]).exit_code == 0
    res = runner.invoke(main, ["train", "--out", str(flat), "--resume", "--epochs", "2", "--quiet"])
    assert res.exit_code == 0, res.output
    assert json.loads((flat / "results.json").read_text())["epochs"] == 2
    blocked = tmp_path / "file"
    blocked.write_text("")
    res = runner.invoke(main, ["train", str(tmp_path / "small.toml"), "--out", str(blocked / "run")])
    assert res.exit_code == 2 and "cannot create run folder" in res.output


def test_nan_guard_skips_then_aborts(tmp_path, monkeypatch):
    cfg = prepare_run_dir(tmp_path / "r", small_config(1), False, False)
    tr = Trainer(cfg, tmp_path / "r", quiet=True)
    real_loss = tr._loss
    calls = {"n": 0}

    def flaky(run, labels, *args):   # first two batches non-finite, then normal: skipped with a warning, continues
        loss, ce, shared = real_loss(run, labels, *args)
        calls["n"] += 1
        return (loss * float("nan"), float("nan"), shared) if calls["n"] <= 2 else (loss, ce, shared)

    monkeypatch.setattr(tr, "_loss", flaky)
    before = tr.model.get_submodule("in_hid").weight.detach().clone()
    with pytest.warns(UserWarning, match="non-finite"):
        tr.fit()
    assert torch.isfinite(tr.model.get_submodule("in_hid").weight).all()
    assert not torch.equal(before, tr.model.get_submodule("in_hid").weight.detach())

    def infinite(run, labels, *args):
        loss, _, shared = real_loss(run, labels, *args)
        return loss * float("inf"), float("inf"), shared

    monkeypatch.setattr(tr, "_loss", infinite)
    tr.cfg.train.epochs = 2
    with pytest.warns(UserWarning), pytest.raises(RunError, match="consecutive batches with non-finite"):
        tr.fit()


def test_trainer_accepts_any_dataset(tmp_path):
    from eventprop.datasets import sequences
    cfg = configs.preset("sequence")
    cfg.train.epochs = 2
    cfg = prepare_run_dir(tmp_path / "r", cfg, False, False)
    sets = (sequences(64, 10, n_channels=5), sequences(32, 11, n_channels=5), sequences(32, 12, n_channels=5))
    tr = Trainer(cfg, tmp_path / "r", quiet=True, datasets=sets)
    summary = tr.fit()
    assert len(tr.train_set) == 64 and 0.0 <= summary["test_acc"] <= 1.0
    assert len((tmp_path / "r" / "metrics.jsonl").read_text().splitlines()) == 2


def test_readout_delays_config_learns_hidden_to_output_delays():
    from eventprop.pipeline.engine.module import compile as compile_network
    from eventprop.pipeline.training.tasks import make_network
    cfg = configs.preset("spoken-digits")
    cfg.model.hidden = [8]
    plain = make_network(cfg, 5, 3)
    cfg.model.readout_delays = True
    with_readout = make_network(cfg, 5, 3)
    assert not plain.connection("hid_out").learn_delays and plain.connection("hid_out").max_delay_steps == 0
    c = with_readout.connection("hid_out")
    assert c.learn_delays and c.max_delay_steps == round(cfg.model.max_delay_ms / cfg.model.dt) > 0
    assert compile_network(with_readout).parameter_counts()["delay"] == 5 * 8 + 8 * 3


def test_prefetch_yields_the_same_items_in_order_and_raises_where_the_source_did():
    from eventprop.datasets.base import prefetch

    def source(fail_at=None):
        for k in range(7):
            if k == fail_at:
                raise ValueError(f"bad sample {k}")
            yield k, np.full(3, k)
    assert [k for k, _ in prefetch(source())] == list(range(7))
    seen = []
    with pytest.raises(ValueError, match="bad sample 4"):
        for k, _ in prefetch(source(fail_at=4), depth=2):
            seen.append(k)
    assert seen == [0, 1, 2, 3]
    first = next(iter(prefetch(source())))            # a consumer that stops early leaves no thread behind
    assert first[0] == 0
