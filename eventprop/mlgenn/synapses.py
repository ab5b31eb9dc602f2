"""mlGeNN synapse models supported by eventprop."""
from __future__ import annotations

from .network import network_default_params
from .neurons import _scaled


class Exponential:
    @network_default_params
    def __init__(self, tau: float = 5.0, scale_i: bool = False):
        _scaled("Exponential", scale_i)   # eventprop's current is inSyn (tau / dt)(1 - exp(-dt / tau)), IScale on
        self.tau = tau
