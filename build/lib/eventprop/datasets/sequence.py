"""Sequence detection (Mészáros et al. 2025): `n_channels` inputs fire once each, `gap` ms apart. Class 1: they fire
in the target order 0, 1, ..., n-1; class 0: in any other order. Only delays that re-align the target order make the
spikes coincide, so it checks that delay learning works (from worst-case initial delays too)."""
from __future__ import annotations

import numpy as np

from .base import SpikeDataset


def sequences(n: int, seed: int, n_channels: int = 5, gap: float = 5.0, t_start: float = 2.0,
              duration: float | None = None) -> SpikeDataset:
    if n_channels < 2:
        raise ValueError(f"sequence: n_channels must be >= 2, got {n_channels}")
    rng = np.random.default_rng(seed)
    duration = duration or t_start + gap * (n_channels - 1) + 4 * gap * n_channels
    labels = np.arange(n) % 2
    rng.shuffle(labels)
    ids = np.empty((n, n_channels), np.int64)
    for k in range(n):
        order = np.arange(n_channels)
        if labels[k] == 0:
            while np.array_equal(order, np.arange(n_channels)):
                order = rng.permutation(n_channels)
        ids[k] = order
    times = np.broadcast_to(t_start + gap * np.arange(n_channels), (n, n_channels)).astype(float).copy()
    return SpikeDataset(times, ids, np.full(n, n_channels), labels.astype(np.int64), n_channels, 2, float(duration))
