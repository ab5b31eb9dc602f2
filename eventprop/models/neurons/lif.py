"""Leaky integrate-and-fire neuron: description, discrete equations (those of Equations) and Loihi 2 CUBA mapping."""
from __future__ import annotations

import math
from dataclasses import dataclass

from ...errors import ModelError
from .base import Equations, NeuronModel, positive


class LIFEquations(Equations):
    spiking = True

    def __init__(self, dt: float, tau_mem: float, v_thresh: float, slope_floor: float):
        super().__init__(dt, tau_mem)
        self.theta, self.slope_floor = float(v_thresh), float(slope_floor)


def cuba_decays(dt: float, tau_mem: float, tau_syn: float) -> dict:
    """Lava LIF du, dv (12-bit decays) of the float dynamics: du = round(4096 (1 - beta)) - 1, dv = round(4096
    (1 - alpha)), clamped to what the registers hold."""
    alpha, beta = math.exp(-dt / tau_mem), math.exp(-dt / tau_syn)
    return {"du": min(max(int(round(4096 * (1 - beta))), 1), 4096) - 1,
            "dv": min(max(int(round(4096 * (1 - alpha))), 0), 4095), "tau_mem": tau_mem, "tau_syn": tau_syn}


@dataclass(frozen=True)
class LeakyIntegrateFire(NeuronModel):
    """tau_mem dV/dt = -V + I; spike when V >= v_thresh, then V -> 0 (no refractory period).

    slope_floor (gradient only, no effect on the forward pass): in EventProp's spike-time terms the membrane's rise
    at a threshold crossing, tau_mem dV/dt, is taken as at least slope_floor * v_thresh. Grazing crossings (V barely
    reaching threshold) otherwise have unbounded spike-time sensitivity; they dominate long trials at any dt and make
    the gradient change erratically with dt. 0 gives exact EventProp.
    """
    v_thresh: float = 1.0
    tau_mem: float = 20.0
    slope_floor: float = 0.3
    spiking = True

    def __post_init__(self):
        positive(type(self).__name__, "tau_mem", self.tau_mem)
        positive(type(self).__name__, "v_thresh", self.v_thresh)
        if not (isinstance(self.slope_floor, (int, float)) and 0 <= self.slope_floor < float("inf")):
            raise ModelError(f"{type(self).__name__}: slope_floor must be a finite number >= 0, "
                             f"got {self.slope_floor!r}")

    def equations(self, dt: float) -> Equations:
        return LIFEquations(dt, self.tau_mem, self.v_thresh, self.slope_floor)

    def fixed_point(self, dt: float, tau_syn: float, scale: float) -> dict:
        """vThMant = round(v_thresh / scale) (scale = the float value of one weight LSB)."""
        return {"kind": "lif", "vth": int(round(self.v_thresh / scale)), "v_thresh": self.v_thresh,
                **cuba_decays(dt, self.tau_mem, tau_syn)}
