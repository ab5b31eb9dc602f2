"""torch bridge: `compile(net)` -> an nn.Module whose backward() runs the EventProp adjoint.

Parameters are named `<conn>.weight`, `<conn>.delay` (when learned) and `<pop>.position` (when learned).
Delays are in timesteps; the forward pass uses Connection.rounded_delays (floor(d + 0.5) clamped to
[0, max_delay_steps]), gradients are taken w.r.t. the real value. Spatial delays (Connection.spatial_delays) are built
on the torch position parameters, so positions get their gradients from autograd through that map.
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import torch
from torch import nn

from ...errors import ModelError
from ...models import Network
from .cpu import Engine
from ...models.events import to_kernel_inputs
from .readouts import reduce


@dataclass
class RunOutput:
    voltages: dict[str, torch.Tensor]       # output population -> [B, T, N]
    spike_counts: dict[str, torch.Tensor]   # LIF population -> [B, N] (backward: dL/dcount acts as the regulariser drive)
    readouts: dict[str, torch.Tensor]       # output population -> [B, N] (spike counts where the network has no LI readout)


class _EventPropFunction(torch.autograd.Function):
    @staticmethod
    def forward(ctx, model, inputs, n_steps, *tensors):
        engine: Engine = model.engine
        params = model._kernel_params(tensors)
        rec = engine.forward(n_steps, inputs, params)
        ctx.model, ctx.rec = model, rec
        ctx.tensor_dtype = model.dtype
        outs = [torch.as_tensor(rec.vout[p.index]) for p in engine.plan.outputs]
        outs += [rec.spike_counts(p.index, p.size).to(model.dtype) for p in engine.plan.lifs]
        return tuple(outs)

    @staticmethod
    def backward(ctx, *grads):
        engine: Engine = ctx.model.engine
        plan, rec = engine.plan, ctx.rec
        B, n_out = rec.batch_size, len(plan.outputs)
        model = ctx.model
        grad_v = {p.index: model._to_engine(g, (B, rec.n_steps, p.size)) for p, g in zip(plan.outputs, grads[:n_out])}
        grad_c = {p.index: model._to_engine(g, (B, p.size)) for p, g in zip(plan.lifs, grads[n_out:])}
        out = engine.backward(rec, grad_v, grad_c)
        result = []
        for c in plan.conns:
            result.append(torch.as_tensor(out[f"gw_{c.index}"]).to(ctx.tensor_dtype)
                          if ctx.needs_input_grad[3 + 2 * c.index] else None)
            gd = out.get(f"gd_{c.index}")
            result.append(torch.as_tensor(gd).to(ctx.tensor_dtype)
                          if gd is not None and ctx.needs_input_grad[4 + 2 * c.index] else None)
        return (None, None, None, *result)


def all_finite(x: torch.Tensor) -> bool:
    """No NaN or inf in x, in one pass without a mask: aminmax propagates NaN, and an inf is the min or the max."""
    if x.numel() == 0:
        return True
    lo, hi = torch.aminmax(x)
    return bool(torch.isfinite(lo) & torch.isfinite(hi))


class _Params(nn.Module):
    """Holder so that parameters are named `<conn>.weight` / `<pop>.position`."""


class EventPropModule(nn.Module):
    def __init__(self, net: Network, params: dict[str, np.ndarray] | None = None, seed: int = 0,
                 dtype: torch.dtype = torch.float32, device: str = "cpu", block: int | None = None):
        super().__init__()
        if dtype not in (torch.float32, torch.float64):
            raise ValueError(f"compile: dtype must be torch.float32 or torch.float64, got {dtype}")
        if device not in ("cpu", "cuda"):
            raise ValueError(f"compile: device must be 'cpu' or 'cuda', got {device!r}")
        self.net, self.dtype, self.backend = net, dtype, device
        if device == "cuda":
            from .cuda import CudaEngine
            self.engine = CudaEngine(net, block)
        else:
            self.engine = Engine(net)
        params = net.instantiate(seed) if params is None else params
        for obj in [*net.populations, *net.connections]:
            if hasattr(nn.Module, obj.name) or obj.name in ("net", "engine", "dtype"):
                raise ValueError(f"{type(obj).__name__} {obj.name!r}: name clashes with an nn.Module attribute")
        for pop in net.populations:
            if pop.position is not None:
                holder = _Params()
                value = self._tensor(params, f"{pop.name}.position", (pop.size, pop.dims))
                if pop.learn_position:
                    holder.position = nn.Parameter(value)
                else:
                    holder.register_buffer("position", value)
                self.add_module(pop.name, holder)
        for c in net.connections:
            holder = _Params()
            if c.sparse:
                pre = np.ascontiguousarray(params[f"{c.name}.pre_ind"], dtype=np.int64)
                post = np.ascontiguousarray(params[f"{c.name}.post_ind"], dtype=np.int64)
                if np.any(np.diff(pre) < 0):
                    raise ValueError(f"Connection {c.name!r}: pre_ind must be sorted (CSR order)")
                holder.register_buffer("pre_ind", torch.from_numpy(pre))
                holder.register_buffer("post_ind", torch.from_numpy(post))
                shape = (pre.size,)
            else:
                shape = (c.source.size, c.target.size)
            holder.weight = nn.Parameter(self._tensor(params, f"{c.name}.weight", shape))
            if not c.spatial or c.learn_delays:
                delay = self._tensor(params, f"{c.name}.delay", shape)
                if c.learn_delays:
                    holder.delay = nn.Parameter(delay)
                else:
                    holder.register_buffer("delay", delay)
            self.add_module(c.name, holder)
        if device == "cuda":
            self.to(self.engine.device)

    def _to_engine(self, x, shape):
        """A tensor in the layout the engine takes: numpy for the CPU engine, a device tensor for CUDA."""
        if x is None:
            x = torch.zeros(shape, dtype=self.dtype)
        x = x.detach()
        return x.cpu().numpy() if self.backend == "cpu" else x.to(self.engine.device).contiguous()

    def _tensor(self, params, key, shape) -> torch.Tensor:
        if key not in params:
            raise KeyError(f"parameter {key!r} missing from the parameter dictionary")
        arr = np.asarray(params[key], dtype=np.float64)
        if arr.shape != tuple(shape):
            raise ValueError(f"parameter {key!r}: expected shape {tuple(shape)}, got {arr.shape}")
        return torch.tensor(arr, dtype=self.dtype)

    # ---- delays ------------------------------------------------------------------------------------------
    def delays(self, name: str) -> torch.Tensor:
        """Real-valued delays (timesteps) of a connection: its parameter/buffer, or derived from positions."""
        return self.net.connection(name).delays(self._param)

    def _param(self, key: str) -> torch.Tensor:
        """A parameter or buffer by its dictionary name, e.g. `in_hid.weight`, `hidden0.position`."""
        owner, attr = key.split(".")
        return getattr(getattr(self, owner), attr)

    def synapse_state(self, name: str) -> dict[str, torch.Tensor]:
        """Every per-synapse tensor of connection `name`, Parameter or buffer alike (weight, delay when stored,
        pre_ind / post_ind when sparse): the one list that an operation moving or refilling synapses walks."""
        holder = getattr(self, name)
        return {**dict(holder.named_parameters(recurse=False)), **dict(holder.named_buffers(recurse=False))}

    def connection_cost(self, kind: str = "distance", names=None) -> torch.Tensor | None:
        """sum |w_ij| * distance_ij (kind "distance"), or sum |w_ij| (kind "l1": the same pressure without space),
        over `names` (default: every spatial connection); None when there is none. Differentiable in the weights
        and the positions."""
        terms = []
        for c in self.net.connections:
            if (names is None and c.spatial) or (names is not None and c.name in names):
                w = self._param(f"{c.name}.weight").abs()
                if kind == "l1":
                    terms.append(w.sum())
                    continue
                pre, post = (self._param(f"{c.name}.pre_ind"), self._param(f"{c.name}.post_ind")) if c.sparse \
                    else (None, None)
                dist = c.distances(self._param(f"{c.source.name}.position"),
                                   self._param(f"{c.target.name}.position"), pre, post)
                terms.append((w * dist).sum())
        return torch.stack(terms).sum() if terms else None

    def parameter_counts(self) -> dict[str, int]:
        """Trained values per kind: weights, delays (free, per synapse), positions (neurons x dims)."""
        counts = {"weight": 0, "delay": 0, "position": 0}
        for name, p in self.named_parameters():
            counts[name.rsplit(".", 1)[1]] += p.numel()
        return counts

    def _kernel_params(self, tensors) -> dict:
        """Weights, rounded delays and sparse CSR layout, computed in torch on the parameters' device; numpy views
        for the CPU engine, device tensors for CUDA (no host copies)."""
        out = {}
        for c, plan_c in zip(self.net.connections, self.engine.plan.conns):
            w, d = tensors[2 * plan_c.index], tensors[2 * plan_c.index + 1]
            if not all_finite(w):
                raise ModelError(f"Connection {c.name!r}: weights hold non-finite values (NaN or inf)")
            out[f"w_{plan_c.index}"] = w.detach().to(self.dtype).contiguous()
            if plan_c.delayed:
                if not all_finite(d):
                    raise ModelError(f"Connection {c.name!r}: delays hold non-finite values (NaN or inf)")
                out[f"d_{plan_c.index}"] = c.rounded_delays(d.detach().double()).to(torch.int32).contiguous()
            if plan_c.sparse:   # derived from the buffers each call, so loaded or regrown structures take effect
                holder = getattr(self, c.name)
                bounds = torch.arange(c.source.size + 1, device=holder.pre_ind.device)
                out[f"row_{plan_c.index}"] = torch.searchsorted(holder.pre_ind, bounds).to(torch.int64)
                out[f"post_{plan_c.index}"] = holder.post_ind.to(torch.int32).contiguous()
        if self.backend == "cpu":
            out = {k: v.cpu().numpy() for k, v in out.items()}
        return out

    # ---- running -----------------------------------------------------------------------------------------
    def _inputs(self, batch, n_steps: int | None):
        plan = self.engine.plan
        if not isinstance(batch, dict):
            if len(plan.inputs) != 1:
                raise ValueError(f"network has {len(plan.inputs)} input populations; pass a dict "
                                 f"{{name: spikes}} with keys {[p.name for p in plan.inputs]}")
            batch = {plan.inputs[0].name: batch}
        missing = {p.name for p in plan.inputs} - set(batch)
        if missing or set(batch) - {p.name for p in plan.inputs}:
            raise ValueError(f"input dict keys {sorted(batch)} do not match input populations "
                             f"{[p.name for p in plan.inputs]}")
        arrays, steps_seen, sizes = {}, set(), set()
        for p in plan.inputs:
            steps, ids, n, T = to_kernel_inputs(batch[p.name], self.net.dt, p.size, p.name)
            arrays[f"in_step_{p.index}"], arrays[f"in_id_{p.index}"], arrays[f"in_n_{p.index}"] = steps, ids, n
            steps_seen.add(T)
            sizes.add(n.shape[0])
        if len(sizes) != 1:
            raise ValueError(f"input populations have different batch sizes {sorted(sizes)}")
        T = n_steps if n_steps is not None else max(steps_seen)
        if T <= 0:
            raise ValueError(f"number of steps must be positive, got {T}")
        if self.backend == "cuda":
            arrays = {k: torch.as_tensor(v).to(self.engine.device) for k, v in arrays.items()}
        return arrays, int(T)

    def _tensors(self) -> list:
        tensors = []
        for c in self.net.connections:
            holder = getattr(self, c.name)
            tensors += [holder.weight, self.delays(c.name) if c.max_delay_steps > 0 else None]
        return tensors

    def run(self, batch, n_steps: int | None = None) -> RunOutput:
        inputs, T = self._inputs(batch, n_steps)
        outs = _EventPropFunction.apply(self, inputs, T, *self._tensors())
        plan = self.engine.plan
        volts = {p.name: v for p, v in zip(plan.outputs, outs[:len(plan.outputs)])}
        counts = {p.name: n for p, n in zip(plan.lifs, outs[len(plan.outputs):])}
        readouts = {p.name: reduce(self.net.population(p.name).model.readout, volts[p.name], self.net.dt)
                    for p in plan.outputs} or {p.name: counts[p.name] for p in self.net.spiking_outputs}
        return RunOutput(volts, counts, readouts)

    def spike_trains(self, batch, n_steps: int | None = None) -> dict[str, list[tuple[np.ndarray, np.ndarray]]]:
        """Per LIF population, per sample: (steps, neuron ids) of every spike, sorted by step (no autograd)."""
        inputs, T = self._inputs(batch, n_steps)
        with torch.no_grad():
            rec = self.engine.forward(T, inputs, self._kernel_params(self._tensors()))
        out = {}
        for p in self.engine.plan.lifs:
            steps, ids, n = (torch.as_tensor(rec.records[f"spk_{x}_{p.index}"]).cpu().numpy()
                             for x in ("step", "id", "n"))
            out[p.name] = [(steps[b, :n[b]].astype(np.int64), ids[b, :n[b]].astype(np.int64))
                           for b in range(n.shape[0])]
        return out

    def forward(self, batch, n_steps: int | None = None):
        """Readout [B, N] of the output population (a dict by name when there are several)."""
        out = self.run(batch, n_steps).readouts
        return next(iter(out.values())) if len(out) == 1 else out

    def export(self) -> dict[str, np.ndarray]:
        """Current parameters as the numpy dictionary `Network.instantiate` returns (for deployment, checkpoints)."""
        out = {}
        for name, t in self.state_dict().items():
            out[name] = t.detach().cpu().numpy().copy()
        return out


def compile(net: Network, device: str = "cpu", params: dict | None = None, seed: int = 0,
            dtype: torch.dtype = torch.float32, block: int | None = None) -> EventPropModule:
    """Generate and compile the kernels for `net`; returns the torch module (parameters drawn with `seed`).
    device="cuda": numba-cuda kernels, parameters on the GPU (`block`: threads per sample, a power of two)."""
    return EventPropModule(net, params=params, seed=seed, dtype=dtype, device=device, block=block)
