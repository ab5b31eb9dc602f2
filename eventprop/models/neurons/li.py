"""Leaky integrator readout: description, discrete equations and Loihi 2 mapping (a CUBA neuron that never fires)."""
from __future__ import annotations

from dataclasses import dataclass

from ...errors import ModelError
from .base import Equations, NeuronModel, positive
from .lif import cuba_decays

READOUTS = ("avg_var_exp_weight", "avg_var", "sum_var", "max_var")


@dataclass(frozen=True)
class LeakyIntegrate(NeuronModel):
    """Non-spiking readout: tau_mem dV/dt = -V + I; `readout` reduces V(t) to one value per neuron."""
    tau_mem: float = 20.0
    readout: str = "avg_var_exp_weight"

    def __post_init__(self):
        positive("LeakyIntegrate", "tau_mem", self.tau_mem)
        if self.readout not in READOUTS:
            raise ModelError(f"LeakyIntegrate: readout must be one of {READOUTS}, got {self.readout!r}")

    def equations(self, dt: float) -> Equations:
        return Equations(dt, self.tau_mem)

    def fixed_point(self, dt: float, tau_syn: float, scale: float) -> dict:
        """A readout: the quantiser gives it the largest threshold, so it never fires."""
        return {"kind": "readout", "readout": self.readout, **cuba_decays(dt, self.tau_mem, tau_syn)}
