"""Spiking Heidelberg Digits (SHD), Spiking Speech Commands (SSC) and SHD-layout files (our spoken digits), read
through tonic (`tonic.datasets.SHD` / `SSC` with `save_to=root`). Nothing is downloaded here: missing files raise a
DataError that says how to fetch them (`eventprop data fetch`).

Layout (the SHD/SSC HDF5 files as published): <root>/SHD/shd_{train,test}.h5 (+ the .zip tonic treats as the marker),
<root>/SSC/ssc_{train,valid,test}.h5; HDF5 spikes/times (vlen float, s), spikes/units (vlen int, < channels),
labels (int), extra/speaker, extra/keys. Samples are read lazily through tonic, converted to times in ms and
channel ids, optionally pooled (700 -> 140 with pool = 5) and cut at `duration` ms; they are cached after the first
read unless `cache=False` (for sets larger than memory).
"""
from __future__ import annotations

import copy
from pathlib import Path

import h5py
import numpy as np
from rich.progress import Progress

from ..errors import DataError
from ..models.events import SpikeEvents

FILES = {"shd": ("SHD", {"train": "shd_train.h5", "test": "shd_test.h5"}),
         "ssc": ("SSC", {"train": "ssc_train.h5", "valid": "ssc_valid.h5", "test": "ssc_test.h5"})}
CHANNELS = 700


def hsd_file(kind: str, root: Path, split: str) -> Path:
    folder, names = FILES[kind]
    if split not in names:
        raise DataError(f"{kind.upper()} has splits {sorted(names)}, not {split!r}")
    return Path(root).expanduser() / folder / names[split]


def _check_layout(path: Path) -> dict:
    """Open `path`, check keys and dtypes; return labels, speakers, n_channels, n_classes and class names."""
    if not path.exists():
        raise DataError(f"{path}: file not found")
    try:
        f = h5py.File(path, "r")
    except OSError as e:
        raise DataError(f"{path}: not an HDF5 file or corrupt ({e})") from None
    with f:
        for key in ("spikes/times", "spikes/units", "labels", "extra/speaker", "extra/keys"):
            if key not in f:
                raise DataError(f"{path}: missing field {key!r} (not in the SHD layout)")
        times, units, labels = f["spikes/times"], f["spikes/units"], f["labels"]
        t_base = h5py.check_vlen_dtype(times.dtype)
        u_base = h5py.check_vlen_dtype(units.dtype)
        if t_base is None or t_base.kind != "f":
            raise DataError(f"{path}: field 'spikes/times' must be variable-length floats, got {times.dtype}")
        if u_base is None or u_base.kind not in "iu":
            raise DataError(f"{path}: field 'spikes/units' must be variable-length integers, got {units.dtype}")
        if labels.dtype.kind not in "iu":
            raise DataError(f"{path}: field 'labels' must be integers, got {labels.dtype}")
        if not times.shape[0] == units.shape[0] == labels.shape[0]:
            raise DataError(f"{path}: spikes/times, spikes/units and labels have different lengths "
                            f"({times.shape[0]}, {units.shape[0]}, {labels.shape[0]})")
        lab = labels[()].astype(np.int64)
        speakers = f["extra/speaker"][()].astype(np.int64)
        if speakers.shape != lab.shape:
            raise DataError(f"{path}: field 'extra/speaker' has {speakers.size} entries for {lab.size} labels")
        keys = [k.decode() if isinstance(k, bytes) else str(k) for k in f["extra/keys"][()]]
        declared = "n_channels" in f["extra"].attrs
        n_channels = int(f["extra"].attrs.get("n_channels", CHANNELS))
    if n_channels < 1:
        raise DataError(f"{path}: attribute extra.n_channels must be >= 1, got {n_channels}")
    if lab.size and lab.min() < 0:
        k = int(np.argmin(lab))
        raise DataError(f"{path}: field 'labels' of sample {k} is {lab[k]}, negative")
    if keys and lab.size and lab.max() >= len(keys):
        k = int(np.argmax(lab))
        raise DataError(f"{path}: field 'labels' of sample {k} is {lab[k]}, outside the {len(keys)} classes that "
                        f"extra/keys declares (0..{len(keys) - 1})")
    n_classes = max(len(keys), int(lab.max(initial=-1)) + 1)
    return {"labels": lab, "speakers": speakers, "n_channels": n_channels, "n_classes": n_classes, "keys": keys,
            "channels_declared": declared}


def check_sample(path: Path, k: int, t: np.ndarray, x: np.ndarray, n_channels: int) -> None:
    """One sample's spikes as the layout requires: as many times as units, times finite and >= 0 (s), units in
    [0, n_channels)."""
    if t.shape != x.shape:
        raise DataError(f"{path}: sample {k} has {t.size} spike times but {x.size} units (spikes/times and "
                        f"spikes/units must have the same length per sample)")
    if t.size and not np.isfinite(t).all():
        raise DataError(f"{path}: field 'spikes/times' of sample {k} holds a non-finite time ({t[~np.isfinite(t)][0]})")
    if t.size and t.min() < 0:
        raise DataError(f"{path}: field 'spikes/times' of sample {k} holds a negative time ({t.min()})")
    if x.size and (x.min() < 0 or x.max() >= n_channels):
        bad = int(x.max()) if x.max() >= n_channels else int(x.min())
        raise DataError(f"{path}: field 'spikes/units' of sample {k} holds unit {bad}, outside [0, {n_channels})")


def describe(path: Path) -> dict:
    """Summary of an SHD-layout file, for `eventprop data inspect`, after the checks training makes on every
    sample."""
    path = Path(path)
    info = _check_layout(path)
    if info["labels"].size == 0:
        raise DataError(f"{path}: the file holds no samples")
    with h5py.File(path, "r") as f:
        counts, top = [], -1
        for k, (t, x) in enumerate(zip(f["spikes/times"], f["spikes/units"])):
            t, x = np.asarray(t, dtype=np.float64), np.asarray(x, dtype=np.int64)
            check_sample(path, k, t, x, info["n_channels"])
            counts.append(x.size)
            top = max(top, int(x.max(initial=-1)))
    counts = np.array(counts)
    channels = info["n_channels"] if info["channels_declared"] else \
        f"{CHANNELS} (not declared in extra.n_channels: SHD's {CHANNELS} assumed)"
    return {"file": str(path), "samples": int(info["labels"].size), "classes": info["n_classes"],
            "speakers": sorted(set(info["speakers"].tolist())), "channels": channels, "max_unit": top,
            "spikes_per_sample": float(counts.mean()), "keys": info["keys"]}


def open_tonic(kind: str, root: Path, split: str):
    """(tonic dataset object, layout info) for an existing, well-formed file (never downloads)."""
    import tonic
    path = hsd_file(kind, root, split)
    if not path.exists():
        raise DataError(f"{path}: file not found. Fetch {kind.upper()} with `eventprop data fetch {kind} --root "
                        f"{root}` (needs internet), or point data.root at a folder holding {path.parent.name}/")
    info = _check_layout(path)
    marker = path.with_name(path.name + ".zip")
    if not marker.exists():   # tonic takes the archive as proof of a download; without it, it would download
        marker.touch()
    cls = tonic.datasets.SHD if kind == "shd" else tonic.datasets.SSC
    save_to = str(Path(root).expanduser())
    ds = cls(save_to=save_to, train=(split == "train")) if kind == "shd" else cls(save_to=save_to, split=split)
    return ds, info


class HSDDataset:
    """Samples `index` of one SHD-layout file, as (SpikeEvents, labels) batches for the trainer and deployment."""

    def __init__(self, kind: str, root: Path, split: str, index=None, pool: int = 1, duration: float = 1000.0,
                 cache: bool = True, augment=None, n_classes: int | None = None):
        if pool < 1:
            raise DataError(f"data.pool must be >= 1, got {pool}")
        self.path = hsd_file(kind, root, split)
        self.tonic, info = open_tonic(kind, root, split)
        self.index = np.arange(info["labels"].size) if index is None else np.asarray(index)
        self.labels = info["labels"][self.index]
        self.speakers = info["speakers"][self.index]
        self.raw_channels = info["n_channels"]
        self.n_channels = -(-self.raw_channels // pool)
        self.n_classes = n_classes or info["n_classes"]
        self.keys = info["keys"]
        self.pool, self.duration, self.augment = pool, float(duration), augment
        self._cache: dict[int, tuple[np.ndarray, np.ndarray]] | None = {} if cache else None
        self.cut = [0, 0]          # events past `duration` / events read (shared with subsets)

    def __len__(self):
        return int(self.index.size)

    def subset(self, positions) -> "HSDDataset":
        """The samples at `positions`, sharing this dataset's reader and cache."""
        out = copy.copy(self)
        out.index, out.labels, out.speakers = (self.index[positions], self.labels[positions],
                                               self.speakers[positions])
        return out

    def sample(self, k: int) -> tuple[np.ndarray, np.ndarray]:
        """(times in ms, channel ids) of sample k (position in this dataset), pooled and cut at `duration`."""
        i = int(self.index[k])
        if self._cache is not None and i in self._cache:
            return self._cache[i]
        try:
            events, _ = self.tonic[i]
        except ValueError as e:          # tonic cannot pair the times with the units: say which sample and why
            with h5py.File(self.path, "r") as f:
                t, x = np.asarray(f["spikes/times"][i]), np.asarray(f["spikes/units"][i])
            check_sample(self.path, i, t, x, self.raw_channels)
            raise DataError(f"{self.path}: sample {i} cannot be read ({e})") from None
        t = events["t"].astype(np.float64) / 1000.0      # tonic gives microseconds
        x = events["x"].astype(np.int64)
        check_sample(self.path, i, t, x, self.raw_channels)
        keep = t < self.duration
        self.cut[0] += int(t.size - keep.sum())
        self.cut[1] += int(t.size)
        out = (t[keep].astype(np.float32), (x[keep] // self.pool).astype(np.int16))
        if self._cache is not None:
            self._cache[i] = out
        return out

    def load_all(self, quiet: bool = False) -> None:
        """Read every sample once (with a progress bar), filling the cache."""
        with Progress(transient=True, disable=quiet) as bar:
            task = bar.add_task(f"reading {self.path.name}", total=len(self))
            for k in range(len(self)):
                self.sample(k)
                bar.update(task, advance=1)

    def batch(self, positions, rng: np.random.Generator | None = None) -> tuple[SpikeEvents, np.ndarray]:
        positions = np.asarray(positions)
        samples = [self.sample(int(k)) for k in positions]
        labels = self.labels[positions]
        if self.augment is not None and rng is not None:
            samples = self.augment(samples, labels, self, rng)
        return SpikeEvents.from_lists(samples, self.n_channels, self.duration), labels

    def batches(self, batch_size: int, order=None):
        """Yield batches in `order`; augmentation (train set) draws from a generator seeded by the order itself, so
        an epoch is reproducible (and resumable) from its shuffling alone."""
        order = np.arange(len(self)) if order is None else np.asarray(order)
        rng = np.random.default_rng(order[:16].tolist() + [len(order)]) if self.augment is not None else None
        for start in range(0, len(order), batch_size):
            yield self.batch(order[start:start + batch_size], rng)


def speaker_split(speakers: np.ndarray, val_speakers: list[int], fraction: float = 0.1):
    """(train positions, validation positions): validation = the given speakers; when none are given, about
    `fraction` of the speakers: k = round(fraction x speakers), at least 1 - the one speaker whose share of the set is
    closest to `fraction` when k = 1, else k speakers spread evenly over the sorted speaker ids."""
    ids, counts = np.unique(speakers, return_counts=True)
    if not val_speakers:
        if ids.size < 2:
            raise DataError("a speaker-based validation split needs at least two speakers in the training file")
        k = min(max(1, round(fraction * ids.size)), ids.size - 1)
        if k == 1:
            val_speakers = [int(ids[np.argmin(np.abs(counts / counts.sum() - fraction))])]
        else:
            val_speakers = ids[np.round(np.linspace(0, ids.size - 1, k)).astype(int)].tolist()
    unknown = sorted(set(val_speakers) - set(ids.tolist()))
    if unknown:
        raise DataError(f"data.val_speakers: speakers {unknown} are not in the training file (has {ids.tolist()})")
    val = np.isin(speakers, val_speakers)
    return np.flatnonzero(~val), np.flatnonzero(val)
