"""Run RUN/loihi/model.h5 through lava-dl's own `netx.hdf5.Network` on Loihi2SimCfg(select_tag="fixed_pt"): what a
user of the file gets, checked against the emulator by `eventprop parity --netx`.

netx keeps neuron and delay state from one sample to the next (its reset_interval resets v and u but not what is in
flight between layers), so every sample runs in a fresh network, in one child process with a timeout.
"""
from __future__ import annotations

import time
from pathlib import Path

import numpy as np

from ..errors import LavaError
from .fixed_point import FxNetwork, FxResult
from .lava_runner import input_rasters, run_in_child, to_result
from .netx_io import _chain


def import_netx():
    """lava.lib.dl.netx, or a LavaError saying what to install."""
    from .lava_compat import import_lava
    import_lava()
    try:
        from lava.lib.dl import netx
    except ImportError as e:
        raise LavaError(f"lava-dl's netx cannot be imported ({e}): lava-dl 0.6.0 imports cv2 and torchvision when "
                        f"its package loads (for object-detection helpers netx does not use); install "
                        f"opencv-python-headless and the torchvision built for your torch") from None
    return netx


def _simulate(path: str, raster: np.ndarray, layers: list[str], T: int, B: int) -> dict:
    from lava.magma.core.run_conditions import RunSteps
    from lava.magma.core.run_configs import Loihi2SimCfg
    from lava.proc.io.sink import RingBuffer as Sink
    from lava.proc.io.source import RingBuffer as Source
    from lava.proc.monitor.process import Monitor
    netx = import_netx()
    spikes = {name: [] for name in layers[:-1]}
    volts, seconds = [], 0.0
    for b in range(B):
        model = netx.hdf5.Network(net_config=path)
        src = Source(data=raster[:, b * T:(b + 1) * T])
        src.s_out.connect(model.inp)
        sinks = [Sink(shape=(layer.neuron.s_out.shape[0],), buffer=T) for layer in model.layers[:-1]]
        for layer, sink in zip(model.layers[:-1], sinks):
            layer.neuron.s_out.connect(sink.a_in)
        mon = Monitor()
        mon.probe(model.layers[-1].neuron.v, T)
        t0 = time.perf_counter()
        try:
            model.run(condition=RunSteps(num_steps=T), run_cfg=Loihi2SimCfg(select_tag="fixed_pt"))
            seconds += time.perf_counter() - t0
            for name, sink in zip(layers[:-1], sinks):
                spikes[name].append(sink.data.get().astype(np.int8))
            volts.append(np.asarray(mon.get_data()[model.layers[-1].neuron.name]["v"]).astype(np.int64))
        finally:
            model.stop()
    return {"spikes": {k: np.concatenate(v, axis=1) for k, v in spikes.items()},
            "v": {layers[-1]: np.concatenate(volts, axis=0)}, "seconds": seconds}


def run_netx(fx: FxNetwork, path: Path, batch, timeout: float = 600.0) -> tuple[FxResult, float]:
    """(FxResult in the emulator's layout, seconds netx ran) of `batch` through the netx file at `path`, which must
    hold `fx` (the file `eventprop deploy` wrote from it)."""
    if timeout <= 0:
        raise LavaError(f"the netx timeout must be > 0 seconds, got {timeout:g}")
    import_netx()
    layers = [pop.name for pop, _, _ in _chain(fx)]
    events, rasters, T, B = input_rasters(fx, batch)
    payload = run_in_child(_simulate, (str(path), rasters[fx.inputs[0].name], layers, T, B), timeout,
                           f"lava-dl netx ({B} samples x {T} steps)")
    return to_result(fx, payload, T, B, events), payload["seconds"]
