"""mlGeNN's numpy serialiser: one `.npy` file per variable."""
from __future__ import annotations

from pathlib import Path

import numpy as np


class Numpy:
    def __init__(self, path: str = ""):
        self.path = Path(path)

    def serialise(self, keys, value):
        self.path.mkdir(parents=True, exist_ok=True)
        np.save(self.path / ("-".join(str(k) for k in keys) + ".npy"), np.asarray(value))
