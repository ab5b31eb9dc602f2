"""Neuron models (pure descriptions; the dynamics live in pipeline/engine/codegen and loihi/)."""
from __future__ import annotations

from dataclasses import dataclass

from ..errors import ModelError

READOUTS = ("avg_var_exp_weight", "avg_var", "sum_var", "max_var")


def _positive(owner: str, field: str, value: float) -> None:
    if isinstance(value, bool) or not (isinstance(value, (int, float)) and 0 < value < float("inf")):
        raise ModelError(f"{owner}: {field} must be a positive finite number, got {value!r}")


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
        _positive("LeakyIntegrateFire", "tau_mem", self.tau_mem)
        _positive("LeakyIntegrateFire", "v_thresh", self.v_thresh)
        if not (isinstance(self.slope_floor, (int, float)) and 0 <= self.slope_floor < float("inf")):
            raise ModelError(f"LeakyIntegrateFire: slope_floor must be a finite number >= 0, got {self.slope_floor!r}")


@dataclass(frozen=True)
class LeakyIntegrate(NeuronModel):
    """Non-spiking readout: tau_mem dV/dt = -V + I; `readout` reduces V(t) to one value per neuron."""
    tau_mem: float = 20.0
    readout: str = "avg_var_exp_weight"

    def __post_init__(self):
        _positive("LeakyIntegrate", "tau_mem", self.tau_mem)
        if self.readout not in READOUTS:
            raise ModelError(f"LeakyIntegrate: readout must be one of {READOUTS}, got {self.readout!r}")
