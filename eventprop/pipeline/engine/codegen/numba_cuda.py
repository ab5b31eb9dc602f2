"""numba-cuda emitter: one thread block per sample runs ALL timesteps of the forward (or backward) pass in one
launch; the same equations as the CPU emitter (model_logic), only the loop structure differs.

Per block (sample b) with NT threads (a power of two, baked into the source):
  * neuron state (V, inSyn / lambda_V, lambda_I), per-step spike lists, and the delay ring buffers / adjoint
    histories are placed in shared memory in that order of priority while they fit SHARED_BUDGET bytes; the rest
    live in per-sample slices of global workspace arrays (`ws_<name>[b]`).
  * forward: threads stride over neurons; the spikes of a step are compacted in neuron order with a block-wide
    scan (deterministic, the CPU's record order); fan-out of dense connections: each thread owns target neurons and
    walks the step's spike list (coalesced weight rows, no atomics, the CPU's summation order); sparse connections:
    threads stride over the synapse row with atomic adds.
  * backward: reverse time in one launch; the spikes of a step are independent given the adjoint history, so
    they are processed NT/32 at a time, 32 lanes per spike (R summed in a fixed order from shared memory, two block
    barriers per group); dL/dw and dL/dd are accumulated over the batch with atomics.
Only block-level primitives (shared memory, syncthreads, atomics) are used, so the kernels also run in Numba's
CUDA simulator (NUMBA_ENABLE_CUDASIM=1).
"""
from __future__ import annotations

from dataclasses import dataclass

from . import model_logic as ml
from .args import grad_args, input_args, param_args, record_args
from .plan import ConnPlan, KernelPlan
from .writer import CodeWriter

SHARED_BUDGET = 40 * 1024
HEADER = ("from numba import cuda, float32, float64, int32  # noqa: F401", "")


@dataclass
class Array:
    name: str
    shape: tuple[int, ...]
    dtype: str                # "float" (the kernel dtype) or "int32"
    shared: bool = True
    init: int = 0             # value every element starts from

    def nbytes(self, itemsize: int) -> int:
        n = 1
        for s in self.shape:
            n *= s
        return n * (4 if self.dtype == "int32" else itemsize)


def place(arrays: list[Array], itemsize: int, budget: int = SHARED_BUDGET) -> list[Array]:
    """Shared memory for arrays in list order while the total fits `budget`; global workspace after that."""
    used = 0
    for a in arrays:
        need = a.nbytes(itemsize)
        a.shared = used + need <= budget
        used += need if a.shared else 0
    return arrays


def forward_arrays(plan: KernelPlan, nt: int) -> list[Array]:
    state, rings = [], []
    for p in plan.stateful:
        state.append(Array(f"V_{p.index}", (p.size,), "float"))
        state += [Array(f"{n}_{p.index}", (p.size,), kind, init=init) for n, kind, init in p.eq.state(False)]
        if p.kind == "lif":
            state += [Array(f"flag_{p.index}", (p.size,), "int32"), Array(f"fired_{p.index}", (p.size,), "int32")]
            state += [Array(f"{x}_{p.index}", (p.size,), "float") for x in ml.SPIKE_FLOATS]
        for g in p.groups:
            state.append(Array(f"insyn_{g}", (p.size,), "float"))
            rings.append(Array(f"ring_{g}", (plan.groups[g].ring_len, p.size), "float"))
    return [Array("scan", (nt,), "int32")] + state + rings


def backward_arrays(plan: KernelPlan, nt: int) -> list[Array]:
    state, hist = [Array("red", (nt,), "float")], []
    for p in plan.stateful:
        state.append(Array(f"lamV_{p.index}", (p.size,), "float"))
        state += [Array(f"{n}_{p.index}", (p.size,), kind, init=init) for n, kind, init in p.eq.state(True)]
        if p.kind == "lif":
            state.append(Array(f"pend_{p.index}", (p.size,), "float"))
        for g in p.groups:
            L = plan.groups[g].hist_len
            state.append(Array(f"lamS_{g}", (p.size,), "float"))
            hist += [Array(f"histG_{g}", (L, p.size), "float"), Array(f"histD_{g}", (L, p.size), "float")]
    return state + hist


def workspace(arrays: list[Array]) -> list[Array]:
    return [a for a in arrays if not a.shared]


def forward_args(plan: KernelPlan, arrays: list[Array]) -> list[str]:
    return (input_args(plan) + param_args(plan) + record_args(plan) + [f"vout_{p.index}" for p in plan.outputs]
            + [f"ws_{a.name}" for a in workspace(arrays)])


def backward_args(plan: KernelPlan, arrays: list[Array]) -> list[str]:
    return (input_args(plan) + param_args(plan) + record_args(plan) + grad_args(plan)
            + [f"ws_{a.name}" for a in workspace(arrays)])


def _declare(w: CodeWriter, arrays: list[Array], ftype: str):
    for a in arrays:
        dtype = ftype if a.dtype == "float" else "int32"
        if a.shared:
            w(f"{a.name} = cuda.shared.array({a.shape!r}, {dtype})")
        else:
            w(f"{a.name} = ws_{a.name}[b]")


def _zero(w: CodeWriter, arrays: list[Array], nt: int):
    for a in arrays:
        if a.name in ("scan", "red"):
            continue
        if len(a.shape) == 1:
            with w.block(f"for j in range(tid, {a.shape[0]}, {nt}):"):
                w(f"{a.name}[j] = {a.init}")
        else:
            L, n = a.shape
            with w.block(f"for k in range(tid, {L * n}, {nt}):"):
                w(f"{a.name}[k // {n}, k % {n}] = {a.init}")


def _slots(names: list[str]) -> dict[str, int]:
    """Indices of the block's shared integer scalars (record counts, event pointers)."""
    return {n: k for k, n in enumerate(names)}


def _compact(w: CodeWriter, plan: KernelPlan, k: int, size: int, nt: int, slot: dict):
    """Block-wide ordered compaction of flag_k into fired_k and the spike record; leaves `nf_k` (same in all
    threads)."""
    w(f"nrec = cnt[{slot[f'nrec_{k}']}]", "base = 0")
    with w.block(f"for c0 in range(0, {size}, {nt}):"):
        w("j = c0 + tid", f"f = flag_{k}[j] if j < {size} else 0")
        with w.block("if cuda.syncthreads_count(f) > 0:"):     # most chunks of most steps hold no spike
            w("scan[tid] = f", "cuda.syncthreads()", "off = 1")
            with w.block(f"while off < {nt}:"):
                w("x = scan[tid - off] if tid >= off else 0", "cuda.syncthreads()", "scan[tid] += x",
                  "cuda.syncthreads()", "off *= 2")
            with w.block("if f:"):
                w("pos = base + scan[tid] - 1", f"fired_{k}[pos] = j", "r = nrec + pos",
                  *plan.pops[k].eq.on_record(k, "r"))
                with w.block(f"if r < spk_step_{k}.shape[1]:"):
                    w(f"spk_step_{k}[b, r] = t", f"spk_id_{k}[b, r] = j",
                      *(f"spk_{x}_{k}[b, r] = {x}_{k}[j]" for x in ml.SPIKE_FLOATS))
            w(f"base += scan[{nt - 1}]", "cuda.syncthreads()")
    w(f"nf_{k} = base")
    with w.block("if tid == 0:"):
        w(f"cnt[{slot[f'nrec_{k}']}] = nrec + base")


def emit_forward(plan: KernelPlan, w: CodeWriter, nt: int, ftype: str, arrays: list[Array]):
    slot = _slots([f"nrec_{p.index}" for p in plan.lifs] + [f"ev_{p.index}" for p in plan.inputs]
                  + [f"evlo_{p.index}" for p in plan.inputs])
    w("@cuda.jit(cache=True)")
    with w.block(f"def forward({', '.join(forward_args(plan, arrays))}):"):
        w("b = cuda.blockIdx.x", "tid = cuda.threadIdx.x", f"cnt = cuda.shared.array({max(len(slot), 1)}, int32)")
        _declare(w, arrays, ftype)
        _zero(w, arrays, nt)
        with w.block("if tid == 0:"):
            for k in range(len(slot)):
                w(f"cnt[{k}] = 0")
        w("cuda.syncthreads()")
        with w.block("for t in range(n_steps):"):
            for p in plan.stateful:
                k = p.index
                with w.block(f"for j in range(tid, {p.size}, {nt}):"):
                    w(*ml.neuron_update(plan, p))
                    if p.kind == "lif":
                        w(f"flag_{k}[j] = 0")
                        with w.block(f"if {p.eq.crosses('v')}:"):
                            w(*p.eq.spike_record(k))
                            w(f"flag_{k}[j] = 1", *(f"{x}_{k}[j] = spk_{x}" for x in ml.SPIKE_FLOATS), "v = 0.0",
                              *p.eq.on_spike(k))
                    else:
                        w(f"vout_{k}[b, t, j] = v")
                    w(f"V_{k}[j] = v")
            w("cuda.syncthreads()")
            for p in plan.lifs:
                _compact(w, plan, p.index, p.size, nt, slot)
            for p in plan.inputs:
                k = p.index
                with w.block("if tid == 0:"):
                    w(f"e = cnt[{slot[f'ev_{k}']}]", f"cnt[{slot[f'evlo_{k}']}] = e")
                    with w.block(f"while e < in_n_{k}[b] and in_step_{k}[b, e] <= t:"):
                        w("e += 1")
                    w(f"cnt[{slot[f'ev_{k}']}] = e")
            w("cuda.syncthreads()")
            for p in plan.inputs:
                w(f"lo_{p.index} = cnt[{slot[f'evlo_{p.index}']}]", f"hi_{p.index} = cnt[{slot[f'ev_{p.index}']}]")
            for c in plan.conns:
                _emit_propagate(w, plan, c, nt)
            w("cuda.syncthreads()")
        with w.block("if tid == 0:"):
            for p in plan.lifs:
                w(f"spk_n_{p.index}[b] = cnt[{slot[f'nrec_{p.index}']}]")
    w("")


def _spike_source(plan: KernelPlan, c: ConnPlan) -> tuple[str, str]:
    src = plan.pops[c.source]
    if src.kind == "input":
        return f"range(lo_{src.index}, hi_{src.index})", f"in_id_{src.index}[b, e]"
    return f"range(nf_{src.index})", f"fired_{src.index}[e]"


def _emit_propagate(w: CodeWriter, plan: KernelPlan, c: ConnPlan, nt: int):
    g = plan.groups[c.group]
    spikes, source = _spike_source(plan, c)
    if c.sparse:
        with w.block(f"for e in {spikes}:"):
            w(f"i = {source}")
            with w.block(f"for s in range(row_{c.index}[i] + tid, row_{c.index}[i + 1], {nt}):"):
                slot = g.event_row(f"t + 1 + d_{c.index}[s]" if c.delayed else "t + 1", g.ring_len)
                w(f"cuda.atomic.add(ring_{g.index}, ({slot}, post_{c.index}[s]), w_{c.index}[s])")
        return
    with w.block(f"for j in range(tid, {c.n_post}, {nt}):"):
        with w.block(f"for e in {spikes}:"):
            w(f"i = {source}")
            slot = g.event_row(f"t + 1 + d_{c.index}[i, j]" if c.delayed else "t + 1", g.ring_len)
            w(f"ring_{g.index}[{slot}, j] += w_{c.index}[i, j]")


def _emit_fanout_grads(w: CodeWriter, plan: KernelPlan, c: ConnPlan, stride: int, with_r: bool, lane: str = "tid"):
    """Gradient (and rho) contributions of presynaptic neuron `i`'s synapses, strided over `stride` threads."""
    g = plan.groups[c.group]
    if c.sparse:
        loop, syn, index = f"for s in range(row_{c.index}[i] + {lane}, row_{c.index}[i + 1], {stride}):", "s", "s"
    else:
        loop, syn, index = f"for j in range({lane}, {c.n_post}, {stride}):", "(i, j)", "i, j"
    with w.block(loop):
        if c.sparse:
            w(f"j = post_{c.index}[s]")
        wij, dij = f"w_{c.index}[{index}]", f"d_{c.index}[{index}]"
        G, D = ml.arrival(plan, g, f"t + 1 + {dij}" if c.delayed else "t + 1", "j")
        w(f"cuda.atomic.add(gw_{c.index}, {syn}, {G})")
        if c.delay_grad or with_r:
            w(f"dd = {wij} * {D}")
        if c.delay_grad:
            w(f"cuda.atomic.add(gd_{c.index}, {syn}, dd)")
        if with_r:
            w("r += dd")


def emit_backward(plan: KernelPlan, w: CodeWriter, nt: int, ftype: str, arrays: list[Array]):
    slot = _slots([f"q_{p.index}" for p in plan.lifs] + [f"qlo_{p.index}" for p in plan.lifs]
                  + [f"qa_{p.index}" for p in plan.lifs if p.eq.lookahead]
                  + [f"e_{p.index}" for p in plan.inputs] + [f"elo_{p.index}" for p in plan.inputs])
    w("@cuda.jit(cache=True)")
    with w.block(f"def backward({', '.join(backward_args(plan, arrays))}):"):
        w("b = cuda.blockIdx.x", "tid = cuda.threadIdx.x", f"cnt = cuda.shared.array({len(slot)}, int32)")
        _declare(w, arrays, ftype)
        _zero(w, arrays, nt)
        with w.block("if tid == 0:"):
            for p in plan.lifs:
                w(f"cnt[{slot[f'q_{p.index}']}] = spk_n_{p.index}[b] - 1")
                if p.eq.lookahead:
                    w(f"cnt[{slot[f'qa_{p.index}']}] = spk_n_{p.index}[b] - 1")
            for p in plan.inputs:
                k = p.index
                w(f"e = in_n_{k}[b] - 1")
                with w.block(f"while e >= 0 and in_step_{k}[b, e] >= n_steps:"):
                    w("e -= 1")
                w(f"cnt[{slot[f'e_{k}']}] = e")
        w("cuda.syncthreads()")
        with w.block("for t in range(n_steps - 1, -1, -1):"):
            ahead = [p for p in plan.lifs if p.eq.lookahead]    # spikes announced `lookahead` steps early
            if ahead:
                with w.block("if tid == 0:"):
                    for p in ahead:
                        k = p.index
                        w(f"qa = cnt[{slot[f'qa_{k}']}]")
                        with w.block(f"while qa >= 0 and spk_step_{k}[b, qa] >= t - {p.eq.lookahead}:"):
                            w(f"i = spk_id_{k}[b, qa]", *p.eq.on_lookahead(k, f"spk_step_{k}[b, qa]"), "qa -= 1")
                        w(f"cnt[{slot[f'qa_{k}']}] = qa")
                w("cuda.syncthreads()")
            for p in plan.stateful:
                with w.block(f"for j in range(tid, {p.size}, {nt}):"):
                    w(*ml.adjoint_step(plan, p, "t", f"gv_{p.index}[b, t, j]" if p.kind == "li" else None))
            with w.block("if tid == 0:"):
                for p in plan.lifs:
                    k = p.index
                    w(f"q = cnt[{slot[f'q_{k}']}]")
                    with w.block(f"while q >= 0 and spk_step_{k}[b, q] == t:"):
                        w("q -= 1")
                    w(f"cnt[{slot[f'qlo_{k}']}] = q")
                for p in plan.inputs:
                    k = p.index
                    w(f"e = cnt[{slot[f'e_{k}']}]")
                    with w.block(f"while e >= 0 and in_step_{k}[b, e] == t:"):
                        w("e -= 1")
                    w(f"cnt[{slot[f'elo_{k}']}] = e")
            w("cuda.syncthreads()")
            ws = min(32, nt)              # lanes per spike: the spikes of a step are handled nt // ws at a time
            for p in plan.lifs:
                k = p.index
                w(f"qlo = cnt[{slot[f'qlo_{k}']}]")
                with w.block(f"for q0 in range(cnt[{slot[f'q_{k}']}], qlo, -{nt // ws}):"):
                    w(f"q = q0 - tid // {ws}", f"lane = tid % {ws}", "r = 0.0")
                    with w.block("if q > qlo:"):
                        w(f"i = spk_id_{k}[b, q]")
                        for ci in p.outgoing:
                            _emit_fanout_grads(w, plan, plan.conns[ci], ws, with_r=True, lane="lane")
                    w("red[tid] = r", "cuda.syncthreads()")
                    with w.block("if lane == 0 and q > qlo:"):
                        w("total = 0.0")
                        with w.block(f"for m in range({ws}):"):
                            w("total += red[tid + m]")
                        w(f"i = spk_id_{k}[b, q]")
                        w(*ml.spike_jump(plan, p, "t", "total", f"spk_{{}}_{k}[b, q]", f"gc_{k}[b, i]"))
                    w("cuda.syncthreads()")
            for p in plan.inputs:
                k = p.index
                with w.block(f"for e in range(cnt[{slot[f'e_{k}']}], cnt[{slot[f'elo_{k}']}], -1):"):
                    w(f"i = in_id_{k}[b, e]")
                    for ci in p.outgoing:
                        _emit_fanout_grads(w, plan, plan.conns[ci], nt, with_r=False)
            w("cuda.syncthreads()")
            with w.block("if tid == 0:"):
                for p in plan.lifs:
                    w(f"cnt[{slot[f'q_{p.index}']}] = cnt[{slot[f'qlo_{p.index}']}]")
                for p in plan.inputs:
                    w(f"cnt[{slot[f'e_{p.index}']}] = cnt[{slot[f'elo_{p.index}']}]")
            w("cuda.syncthreads()")
    w("")


def generate(plan: KernelPlan, nt: int, dtype: str = "float32", budget: int = SHARED_BUDGET):
    """(source, forward arrays, backward arrays) for block size `nt` and float `dtype`."""
    if nt & (nt - 1) or nt < 1:
        raise ValueError(f"CUDA block size must be a power of two, got {nt}")
    itemsize = 4 if dtype == "float32" else 8
    fwd = place(forward_arrays(plan, nt), itemsize, budget)
    bwd = place(backward_arrays(plan, nt), itemsize, budget)
    w = CodeWriter()
    w('"""Generated by eventprop.pipeline.engine.codegen.numba_cuda -- do not edit."""', *HEADER)
    emit_forward(plan, w, nt, dtype, fwd)
    emit_backward(plan, w, nt, dtype, bwd)
    return w.source(), fwd, bwd


def signature(plan: KernelPlan, names: list[str], arrays: list[Array], dtype: str) -> tuple:
    """Numba types of a kernel's arguments, as the CUDA engine passes them (for ahead-of-time checks)."""
    from numba import types
    ft = types.float32 if dtype == "float32" else types.float64
    ws = {f"ws_{a.name}": a for a in arrays}
    conn = {f"{p}_{c.index}": c for c in plan.conns for p in ("w", "d", "gw", "gd")}
    out = []
    for n in names:
        if n == "n_steps":
            out.append(types.int64)
        elif n in ws:
            a = ws[n]
            out.append(types.Array(ft if a.dtype == "float" else types.int32, len(a.shape) + 1, "C"))
        elif n in conn:
            ndim = 1 if conn[n].sparse else 2
            out.append(types.Array(types.int32 if n.startswith("d_") else ft, ndim, "C"))
        elif n.startswith("row_"):
            out.append(types.Array(types.int64, 1, "C"))
        elif n.startswith(("in_n_", "spk_n_", "post_")):
            out.append(types.Array(types.int32, 1, "C"))
        elif n.startswith(("in_step_", "in_id_", "spk_step_", "spk_id_")):
            out.append(types.Array(types.int32, 2, "C"))
        elif n.startswith(tuple(f"spk_{x}_" for x in ml.SPIKE_FLOATS) + ("gc_",)):
            out.append(types.Array(ft, 2, "C"))
        elif n.startswith(("vout_", "gv_")):
            out.append(types.Array(ft, 3, "C"))
        else:
            raise KeyError(f"no type known for kernel argument {n!r}")
    return tuple(out)


def compile_ptx(plan: KernelPlan, nt: int = 256, dtype: str = "float32", budget: int = SHARED_BUDGET,
                cc: tuple[int, int] = (9, 0)) -> dict[str, str]:
    """PTX of both kernels for compute capability `cc`, without a GPU (needs numba-cuda with NVVM/NVRTC and the
    simulator off): catches typing errors the CUDA simulator cannot see."""
    from numba import cuda
    source, fwd, bwd = generate(plan, nt, dtype, budget)
    namespace: dict = {}
    exec(compile(source.replace("@cuda.jit(cache=True)", ""), "<eventprop cuda kernels>", "exec"), namespace)
    out = {}
    for name, arrays, args in (("forward", fwd, forward_args(plan, fwd)), ("backward", bwd, backward_args(plan, bwd))):
        out[name], _ = cuda.compile_ptx(namespace[name], signature(plan, args, arrays, dtype), cc=cc)
    return out
