"""Numba (CPU) emitter: one forward and one backward kernel per network, parallel over the samples of a batch.

Each sample is simulated by one thread from start to end with all state in per-sample local arrays; the backward
kernel accumulates gradients into one buffer per chunk of samples (fixed chunking -> deterministic results).
"""
from __future__ import annotations

from . import model_logic as ml
from .args import grad_args, input_args, param_args, record_args
from .plan import ConnPlan, KernelPlan
from .writer import CodeWriter

HEADER = ("import numpy as np", "from numba import njit, prange", "")
JIT = "@njit(parallel=True, cache=True, nogil=True)"


def forward_args(plan: KernelPlan) -> list[str]:
    return input_args(plan) + param_args(plan) + record_args(plan) + [f"vout_{p.index}" for p in plan.outputs]


def backward_args(plan: KernelPlan) -> list[str]:
    return input_args(plan) + param_args(plan) + record_args(plan) + ["chunk_lo", "chunk_hi"] + grad_args(plan)


def _synapse_loop(w: CodeWriter, c: ConnPlan, i: str):
    """Open the loop over the synapses of presynaptic neuron `i`; inside, `j` is the target, `syn` indexes w/d."""
    if c.sparse:
        return w.block(f"for s in range(row_{c.index}[{i}], row_{c.index}[{i} + 1]):"), "post_{c}[s]", "s"
    return w.block(f"for j in range({c.n_post}):"), None, f"{i}, j"





def _alloc_state(w: CodeWriter, plan: KernelPlan, dtype: str, backward: bool):
    for p in plan.stateful:
        n = p.size
        if backward:
            w(f"lamV_{p.index} = np.zeros({n}, {dtype})")
            if p.kind == "lif":
                w(f"pend_{p.index} = np.zeros({n}, {dtype})")
        else:
            w(f"V_{p.index} = np.zeros({n}, {dtype})")
            if p.kind == "lif":
                w(f"fired_{p.index} = np.zeros({n}, np.int32)", f"nrec_{p.index} = 0")
        for name, kind, init in p.eq.state(backward):
            w(f"{name}_{p.index} = np.full({n}, {init}, {'np.int32' if kind == 'int32' else dtype})")
        for g in p.groups:
            gp = plan.groups[g]
            if backward:
                w(f"lamS_{g} = np.zeros({n}, {dtype})", f"hist_{g} = np.zeros(({gp.hist_len}, {n}, 2), {dtype})")
            else:
                w(f"insyn_{g} = np.zeros({n}, {dtype})", f"ring_{g} = np.zeros(({gp.ring_len}, {n}), {dtype})")


def emit_forward(plan: KernelPlan, w: CodeWriter):
    dtype = f"w_{plan.conns[0].index}.dtype"
    first_in = plan.inputs[0].index
    w(JIT)
    with w.block(f"def forward({', '.join(forward_args(plan))}):"):
        with w.block(f"for b in prange(in_n_{first_in}.shape[0]):"):
            _alloc_state(w, plan, dtype, backward=False)
            for p in plan.inputs:
                w(f"ev_{p.index} = 0")
            with w.block("for t in range(n_steps):"):
                # 1-2. arrivals due at t and neuron updates
                for p in plan.stateful:
                    k = p.index
                    if p.kind == "lif":
                        w(f"nf_{k} = 0")
                    with w.block(f"for j in range({p.size}):"):
                        w(*ml.neuron_update(plan, p))
                        if p.kind == "lif":
                            with w.block(f"if {p.eq.crosses('v')}:"):
                                with w.block(f"if nrec_{k} < spk_step_{k}.shape[1]:"):
                                    w(*p.eq.spike_record(k))
                                    w(f"spk_step_{k}[b, nrec_{k}] = t", f"spk_id_{k}[b, nrec_{k}] = j",
                                      *(f"spk_{x}_{k}[b, nrec_{k}] = spk_{x}" for x in ml.SPIKE_FLOATS))
                                w(*p.eq.on_record(k, f"nrec_{k}"))
                                w(f"nrec_{k} += 1", f"fired_{k}[nf_{k}] = j", f"nf_{k} += 1", "v = 0.0")
                                w(*p.eq.on_spike(k))
                        else:
                            w(f"vout_{k}[b, t, j] = v")
                        w(f"V_{k}[j] = v")
                # 3. input spikes of step t
                for p in plan.inputs:
                    k = p.index
                    w(f"lo_{k} = ev_{k}")
                    with w.block(f"while ev_{k} < in_n_{k}[b] and in_step_{k}[b, ev_{k}] <= t:"):
                        w(f"ev_{k} += 1")
                # 4. propagate this step's spikes into the targets' ring buffers (row of step t + 1: sb_g)
                for g in plan.groups:
                    w(f"sb_{g.index} = {g.ring_row('t + 1')}")
                for c in plan.conns:
                    src = plan.pops[c.source]
                    g = plan.groups[c.group]
                    if src.kind == "input":
                        loop, idx = f"for e in range(lo_{src.index}, ev_{src.index}):", f"in_id_{src.index}[b, e]"
                    else:
                        loop, idx = f"for e in range(nf_{src.index}):", f"fired_{src.index}[e]"
                    with w.block(loop):
                        w(f"i = {idx}")
                        ctx, post, syn = _synapse_loop(w, c, "i")
                        with ctx:
                            if post:
                                w(f"j = {post.format(c=c.index)}")
                            if c.delayed:
                                w(f"slot = {g.event_row(f'sb_{g.index} + d_{c.index}[{syn}]', g.ring_len)}")
                            w(f"ring_{g.index}[{'slot' if c.delayed else f'sb_{g.index}'}, j] += w_{c.index}[{syn}]")
            for p in plan.lifs:
                w(f"spk_n_{p.index}[b] = nrec_{p.index}")
    w("")


def _emit_fanout_grads(w: CodeWriter, plan: KernelPlan, c: ConnPlan, with_r: bool):
    """Gradient (and rho) contributions of the synapses of presynaptic neuron `i` spiking at step t."""
    g = plan.groups[c.group]
    ctx, post, syn = _synapse_loop(w, c, "i")
    with ctx:
        if post:
            w(f"j = {post.format(c=c.index)}")
        if c.delayed:
            w(f"slot = {g.event_row(f'hb_{g.index} + d_{c.index}[{syn}]', g.hist_len)}")
        G, D = ml.arrival(plan, g, "", "j", slot="slot" if c.delayed else f"hb_{g.index}")
        w(f"gw_{c.index}[ch, {syn}] += {G}")
        if c.delay_grad or with_r:
            w(f"dd = w_{c.index}[{syn}] * {D}")
        if c.delay_grad:
            w(f"gd_{c.index}[ch, {syn}] += dd")
        if with_r:
            w("r += dd")


def emit_backward(plan: KernelPlan, w: CodeWriter):
    dtype = f"w_{plan.conns[0].index}.dtype"
    w(JIT)
    with w.block(f"def backward({', '.join(backward_args(plan))}):"):
        with w.block("for ch in prange(chunk_lo.shape[0]):"):
            with w.block("for b in range(chunk_lo[ch], chunk_hi[ch]):"):
                _alloc_state(w, plan, dtype, backward=True)
                for p in plan.lifs:
                    w(f"q_{p.index} = spk_n_{p.index}[b] - 1")
                    if p.eq.lookahead:
                        w(f"qa_{p.index} = spk_n_{p.index}[b] - 1")
                for p in plan.inputs:
                    k = p.index
                    w(f"e_{k} = in_n_{k}[b] - 1")
                    with w.block(f"while e_{k} >= 0 and in_step_{k}[b, e_{k}] >= n_steps:"):
                        w(f"e_{k} -= 1")
                with w.block("for t in range(n_steps - 1, -1, -1):"):
                    # 0. spikes the model wants announced `lookahead` steps early (e.g. refractory holds)
                    for p in plan.lifs:
                        if p.eq.lookahead:
                            k = p.index
                            with w.block(f"while qa_{k} >= 0 and spk_step_{k}[b, qa_{k}] >= t - {p.eq.lookahead}:"):
                                w(f"i = spk_id_{k}[b, qa_{k}]", *p.eq.on_lookahead(k, f"spk_step_{k}[b, qa_{k}]"),
                                  f"qa_{k} -= 1")
                    # 1. Lambda_V(t), G(t), D(t + 1) of every neuron (exact discrete adjoint between spikes)
                    for p in plan.stateful:
                        with w.block(f"for j in range({p.size}):"):
                            gv = f"gv_{p.index}[b, t, j]" if p.kind == "li" else None
                            w(*ml.adjoint_step(plan, p, "t", gv))
                    # 2. spikes emitted at step t: gradients of their synapses (history row of step t + 1: hb_g),
                    #    then the spike-time terms
                    for g in plan.groups:
                        w(f"hb_{g.index} = {g.hist_row('t + 1')}")
                    for p in plan.lifs:
                        k = p.index
                        with w.block(f"while q_{k} >= 0 and spk_step_{k}[b, q_{k}] == t:"):
                            w(f"i = spk_id_{k}[b, q_{k}]", "r = 0.0")
                            for ci in p.outgoing:
                                _emit_fanout_grads(w, plan, plan.conns[ci], with_r=True)
                            w(*ml.spike_jump(plan, p, "t", "r", f"spk_{{}}_{k}[b, q_{k}]", f"gc_{k}[b, i]"))
                            w(f"q_{k} -= 1")
                    for p in plan.inputs:
                        k = p.index
                        with w.block(f"while e_{k} >= 0 and in_step_{k}[b, e_{k}] == t:"):
                            w(f"i = in_id_{k}[b, e_{k}]")
                            for ci in p.outgoing:
                                _emit_fanout_grads(w, plan, plan.conns[ci], with_r=False)
                            w(f"e_{k} -= 1")
    w("")


def generate(plan: KernelPlan) -> str:
    """Source of the forward and backward kernels; the plan must come from make_plan(net, pow2=True, paired=True)
    (ring and history rows wrapped by a mask, G and D side by side)."""
    for g in plan.groups:
        if not (g.pow2 and g.paired):
            raise ValueError(f"CPU kernels need make_plan(pow2=True, paired=True); synapse group {g.index} has "
                             f"pow2={g.pow2}, paired={g.paired}")
    w = CodeWriter()
    w('"""Generated by eventprop.pipeline.engine.codegen.numba_cpu -- do not edit."""', *HEADER)
    emit_forward(plan, w)
    emit_backward(plan, w)
    return w.source()
