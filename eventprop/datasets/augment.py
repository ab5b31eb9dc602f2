"""Training-set augmentations: random channel shift and same-class blend (the SHD anchors), and time stretch.

shift: all channel ids of a sample move by one integer drawn from [-shift, shift]; events pushed outside
[0, n_channels) are dropped. blend (probability per sample): the sample is mixed with a random other sample of the
same class whose events are first moved so that their mean time and mean channel match the sample's; each event
of either sample is kept with probability 1/2. stretch: all spike times of a sample are multiplied by one factor
drawn from [1 - stretch, 1 + stretch] (a slower or faster speaker); events pushed past the duration are dropped.
"""
from __future__ import annotations

import numpy as np


def shift_channels(t: np.ndarray, x: np.ndarray, shift: int, n_channels: int, rng: np.random.Generator):
    s = int(rng.integers(-shift, shift + 1))
    y = x.astype(np.int64) + s
    keep = (y >= 0) & (y < n_channels)
    return t[keep], y[keep].astype(x.dtype)


def stretch_times(t: np.ndarray, x: np.ndarray, stretch: float, duration: float, rng: np.random.Generator):
    t = t * rng.uniform(1.0 - stretch, 1.0 + stretch)
    keep = t < duration
    return t[keep], x[keep]


def blend_pair(a: tuple, b: tuple, n_channels: int, duration: float, rng: np.random.Generator):
    (ta, xa), (tb, xb) = a, b
    if ta.size == 0 or tb.size == 0:
        return ta, xa
    tb = tb + (ta.mean() - tb.mean())
    xb = np.rint(xb.astype(np.float64) + (xa.mean() - xb.mean())).astype(np.int64)
    keep_b = (xb >= 0) & (xb < n_channels) & (tb >= 0) & (tb < duration) & (rng.random(tb.size) < 0.5)
    keep_a = rng.random(ta.size) < 0.5
    t = np.concatenate([ta[keep_a], tb[keep_b].astype(ta.dtype)])
    x = np.concatenate([xa[keep_a], xb[keep_b].astype(xa.dtype)])
    return t, x


class Augment:
    """Callable used by HSDDataset.batch on the training split."""

    def __init__(self, shift: int = 0, blend: float = 0.0, stretch: float = 0.0):
        if shift < 0:
            raise ValueError(f"data.shift must be >= 0, got {shift}")
        if not 0.0 <= blend <= 1.0:
            raise ValueError(f"data.blend must lie in [0, 1], got {blend}")
        if not 0.0 <= stretch < 1.0:
            raise ValueError(f"data.stretch must lie in [0, 1), got {stretch}")
        self.shift, self.blend, self.stretch = int(shift), float(blend), float(stretch)

    def __call__(self, samples, labels, dataset, rng: np.random.Generator):
        out = []
        for (t, x), y in zip(samples, labels):
            if self.blend > 0 and rng.random() < self.blend:
                partner = int(rng.choice(np.flatnonzero(dataset.labels == y)))
                t, x = blend_pair((t, x), dataset.sample(partner), dataset.n_channels, dataset.duration, rng)
            if self.shift > 0:
                t, x = shift_channels(t, x, self.shift, dataset.n_channels, rng)
            if self.stretch > 0:
                t, x = stretch_times(t, x, self.stretch, dataset.duration, rng)
            out.append((t, x))
        return out
