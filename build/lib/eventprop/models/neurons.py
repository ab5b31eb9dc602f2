"""Neuron models (pure descriptions; the dynamics live in pipeline/kernels and loihi/)."""
from __future__ import annotations

from dataclasses import dataclass

READOUTS = ("avg_var_exp_weight", "avg_var", "sum_var", "max_var")


def _positive(owner: str, field: str, value: float) -> None:
    if not (isinstance(value, (int, float)) and value > 0):
        raise ValueError(f"{owner}: {field} must be a positive number, got {value!r}")


class NeuronModel:
    spiking = False
    has_state = True


@dataclass(frozen=True)
class SpikeInput(NeuronModel):
    """Source of externally given spikes (events or a dense raster)."""
    spiking = True
    has_state = False


@dataclass(frozen=True)
class LeakyIntegrateFire(NeuronModel):
    """tau_mem dV/dt = -V + I; spike when V >= v_thresh, then V -> 0 (no refractory period)."""
    v_thresh: float = 1.0
    tau_mem: float = 20.0
    spiking = True

    def __post_init__(self):
        _positive("LeakyIntegrateFire", "tau_mem", self.tau_mem)
        _positive("LeakyIntegrateFire", "v_thresh", self.v_thresh)


@dataclass(frozen=True)
class LeakyIntegrate(NeuronModel):
    """Non-spiking readout: tau_mem dV/dt = -V + I; `readout` reduces V(t) to one value per neuron."""
    tau_mem: float = 20.0
    readout: str = "avg_var_exp_weight"

    def __post_init__(self):
        _positive("LeakyIntegrate", "tau_mem", self.tau_mem)
        if self.readout not in READOUTS:
            raise ValueError(f"LeakyIntegrate: readout must be one of {READOUTS}, got {self.readout!r}")
