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


def prefetch(batches, depth: int = 1):
    """Yield from the iterator `batches` while a background thread prepares the next `depth` items (reading, decoding
    and augmenting overlap the kernels, which release the GIL). The items and their order are those of `batches`;
    an exception in the thread is raised here, at the item where it happened."""
    import queue
    import threading
    done = object()
    slots: queue.Queue = queue.Queue(maxsize=depth)
    stop = threading.Event()

    def offer(entry) -> bool:
        """Put `entry` unless the consumer has gone; False when it has."""
        while not stop.is_set():
            try:
                slots.put(entry, timeout=0.1)
                return True
            except queue.Full:
                continue
        return False

    def fill():
        try:
            for item in batches:
                if not offer((item, None)):
                    return
            offer((done, None))
        except BaseException as e:  # handed to the consumer
            offer((done, e))

    worker = threading.Thread(target=fill, name="eventprop-prefetch", daemon=True)
    worker.start()
    try:
        while True:
            item, error = slots.get()
            if item is done:
                if error is not None:
                    raise error
                return
            yield item
    finally:
        stop.set()
        worker.join()
