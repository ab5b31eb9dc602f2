"""Build Lava processes for an FxNetwork and run them on Loihi2SimCfg(select_tag="fixed_pt") (or Loihi2HwCfg where
Intel's lava-loihi is importable), in a child process with a timeout, because Lava can deadlock.

Samples run back to back, T steps each: LIFReset zeros u and v at each sample's first step and the DelayDense
buffers (FastDelayDenseModel) are cleared at the same step, so no state crosses samples. Lava step k T + 1 + t is
the emulator's step t of sample k. Mixed-sign weights are passed as W << 1 with weight_exp = -1 (otherwise the
8-bit truncation drops their LSB); each projection - recurrent ones included - gets its own delays and exponent.
"""
from __future__ import annotations

import importlib

import multiprocessing as mp
import os
import signal
import time
import traceback

import numpy as np

from ..errors import LavaError
from .emulator import input_events, make_result
from .fixed_point import FxNetwork, FxResult

TARGETS = ("lava-sim", "loihi2")


def lava_weights(w: np.ndarray) -> tuple[np.ndarray, int]:
    """(weights, weight_exp) that make Lava deliver exactly the integer sum of `w` (8-bit signed ints)."""
    if w.min(initial=0) < 0 < w.max(initial=0):
        return (w.astype(np.int64) << 1), -1
    return w.astype(np.int64), 0


def _build(fx: FxNetwork, rasters: dict[str, np.ndarray], T: int, total: int, hardware: bool):
    from lava.proc.dense.process import DelayDense
    from lava.proc.sparse.process import DelaySparse
    from scipy.sparse import csr_matrix
    from lava.proc.io.sink import RingBuffer as SpikeSink
    from lava.proc.io.source import RingBuffer as SpikeSource
    from lava.proc.lif.process import LIFReset
    from lava.proc.monitor.process import Monitor

    reset = dict(reset_interval=T, reset_offset=1 % T)
    procs, sinks, monitors = {}, {}, {}
    for p in fx.populations:
        if p.kind == "input":
            procs[p.name] = SpikeSource(data=rasters[p.name])
            continue
        procs[p.name] = LIFReset(shape=(p.size,), du=p.du, dv=p.dv, vth=p.vth, bias_mant=0, bias_exp=0,
                                 name=p.name, **reset)
        if p.kind == "readout":
            monitors[p.name] = Monitor()
            monitors[p.name].probe(procs[p.name].v, total)
        else:
            sinks[p.name] = SpikeSink(shape=(p.size,), buffer=total)
            procs[p.name].s_out.connect(sinks[p.name].a_in)
    for j in fx.projections:
        n_pre, n_post = fx.population(j.source).size, fx.population(j.target).size
        w, e = lava_weights(j.matrix(n_pre, n_post))
        d = j.matrix(n_pre, n_post, j.delay)
        d[w == 0] = 0
        kind, w, d = (DelayDense, w, d.astype(int)) if j.dense else \
            (DelaySparse, csr_matrix(w), csr_matrix(d.astype(int)))
        syn = kind(weights=w, delays=d, max_delay=int(d.max()), weight_exp=e, num_weight_bits=8, name=j.name,
                   **({} if hardware else reset))
        procs[j.source].s_out.connect(syn.s_in)
        syn.a_out.connect(procs[j.target].a_in)
    return procs, sinks, monitors


def require_loihi() -> None:
    """Target loihi2 needs Intel's lava-loihi (its C and NeuroCore process models); lava-nc alone imports
    Loihi2HwCfg but fails deep inside the compiler (NameError 'CLoihiProcessModel')."""
    try:
        for module in ("lava.magma.core.model.c.model", "lava.magma.core.model.nc.model", "lava.utils.system"):
            importlib.import_module(module)
    except ImportError:
        raise LavaError("--target loihi2 needs Intel's lava-loihi package (for INRC members, with access to a "
                        "Loihi 2 system); it is not installed here. Use --target lava-sim (Lava's bit-accurate CPU "
                        "simulator) or the default emulator") from None


def _run_cfg(hardware: bool, stock_models: bool):
    if hardware:
        require_loihi()
        from lava.utils.system import Loihi2
        Loihi2.preferred_partition = "oheogulch"
        from lava.magma.core.run_configs import Loihi2HwCfg
        return Loihi2HwCfg()
    from lava.magma.core.run_configs import Loihi2SimCfg
    from lava.proc.dense.process import DelayDense
    from lava.proc.sparse.process import DelaySparse

    from .lava_models import FastDelayDenseModel, FastDelaySparseModel
    if stock_models:
        return Loihi2SimCfg(select_tag="fixed_pt")
    return Loihi2SimCfg(select_tag="fixed_pt", exception_proc_model_map={DelayDense: FastDelayDenseModel,
                                                                         DelaySparse: FastDelaySparseModel})


def _simulate(fx: FxNetwork, rasters, T: int, B: int, hardware: bool, stock_models: bool) -> dict:
    from lava.magma.core.run_conditions import RunSteps

    total = B * T
    procs, sinks, monitors = _build(fx, rasters, T, total, hardware)
    anchor = next(iter(procs.values()))
    t0 = time.perf_counter()
    anchor.run(condition=RunSteps(num_steps=total), run_cfg=_run_cfg(hardware, stock_models))
    seconds = time.perf_counter() - t0
    try:
        spikes = {name: s.data.get().astype(np.int8) for name, s in sinks.items()}
        volts = {}
        for name, mon in monitors.items():
            data = mon.get_data()
            volts[name] = np.asarray(data[name]["v"]).astype(np.int64)   # [total, N]
    finally:
        anchor.stop()
    return {"spikes": spikes, "v": volts, "seconds": seconds}


def _worker(conn, simulate, args):
    os.setsid()   # own process group, so a timeout can kill Lava's runtime processes too
    try:
        conn.send(("ok", simulate(*args)))
    except BaseException as e:  # everything goes back to the parent as a message
        conn.send(("error", f"{type(e).__name__}: {e}\n{traceback.format_exc()}"))
    finally:
        conn.close()


def input_rasters(fx: FxNetwork, batch, n_steps: int | None = None):
    """(events, {input population: int32 raster [N, B T]}, T, B) of a batch as Lava sources take it."""
    order, offsets = fx.layout()
    events = input_events(fx, batch, offsets)
    steps, gids, n, T_in = events
    T = T_in if n_steps is None else int(n_steps)
    B = n.shape[0]
    rasters = {}
    for p in fx.inputs:
        r = np.zeros((p.size, B * T), np.int32)
        for b in range(B):
            s, g = steps[b, :n[b]], gids[b, :n[b]] - offsets[p.name]
            mine = (g >= 0) & (g < p.size) & (s < T)
            np.add.at(r, (g[mine], b * T + s[mine]), 1)
        if r.max(initial=0) > 1:
            raise LavaError(f"input {p.name!r}: more than one spike per channel and step cannot be sent to Lava")
        rasters[p.name] = r
    return events, rasters, T, B


def run_in_child(simulate, args: tuple, timeout: float, what: str) -> dict:
    """simulate(*args) in a forked child with its own process group, killed after `timeout` seconds."""
    from .lava_compat import import_lava
    import_lava()   # in this process: Lava calls mp.set_start_method("fork") at import, which a child cannot
    ctx = mp.get_context("fork")   # no re-import of the caller's __main__; the child only runs Lava
    parent, child = ctx.Pipe(duplex=False)
    proc = ctx.Process(target=_worker, args=(child, simulate, args))
    proc.start()
    child.close()
    try:
        if not parent.poll(timeout):
            raise LavaError(f"{what} did not finish within {timeout:.0f} s (deadlock or too slow); killed it. Use "
                            f"fewer samples or a longer timeout")
        status, payload = parent.recv()
    except EOFError:
        raise LavaError(f"the {what} worker died (exit code {proc.exitcode})") from None
    finally:
        if proc.is_alive():
            try:
                os.killpg(proc.pid, signal.SIGKILL)
            except ProcessLookupError:
                pass
        proc.join(5)
    if status != "ok":
        raise LavaError(f"{what} failed: {payload}")
    return payload


def run_lava(fx: FxNetwork, batch, n_steps: int | None = None, target: str = "lava-sim",
             timeout: float = 600.0, stock_models: bool = False) -> tuple[FxResult, float]:
    """Run `batch` through Lava; returns (FxResult in the emulator's layout, seconds Lava spent running).
    `stock_models` uses Lava's own DelayDense model (slow; no buffer reset, so only one sample is exact)."""
    if target not in TARGETS:
        raise LavaError(f"Lava target must be one of {TARGETS}, got {target!r}")
    if target == "loihi2":
        require_loihi()
    if timeout <= 0:
        raise LavaError(f"the Lava timeout must be > 0 seconds, got {timeout:g}")
    events, rasters, T, B = input_rasters(fx, batch, n_steps)
    payload = run_in_child(_simulate, (fx, rasters, T, B, target == "loihi2", stock_models), timeout,
                           f"Lava ({B} samples x {T} steps)")
    return to_result(fx, payload, T, B, events), payload["seconds"]


def to_result(fx: FxNetwork, payload: dict, T: int, B: int, events: tuple) -> FxResult:
    order, offsets = fx.layout()
    spiking = [p for p in order if p.kind in ("lif", "relay") and p.name in payload["spikes"]]
    steps, gids = [], []
    for b in range(B):
        per_pop = []
        for p in spiking:
            ids, ts = np.nonzero(payload["spikes"][p.name][:, b * T:(b + 1) * T])
            per_pop.append((ts, ids + offsets[p.name]))
        t = np.concatenate([x for x, _ in per_pop] or [np.zeros(0, np.int64)])
        g = np.concatenate([y for _, y in per_pop] or [np.zeros(0, np.int64)])
        o = np.lexsort((g, t))
        steps.append(t[o].astype(np.int64))
        gids.append(g[o].astype(np.int64))
    n_r = sum(p.size for p in fx.readouts)
    vtrace = np.zeros((B, T, n_r), np.int64)
    col = 0
    for p in fx.readouts:
        vtrace[:, :, col:col + p.size] = payload["v"][p.name].reshape(B, T, p.size)
        col += p.size
    return make_result(fx, steps, gids, vtrace, events)
