"""Connectivity descriptions: dense, explicit sparse and fixed-probability sparse.

Weights and delays are scalars, arrays or Initialisers. Delays are in TIMESTEPS (real-valued; the forward pass
rounds them, gradients are taken w.r.t. the real value). Dense arrays are [N_pre, N_post] (pre-major, as mlGeNN).
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np

from ..errors import ModelError


@dataclass(frozen=True)
class Dense:
    weight: Any = 0.0
    delay: Any = 0.0
    sparse = False


@dataclass(frozen=True)
class Sparse:
    """Explicit synapse list: synapse k connects pre_ind[k] -> post_ind[k]."""
    pre_ind: Any
    post_ind: Any
    weight: Any = 0.0
    delay: Any = 0.0
    sparse = True

    def indices(self, n_pre: int, n_post: int, rng, what: str):
        pre = np.asarray(self.pre_ind)
        post = np.asarray(self.post_ind)
        if pre.ndim != 1 or pre.shape != post.shape:
            raise ModelError(f"{what}: pre_ind and post_ind must be 1-D arrays of equal length, "
                             f"got shapes {pre.shape} and {post.shape}")
        for arr, n, field in ((pre, n_pre, "pre_ind"), (post, n_post, "post_ind")):
            if arr.size and (not np.issubdtype(arr.dtype, np.integer) or arr.min() < 0 or arr.max() >= n):
                raise ModelError(f"{what}: {field} must hold integers in [0, {n}), got range "
                                 f"[{arr.min()}, {arr.max()}] of dtype {arr.dtype}")
        if len(set(zip(pre.tolist(), post.tolist()))) != pre.size:
            raise ModelError(f"{what}: duplicate (pre, post) pairs in the synapse list")
        return pre.astype(np.int64), post.astype(np.int64)


@dataclass(frozen=True)
class FixedProbability:
    """Each (pre, post) pair is connected independently with probability p (drawn at instantiation)."""
    p: float
    weight: Any = 0.0
    delay: Any = 0.0
    sparse = True

    def __post_init__(self):
        if not 0.0 <= self.p <= 1.0:
            raise ModelError(f"FixedProbability: p must be in [0, 1], got {self.p}")

    def indices(self, n_pre: int, n_post: int, rng, what: str):
        pre, post = np.nonzero(rng.random((n_pre, n_post)) < self.p)
        return pre.astype(np.int64), post.astype(np.int64)
