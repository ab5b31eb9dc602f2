"""NIR graphs for one consumer's importer: parameters written in snnTorch's or Norse's discrete reading of CubaLIF.

Both importers integrate a CubaLIF per step with forward Euler and no latency on feed-forward Linear nodes; neither
maps Delay or CubaLI. A graph written `for_consumer` runs in that consumer exactly as eventprop runs the network:
  snnTorch (`snntorch.import_nir.import_from_nir`, which fixes its dt at 1e-4 s): syn <- alpha syn + W x,
    mem <- beta mem + syn, alpha = 1 - 1e-4 / tau_syn, beta = 1 - 1e-4 / tau_mem (r = tau_mem / 1e-4 and
    w_in = tau_syn / 1e-4 are what it asserts). Written: tau such that alpha = exp(-dt / tau_syn) and
    beta = exp(-dt / tau_mem) of the eventprop network, weights times (1 - beta) (tau_syn / dt)(1 - alpha), so
    mem is eventprop's V.
  Norse (`norse.torch.from_nir(graph, dt=DT)`, DT in seconds from the graph's metadata): syn <- syn +
    dt/tau_syn (w_in x - syn), v <- v + dt/tau_mem (r syn - v). Written: tau_syn = dt / (1 - alpha),
    tau_mem = dt / (1 - beta), w_in = 1, r = tau_syn / dt (eventprop's), weights as they are; v is eventprop's V.
The readout becomes a CubaLIF that never fires (v_threshold = inf): read its membrane. Every connection of eventprop
adds one step of latency and the consumers' Linear nodes add none, so a population k feed-forward hops from the
input runs k steps earlier in the consumer than in eventprop (its step t is eventprop's step t + k); recurrent
connections keep one step in both. Hence only layered networks without delays are written: skip or backward
connections and delays are refused by name, and recurrent connections for snnTorch (its importer routes a recurrent
layer's external input through the recurrent weights). `read_step` is the same two readings for graphs those libraries
wrote (eventprop.from_nir(graph, reading=...)).
"""
from __future__ import annotations

import math

import nir
import numpy as np

from ..errors import ModelError
from ..models import LeakyIntegrate, LeakyIntegrateFire, Network, SpikeInput

CONSUMERS = ("snntorch", "norse")
SNNTORCH_DT = 1e-4          # seconds; snnTorch's NIR importer hard-codes it
MS = 1e-3


def _check_consumer(consumer: str):
    if consumer not in CONSUMERS:
        raise ModelError(f"NIR consumer must be one of {CONSUMERS}, got {consumer!r}")


def layer_depths(net: Network, consumer: str, delays: dict[str, np.ndarray]) -> dict[str, int]:
    """Feed-forward hops from the input per population; refuses what the consumer cannot run as eventprop does."""
    _check_consumer(consumer)
    for c in net.connections:
        if np.any(delays[c.name]):
            raise ModelError(f"connection {c.name!r} has delays (up to {int(delays[c.name].max())} steps); "
                             f"{consumer}'s NIR importer maps no Delay node: export without --for to keep them")
    recurrent = [c.name for c in net.connections if c.source is c.target]
    if consumer == "snntorch" and recurrent:
        raise ModelError(f"connection {recurrent[0]!r} is recurrent: snnTorch 1.0's import_from_nir runs recurrent "
                         f"graphs wrong (its subgraph routes the external input through the recurrent weights, "
                         f"Input -> W_rec); export --for norse, which runs them as eventprop does")
    depth = {p.name: 0 for p in net.populations if isinstance(p.model, SpikeInput)}
    forward = [c for c in net.connections if c.source is not c.target]
    for _ in net.populations:
        for c in forward:
            if c.source.name in depth:
                depth.setdefault(c.target.name, depth[c.source.name] + 1)
    for c in forward:
        if c.source.name not in depth or depth.get(c.target.name) != depth[c.source.name] + 1:
            raise ModelError(f"connection {c.name!r} ({c.source.name} -> {c.target.name}) skips or goes back a "
                             f"layer: {consumer} adds no latency on a Linear node, so only layered networks (and "
                             f"self-recurrent connections) run there as in eventprop")
    return depth


def importer_step(consumer: str, dt_ms: float) -> float:
    """Seconds per step in the consumer's reading: snnTorch's importer fixes 1e-4 s, Norse's takes dt."""
    return SNNTORCH_DT if consumer == "snntorch" else dt_ms * MS


def _decay(name: str, field: str, value: float) -> float:
    if not 0.0 < value < 1.0:
        raise ModelError(f"NIR node {name!r}: {field} gives a per-step decay of {value:g}; eventprop needs one in "
                         f"(0, 1) (a time constant longer than the step)")
    return value


def read_step(consumer: str, name: str, current: bool, tau_syn_s: float | None, tau_mem_s: float, r: np.ndarray,
              w_in: np.ndarray, dt_ms: float) -> tuple[float, float, np.ndarray]:
    """(synaptic decay, membrane decay, drive per neuron) of a CubaLIF (current) or LIF node as the consumer's
    importer steps it, forward Euler: snnTorch syn <- a_syn syn + drive W x, mem <- a_mem mem + syn; Norse
    v <- a_mem v + (1 - a_mem) r syn, syn <- a_syn syn + (1 - a_syn) w_in x (a LIF: the input enters v directly)."""
    step = importer_step(consumer, dt_ms)
    a_mem = _decay(name, "tau_mem", 1.0 - step / tau_mem_s)
    a_syn = _decay(name, "tau_syn", 1.0 - step / tau_syn_s) if current else 0.0
    if consumer == "snntorch":
        if current and not np.allclose(r, tau_mem_s / step, rtol=1e-6):
            raise ModelError(f"NIR node {name!r}: r = {r[0]:g} found; snnTorch reads CubaLIF only with "
                             f"r = tau_mem / 1e-4 = {tau_mem_s / step:g}")
        return a_syn, a_mem, (w_in * step / tau_syn_s) if current else r * step / tau_mem_s
    if not current and not np.allclose(r, 1.0):
        raise ModelError(f"NIR node {name!r}: r = {r[0]:g} found; Norse reads LIF as if r = 1 (it warns and "
                         f"ignores r), so the graph does not say what Norse runs")
    return a_syn, a_mem, (1.0 - a_mem) * r * (1.0 - a_syn) * w_in if current else (1.0 - a_mem) * np.ones(r.size)


def population_node(consumer: str, pop, tau_syn_ms: float, dt_ms: float) -> nir.NIRNode:
    """The population as the consumer's importer must read it (SpikeInput -> Input)."""
    m, n = pop.model, pop.size
    if isinstance(m, SpikeInput):
        return nir.Input(input_type={"input": np.array([n])})
    if type(m) is not LeakyIntegrateFire and not isinstance(m, LeakyIntegrate):
        raise ModelError(f"Population {pop.name!r}: {type(m).__name__} has no NIR mapping")
    a_syn, a_mem = math.exp(-dt_ms / tau_syn_ms), math.exp(-dt_ms / m.tau_mem)
    step = importer_step(consumer, dt_ms)
    tau_syn, tau_mem = step / (1.0 - a_syn), step / (1.0 - a_mem)
    if consumer == "snntorch":
        r, w_in = tau_mem / SNNTORCH_DT, tau_syn / SNNTORCH_DT
    else:
        r, w_in = tau_syn_ms / dt_ms, 1.0
    ones = np.ones(n)
    readout = isinstance(m, LeakyIntegrate)
    meta = {"eventprop": {"population": pop.name, **({"readout": m.readout, "never_fires": True} if readout else {})}}
    return nir.CubaLIF(tau_syn=tau_syn * ones, tau_mem=tau_mem * ones, r=r * ones, v_leak=0 * ones,
                       v_threshold=(np.inf if readout else m.v_thresh) * ones, v_reset=0 * ones, w_in=w_in * ones,
                       metadata=meta)


def weight_scale(consumer: str, target, tau_syn_ms: float, dt_ms: float) -> float:
    """Factor on the weights into `target` (snnTorch's mem takes syn with coefficient 1)."""
    if consumer == "norse":
        return 1.0
    a_syn, a_mem = math.exp(-dt_ms / tau_syn_ms), math.exp(-dt_ms / target.model.tau_mem)
    return (1.0 - a_mem) * (tau_syn_ms / dt_ms) * (1.0 - a_syn)


def conventions(consumer: str, depth: dict[str, int], dt_ms: float) -> dict:
    """What a user of the consumer needs to compare its run with eventprop's (written into the graph)."""
    call = "snntorch.import_nir.import_from_nir(graph)" if consumer == "snntorch" else \
        f"norse.torch.from_nir(graph, dt={dt_ms * MS:g})"
    return {"consumer": consumer, "import_with": call,
            "input": f"per step of {dt_ms:g} ms, the number of spikes of each input channel in that step",
            "latency": "population P's step t in the consumer is eventprop's step t + "
                       + ", ".join(f"{k} for {p}" for p, k in depth.items() if k),
            "readout": "the readout is a CubaLIF that never fires (v_threshold = inf); its membrane is eventprop's "
                       "readout voltage",
            "threshold": "eventprop spikes at V >= threshold, the consumer at V > threshold (equal only on an exact "
                         "tie)"}
