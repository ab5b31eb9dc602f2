"""mlGeNN's numpy serialiser: one `.npy` file per variable, `<key>-<key>-....npy` (keys joined by '-')."""
from __future__ import annotations

from pathlib import Path

import numpy as np

from .errors import unsupported


class Numpy:
    def __init__(self, path: str = ""):
        self.path = Path(path)

    def _file(self, keys) -> Path:
        return self.path / ("-".join(str(k) for k in keys) + ".npy")

    def serialise(self, keys, value):
        self.path.mkdir(parents=True, exist_ok=True)
        np.save(self._file(keys), np.asarray(value))

    def deserialise(self, keys):
        return np.load(self._file(keys))

    def deserialise_all(self, keys) -> dict:
        """{last key: array} of every file `<keys>-<name>.npy`."""
        title = "-".join(str(k) for k in keys) + "-"
        return {f.name[len(title):-4]: np.load(f) for f in sorted(self.path.glob(f"{title}*.npy"))
                if "-" not in f.name[len(title):-4]}


def resolve(serialiser) -> Numpy:
    """A serialiser object from mlGeNN's accepted forms ("numpy" or a Numpy)."""
    if serialiser == "numpy":
        return Numpy()
    if isinstance(serialiser, Numpy):
        return serialiser
    raise unsupported(f"serialiser {serialiser!r}", "the Numpy serialiser only")
