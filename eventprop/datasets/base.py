"""A labelled spike dataset held in memory as padded event arrays, sliceable into SpikeEvents batches."""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from ..models.events import SpikeEvents


@dataclass
class SpikeDataset:
    times: np.ndarray      # [N, S] ms
    ids: np.ndarray        # [N, S]
    counts: np.ndarray     # [N]
    labels: np.ndarray     # [N] int
    n_channels: int
    n_classes: int
    duration: float        # ms

    def __len__(self):
        return int(self.labels.shape[0])

    def batch(self, index) -> tuple[SpikeEvents, np.ndarray]:
        index = np.asarray(index)
        return (SpikeEvents(self.times[index], self.ids[index], self.counts[index], self.n_channels, self.duration),
                self.labels[index])

    def batches(self, batch_size: int, order=None):
        """Yield (SpikeEvents, labels) over the dataset in `order` (default: as stored)."""
        order = np.arange(len(self)) if order is None else order
        for start in range(0, len(order), batch_size):
            yield self.batch(order[start:start + batch_size])
