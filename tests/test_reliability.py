"""Every failure a clear message (exit code 2, naming the key, file, field or object) and nothing left behind."""
import json
from pathlib import Path

import h5py
import nir
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


# ---- issue: nothing silently wrong, no tracebacks left ---------------------------------------------------------
def _cli(*args):
    return CliRunner().invoke(main, [str(a) for a in args])


def _one_clear_line(res, *needles):
    assert res.exit_code == 2, res.output
    assert "Traceback" not in res.output and res.exception is None or isinstance(res.exception, SystemExit)
    text = " ".join(res.output.split())
    for needle in needles:
        assert needle in text, text


@pytest.mark.parametrize("edit,needles", [
    (lambda d: d.update(seed=-1), ["'seed'", "-1"]),
    (lambda d: d["data"].update(task="sequence", n_channels=0, duration=60.0), ["'data.n_channels'", "0"]),
    (lambda d: d["data"].update(task="sequence", n_channels=-2, duration=60.0), ["'data.n_channels'", "-2"]),
    (lambda d: d["data"].update(task="sequence", n_channels=5, gap=-5.0, duration=60.0), ["'data.gap'", "-5"]),
    (lambda d: d["data"].update(task="sequence", n_channels=5, gap=1000.0, duration=60.0),
     ["'data.gap'", "outside the 60 ms trial"]),
    (lambda d: d["data"].update(t_early=30.0), ["data.t_early", "t_early < t_late"]),
    (lambda d: d["model"].update(dt=100.0), ["holds 1 time step", "at least 2"]),
    (lambda d: d["data"].update(duration=0.1), ["holds 1 time step"]),
    (lambda d: d["model"].update(max_delay_ms=0.0, delay_init_ms=[0.0, 0.0], learn_delays=True),
     ["'model.learn_delays'", "max_delay_ms = 0"]),
    (lambda d: d["model"].update(max_delay_ms=1e9), ["'model.max_delay_ms'", "longer than the trial"]),
    (lambda d: d["model"].update(hidden=[10_000_000]), ["GiB of memory", "engine buffers", "available"]),
    (lambda d: d["data"].update(n_train=1_000_000_000), ["GiB of memory", "datasets"]),
])
def test_bad_configs_are_one_message_and_leave_no_folder(tmp_path, edit, needles):
    data = small_config(1).to_dict()
    edit(data)
    path = tmp_path / "bad.toml"
    path.write_text(configs.tomli_w.dumps(data))
    _one_clear_line(_cli("train", path, "--out", tmp_path / "run"), *needles)
    assert not (tmp_path / "run").exists()


def test_cli_overrides_and_binary_configs_are_checked(tmp_path):
    small_config(1).dump(tmp_path / "c.toml")
    _one_clear_line(_cli("train", tmp_path / "c.toml", "--out", tmp_path / "r", "--seed", "-1"), "'seed'")
    _one_clear_line(_cli("train", tmp_path / "c.toml", "--out", tmp_path / "r", "--epochs", "0"), "'train.epochs'")
    (tmp_path / "b.toml").write_bytes(bytes(range(256)))
    _one_clear_line(_cli("train", tmp_path / "b.toml", "--out", tmp_path / "r"), "not a text file")
    assert not (tmp_path / "r").exists()


def test_labels_outside_the_declared_classes_are_refused(tmp_path):
    path = tmp_path / "SHD" / "shd_train.h5"
    write_hsd(path, 6)
    with h5py.File(path, "a") as f:
        labels = f["labels"][()]
        labels[4] = 999
        f["labels"][...] = labels
    _one_clear_line(_cli("data", "inspect", path), "shd_train.h5", "sample 4", "999", "20 classes")


def test_data_inspect_validates_as_training_does(tmp_path):
    path = tmp_path / "a.h5"
    write_hsd(path, 5)
    with h5py.File(path, "a") as f:
        f["spikes/units"][2] = np.arange(3, dtype=np.uint16)     # 3 units for more times
    _one_clear_line(_cli("data", "inspect", path), "sample 2 has", "spike times but 3 units")
    write_hsd(path, 5, bad_unit=True, n_channels=40)
    with h5py.File(path, "a") as f:
        f["extra"].attrs["n_channels"] = 40
    _one_clear_line(_cli("data", "inspect", path), "sample 4 holds unit 40, outside [0, 40)")
    write_hsd(path, 5)
    res = _cli("data", "inspect", path)
    assert res.exit_code == 0 and "not declared in extra.n_channels" in res.output
    with h5py.File(tmp_path / "empty.h5", "w") as f:
        f.create_dataset("spikes/times", (0,), dtype=h5py.vlen_dtype(np.float32))
        f.create_dataset("spikes/units", (0,), dtype=h5py.vlen_dtype(np.uint16))
        f["labels"] = np.zeros(0, np.uint16)
        f["extra/speaker"] = np.zeros(0, np.uint16)
        f["extra/keys"] = np.array([b"a"])
    _one_clear_line(_cli("data", "inspect", tmp_path / "empty.h5"), "holds no samples")


def test_training_refuses_a_sample_whose_times_and_units_differ(tmp_path):
    from shd_files import write_shd_root
    write_shd_root(tmp_path)
    with h5py.File(tmp_path / "SHD" / "shd_train.h5", "a") as f:
        f["spikes/units"][7] = np.arange(2, dtype=np.uint16)
    cfg = configs.preset("shd")
    cfg.data.root, cfg.model.hidden, cfg.train.epochs = str(tmp_path), [8], 1
    cfg.dump(tmp_path / "c.toml")
    _one_clear_line(_cli("train", tmp_path / "c.toml", "--out", tmp_path / "run"), "sample 7 has",
                    "but 2 units")
    assert not (tmp_path / "run").exists()


def test_spoken_digits_without_data_says_how_to_make_them(tmp_path):
    cfg = configs.preset("spoken-digits")
    cfg.data.root = str(tmp_path / "none")
    cfg.dump(tmp_path / "c.toml")
    res = _cli("train", tmp_path / "c.toml", "--out", tmp_path / "run")
    _one_clear_line(res, "eventprop data spoken-digits --out")
    assert "data fetch" not in res.output


def test_duration_that_cuts_input_events_warns_with_the_count(tmp_path):
    from shd_files import write_shd_root
    from eventprop.pipeline.training.tasks import make_datasets
    write_shd_root(tmp_path)                                     # spikes up to 1.2 s
    cfg = configs.preset("shd")
    cfg.data.root, cfg.data.duration = str(tmp_path), 600.0
    with pytest.warns(UserWarning, match=r"data.duration = 600 ms: [\d,]+ of [\d,]+ input events \(\d+\.\d %\) of "
                                         r"shd_train.h5"):
        make_datasets(cfg)


@pytest.mark.parametrize("args,needles", [
    (["data", "spoken-digits", "--channels", "0"], ["--channels", "0"]),
    (["data", "spoken-digits", "--channels", "-5"], ["--channels"]),
    (["data", "spoken-digits", "--channels", "100000"], ["--channels", "100000"]),
    (["data", "spoken-digits", "--pitches", "150"], ["--pitches", "0..99"]),
])
def test_spoken_digits_options_are_range_checked(tmp_path, args, needles):
    res = _cli(*args, "--out", tmp_path / "d")
    assert res.exit_code == 2 and all(n in res.output for n in needles), res.output
    assert not (tmp_path / "d").exists()


def test_data_fetch_offline_leaves_no_empty_folder(tmp_path, monkeypatch):
    import tonic

    def offline(self, *a, **k):
        Path(self.location_on_system).mkdir(parents=True, exist_ok=True)
        raise OSError("no network")
    monkeypatch.setattr(tonic.datasets.SHD, "__init__", lambda self, save_to, **kw: offline(
        type("D", (), {"location_on_system": Path(save_to) / "SHD"})()))
    res = _cli("data", "fetch", "shd", "--root", tmp_path)
    assert res.exit_code == 2 and "are you offline" in res.output
    assert not (tmp_path / "SHD").exists()


def test_from_nir_refuses_bad_graphs(tmp_path):
    import copy
    from eventprop import from_nir, to_nir
    net = build("feedforward", n_in=4, n_hid=5)
    graph, _ = to_nir(net, net.instantiate(0))
    linear = next(n for n, node in graph.nodes.items() if isinstance(node, nir.Linear))
    delay = next(n for n, node in graph.nodes.items() if isinstance(node, nir.Delay))
    from_nir(graph)                                                   # as exported: fine
    bad = copy.deepcopy(graph)
    bad.nodes[linear].weight[0, 0] = np.nan
    with pytest.raises(ModelError, match=f"'{linear}': weight holds non-finite values"):
        from_nir(bad)
    bad = copy.deepcopy(graph)
    bad.nodes[delay].delay[:] = 1e12
    with pytest.raises(ModelError, match=f"'{delay}': a delay of 1e\\+12 s"):
        from_nir(bad)
    bad = copy.deepcopy(graph)
    bad.edges.append((linear, "ghost"))
    with pytest.raises(ModelError, match="node 'ghost' is not in the graph"):
        from_nir(bad)
    (tmp_path / "junk.nir").write_bytes(b"not hdf5 at all")
    with pytest.raises(ModelError, match="cannot read .*junk.nir as a NIR graph"):
        from_nir(tmp_path / "junk.nir")
    with pytest.raises(ModelError, match="does not exist"):
        from_nir(tmp_path / "none.nir")


@pytest.fixture(scope="module")
def small_run(tmp_path_factory):
    root = tmp_path_factory.mktemp("small")
    small_config(1).dump(root / "c.toml")
    assert _cli("train", root / "c.toml", "--out", root / "run", "--quiet").exit_code == 0
    return root / "run"


def test_deploy_bench_and_export_options_are_checked(small_run, tmp_path):
    _one_clear_line(_cli("deploy", small_run, "--target", "loihi2"), "needs Intel's lava-loihi", "--target lava-sim")
    _one_clear_line(_cli("deploy", small_run, "--target", "lava-sim", "--timeout", "-1"), "--timeout", "-1")
    _one_clear_line(_cli("export-nir", small_run, tmp_path / "nowhere" / "x.nir"), "folder", "does not exist")
    assert not (tmp_path / "nowhere").exists()
    assert _cli("deploy", small_run).exit_code == 0
    res = _cli("bench", small_run, "--lava-samples", "0")          # 48 test samples < the default 100: all of them
    assert res.exit_code == 0, res.output
    assert json.loads((small_run / "loihi" / "bench.json").read_text())["samples"] == 48
    _one_clear_line(_cli("bench", small_run, "--lava-samples", "-3"), "--lava-samples must lie in 0..48", "-3")


def test_a_config_edited_after_training_is_named_by_deploy(small_run, tmp_path):
    import shutil
    run = tmp_path / "run"
    shutil.copytree(small_run, run, ignore=shutil.ignore_patterns(".lock", "loihi"))
    cfg = configs.load(run / "config.toml")
    cfg.model.hidden = [20]
    cfg.dump(run / "config.toml")
    _one_clear_line(_cli("deploy", run), "does not match", "'in_hid.weight' has shape (5, 16) in the checkpoint",
                    "(5, 20)")


def test_analyze_refuses_a_k_beyond_the_layer_and_hides_meaningless_rows(small_run):
    _one_clear_line(_cli("analyze", small_run, "--k", "100000"), "--k must be below", "16 neurons")
    from eventprop.analysis.graphs import locality
    rng = np.random.default_rng(0)
    few = locality(rng.random((5, 16)), rng.random((5, 16)), k=8)   # 5 inputs have no 8 nearest
    assert few["knn_weight_share"] is None and few["knn_chance"] is None


def test_silent_layer_warning_reads_like_other_messages(tmp_path):
    cfg = small_config(1)
    cfg.model.w_in = [0.0, 0.0]
    cfg.dump(tmp_path / "c.toml")
    res = _cli("train", tmp_path / "c.toml", "--out", tmp_path / "r", "--quiet")
    assert res.exit_code == 0
    assert "warning: epoch 1: hidden population 'hidden0' did not spike" in " ".join(res.output.split())
    assert "UserWarning" not in res.output and "trainer.py" not in res.output


def test_import_mlgenn_refuses_transposed_arrays_and_unknown_map_names(tmp_path):
    cfg = configs.preset("sequence")
    cfg.data.n_train, cfg.data.n_val, cfg.data.n_test = 16, 8, 8
    cfg.dump(tmp_path / "seq.toml")
    ckpt = tmp_path / "ckpt"
    ckpt.mkdir()
    np.save(ckpt / "1-in_hid-g.npy", np.zeros((8, 5)))             # in_hid is 5 x 8
    np.save(ckpt / "1-in_hid-d.npy", np.zeros(40))
    np.save(ckpt / "1-hid_out-g.npy", np.zeros(16))
    args = ["import-mlgenn", ckpt, "--config", tmp_path / "seq.toml", "--epoch", "1", "--out", tmp_path / "imp"]
    _one_clear_line(_cli(*args), "1-in_hid-g.npy", "shape (5, 8)", "got shape (8, 5)", "transposed")
    _one_clear_line(_cli(*args, "--map", "bogus=Conn"), "--map bogus=", "no connection 'bogus'")
    assert not (tmp_path / "imp").exists()
