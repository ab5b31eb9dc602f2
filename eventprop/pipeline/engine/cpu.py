"""The EventProp engine: generated kernels plus the numpy-side orchestration (buffers, spike-record capacity).

Memory: the forward pass keeps, per spike, (step, neuron, the three spike-time coefficients of model_logic) and the
readout voltages of the output populations; the backward pass re-walks time in reverse with a (max_delay + 3)-step
history of the adjoint (G and D) per neuron. Nothing of size [T x N_hidden] is stored.
"""
from __future__ import annotations

import time
from dataclasses import dataclass, field

import numpy as np
import torch

from .codegen import numba_cpu
from .codegen.cache import load_source
from .codegen.model_logic import SPIKE_FLOATS
from .codegen.plan import KernelPlan, make_plan

N_CHUNKS = 8  # gradient accumulation buffers in the backward kernel (fixed, so results do not depend on threads)


@dataclass
class ForwardRecord:
    """Everything the backward pass needs from one forward run."""
    n_steps: int
    inputs: dict[str, np.ndarray]           # kernel input arrays (in_step_k, in_id_k, in_n_k)
    params: dict[str, np.ndarray]           # kernel parameter arrays (w_c, d_c, row_c, post_c) as used
    records: dict[str, np.ndarray]          # spike records (spk_step_k, spk_id_k, spk_<SPIKE_FLOATS>_k, spk_n_k)
    vout: dict[int, np.ndarray] = field(default_factory=dict)   # pop index -> [B, T, N]

    @property
    def batch_size(self) -> int:
        return int(next(iter(self.inputs.values())).shape[0]) if self.inputs else 0

    def spike_counts(self, pop: int, size: int) -> torch.Tensor:
        """[B, size] number of spikes of each neuron of LIF population `pop` (on the records' device)."""
        ids, n = self.records[f"spk_id_{pop}"], self.records[f"spk_n_{pop}"]
        if isinstance(ids, np.ndarray):                 # CPU engine: one pass over each sample's spikes
            from .record_kernels import count_spikes
            out = np.zeros((n.shape[0], size), np.int64)
            count_spikes(ids, n, out)
            return torch.from_numpy(out)
        ids, n = torch.as_tensor(ids), torch.as_tensor(n)
        B = n.shape[0]
        valid = torch.arange(ids.shape[1], device=ids.device)[None, :] < n[:, None]
        flat = (torch.arange(B, device=ids.device)[:, None] * size + ids.long())[valid]
        return torch.bincount(flat, minlength=B * size).reshape(B, size)


class Engine:
    """Compiled forward/backward kernels of one network (CPU, Numba)."""

    def __init__(self, net):
        self.plan: KernelPlan = make_plan(net, pow2=True, paired=True)
        self.source = numba_cpu.generate(self.plan)
        self.module = load_source(self.source, "eventprop_cpu")
        self.forward_args = numba_cpu.forward_args(self.plan)
        self.backward_args = numba_cpu.backward_args(self.plan)
        self.capacity = {p.index: 64 for p in self.plan.lifs}   # spike-record slots per sample, grown on demand
        self.compile_seconds: dict[str, float] = {}

    def _call(self, name: str, args: dict):
        fn = getattr(self.module, name)
        fresh = not fn.signatures
        t0 = time.perf_counter()
        fn(*[args[a] for a in (self.forward_args if name == "forward" else self.backward_args)])
        if fresh:  # first call of this process: compilation or load from Numba's on-disk cache
            self.compile_seconds[name] = time.perf_counter() - t0

    def forward(self, n_steps: int, inputs: dict[str, np.ndarray], params: dict[str, np.ndarray]) -> ForwardRecord:
        dtype = params[f"w_{self.plan.conns[0].index}"].dtype
        B = int(inputs[f"in_n_{self.plan.inputs[0].index}"].shape[0])
        while True:
            records = {}
            for p in self.plan.lifs:
                cap = self.capacity[p.index]
                records[f"spk_step_{p.index}"] = np.empty((B, cap), np.int32)
                records[f"spk_id_{p.index}"] = np.empty((B, cap), np.int32)
                for x in SPIKE_FLOATS:
                    records[f"spk_{x}_{p.index}"] = np.empty((B, cap), dtype)
                records[f"spk_n_{p.index}"] = np.zeros(B, np.int32)
            vout = {p.index: np.zeros((B, n_steps, p.size), dtype) for p in self.plan.outputs}
            args = {"n_steps": n_steps, **inputs, **params, **records, **{f"vout_{k}": v for k, v in vout.items()}}
            self._call("forward", args)
            overflow = False
            for p in self.plan.lifs:
                need = int(records[f"spk_n_{p.index}"].max(initial=0))
                if need > self.capacity[p.index]:
                    self.capacity[p.index] = int(need * 1.25) + 16
                    overflow = True
            if not overflow:
                return ForwardRecord(n_steps, inputs, params, records, vout)

    def backward(self, rec: ForwardRecord, grad_v: dict[int, np.ndarray], grad_count: dict[int, np.ndarray]):
        """Run the adjoint; returns {"gw_c": ..., "gd_c": ...} summed over the batch."""
        B = rec.batch_size
        dtype = rec.params[f"w_{self.plan.conns[0].index}"].dtype
        n_chunks = max(1, min(N_CHUNKS, B))
        edges = np.linspace(0, B, n_chunks + 1).round().astype(np.int64)
        grads = {}
        for c in self.plan.conns:
            shape = rec.params[f"w_{c.index}"].shape
            grads[f"gw_{c.index}"] = np.zeros((n_chunks, *shape), dtype)
            if c.delay_grad:
                grads[f"gd_{c.index}"] = np.zeros((n_chunks, *shape), dtype)
        args = {"n_steps": rec.n_steps, **rec.inputs, **rec.params, **rec.records,
                **{f"gv_{p.index}": np.ascontiguousarray(grad_v[p.index], dtype) for p in self.plan.outputs},
                **{f"gc_{p.index}": np.ascontiguousarray(grad_count[p.index], dtype) for p in self.plan.lifs},
                "chunk_lo": edges[:-1].copy(), "chunk_hi": edges[1:].copy(), **grads}
        self._call("backward", args)
        return {k: v.sum(axis=0) for k, v in grads.items()}
