"""NeuroBench's model metrics (Yik et al. 2025, neurobench 2.x definitions) for an eventprop network.

The neurobench package measures torch models through hooks on its own layer and neuron wrappers; an eventprop
network runs in generated kernels, so the definitions are applied here directly:
  footprint            bytes of all parameters and buffers (weights, delays, positions, sparse indices) as stored
  connection_sparsity  share of zero weights over all connections (absent synapses of sparse ones included)
  activation_sparsity  share of zero activations: 1 - spikes / (spiking neurons x timesteps), over the hidden and
                       input populations (the readout's voltage is not a spike activation)
  synaptic_operations  Effective_ACs (spike x non-zero weight), Effective_MACs (0: no non-spiking inputs) and Dense
                       (every synapse every timestep), per sample
"""
from __future__ import annotations

import numpy as np


def model_metrics(net, params: dict, spike_counts: dict[str, np.ndarray], n_steps: int) -> dict:
    """spike_counts: population -> [samples, neurons] spikes (inputs included)."""
    footprint = sum(np.asarray(v).nbytes for v in params.values())
    zeros, total, acs, dense = 0, 0, 0.0, 0.0
    samples = max(len(next(iter(spike_counts.values()))), 1)
    for c in net.connections:
        pre, _, w = c.synapse_list(params)
        n_pairs = c.source.size * c.target.size
        zeros += n_pairs - int(np.count_nonzero(w))
        total += n_pairs
        fan_out = np.bincount(pre[w != 0], minlength=c.source.size)
        acs += float((spike_counts[c.source.name].sum(0) * fan_out).sum()) / samples
        dense += float(n_pairs * n_steps)
    spiking = [p for p in net.populations if p.model.spiking]
    activations = sum(p.size for p in spiking) * n_steps
    spikes = sum(float(spike_counts[p.name].sum()) / samples for p in spiking)
    return {"footprint_bytes": int(footprint), "connection_sparsity": zeros / total,
            "activation_sparsity": 1.0 - spikes / activations,
            "synaptic_operations": {"Effective_ACs": acs, "Effective_MACs": 0.0, "Dense": dense},
            "definitions": "NeuroBench 2.x metric definitions applied to eventprop's float network "
                           "(eventprop/interop/neurobench.py)"}
