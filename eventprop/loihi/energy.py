"""Operation counts per sample and layer, and an energy estimate from published Loihi 1 constants.

There is no public per-operation energy table for Loihi 2; the constants below are Loihi 1's (Davies et al. 2018)
and are labelled as such wherever they are reported. Counts: synaptic ops = spikes of each source neuron times
its non-zero fan-out in the projection; synapses stored (non-zero) against a dense layout; neuron updates = size x steps (charged at the active-update cost, so
the estimate is an upper bound); spikes per population.
"""
from __future__ import annotations

import numpy as np

from .fixed_point import FxNetwork

LOIHI1_PJ = {"synaptic_op": 23.6, "neuron_update": 81.0, "spike": 1.7}
SOURCE = "Loihi 1 constants (Davies et al. 2018): 23.6 pJ/synaptic op, 81 pJ/neuron update, 1.7 pJ/spike"


def count_ops(fx: FxNetwork, spike_counts: dict[str, np.ndarray], n_steps: int) -> dict:
    """From per-sample spike counts [B, N] of every spiking population (inputs included), the mean per sample:
    {"layers": {pop: {spikes, neuron_updates, synaptic_ops}}, "totals", "energy_uj_per_sample", "energy_model"}."""
    B = max(len(next(iter(spike_counts.values()))), 1)
    layers = {p.name: {"spikes": 0.0, "neuron_updates": float(p.size * n_steps), "synaptic_ops": 0.0}
              for p in fx.populations if p.kind != "input"}
    for name, counts in spike_counts.items():
        if name in layers:
            layers[name]["spikes"] = float(counts.sum()) / B
    for j in fx.projections:
        fan_out = np.bincount(j.pre[j.weight != 0], minlength=fx.population(j.source).size)
        if j.source in spike_counts:
            layers[j.target]["synaptic_ops"] += float((spike_counts[j.source].sum(0) * fan_out).sum()) / B
    totals = {k: sum(layer[k] for layer in layers.values()) for k in ("spikes", "neuron_updates", "synaptic_ops")}
    pj = (totals["synaptic_ops"] * LOIHI1_PJ["synaptic_op"] + totals["neuron_updates"] * LOIHI1_PJ["neuron_update"]
          + totals["spikes"] * LOIHI1_PJ["spike"])
    synapses = {"stored": int(sum(np.count_nonzero(j.weight) for j in fx.projections)),
                "dense_equivalent": int(sum(fx.population(j.source).size * fx.population(j.target).size
                                            for j in fx.projections))}
    return {"layers": layers, "totals": totals, "synapses": synapses, "energy_uj_per_sample": pj * 1e-6,
            "energy_model": SOURCE, "pj_per_op": dict(LOIHI1_PJ)}
