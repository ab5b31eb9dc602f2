"""The network's discrete equations as source snippets, shared by every emitter (the CPU and the CUDA one): the
synapse and adjoint-history parts here, each neuron model's own parts from its Equations (models/neurons/; LIF and LI
below, RefractoryLIF in its file).

Forward (mlGeNN's exact-integration scheme), per step t and neuron; V_{t-1} is V at time t dt, U_t at (t + 1) dt:
    inSyn_g += arrivals due at t;   I_t = sum_g IScale_g inSyn_g;   U_t = alpha V_{t-1} + (1 - alpha) I_t
    inSyn_g *= beta_g;   LIF: U_t >= theta -> spike at step t, V_t = 0;   else V_t = U_t
A spike emitted at step t with (rounded) delay d is added to inSyn at the start of step s = t + 1 + d.

Backward: the discrete adjoint of that forward pass, with EventProp's spike-time terms at the threshold crossings.
    Lambda_V(t) = dL/dV_t,  Lambda_U(t) = dL/dU_t,  G_g(t) = dL/d inSyn_g(t)   (G is dL/dw of an arrival at step t)
Between spikes it is the exact reverse-mode derivative of the linear dynamics (no approximation at any dt):
    Lambda_V(t) = dL/dV_out(t) + alpha Lambda_U(t + 1) + P(t);   Lambda_U(t) = Lambda_V(t)
    G_g(t) = c_g Lambda_U(t) + beta_g G_g(t + 1),   c_g = (1 - alpha) IScale_g
Arrival-time sensitivity of an arrival at step s, per step (the delay gradient's dL/dd = w D(s)): the central
difference D(s) = (G(s + 1) - G(s - 1)) / 2, which is what an integer delay change does to the discrete loss, and
which tends to dt (lambda_V - lambda_I) of continuous EventProp as dt -> 0. It is evaluated without cancellation as
    D(s) = [(1 - beta)(G(s + 1) + G(s)) - c (Lambda_U(s) + Lambda_U(s - 1))] / 2.
Spike at step t: the crossing is located inside the step by linear interpolation, tau = (t + f) dt with
f = (theta - V_{t-1}) / (U_t - V_{t-1}), so spike-time sensitivity is not quantised to dt. With
rho = dt dL/dtau = sum_out w D(s) - Lambda_V(t) (1 - alpha) I_t   (outgoing arrivals move; the reset moves),
    Lambda_U(t) = -rho f / (U_t - V_{t-1}) + tau_m dL/dcount,   P(t - 1) = -rho (1 - f) / (U_t - V_{t-1})
(the reset cuts the path U_t -> V_t, so only the spike time carries U_t's and V_{t-1}'s influence onward).
As dt -> 0 this is continuous EventProp's jump lambda_V^- = lambda_V^+ + (theta lambda_V^+ + R) / (tau_m Vdot^-).
U_t - V_{t-1} = (1 - alpha)(I_t - V_{t-1}) is computed in that form (no cancellation at fine dt), with I_t - V_{t-1}
floored at slope_floor * theta (LeakyIntegrateFire.slope_floor: bounds the sensitivity of grazing crossings).

Trial end: G(s) = 0 for arrivals at s >= T (they never act), so D(T) = -G(T - 1) / 2, the integer-step difference.
A spike record holds, besides step and neuron: gb = f / (U - V_prev), ga = (1 - f) / (U - V_prev) and
q = (1 - alpha) I_t. D(s) for s = t + 1 uses Lambda_U(t) before the jumps of step t (those jumps need D first).
State arrays are named V_k, insyn_g, ring_g (forward) and lamV_k (Lambda_V, then Lambda_U), pend_k (P), lamS_g (G),
histG_g, histD_g (rings of G and D, indexed by step modulo hist_len, GroupPlan.hist_row; or one hist_g[., ., 2], GroupPlan.hist) in every
backend; where they live is the emitter's choice. Each function returns one expression or the statements for one
neuron `j` (or spiking `i`).
"""
from __future__ import annotations

from ....models.neurons.base import lit
from .plan import GroupPlan, KernelPlan, PopPlan

SPIKE_FLOATS = ("gb", "ga", "q")   # per-spike float records (see the module docstring)


def synaptic_current(plan: KernelPlan, pop: PopPlan, insyn: str, j: str) -> str:
    terms = [f"{insyn.format(g=g)}[{j}] * {lit(plan.groups[g].iscale)}" for g in pop.groups]
    return " + ".join(terms)


def neuron_update(plan: KernelPlan, pop: PopPlan) -> list[str]:
    """Arrivals due at step t, then the membrane update of neuron j into local `v` (with `isyn`) by the model's
    equations; V_k[j] still holds V_{t-1} afterwards (the emitter stores v)."""
    lines = []
    for g in pop.groups:
        slot = plan.groups[g].ring_row("t")
        lines += [f"insyn_{g}[j] += ring_{g}[{slot}, j]", f"ring_{g}[{slot}, j] = 0.0"]
    lines += [f"isyn = {synaptic_current(plan, pop, 'insyn_{g}', 'j')}",
              f"v = {pop.eq.membrane(f'V_{pop.index}[j]', 'isyn')}"]
    lines += [f"insyn_{g}[j] *= {lit(plan.groups[g].beta)}" for g in pop.groups]
    return lines + pop.eq.after_membrane(pop.index)


def adjoint_step(plan: KernelPlan, pop: PopPlan, t: str, grad_v: str | None) -> list[str]:
    """Reverse step t of neuron j: Lambda_V(t), provisional G(t) (stored), D(t + 1) (stored); lamV becomes
    Lambda_U(t) = Lambda_V(t) until a spike at t replaces it."""
    k, lines = pop.index, []
    lam = f"{lit(pop.alpha)} * lamV_{k}[j]"
    if pop.kind == "lif":
        lam += f" + pend_{k}[j]"
        lines.append(f"pend_{k}[j] = 0.0")
    if grad_v is not None:
        lam += f" + {grad_v}"
    lines.insert(0, f"lv = {lam}")
    lines += pop.eq.adjoint_hold(k)
    for g in pop.groups:
        gp = plan.groups[g]
        lines += [f"gn = {lit(gp.c)} * lv + {lit(gp.beta)} * lamS_{g}[j]",
                  f"{gp.hist('D', gp.hist_row(f'{t} + 1'), 'j')} = 0.5 * ({lit(1.0 - gp.beta)} * "
                  f"({gp.hist('G', gp.hist_row(f'{t} + 2'), 'j')} + lamS_{g}[j]) - {lit(gp.c)} * (lamV_{k}[j] + lv))",
                  f"{gp.hist('G', gp.hist_row(t), 'j')} = gn", f"lamS_{g}[j] = gn"]
    lines.append(f"lamV_{k}[j] = lv")
    return lines


def arrival(plan: KernelPlan, group: GroupPlan, arrival_step: str, j: str, slot: str | None = None) -> tuple[str, str]:
    """(G, D) at an arrival step of target neuron j (`slot`: the history row, when the emitter computed it)."""
    slot = slot or group.hist_row(arrival_step)
    return group.hist("G", slot, j), group.hist("D", slot, j)


def spike_jump(plan: KernelPlan, pop: PopPlan, t: str, rho_syn: str, rec: str, grad_count: str) -> list[str]:
    """Spike of neuron i at step t; rho_syn = sum_out w D(s); rec.format(f) names a spike record field."""
    k = pop.index
    lines = [f"rho = {rho_syn} - {pop.eq.release_adjoint(k)} * {rec.format('q')}",
             f"lu = -rho * {rec.format('gb')} + {lit(pop.eq.tau_m)} * {grad_count}",
             f"pend_{k}[i] = -rho * {rec.format('ga')}"]
    for g in pop.groups:
        gp = plan.groups[g]
        lines += [f"lamS_{g}[i] += {lit(gp.c)} * (lu - lamV_{k}[i])",
                  f"{gp.hist('G', gp.hist_row(t), 'i')} = lamS_{g}[i]"]
    lines.append(f"lamV_{k}[i] = lu")
    return lines
