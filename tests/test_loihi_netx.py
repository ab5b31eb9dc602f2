"""A file written by eventprop loads in lava-dl's netx.hdf5.Network and produces the same spikes (marker: lava).

lava-dl 0.6.0 imports cv2 and torchvision at package import (object-detection helpers netx never uses); they are
not installed here, so this fixture stubs exactly those modules for the test. The package itself never does this.
"""
from __future__ import annotations

import importlib.machinery
import sys
import types

import h5py
import pytest

from eventprop.loihi import parity
from eventprop.loihi.emulator import Emulator
from eventprop.loihi.lava_compat import import_lava
from eventprop.errors import LavaError
from eventprop.loihi.netx_io import write_netx
from eventprop.loihi.netx_runner import run_netx
from eventprop.loihi.quantize import quantize

from fxnets import raster
from nets import build

pytestmark = [pytest.mark.lava, pytest.mark.timeout(300)]


class _Stub(types.ModuleType):
    """Any attribute is another stub; calling or subclassing it works."""

    def __getattr__(self, name):
        if name.startswith("__"):
            raise AttributeError(name)
        full = f"{self.__name__}.{name}"
        mod = sys.modules.setdefault(full, _Stub(full))
        return mod

    def __call__(self, *args, **kwargs):
        return self

    def __mro_entries__(self, bases):
        return (object,)


@pytest.fixture
def netx(monkeypatch):
    for name in ("cv2", "torchvision", "torchvision.ops", "torchvision.transforms", "torchvision.datasets",
                 "torchvision.transforms.functional", "torchvision.utils", "torchvision.io"):
        if name not in sys.modules:
            stub = _Stub(name)
            stub.__spec__ = importlib.machinery.ModuleSpec(name, None)
            monkeypatch.setitem(sys.modules, name, stub)
    import_lava()
    from lava.lib.dl import netx as module
    return module


def _zero(params, *names):
    for name in names:
        params[f"{name}.delay"][...] = 0
    return params


# every kind of file eventprop writes: (network, parameter edit, netx runs it as eventprop does)
KINDS = {
    "feed-forward, delays, N_in != N_hid": (lambda: build("two_layer", n_in=8, n_hid=10, max_delay_ms=20),
                                            lambda p: p, True),
    "feed-forward, no delays": (lambda: build("feedforward", n_in=8, n_hid=10, max_delay_ms=20),
                                lambda p: _zero(p, "in_hid", "hid_out"), True),
    "recurrent, no delays, N_in != N_hid": (lambda: build("recurrent", n_in=8, n_hid=10, max_delay_ms=20),
                                            lambda p: _zero(p, "in_hid", "hid_hid", "hid_out"), True),
    "recurrent, feed-forward delays, N_in != N_hid": (lambda: build("recurrent", n_in=8, n_hid=10, max_delay_ms=20),
                                                      lambda p: _zero(p, "hid_hid"), False),
    "recurrent, recurrent delays only": (lambda: build("recurrent", n_in=10, n_hid=10, max_delay_ms=20),
                                         lambda p: _zero(p, "in_hid"), False),
    "sparse recurrent, no delays": (lambda: build("sparse", n_in=8, n_hid=10, max_delay_ms=20),
                                    lambda p: _zero(p, "in_hid", "hid_hid", "hid_out"), True),
}


@pytest.mark.parametrize("kind", list(KINDS))
def test_every_kind_of_file_runs_in_netx_as_its_flag_says(netx, tmp_path, kind):
    build_net, edit, compatible = KINDS[kind]
    net = build_net()
    fx = quantize(net, edit(net.instantiate(6)))
    notes = write_netx(fx, tmp_path / "model.h5")
    with h5py.File(tmp_path / "model.h5") as f:
        assert bool(f.attrs["netx_compatible"]) == (not notes) == compatible, notes
    x = raster(6, 2, 80, fx.inputs[0].size, 0.15)
    ours = Emulator(fx).run(x)
    try:                                        # lava-dl's netx.hdf5.Network on Loihi2SimCfg, one network per sample
        theirs, _ = run_netx(fx, tmp_path / "model.h5", x, timeout=240)
    except LavaError as e:                      # netx refuses the file: only allowed where we said it would
        assert not compatible, str(e)
        return
    assert sum(len(s) for s in theirs.spike_steps) > 10
    same = all(d is None for d in parity.compare_fixed(fx, ours, theirs))
    assert same == compatible, f"{kind}: netx {'differs' if compatible else 'agrees'}; the flag says {compatible}"


def _train(out, max_delay_ms: float):
    from eventprop.pipeline.training import config as configs
    from eventprop.pipeline.training.trainer import Trainer, prepare_run_dir
    cfg = configs.preset("sequence")
    cfg.data.n_train, cfg.data.n_val, cfg.data.n_test, cfg.train.epochs = 64, 16, 8, 2
    cfg.model.max_delay_ms, cfg.model.delay_init_ms = max_delay_ms, [0.0, max_delay_ms]
    cfg = prepare_run_dir(out, cfg, resume=False, force=False)
    trainer = Trainer(cfg, out, quiet=True)
    trainer.fit()
    trainer.close()
    return out


@pytest.fixture(scope="module")
def runs(tmp_path_factory):
    """A run whose delays fit Loihi (<= 50 steps) and one that needs relays (<= 80 steps), each deployed."""
    from click.testing import CliRunner
    from eventprop.cli import main
    tmp = tmp_path_factory.mktemp("netx_runs")
    out = {"fits": _train(tmp / "fits", 25.0), "relays": _train(tmp / "relays", 40.0)}
    for run in out.values():
        r = CliRunner().invoke(main, ["deploy", str(run), "--long-delays", "relay", "--samples", "4"])
        assert r.exit_code == 0, r.output
    return out


def _parity_netx(run):
    from click.testing import CliRunner
    from eventprop.cli import main
    r = CliRunner().invoke(main, ["parity", str(run), "--samples", "3", "--netx"], catch_exceptions=False)
    assert r.exit_code in (0, 1), r.output
    import json
    return r, json.loads((run / "loihi" / "parity.json").read_text())


def test_parity_netx_runs_the_deployed_file_in_lava_dl(netx, runs):
    r, rep = _parity_netx(runs["fits"])
    assert r.exit_code == 0, r.output
    nx = rep["emulator_vs_netx"]
    assert nx["file_says_netx_compatible"] and nx["exact_samples"] == 1.0 and nx["first_divergence"] is None
    assert "lava-dl" in r.output


def test_parity_netx_reports_what_netx_runs_differently(netx, runs):
    r, rep = _parity_netx(runs["relays"])       # delays above 62 steps: netx clamps them; the flag said so
    nx = rep["emulator_vs_netx"]
    assert not nx["file_says_netx_compatible"] and nx["exact_samples"] < 1.0
    assert r.exit_code == 1 and "or netx disagree" in r.output and not rep["ok"]


def test_parity_netx_without_cv2_says_what_to_install(runs):
    import importlib.util
    import subprocess
    if importlib.util.find_spec("cv2") and importlib.util.find_spec("torchvision"):
        pytest.skip("cv2 and torchvision are installed: lava-dl's netx imports")
    r = subprocess.run([sys.executable, "-m", "eventprop", "parity", str(runs["fits"]), "--samples", "2", "--netx"],
                       capture_output=True, text=True, timeout=240)
    assert r.returncode == 2, r.stdout + r.stderr
    assert "install opencv-python-headless and the torchvision built for your torch" in " ".join(r.stdout.split())
