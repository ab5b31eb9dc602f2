"""A file written by eventprop loads in lava-dl's netx.hdf5.Network and produces the same spikes (marker: lava).

lava-dl 0.6.0 imports cv2 and torchvision at package import (object-detection helpers netx never uses); they are
not installed here, so this fixture stubs exactly those modules for the test. The package itself never does this.
"""
from __future__ import annotations

import importlib.machinery
import sys
import types

import numpy as np
import pytest

from eventprop.loihi import parity
from eventprop.loihi.emulator import Emulator
from eventprop.loihi.lava_compat import import_lava
from eventprop.loihi.netx_io import write_netx
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


def test_written_file_runs_in_netx_with_the_same_spikes(netx, tmp_path):
    from lava.magma.core.run_conditions import RunSteps
    from lava.magma.core.run_configs import Loihi2SimCfg
    from lava.proc.io.sink import RingBuffer as Sink
    from lava.proc.io.source import RingBuffer as Source
    from lava.proc.monitor.process import Monitor

    net = build("two_layer", dt=1.0, n_in=8, n_hid=10, max_delay_ms=20)
    fx = quantize(net, net.instantiate(6))
    assert write_netx(fx, tmp_path / "model.h5") == []        # netx_compatible: the claim checked below
    T = 80
    x = raster(6, 1, T, 8, 0.15)
    ours = Emulator(fx).run(x)

    model = netx.hdf5.Network(net_config=str(tmp_path / "model.h5"))
    assert len(model.layers) == 3
    src = Source(data=x[0].T.astype(np.int32))
    src.s_out.connect(model.inp)
    sinks = [Sink(shape=(layer.neuron.s_out.shape[0],), buffer=T) for layer in model.layers[:2]]
    for layer, sink in zip(model.layers[:2], sinks):
        layer.neuron.s_out.connect(sink.a_in)
    mon = Monitor()
    mon.probe(model.layers[2].neuron.v, T)
    try:
        model.run(condition=RunSteps(num_steps=T), run_cfg=Loihi2SimCfg(select_tag="fixed_pt"))
        spikes = [s.data.get() for s in sinks]
        v = np.asarray(mon.get_data()[model.layers[2].neuron.name]["v"]).astype(np.int64)
    finally:
        model.stop()
    theirs = {}
    for name, s in zip(("hid", "hid2"), spikes):
        ids, steps = np.nonzero(s)
        o = np.lexsort((ids, steps))
        theirs[name] = [(steps[o], ids[o])]
    assert sum(len(t[0][0]) for t in theirs.values()) > 10
    assert parity.first_divergence(parity.trains(fx, ours), theirs, 0) is None
    assert np.array_equal(v, ours.v["out"][0])
