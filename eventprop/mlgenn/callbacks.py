"""mlGeNN callbacks supported by eventprop.mlgenn."""
from __future__ import annotations

import torch

from .serialisers import Numpy


class Checkpoint:
    """After every epoch: `<epoch>-<connection>-g.npy` (weights, flattened pre-major) and `-d.npy` (learned delays),
    mlGeNN's layout, readable by `eventprop import-mlgenn`."""

    def __init__(self, serialiser=None, epoch_interval: int = 1):
        self.serialiser, self.epoch_interval = serialiser or Numpy(), epoch_interval

    def on_epoch_end(self, epoch: int, compiled):
        if epoch % self.epoch_interval:
            return
        for conn in compiled.network.connections:
            holder = getattr(compiled.module, compiled.names[conn])
            self.serialiser.serialise((epoch, conn.name, "g"), holder.weight.detach().cpu().numpy().ravel())
            if isinstance(getattr(holder, "delay", None), torch.nn.Parameter):
                self.serialiser.serialise((epoch, conn.name, "d"), holder.delay.detach().cpu().numpy().ravel())
