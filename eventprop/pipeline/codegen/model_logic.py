"""The model's discrete equations as source snippets, shared by every emitter (CPU now, CUDA later).

Forward (mlGeNN exact-integration scheme, per step and neuron):
    inSyn += arrivals;  Isyn = sum_g inSyn_g * IScale_g;  V = alpha V + (1 - alpha) Isyn;  inSyn_g *= beta_g
    LIF: V >= theta -> spike (record step, tau_m Vdot^- = Isyn - V), V = 0
A spike emitted at step t with (rounded) delay d is added to inSyn at the start of step t + 1 + d.

Adjoint (reverse time; see ../../docs in the package docstring of pipeline.engine):
    per step:   lambda_I <- beta lambda_I + c lambda_V ;  lambda_V <- alpha lambda_V
    readout:    lambda_V -= (dL/dV_out(t)) / tau_m
    spike jump: lambda_V += (theta lambda_V + R) / (tau_m Vdot^-) - dL/dcount
    synapse i->j, arrival instant a: dL/dw -= tau_s lambda_I,j(a);  dL/dd += dt w (lambda_V,j(a) - lambda_I,j(a))
                                     R_i += w (lambda_V,j(a) - lambda_I,j(a))
Each function returns one Python expression, or the statements for one neuron `j` of a population (the emitter
wraps them in its own loop over j: all neurons on the CPU, a thread's stride on a GPU). State arrays are named
V_k, insyn_g, ring_g, lamV_k, lamI_g, histV_k, histI_g in every backend; where they live is the emitter's choice.
"""
from __future__ import annotations

from .plan import GroupPlan, KernelPlan, PopPlan


def lit(x: float) -> str:
    """A float literal that round-trips exactly."""
    return repr(float(x))


def synaptic_current(plan: KernelPlan, pop: PopPlan, insyn: str, j: str) -> str:
    terms = [f"{insyn.format(g=g)}[{j}] * {lit(plan.groups[g].iscale)}" for g in pop.groups]
    return " + ".join(terms)


def membrane_step(pop: PopPlan, v_old: str, isyn: str) -> str:
    return f"{lit(pop.alpha)} * {v_old} + {lit(1.0 - pop.alpha)} * {isyn}"


def insyn_decay(group: GroupPlan) -> str:
    return lit(group.beta)


def crosses_threshold(pop: PopPlan, v: str) -> str:
    return f"{v} >= {lit(pop.theta)}"


def lambda_i_step(group: GroupPlan, lam_i: str, lam_v: str) -> str:
    return f"{lit(group.beta)} * {lam_i} + {lit(group.lam_coupling)} * {lam_v}"


def lambda_v_step(pop: PopPlan, lam_v: str) -> str:
    return f"{lit(pop.alpha)} * {lam_v}"


def readout_drive(pop: PopPlan, grad_v: str) -> str:
    return f"{grad_v} * {lit(1.0 / pop.tau_m)}"


def spike_jump(pop: PopPlan, lam_v: str, r: str, denom: str, grad_count: str) -> str:
    return f"{lam_v} + ({lit(pop.theta)} * {lam_v} + {r}) / {denom} - {grad_count}"


def weight_grad(group: GroupPlan, lam_i: str) -> str:
    return f"{lit(group.tau_s)} * {lam_i}"          # subtracted


def delay_grad(plan: KernelPlan, w: str, diff: str) -> str:
    return f"{lit(plan.dt)} * {w} * {diff}"          # added (per timestep of delay)


def neuron_update(plan: KernelPlan, pop: PopPlan) -> list[str]:
    """Arrivals due at step t, then the membrane update of neuron j into local `v` (with `isyn`); V is not stored."""
    lines = []
    for g in pop.groups:
        slot = f"t % {plan.groups[g].ring_len}"
        lines += [f"insyn_{g}[j] += ring_{g}[{slot}, j]", f"ring_{g}[{slot}, j] = 0.0"]
    lines += [f"isyn = {synaptic_current(plan, pop, 'insyn_{g}', 'j')}",
              f"v = {membrane_step(pop, f'V_{pop.index}[j]', 'isyn')}"]
    lines += [f"insyn_{g}[j] *= {insyn_decay(plan.groups[g])}" for g in pop.groups]
    return lines


def store_history(plan: KernelPlan, pop: PopPlan) -> list[str]:
    """Record neuron j's adjoint at instant a (before that instant's jumps and drives)."""
    return [f"histV_{pop.index}[a % {pop.hist_len}, j] = lamV_{pop.index}[j]"] + \
        [f"histI_{g}[a % {plan.groups[g].ring_len}, j] = lamI_{g}[j]" for g in pop.groups]


def reverse_step(plan: KernelPlan, pop: PopPlan) -> list[str]:
    """Exact reverse step of neuron j's adjoint over [t dt, (t + 1) dt]."""
    lam_v = f"lamV_{pop.index}[j]"
    return [f"lamI_{g}[j] = {lambda_i_step(plan.groups[g], f'lamI_{g}[j]', lam_v)}" for g in pop.groups] + \
        [f"{lam_v} = {lambda_v_step(pop, lam_v)}"]
