"""Data-parallel training with torch.distributed (gloo on CPUs, NCCL on GPUs), started by torchrun.

Every rank holds the whole network and walks the same global batches (same order, same augmentation); each runs
EventProp on its contiguous share of every batch, with the loss scaled by 1 / global batch size, and the gradients
are summed across ranks by one all-reduce: the update equals a single-process run on the same global batch up to
float summation order. Rank 0 alone writes the run folder; checkpoints are world-size independent.
"""
from __future__ import annotations

import os
from datetime import timedelta

import numpy as np
import torch
import torch.distributed as dist

from ...errors import RunError


class Single:
    """The one-process case: every collective is the identity."""
    rank, world, is_main = 0, 1, True

    def shard(self, batch, labels):
        return batch, labels

    def sum_grads(self, params):
        pass

    def sum(self, values: list[float]) -> list[float]:
        return values

    def broadcast(self, obj):
        return obj

    def finish(self):
        """Called after a successful run, before close()."""

    def close(self):
        pass


class DataParallel(Single):
    """Process group from torchrun's environment (RANK, WORLD_SIZE, MASTER_ADDR, MASTER_PORT)."""

    def __init__(self, device: str, timeout_s: float):
        backend = "nccl" if device == "cuda" else "gloo"
        try:
            dist.init_process_group(backend, timeout=timedelta(seconds=timeout_s))
        except (RuntimeError, ValueError) as e:
            raise RunError(f"torch.distributed: cannot join the process group ({backend}): {e}") from None
        self.rank, self.world = dist.get_rank(), dist.get_world_size()
        self.is_main = self.rank == 0
        self.device = torch.device(f"cuda:{int(os.environ.get('LOCAL_RANK', 0))}") if device == "cuda" else None
        self.timeout_s = timeout_s

    def _collective(self, fn, what: str):
        try:
            return fn()
        except (RuntimeError, dist.DistBackendError) as e:   # a peer died or timed out
            raise RunError(f"rank {self.rank}: {what} failed, another rank is gone or stalled more than "
                           f"{self.timeout_s:g} s ({str(e).splitlines()[0]})") from None

    def shard(self, batch, labels):
        """This rank's contiguous share of a global batch (SpikeEvents, raster or dict of them)."""
        part = np.array_split(np.arange(len(labels)), self.world)[self.rank]
        return _take(batch, part), labels[part]

    def sum_grads(self, params):
        params = [p for p in params if p.requires_grad]
        for p in params:
            if p.grad is None:
                p.grad = torch.zeros_like(p)
        flat = torch.cat([p.grad.reshape(-1) for p in params])
        self._collective(lambda: dist.all_reduce(flat), "gradient all-reduce")
        offset = 0
        for p in params:
            p.grad.copy_(flat[offset:offset + p.numel()].view_as(p.grad))
            offset += p.numel()

    def sum(self, values: list[float]) -> list[float]:
        t = torch.tensor(values, dtype=torch.float64, device=self.device)
        self._collective(lambda: dist.all_reduce(t), "metric all-reduce")
        return t.tolist()

    def broadcast(self, obj):
        box = [obj]
        self._collective(lambda: dist.broadcast_object_list(box, src=0, device=self.device), "broadcast from rank 0")
        return box[0]

    def finish(self):
        """Every rank reaches the end before any closes its connections: gloo aborts a process ("terminate called
        without an active exception") whose peer tore the group down first."""
        self._collective(dist.barrier, "final barrier")

    def close(self):
        if dist.is_initialized():
            dist.destroy_process_group()


def _take(batch, index: np.ndarray):
    if isinstance(batch, dict):
        return {k: _take(v, index) for k, v in batch.items()}
    if hasattr(batch, "counts"):          # SpikeEvents
        return type(batch)(batch.times[index], batch.ids[index], batch.counts[index], batch.n_channels,
                           batch.duration)
    return batch[torch.as_tensor(index) if torch.is_tensor(batch) else index]


def from_environment(device: str = "cpu", timeout_s: float = 300.0) -> Single:
    """DataParallel when started by torchrun with more than one process, else Single."""
    if int(os.environ.get("WORLD_SIZE", "1")) > 1:
        return DataParallel(device, timeout_s)
    return Single()
