"""Moran's I (spec/spatial.md, spec/structure.md) with a permutation p-value, and the spatial weight matrices."""
from __future__ import annotations

import numpy as np


def moran_i(x: np.ndarray, weights: np.ndarray) -> float:
    """I = (N / W) sum_ij w_ij (x_i - xbar)(x_j - xbar) / sum_i (x_i - xbar)^2 (weights with zero diagonal);
    E[I] = -1 / (N - 1) without autocorrelation. NaN when x is constant."""
    z = np.asarray(x, dtype=np.float64) - np.mean(x)
    denom = (z ** 2).sum()
    if denom == 0 or weights.sum() == 0:
        return float("nan")
    return float(len(z) / weights.sum() * (z @ weights @ z) / denom)


def moran_test(x: np.ndarray, weights: np.ndarray, permutations: int = 999, seed: int = 0, statistic=None) -> dict:
    """A Moran statistic (default moran_i) and its one-sided permutation p-value: x shuffled over the fixed
    positions `permutations` times; null_mean is the shuffled average (about -1 / (N - 1) for moran_i)."""
    statistic = statistic or moran_i
    rng = np.random.default_rng(seed)
    observed = statistic(x, weights)
    null = np.array([statistic(rng.permutation(x), weights) for _ in range(permutations)])
    p = (1 + np.sum(null >= observed)) / (1 + permutations)
    return {"I": observed, "null_mean": float(np.nanmean(null)), "p_value": float(p), "permutations": permutations}


def knn_weights(positions: np.ndarray, k: int = 8) -> np.ndarray:
    """Binary symmetric k-nearest-neighbour weights over points [N, dims] (zero diagonal)."""
    d = np.linalg.norm(positions[:, None, :] - positions[None, :, :], axis=-1)
    np.fill_diagonal(d, np.inf)
    nearest = np.argsort(d, axis=1)[:, :min(k, len(positions) - 1)]
    w = np.zeros_like(d)
    np.put_along_axis(w, nearest, 1.0, axis=1)
    return np.maximum(w, w.T)


def class_indicator_moran(labels: np.ndarray, weights: np.ndarray) -> float:
    """Clustering of a categorical map: the mean Moran's I of the indicator of each class present (Moran's I is for
    numbers; one indicator per class keeps the labels unordered)."""
    values = [moran_i((labels == c).astype(float), weights) for c in np.unique(labels)]
    values = [v for v in values if np.isfinite(v)]
    return float(np.mean(values)) if values else float("nan")

