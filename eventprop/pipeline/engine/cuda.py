"""The EventProp engine on NVIDIA GPUs: kernels from codegen.numba_cuda, buffers as torch tensors on the device.

Torch tensors are handed to Numba through __cuda_array_interface__ (no copies) and the kernels run on torch's
current stream. With NUMBA_ENABLE_CUDASIM=1 the same kernels run in Numba's CUDA simulator on the CPU (tensors stay
on the CPU and are passed as numpy views) - that is how the tests check them without a GPU.
"""
from __future__ import annotations

import numba
import torch

from ...errors import DeviceError
from .codegen import numba_cuda
from .codegen.cache import load_source
from .codegen.model_logic import SPIKE_FLOATS
from .codegen.plan import make_plan
from .cpu import ForwardRecord


def simulator() -> bool:
    return bool(numba.config.ENABLE_CUDASIM)


def cuda_device() -> torch.device:
    """Where the CUDA engine keeps its tensors; raises with a clear message when there is no way to run it."""
    if simulator():
        return torch.device("cpu")
    from numba import cuda
    if not (torch.cuda.is_available() and cuda.is_available()):
        raise DeviceError("device='cuda' needs an NVIDIA GPU visible to both torch and numba-cuda (or "
                           "NUMBA_ENABLE_CUDASIM=1 to run the CUDA kernels in Numba's simulator)")
    return torch.device("cuda")


class CudaEngine:
    """Generated forward/backward CUDA kernels of one network; one thread block per sample."""

    def __init__(self, net, block: int | None = None, shared_budget: int = numba_cuda.SHARED_BUDGET):
        self.plan = make_plan(net, pow2=True)      # ring and history rows wrapped by a mask, as the CPU's
        self.shared_budget = shared_budget
        self.device = cuda_device()
        largest = max(p.size for p in self.plan.stateful)
        default = 32 if simulator() else min(256, max(32, 1 << (largest - 1).bit_length()))
        self.block = block or default
        self.capacity = {p.index: 64 for p in self.plan.lifs}
        self.kernels: dict[str, tuple] = {}

    def _compiled(self, dtype: torch.dtype):
        key = "float64" if dtype == torch.float64 else "float32"
        if key not in self.kernels:
            source, fwd, bwd = numba_cuda.generate(self.plan, self.block, key, self.shared_budget)
            self.kernels[key] = (load_source(source, "eventprop_cuda"), fwd, bwd)
        return self.kernels[key]

    def _view(self, t: torch.Tensor):
        if simulator():
            return t.numpy()
        from numba import cuda
        return cuda.as_cuda_array(t.detach())

    def _launch(self, kernel, B: int, names: list[str], args: dict):
        views = [args[n] if isinstance(args[n], int) else self._view(args[n]) for n in names]
        if simulator():
            kernel[B, self.block](*views)
        else:
            from numba import cuda
            stream = cuda.external_stream(torch.cuda.current_stream(self.device).cuda_stream)
            kernel[B, self.block, stream](*views)

    def _workspace(self, arrays, B: int, dtype: torch.dtype) -> dict:
        return {f"ws_{a.name}": torch.empty((B, *a.shape), dtype=dtype if a.dtype == "float" else torch.int32,
                                            device=self.device) for a in numba_cuda.workspace(arrays)}

    def forward(self, n_steps: int, inputs: dict, params: dict) -> ForwardRecord:
        dtype = params[f"w_{self.plan.conns[0].index}"].dtype
        module, fwd, _ = self._compiled(dtype)
        B = int(inputs[f"in_n_{self.plan.inputs[0].index}"].shape[0])
        names = numba_cuda.forward_args(self.plan, fwd)
        while True:
            records = {}
            for p in self.plan.lifs:
                cap, k = self.capacity[p.index], p.index
                records[f"spk_step_{k}"] = torch.empty((B, cap), dtype=torch.int32, device=self.device)
                records[f"spk_id_{k}"] = torch.empty((B, cap), dtype=torch.int32, device=self.device)
                for x in SPIKE_FLOATS:
                    records[f"spk_{x}_{k}"] = torch.empty((B, cap), dtype=dtype, device=self.device)
                records[f"spk_n_{k}"] = torch.zeros(B, dtype=torch.int32, device=self.device)
            vout = {p.index: torch.zeros((B, n_steps, p.size), dtype=dtype, device=self.device)
                    for p in self.plan.outputs}
            args = {"n_steps": n_steps, **inputs, **params, **records, **self._workspace(fwd, B, dtype),
                    **{f"vout_{k}": v for k, v in vout.items()}}
            self._launch(module.forward, B, names, args)
            overflow = False
            for p in self.plan.lifs:
                need = int(records[f"spk_n_{p.index}"].max().item()) if B else 0
                if need > self.capacity[p.index]:
                    self.capacity[p.index] = int(need * 1.25) + 16
                    overflow = True
            if not overflow:
                return ForwardRecord(n_steps, inputs, params, records, vout)

    def backward(self, rec: ForwardRecord, grad_v: dict, grad_count: dict) -> dict:
        B = rec.batch_size
        dtype = rec.params[f"w_{self.plan.conns[0].index}"].dtype
        module, _, bwd = self._compiled(dtype)
        grads = {}
        for c in self.plan.conns:
            shape = rec.params[f"w_{c.index}"].shape
            grads[f"gw_{c.index}"] = torch.zeros(shape, dtype=dtype, device=self.device)
            if c.delay_grad:
                grads[f"gd_{c.index}"] = torch.zeros(shape, dtype=dtype, device=self.device)
        args = {"n_steps": rec.n_steps, **rec.inputs, **rec.params, **rec.records, **grads,
                **{f"gv_{p.index}": grad_v[p.index].to(self.device, dtype).contiguous() for p in self.plan.outputs},
                **{f"gc_{p.index}": grad_count[p.index].to(self.device, dtype).contiguous() for p in self.plan.lifs},
                **self._workspace(bwd, B, dtype)}
        self._launch(module.backward, B, numba_cuda.backward_args(self.plan, bwd), args)
        return grads


__all__ = ["CudaEngine", "DeviceError", "cuda_device", "simulator"]
