"""Leaky integrate-and-fire neuron with an absolute refractory period: after a spike V is held at 0 for
R = round(tau_refrac / dt) further steps, then integrates again from 0.

Discrete adjoint (on top of LIF's, model_logic.py): in a held step V does not depend on U_t or V_{t-1}, so
Lambda_U(t) = 0 there (no coupling into G, none back to V_{t-1}). The spike-time term of the reset moves to the
release: V restarts from 0 at tau + R dt (tau the interpolated crossing), so rho reads Lambda_V of the last held
step t + R and q = (1 - alpha) I_{t+R} (the current there, written into the spike's record when the hold ends; 0
when the trial ends first). The backward pass learns of a spike R steps before it reaches the spike's own step
(Equations.lookahead) and counts the held steps down from there. Loihi: no mapping yet (Lava's LIFRefractory would
be the target), so deployment refuses it.
"""
from __future__ import annotations

from dataclasses import dataclass

from ...errors import DeployError, ModelError
from .base import lit
from .lif import LeakyIntegrateFire, LIFEquations


class RefractoryEquations(LIFEquations):
    def __init__(self, dt: float, tau_mem: float, v_thresh: float, slope_floor: float, tau_refrac: float):
        super().__init__(dt, tau_mem, v_thresh, slope_floor)
        self.lookahead = int(round(tau_refrac / dt))

    def state(self, backward: bool) -> list[tuple[str, str, int]]:
        if not self.lookahead:
            return []
        return [("hold", "int32", 0), ("lamrel", "float", 0)] if backward else [("ref", "int32", 0),
                                                                                ("lastrec", "int32", -1)]

    def after_membrane(self, k: int) -> list[str]:
        if not self.lookahead:
            return []
        return [f"if ref_{k}[j] > 0:",
                f"    ref_{k}[j] -= 1",
                "    v = 0.0",
                f"    if ref_{k}[j] == 0 and lastrec_{k}[j] >= 0 and lastrec_{k}[j] < spk_q_{k}.shape[1]:",
                f"        spk_q_{k}[b, lastrec_{k}[j]] = {lit(1.0 - self.alpha)} * isyn"]

    def spike_record(self, k: int) -> list[str]:
        lines = super().spike_record(k)
        return lines[:-1] + ["spk_q = 0.0"] if self.lookahead else lines

    def on_spike(self, k: int) -> list[str]:
        return [f"ref_{k}[j] = {self.lookahead}"] if self.lookahead else []

    def on_record(self, k: int, r: str) -> list[str]:
        return [f"lastrec_{k}[j] = {r}"] if self.lookahead else []

    def on_lookahead(self, k: int, s: str) -> list[str]:
        return [f"hold_{k}[i] = t - {s}"]

    def adjoint_hold(self, k: int) -> list[str]:
        if not self.lookahead:
            return []
        return [f"if hold_{k}[j] > 0:",
                f"    if hold_{k}[j] == {self.lookahead}:",
                f"        lamrel_{k}[j] = lv",
                "    lv = 0.0",
                f"    hold_{k}[j] -= 1"]

    def release_adjoint(self, k: int) -> str:
        return f"lamrel_{k}[i]" if self.lookahead else super().release_adjoint(k)


@dataclass(frozen=True)
class RefractoryLIF(LeakyIntegrateFire):
    """LeakyIntegrateFire with an absolute refractory period of tau_refrac ms (rounded to whole steps)."""
    tau_refrac: float = 2.0

    def __post_init__(self):
        super().__post_init__()
        if not (isinstance(self.tau_refrac, (int, float)) and 0 <= self.tau_refrac < float("inf")):
            raise ModelError(f"RefractoryLIF: tau_refrac must be a finite number >= 0, got {self.tau_refrac!r}")

    def equations(self, dt: float) -> RefractoryEquations:
        return RefractoryEquations(dt, self.tau_mem, self.v_thresh, self.slope_floor, self.tau_refrac)

    def fixed_point(self, dt: float, tau_syn: float, scale: float) -> dict:
        raise DeployError("neuron type RefractoryLIF has no Loihi 2 mapping yet (Lava's LIFRefractory would be the "
                          "target); train it, but deploy LeakyIntegrateFire networks")
