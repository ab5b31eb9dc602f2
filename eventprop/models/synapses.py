"""Synapse models."""
from __future__ import annotations

from dataclasses import dataclass

from ..errors import ModelError


@dataclass(frozen=True)
class Exponential:
    """Current-based exponential synapse: tau dI/dt = -I, each arriving spike adds its weight to I."""
    tau: float = 5.0

    def __post_init__(self):
        if not (isinstance(self.tau, (int, float)) and self.tau > 0):
            raise ModelError(f"Exponential: tau must be a positive number, got {self.tau!r}")
