"""Numba helpers that read the CPU engine's spike records (imported on first use, like the generated kernels)."""
from __future__ import annotations

import numba as nb


@nb.njit(parallel=True, cache=True)
def count_spikes(ids, n, out):
    """out[b, i] += the number of the first n[b] entries of ids[b] equal to i (out: [B, size], zeroed)."""
    for b in nb.prange(ids.shape[0]):
        for e in range(n[b]):
            out[b, ids[b, e]] += 1
