"""mlGeNN's spike preprocessing: PreprocessedSpikes (per-neuron end indices, spike times sorted by neuron)."""
from __future__ import annotations

from collections import namedtuple

import numpy as np

PreprocessedSpikes = namedtuple("PreprocessedSpikes", ["end_spikes", "spike_times"])


def preprocess_spikes(times, ids, num_neurons: int) -> PreprocessedSpikes:
    order = np.lexsort((times, ids))
    end = np.cumsum(np.bincount(np.asarray(ids, dtype=np.int64), minlength=num_neurons))
    return PreprocessedSpikes(end, np.asarray(times, dtype=np.float64)[order])


def preprocess_tonic_spikes(events: np.ndarray, ordering, shape, time_scale: float = 1.0 / 1000.0,
                            dt: float = 1.0, histogram_thresh=None) -> PreprocessedSpikes:
    """Tonic events (fields t and x) -> PreprocessedSpikes with times in ms (t * time_scale)."""
    if histogram_thresh is not None:
        from ..errors import unsupported
        raise unsupported("preprocess_tonic_spikes(histogram_thresh=...)")
    num = int(np.prod(shape))
    return preprocess_spikes(events["t"] * time_scale, events["x"].astype(np.int64), num)


def to_lists(spikes: PreprocessedSpikes) -> tuple[np.ndarray, np.ndarray]:
    """(times, neuron ids) of one PreprocessedSpikes."""
    end = np.asarray(spikes.end_spikes)
    counts = np.diff(np.concatenate([[0], end]))
    return np.asarray(spikes.spike_times, dtype=np.float64), np.repeat(np.arange(len(end)), counts)


def calc_max_spikes(spikes) -> int:
    """The largest number of spikes in one example (mlGeNN's calc_max_spikes)."""
    return max((len(p.spike_times) for p in spikes), default=0)


def calc_latest_spike_time(spikes) -> float:
    """The time of the latest spike of any example, ms (examples without spikes are skipped)."""
    return max((float(np.max(p.spike_times)) for p in spikes if len(p.spike_times)), default=0.0)


def generate_yin_yang_dataset(size: int, scale: float, offset: float = 0.0, bias: bool = True,
                              r_small: float = 0.1, r_big: float = 0.5):
    """(PreprocessedSpikes per example, labels) of Yin-Yang points, mlGeNN's layout: channels [bias,] x, y, 1 - x,
    1 - y firing at offset + value * scale ms (the bias at offset); labels 0 = yang, 1 = yin, 2 = dot (mlGeNN's
    numbering). Points from eventprop's generator (uniform in the big circle, class-balanced), drawn from a seed
    taken from numpy's global random state, so np.random.seed makes it repeatable."""
    from ...datasets.yinyang import R_BIG, R_SMALL, sample_points
    if (r_small, r_big) != (R_SMALL, R_BIG):
        from ..errors import unsupported
        raise unsupported(f"generate_yin_yang_dataset(r_small={r_small}, r_big={r_big})",
                          f"the standard geometry r_small = {R_SMALL}, r_big = {R_BIG} only")
    pts, ours = sample_points(size, np.random.default_rng(np.random.randint(2 ** 31)))
    labels = np.array([1, 0, 2])[ours]
    n = 5 if bias else 4
    spikes = []
    for x, y in pts:
        values = ([0.0] if bias else []) + [x, y, 1.0 - x, 1.0 - y]
        spikes.append(preprocess_spikes(offset + np.asarray(values) * scale, np.arange(n), n))
    return spikes, labels.tolist()
