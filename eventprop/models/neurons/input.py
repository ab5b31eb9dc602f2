"""Spike source population (no state, no equations)."""
from __future__ import annotations

from dataclasses import dataclass

from .base import NeuronModel


@dataclass(frozen=True)
class SpikeInput(NeuronModel):
    """Source of externally given spikes (events or a dense raster)."""
    spiking = True
    has_state = False
