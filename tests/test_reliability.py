"""Every failure a clear message (exit code 2, naming the key, file, field or object) and nothing left behind."""
import json

import h5py
import numpy as np
import pytest
import torch
from click.testing import CliRunner

import eventprop
from eventprop.cli import main
from eventprop.errors import ConfigError, DataError, EventpropError, ModelError, RunError
from eventprop.models import LeakyIntegrateFire
from eventprop.pipeline.training import config as configs
from eventprop.pipeline.training.trainer import Trainer, _finite_or_null, prepare_run_dir
from nets import build
from shd_files import write_hsd
from test_trainer import small_config


@pytest.mark.parametrize("section,key,value,message", [
    ("model", "dt", 0.0, "'model.dt': must be > 0"),
    ("train", "batch_size", 0, "'train.batch_size': must be >= 1"),
    ("data", "n_train", 0, "'data.n_train': task 'yinyang' generates its sets"),
    ("train", "lr", float("nan"), "'train.lr': expected a finite number"),
    ("model", "delay_init_ms", [0.0, 50.0], "'model.delay_init_ms'.*<= model.max_delay_ms = 10.0"),
    ("model", "v_thresh", float("inf"), "'model.v_thresh': expected a finite number"),
])
def test_bad_values_are_refused_at_load_and_leave_no_run_folder(tmp_path, section, key, value, message):
    data = small_config(1).to_dict()
    data[section][key] = value
    with pytest.raises(ConfigError, match=message):
        configs.from_dict(data)
    path = tmp_path / "bad.toml"
    path.write_text(configs.tomli_w.dumps(data))
    res = CliRunner().invoke(main, ["train", str(path), "--out", str(tmp_path / "run")])
    assert res.exit_code == 2 and key in res.output and "Traceback" not in res.output
    assert not (tmp_path / "run").exists()


def test_a_run_that_cannot_start_leaves_nothing(tmp_path):
    cfg = configs.preset("shd")
    cfg.data.root = str(tmp_path / "nowhere")
    cfg.dump(tmp_path / "shd.toml")
    res = CliRunner().invoke(main, ["train", str(tmp_path / "shd.toml"), "--out", str(tmp_path / "run")])
    assert res.exit_code == 2 and "file not found" in res.output
    assert not (tmp_path / "run").exists()


def test_resume_refuses_a_new_seed(tmp_path):
    small_config(1).dump(tmp_path / "c.toml")
    runner = CliRunner()
    assert runner.invoke(main, ["train", str(tmp_path / "c.toml"), "--out", str(tmp_path / "r"), "--quiet"]).exit_code == 0
    res = runner.invoke(main, ["train", "--out", str(tmp_path / "r"), "--resume", "--seed", "3"])
    assert res.exit_code == 2 and "--seed cannot change a resumed run" in res.output


def test_model_values_checked_in_the_api():
    with pytest.raises(ModelError, match="v_thresh must be a positive finite number"):
        LeakyIntegrateFire(v_thresh=float("inf"))
    with pytest.raises(ModelError, match="slope_floor"):
        LeakyIntegrateFire(slope_floor=-1.0)


@pytest.mark.parametrize("conn,what,value", [("in_hid", "delay", np.nan), ("in_hid", "delay", -np.inf),
                                             ("in_hid", "weight", np.inf), ("hid_out", "weight", -np.inf),
                                             ("hid_out", "weight", np.nan)])
def test_non_finite_parameters_named_before_the_kernels_run(conn, what, value):
    model = eventprop.compile(build("feedforward", n_in=4, n_hid=5), seed=0)
    raster = np.zeros((1, 20, 4), np.float32)
    with torch.no_grad():
        getattr(getattr(model, conn), what)[-1, -1] = value
    with pytest.raises(ModelError, match=f"Connection '{conn}': {what}s hold non-finite values"):
        model(raster)


def test_unwritable_kernel_cache_is_one_message(tmp_path, monkeypatch):
    blocker = tmp_path / "file"
    blocker.write_text("")
    monkeypatch.setenv("EVENTPROP_CACHE", str(blocker / "kernels"))
    with pytest.raises(RunError, match="kernel cache .* is not writable.*EVENTPROP_CACHE"):
        eventprop.compile(build("feedforward", n_in=7, n_hid=13, n_out=2), seed=0)


@pytest.mark.parametrize("bad,what", [(np.nan, "non-finite"), (np.inf, "non-finite"), (-0.5, "negative")])
def test_data_inspect_refuses_bad_spike_times(tmp_path, bad, what):
    path = tmp_path / "SHD" / "shd_train.h5"
    write_hsd(path, 5, times_dtype=np.float32)
    with h5py.File(path, "a") as f:
        t = f["spikes/times"][3].copy()
        t[1] = bad
        f["spikes/times"][3] = t
    res = CliRunner().invoke(main, ["data", "inspect", str(path)])
    assert res.exit_code == 2 and f"sample 3 holds a {what} time" in res.output


def test_nan_learning_rate_stops_the_run(tmp_path):
    cfg = prepare_run_dir(tmp_path / "r", small_config(1), False, False)
    tr = Trainer(cfg, tmp_path / "r", quiet=True)
    tr.cfg.train.lr = float("nan")       # past validation, e.g. set in code after loading
    with pytest.raises(RunError, match="parameter '.*weight' became non-finite after an update"):
        tr.fit()


def test_silent_hidden_layer_warns_once(tmp_path):
    cfg = small_config(2)
    cfg.model.w_in = [0.0, 0.0]
    cfg = prepare_run_dir(tmp_path / "r", cfg, False, False)
    with pytest.warns(UserWarning, match="hidden population 'hidden0' did not spike at all") as record:
        Trainer(cfg, tmp_path / "r", quiet=True).fit()
    assert sum("did not spike" in str(w.message) for w in record) == 1
    for line in (tmp_path / "r" / "metrics.jsonl").read_text().splitlines():
        json.loads(line)


def test_metrics_rows_are_strict_json():
    row = _finite_or_null({"loss": float("nan"), "lr": {"weight": float("inf"), "delay": 0.1}, "epoch": 3})
    assert json.loads(json.dumps(row, allow_nan=False)) == {"loss": None, "lr": {"weight": None, "delay": 0.1},
                                                             "epoch": 3}


def test_one_error_type_for_the_cli():
    for cls in (ConfigError, DataError, ModelError, RunError):
        assert issubclass(cls, EventpropError)
