"""Small files in the exact SHD / SSC HDF5 layout, written by the tests (no real data exists offline)."""
from __future__ import annotations

from pathlib import Path

import h5py
import numpy as np


def write_hsd(path: Path, n: int, seed: int = 0, n_classes: int = 20, n_channels: int = 700, speakers=(0, 1, 2),
              times_dtype=np.float16, units_dtype=np.uint16, bad_unit: bool = False, drop: str | None = None,
              n_spikes: tuple[int, int] = (20, 80), noise: float = 0.0):
    """n samples: each class fires a band of channels (so the task is learnable), times in seconds up to 1.2 s;
    n_spikes: range of events per sample; a share `noise` of them falls on random channels."""
    rng = np.random.default_rng(seed)
    labels = rng.integers(0, n_classes, n)
    path.parent.mkdir(parents=True, exist_ok=True)
    samples = []
    with h5py.File(path, "w") as f:
        times = f.create_dataset("spikes/times", (n,), dtype=h5py.vlen_dtype(times_dtype))
        units = f.create_dataset("spikes/units", (n,), dtype=h5py.vlen_dtype(units_dtype))
        for k in range(n):
            m = int(rng.integers(*n_spikes))
            t = np.sort(rng.uniform(0, 1.2, m))
            lo = labels[k] * (n_channels // n_classes)
            x = rng.integers(lo, lo + n_channels // n_classes, m)
            x = np.where(rng.random(m) < noise, rng.integers(0, n_channels, m), x)
            if bad_unit and k == n - 1:
                x[0] = n_channels
            times[k], units[k] = t.astype(times_dtype), x.astype(units_dtype)
            samples.append((t.astype(times_dtype).astype(np.float64), x))
        if drop != "labels":
            f["labels"] = labels.astype(np.uint16)
        f["extra/speaker"] = np.array([speakers[k % len(speakers)] for k in range(n)], np.uint16)
        f["extra/keys"] = np.array([f"class-{c}".encode() for c in range(n_classes)])
    path.with_name(path.name + ".zip").touch()
    return samples, labels


def write_shd_root(root: Path, n_train: int = 60, n_test: int = 20) -> Path:
    write_hsd(root / "SHD" / "shd_train.h5", n_train, seed=1)
    write_hsd(root / "SHD" / "shd_test.h5", n_test, seed=2, speakers=(4, 5))
    return root


def write_ssc_root(root: Path, n: int = 30) -> Path:
    for k, split in enumerate(("train", "valid", "test")):
        write_hsd(root / "SSC" / f"ssc_{split}.h5", n, seed=10 + k, n_classes=35)
    return root
