"""Delays beyond Loihi 2's 0..62 steps: refuse (`error`), clamp (`clip`) or realise exactly with relays (`relay`).

A relay is a LIF that fires in the step a spike reaches it and forgets at once (du = dv = 4095, vth = 0, input
weight 1). Stage k of neuron i fires exactly 63 k steps after i (each hop: delay 62 + one step of Dense latency),
so a synapse with delay D > 62 leaves from stage k = ceil((D - 62) / 63) with delay D - 63 k in [0, 62] and arrives
at the unchanged step t + 1 + D. Relays are shared per presynaptic neuron and stage.
"""
from __future__ import annotations

from dataclasses import replace

import numpy as np

from .fixed_point import LOIHI_MAX_DELAY, FxNetwork, FxPopulation, FxProjection
from .quantize import DeployError

MODES = ("error", "clip", "relay")


def apply(fx: FxNetwork, mode: str = "error", limit: int = LOIHI_MAX_DELAY) -> FxNetwork:
    """Return a network whose delays all lie in [0, limit]; `fx.meta['long_delays']` records what was done."""
    if mode not in MODES:
        raise DeployError(f"--long-delays must be one of {MODES}, got {mode!r}")
    long = {j.name: int((j.delay > limit).sum()) for j in fx.projections}
    n_long = sum(long.values())
    meta = dict(fx.meta, long_delays=mode, n_long_delays=n_long)
    if n_long == 0:
        return replace(fx, meta=meta)
    if mode == "error":
        where = ", ".join(f"{k}: {v}" for k, v in long.items() if v)
        raise DeployError(f"{n_long} synapses have delays above Loihi 2's {limit} steps ({where}; longest "
                          f"{fx.max_delay}); use --long-delays clip (clamp them, accuracy cost reported) or "
                          f"--long-delays relay (exact, with chains of relay neurons)")
    if mode == "clip":
        projs = [replace(j, delay=np.minimum(j.delay, limit)) for j in fx.projections]
        return FxNetwork(fx.dt, list(fx.populations), projs, meta)
    return _relay(fx, limit, meta)


def _relay(fx: FxNetwork, limit: int, meta: dict) -> FxNetwork:
    hop = limit + 1
    pops, projs = list(fx.populations), []
    n_relays = 0
    for j in fx.projections:
        stage = np.where(j.delay > limit, np.ceil((j.delay - limit) / hop), 0).astype(np.int64)
        direct = stage == 0
        projs.append(replace(j, pre=j.pre[direct], post=j.post[direct], weight=j.weight[direct],
                             delay=j.delay[direct]))
        if direct.all():
            continue
        src_size = fx.population(j.source).size
        prev_name, prev_ids = j.source, np.arange(src_size)   # relay stage k-1: which source neurons it carries
        for k in range(1, int(stage.max()) + 1):
            needs = np.unique(j.pre[stage >= k])               # sources whose synapses leave from stage >= k
            name = f"{j.name}_relay{k}"
            pops.append(FxPopulation(name, "relay", int(needs.size), du=4095, dv=4095, vth=0, scale=1.0))
            n_relays += int(needs.size)
            prev_index = np.searchsorted(prev_ids, needs)
            projs.append(FxProjection(f"{name}_in", prev_name, name, prev_index, np.arange(needs.size),
                                      np.ones(needs.size, np.int64), np.full(needs.size, limit, np.int64),
                                      dense=False))
            here = stage == k
            if here.any():
                projs.append(FxProjection(f"{name}_out", name, j.target, np.searchsorted(needs, j.pre[here]),
                                          j.post[here], j.weight[here], j.delay[here] - hop * k, dense=j.dense))
            prev_name, prev_ids = name, needs
    meta["n_relay_neurons"] = n_relays
    return FxNetwork(fx.dt, pops, projs, meta)

