"""What a neuron model is: a description (its fields), its discrete equations for the kernel emitters
(`equations(dt)`), and its Loihi 2 fixed-point mapping (`fixed_point`).

The equations are source snippets in the emitters' shared Python subset (the CPU and CUDA emitters paste them into
their loops; eventprop/pipeline/engine/codegen/model_logic.py documents the discrete forward and adjoint they
belong to). Names in scope, for population index k and neuron j (forward) or i (spike in the backward pass):
  forward:  v (the new membrane value U_t), isyn (I_t), V_k[j] (V_{t-1}), t, b (sample), per-neuron state
            arrays declared by `state`, the spike records spk_<field>_k[b, r];
  backward: lv (Lambda_V(t) of neuron j, becomes Lambda_U(t)), lamV_k, pend_k, the state arrays.
A new neuron model subclasses NeuronModel (and usually an existing Equations) in its own file; the emitters call
only the hooks below.
"""
from __future__ import annotations

import math

from ...errors import DeployError, ModelError


def positive(owner: str, field: str, value: float) -> None:
    if isinstance(value, bool) or not (isinstance(value, (int, float)) and 0 < value < float("inf")):
        raise ModelError(f"{owner}: {field} must be a positive finite number, got {value!r}")


def lit(x: float) -> str:
    """A float literal that round-trips exactly."""
    return repr(float(x))


class Equations:
    """Discrete equations of a stateful population at time step dt (LI defaults: leaky integration, no spikes)."""
    spiking = False
    theta = 0.0               # threshold (spiking models)
    slope_floor = 0.0         # lower bound of tau_m dV/dt at a crossing, in units of theta (backward only)
    lookahead = 0             # backward: spikes are announced this many steps before they are processed

    def __init__(self, dt: float, tau_mem: float):
        self.dt, self.tau_m = dt, float(tau_mem)
        self.alpha = math.exp(-dt / tau_mem)

    def signature(self) -> tuple:
        """Everything that changes the generated code (part of the kernel cache key)."""
        return (type(self).__name__, self.dt, self.tau_m, self.theta, self.slope_floor, self.lookahead)

    def state(self, backward: bool) -> list[tuple[str, str, int]]:
        """Extra per-neuron arrays (name, "int32" | "float", initial value), named <name>_k in the kernels."""
        return []

    def membrane(self, v_old: str, isyn: str) -> str:
        return f"{lit(self.alpha)} * {v_old} + {lit(1.0 - self.alpha)} * {isyn}"

    def after_membrane(self, k: int) -> list[str]:
        """Forward, after v = U_t and before the threshold test (e.g. hold v during a refractory period)."""
        return []

    def crosses(self, v: str) -> str:
        return f"{v} >= {lit(self.theta)}"

    def spike_record(self, k: int) -> list[str]:
        """At a crossing (v = U_t, V_k[j] = V_{t-1}): locals spk_gb, spk_ga, spk_q (model_logic.SPIKE_FLOATS)."""
        vprev = f"V_{k}[j]"
        return [f"rise = {lit(1.0 - self.alpha)} * max(isyn - {vprev}, {lit(self.slope_floor * self.theta)})",
                f"frac = min(({lit(self.theta)} - {vprev}) / rise, 1.0)",
                "spk_gb = frac / rise", "spk_ga = (1.0 - frac) / rise",
                f"spk_q = {lit(1.0 - self.alpha)} * isyn"]

    def on_spike(self, k: int) -> list[str]:
        """Forward, at a crossing of neuron j, after the reset."""
        return []

    def on_record(self, k: int, r: str) -> list[str]:
        """Forward, once the spike of neuron j at step t has record index r (which may exceed the capacity)."""
        return []

    def on_lookahead(self, k: int, s: str) -> list[str]:
        """Backward, for neuron i whose spike at step s lies `lookahead` steps (or fewer, at the trial end) before
        the current step t, before the adjoint step of t."""
        return []

    def adjoint_hold(self, k: int) -> list[str]:
        """Backward, after lv = Lambda_V(t) of neuron j and before it is used as Lambda_U(t)."""
        return []

    def release_adjoint(self, k: int) -> str:
        """Lambda_V read by the spike-time term of the reset (V restarts from 0): at the spike step itself for
        LIF, where lamV_k[i] still holds Lambda_V(t)."""
        return f"lamV_{k}[i]"


class NeuronModel:
    spiking = False
    has_state = True

    def equations(self, dt: float) -> Equations:
        raise ModelError(f"{type(self).__name__} has no kernel equations")

    def fixed_point(self, dt: float, tau_syn: float, scale: float) -> dict:
        """Loihi 2 CUBA parameters of a population of this model (FxPopulation fields beyond name and size)."""
        raise DeployError(f"neuron type {type(self).__name__} has no Loihi 2 CUBA mapping")
