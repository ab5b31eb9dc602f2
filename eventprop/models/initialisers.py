"""Initialisers: how a parameter array is drawn when a network is instantiated."""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from ..errors import ModelError


class Initialiser:
    """Base class; `sample(shape, rng)` returns a float64 array."""

    def sample(self, shape, rng: np.random.Generator) -> np.ndarray:
        raise NotImplementedError

    def bounds(self) -> tuple[float, float] | None:
        """(min, max) of every value it can produce, or None when unbounded."""
        return None


@dataclass(frozen=True)
class Constant(Initialiser):
    value: float = 0.0

    def sample(self, shape, rng):
        return np.full(shape, float(self.value))

    def bounds(self):
        return (float(self.value), float(self.value))


@dataclass(frozen=True)
class Normal(Initialiser):
    mean: float = 0.0
    sd: float = 1.0

    def __post_init__(self):
        if not self.sd >= 0:
            raise ModelError(f"Normal: sd must be >= 0, got {self.sd}")

    def sample(self, shape, rng):
        return rng.normal(self.mean, self.sd, size=shape)

    def bounds(self):
        return (self.mean, self.mean) if self.sd == 0 else None


@dataclass(frozen=True)
class Uniform(Initialiser):
    low: float = 0.0
    high: float = 1.0

    def __post_init__(self):
        if not self.high >= self.low:
            raise ModelError(f"Uniform: high ({self.high}) must be >= low ({self.low})")

    def sample(self, shape, rng):
        return rng.uniform(self.low, self.high, size=shape)

    def bounds(self):
        return (float(self.low), float(self.high))


def materialise(value, shape, rng: np.random.Generator, what: str) -> np.ndarray:
    """Turn a scalar, an array or an Initialiser into a float64 array of `shape`; errors name `what`."""
    if isinstance(value, Initialiser):
        return np.asarray(value.sample(shape, rng), dtype=np.float64)
    try:
        arr = np.asarray(value, dtype=np.float64)
    except (TypeError, ValueError):
        arr = None
    if arr is None or value is None:
        raise ModelError(f"{what}: expected a number, an array or an initialiser, got {value!r}")
    if arr.ndim == 0:
        return np.full(shape, float(arr))
    if arr.shape != tuple(shape):
        raise ModelError(f"{what}: expected shape {tuple(shape)}, got {arr.shape}")
    return arr.copy()


def value_bounds(value) -> tuple[float, float] | None:
    """Static (min, max) of a scalar, array or Initialiser, or None if unknown before sampling."""
    if isinstance(value, Initialiser):
        return value.bounds()
    arr = np.asarray(value, dtype=np.float64)
    return (float(arr.min()), float(arr.max())) if arr.size else None
