"""Yin-Yang (Kriener et al. 2021): three classes (yin, yang, dot) of points in the unit square, spike-time encoded.

Each sample (x, y) becomes five input spikes: x, y, 1-x, 1-y mapped linearly to [t_early, t_late] ms, plus a bias
spike at t_bias. Points are drawn uniformly inside the big circle and class-balanced by rejection; deterministic
for a seed.
"""
from __future__ import annotations

import numpy as np

from .base import SpikeDataset

R_BIG, R_SMALL = 0.5, 0.1


def yinyang_class(x: np.ndarray, y: np.ndarray) -> np.ndarray:
    """0 = yin, 1 = yang, 2 = dot (geometry of the original generator, in the unit square centred at 0.5)."""
    def dist(ax, ay):
        return np.sqrt((x - ax) ** 2 + (y - ay) ** 2)
    c = R_BIG
    d_right = dist(c + R_BIG / 2, c)
    d_left = dist(c - R_BIG / 2, c)
    criterion1 = d_right <= R_SMALL
    criterion2 = (d_left > R_SMALL) & (d_left <= 0.5 * R_BIG)
    criterion3 = (y > c) & (d_right > 0.5 * R_BIG)
    is_yin = criterion2 | criterion3 | criterion1
    is_circles = (d_right < R_SMALL) | (d_left < R_SMALL)
    return np.where(is_circles, 2, np.where(is_yin & ~is_circles, 0, 1))


def sample_points(n: int, rng: np.random.Generator) -> tuple[np.ndarray, np.ndarray]:
    """n class-balanced points inside the big circle (rejection sampling)."""
    xs, labels = [], []
    per_class = np.zeros(3, int)
    target = np.full(3, n // 3) + (np.arange(3) < n % 3)
    while per_class.sum() < n:
        cand = rng.random((4 * n, 2))
        inside = np.sqrt(((cand - 0.5) ** 2).sum(1)) <= R_BIG
        cand = cand[inside]
        cls = yinyang_class(cand[:, 0], cand[:, 1])
        for p, c in zip(cand, cls):
            if per_class[c] < target[c]:
                xs.append(p)
                labels.append(c)
                per_class[c] += 1
    order = rng.permutation(n)
    return np.asarray(xs)[order], np.asarray(labels)[order]


def yinyang(n: int, seed: int, t_early: float = 2.0, t_late: float = 27.0, t_bias: float = 0.0,
            duration: float = 30.0) -> SpikeDataset:
    if not 0 <= t_early < t_late < duration:
        raise ValueError(f"yinyang: need 0 <= t_early < t_late < duration, got {t_early}, {t_late}, {duration}")
    pts, labels = sample_points(n, np.random.default_rng(seed))
    feats = np.stack([pts[:, 0], pts[:, 1], 1 - pts[:, 0], 1 - pts[:, 1]], axis=1)
    times = np.concatenate([t_early + feats * (t_late - t_early), np.full((n, 1), t_bias)], axis=1)
    ids = np.broadcast_to(np.arange(5), (n, 5)).copy()
    return SpikeDataset(times, ids, np.full(n, 5), labels.astype(np.int64), 5, 3, duration)


def yinyang_splits(seed: int, n_train: int = 5000, n_val: int = 1000, n_test: int = 1000, **encoding):
    """(train, validation, test), each from its own seed stream."""
    return tuple(yinyang(n, seed * 3 + k, **encoding) for k, n in enumerate((n_train, n_val, n_test)))
