"""SpikeEvents, the input spike format every layer shares (datasets produce it; the float engines and the Loihi
emulator consume it), and its one conversion rule to kernel inputs (one Numba pass per sample: event_kernels).

Two forms are accepted for each SpikeInput population:
  * SpikeEvents: per-sample event lists (times in ms, channel ids), padded to [B, S] with a per-sample count.
    An event at time s is emitted at step floor(s / dt) (events at or after `duration` are dropped).
  * a dense raster [B, T, N] (numpy or torch; entries are spike counts per step, usually 0/1).
Both are converted to per-sample event lists sorted by step: (steps [B, S] int32, ids [B, S] int32, n [B] int32).
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np


@dataclass
class SpikeEvents:
    times: np.ndarray        # [B, S] float, ms; entries beyond counts[b] are padding
    ids: np.ndarray          # [B, S] int
    counts: np.ndarray       # [B] number of valid events per sample
    n_channels: int
    duration: float          # ms; the simulation runs ceil(duration / dt) steps

    @classmethod
    def from_lists(cls, samples, n_channels: int, duration: float) -> "SpikeEvents":
        """`samples`: iterable of (times, ids) pairs, one per sample."""
        samples = [(np.asarray(t, dtype=np.float64).ravel(), np.asarray(i).ravel()) for t, i in samples]
        for k, (t, i) in enumerate(samples):
            if t.shape != i.shape:
                raise ValueError(f"SpikeEvents: sample {k} has {t.size} times but {i.size} ids")
        counts = np.array([t.size for t, _ in samples], dtype=np.int64)
        width = max(1, int(counts.max(initial=0)))
        times = np.zeros((len(samples), width))
        ids = np.zeros((len(samples), width), dtype=np.int64)
        for k, (t, i) in enumerate(samples):
            times[k, :t.size], ids[k, :i.size] = t, i
        return cls(times, ids, counts, int(n_channels), float(duration))

    def __len__(self):
        return int(self.counts.shape[0])

    def n_steps(self, dt: float) -> int:
        return int(np.ceil(self.duration / dt - 1e-9))


def _to_numpy(x) -> np.ndarray:
    if hasattr(x, "detach"):
        x = x.detach().cpu().numpy()
    return np.asarray(x)


def events_to_steps(ev: SpikeEvents, dt: float, n_channels: int, name: str):
    """Validate events and return (steps, ids, counts, n_steps) sorted by step, in the kernel layout. Times are taken
    as float64; an event at time t is at step floor(t / dt + 1e-9), dropped at or after n_steps; equal steps keep
    their order (stable)."""
    from .event_kernels import to_steps
    times, ids, counts = _to_numpy(ev.times), _to_numpy(ev.ids), _to_numpy(ev.counts).astype(np.int64)
    if times.ndim != 2 or ids.shape != times.shape or counts.shape != (times.shape[0],):
        raise ValueError(f"input {name!r}: events need times and ids of shape [B, S] and counts [B]; got "
                         f"{times.shape}, {ids.shape}, {counts.shape}")
    if ev.n_channels != n_channels:
        raise ValueError(f"input {name!r}: events have {ev.n_channels} channels, population has {n_channels}")
    if counts.size and (counts.min() < 0 or counts.max() > times.shape[1]):
        raise ValueError(f"input {name!r}: counts must lie in [0, {times.shape[1]}]")
    if not (np.isfinite(ev.duration) and ev.duration > 0):
        raise ValueError(f"input {name!r}: duration must be a positive number of ms, got {ev.duration}")
    float_ids = not np.issubdtype(ids.dtype, np.integer)
    if float_ids:                                   # rare: ids handed over as floats; checked here, then cast
        valid = np.arange(times.shape[1])[None, :] < counts[:, None]
        i_valid = ids[valid]
        non_integer = bool(i_valid.size) and not np.all(i_valid == np.round(i_valid))
        id_range = (i_valid.min(), i_valid.max()) if i_valid.size else (0, 0)
        ids = np.where(valid & np.isfinite(ids), ids, 0).astype(np.int64)
    B, S = times.shape
    n_steps = ev.n_steps(dt)
    steps_out, ids_out = np.empty((B, S), np.int32), np.empty((B, S), np.int32)
    n, stats = np.empty(B, np.int32), np.empty((B, 4))
    to_steps(np.ascontiguousarray(times, np.float64), np.ascontiguousarray(ids, np.int64), counts, float(dt),
             n_steps, steps_out, ids_out, n, stats)
    if stats[:, 0].any():
        raise ValueError(f"input {name!r}: NaN spike times")
    if stats[:, 1].min(initial=np.inf) < 0:
        raise ValueError(f"input {name!r}: negative spike times (min {stats[:, 1].min()} ms)")
    if float_ids and non_integer:
        raise ValueError(f"input {name!r}: channel ids must be integers")
    if not counts.any():
        return steps_out, ids_out, n, n_steps
    lo, hi = id_range if float_ids else (stats[:, 2].min(), stats[:, 3].max())
    if lo < 0 or hi >= n_channels:
        show = lambda x: str(int(x)) if np.isfinite(x) else str(x)  # noqa: E731
        raise ValueError(f"input {name!r}: channel ids must lie in [0, {n_channels}), got range "
                         f"[{show(lo)}, {show(hi)}]")
    return steps_out, ids_out, n, n_steps


def raster_to_steps(raster, n_channels: int, name: str):
    """Validate a [B, T, N] raster of spike counts and return (steps, ids, counts, T)."""
    r = _to_numpy(raster)
    if r.ndim != 3 or r.shape[2] != n_channels:
        raise ValueError(f"input {name!r}: raster must have shape [B, T, {n_channels}], got {r.shape}")
    if np.issubdtype(r.dtype, np.floating) and np.isnan(r).any():
        raise ValueError(f"input {name!r}: raster contains NaN")
    if (r < 0).any():
        raise ValueError(f"input {name!r}: raster contains negative spike counts")
    rc = np.rint(r).astype(np.int64)
    if not np.array_equal(rc, r):
        raise ValueError(f"input {name!r}: raster entries must be whole spike counts")
    B, T, _ = r.shape
    b, t, i = np.nonzero(rc)
    reps = rc[b, t, i]
    b, t, i = np.repeat(b, reps), np.repeat(t, reps), np.repeat(i, reps)  # np.nonzero is already (b, t) sorted
    n = np.bincount(b, minlength=B).astype(np.int32)
    width = max(1, int(n.max(initial=0)))
    pos = np.arange(b.size) - np.repeat(np.cumsum(n) - n, n)
    steps = np.full((B, width), np.iinfo(np.int32).max, dtype=np.int32)
    ids = np.zeros((B, width), dtype=np.int32)
    steps[b, pos], ids[b, pos] = t, i
    return steps, ids, n, T


def to_kernel_inputs(batch, dt: float, n_channels: int, name: str):
    if isinstance(batch, SpikeEvents):
        return events_to_steps(batch, dt, n_channels, name)
    return raster_to_steps(batch, n_channels, name)
