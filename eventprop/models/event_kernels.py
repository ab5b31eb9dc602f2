"""The Numba pass behind events.events_to_steps: per sample, one walk over its events that turns times into steps,
gathers what validation needs, and sorts by step (stable) only when the events are not in order already."""
from __future__ import annotations

import numba as nb
import numpy as np

PAD_STEP = np.iinfo(np.int32).max


@nb.njit(parallel=True, cache=True)
def to_steps(times, ids, counts, dt, n_steps, steps_out, ids_out, n_out, stats):
    """times [B, S] float64, ids [B, S] int64, counts [B] -> steps_out / ids_out [B, S] int32 (events at step
    floor(t / dt + 1e-9) < n_steps, stable-sorted by step, then PAD_STEP / 0), n_out [B]; stats [B, 4] = (any NaN
    time, min time, min id, max id) over the sample's counts[b] events."""
    B, S = times.shape
    for b in nb.prange(B):
        nan, t_min, i_min, i_max = 0.0, np.inf, np.inf, -np.inf
        k, last, ordered = 0, -1, True
        for e in range(counts[b]):
            t, i = times[b, e], ids[b, e]
            if t != t:
                nan = 1.0
                continue
            t_min = min(t_min, t)
            i_min, i_max = min(i_min, i), max(i_max, i)
            s = np.floor(t / dt + 1e-9)
            if s < n_steps:
                step = np.int32(s)
                steps_out[b, k], ids_out[b, k] = step, i
                ordered = ordered and step >= last
                last = step
                k += 1
        if not ordered:
            order = np.argsort(steps_out[b, :k], kind="mergesort")        # mergesort: stable
            steps_out[b, :k] = steps_out[b, :k][order]
            ids_out[b, :k] = ids_out[b, :k][order]
        steps_out[b, k:] = PAD_STEP
        ids_out[b, k:] = 0
        n_out[b] = k
        stats[b, 0], stats[b, 1], stats[b, 2], stats[b, 3] = nan, t_min, i_min, i_max
