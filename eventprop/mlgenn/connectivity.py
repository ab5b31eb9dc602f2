"""mlGeNN connectivity: weight and delay (timesteps) as scalars, arrays or initializers."""
from __future__ import annotations


class Dense:
    def __init__(self, weight=0.0, delay=0):
        self.weight, self.delay, self.p = weight, delay, None


class FixedProbability:
    def __init__(self, p: float, weight=0.0, delay=0, allow_self_connections: bool = False):
        self.weight, self.delay, self.p = weight, delay, p
