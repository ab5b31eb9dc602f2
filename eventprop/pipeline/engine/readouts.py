"""Readouts (mlGeNN names): reduce output voltages V [B, T, N] to one value per output neuron, in torch."""
from __future__ import annotations

import torch


def reduce(name: str, v: torch.Tensor, dt: float) -> torch.Tensor:
    steps = v.shape[1]
    if name == "avg_var_exp_weight":   # (1/T) sum_t exp(-t/T) V(t)
        weight = torch.exp(-torch.arange(steps, dtype=v.dtype, device=v.device) / steps)
        return torch.einsum("btn,t->bn", v, weight) / steps
    if name == "avg_var":
        return v.mean(dim=1)
    if name == "sum_var":              # integral of V over the trial (ms)
        return v.sum(dim=1) * dt
    if name == "max_var":
        return v.max(dim=1).values
    raise ValueError(f"unknown readout {name!r}")
