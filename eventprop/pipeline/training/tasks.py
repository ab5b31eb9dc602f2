"""From a RunConfig to (train, validation, test) datasets and the network to train."""
from __future__ import annotations

import math
import sys
import warnings
from pathlib import Path

import numpy as np

from ...datasets import sequences, yinyang_splits
from ...datasets.augment import Augment
from ...datasets.hsd import HSDDataset, hsd_file, speaker_split
from ...errors import ConfigError, DataError
from ...models import Normal, Uniform
from ...models.architectures import Space, delay_network, delay_steps
from .config import RunConfig, check_ranges
from .structure import Candidates, candidates


SAMPLE_BYTES = 256          # a generated (yinyang / sequence) sample while its set is drawn: points, events, labels


def available_bytes() -> int | None:
    """MemAvailable of /proc/meminfo (None where there is none)."""
    try:
        for line in Path("/proc/meminfo").read_text().splitlines():
            if line.startswith("MemAvailable:"):
                return int(line.split()[1]) * 1024
    except OSError:
        pass
    return None


def estimate_bytes(cfg: RunConfig, n_inputs: int | None = None, n_classes: int | None = None) -> dict[str, int]:
    """A rough lower bound of the memory a run needs, by part: generated datasets; with the layer sizes also the
    synapses (value, gradient, two Adam moments, 8 backward chunk sums) and the engine's per-step buffers."""
    m, d, t = cfg.model, cfg.data, cfg.train
    out = {"datasets": SAMPLE_BYTES * (d.n_train + d.n_val + d.n_test) if d.task in ("yinyang", "sequence") else 0}
    if n_inputs is None:
        return out
    h = m.hidden
    synapses = n_inputs * h[0] + sum(a * b for a, b in zip(h, h[1:])) + h[-1] * n_classes
    synapses += sum(x * x for x in h) if m.recurrent else 0
    item = 8 if t.dtype == "float64" else 4
    out["synapses"] = synapses * (2 if m.max_delay_ms > 0 else 1) * 12 * item   # + 8 backward chunk sums
    steps = math.ceil(d.duration / m.dt)
    ring = 1 << (int(m.max_delay_ms / m.dt) + 3).bit_length()
    out["engine buffers"] = 2 * 3 * ring * (sum(h) + n_classes) * 8 + 3 * t.batch_size * steps * n_classes * item
    return out


def check_memory(cfg: RunConfig, n_inputs: int | None = None, n_classes: int | None = None) -> None:
    """Refuse, before allocating, a run that cannot fit in this machine's available memory."""
    need, have = estimate_bytes(cfg, n_inputs, n_classes), available_bytes()
    if have is None or sum(need.values()) <= 0.9 * have:
        return
    parts = ", ".join(f"{k} {v / 2 ** 30:.1f} GiB" for k, v in need.items() if v)
    raise ConfigError(f"this run needs at least {sum(need.values()) / 2 ** 30:.1f} GiB of memory ({parts}), more "
                      f"than the {have / 2 ** 30:.1f} GiB available; lower model.hidden, data.n_train/n_val/n_test, "
                      f"model.max_delay_ms or train.batch_size")


def make_datasets(cfg: RunConfig):
    d = cfg.data
    check_memory(cfg)
    if d.task == "yinyang":
        return yinyang_splits(cfg.seed, d.n_train, d.n_val, d.n_test, t_early=d.t_early, t_late=d.t_late,
                              t_bias=d.t_bias, duration=d.duration)
    if d.task == "sequence":
        return tuple(sequences(n, cfg.seed * 3 + k, n_channels=d.n_channels, gap=d.gap, duration=d.duration)
                     for k, n in enumerate((d.n_train, d.n_val, d.n_test)))
    if d.task in ("shd", "ssc", "spoken-digits"):
        return hsd_splits(cfg)
    raise ConfigError(f"config key 'data.task': unknown task {d.task!r}")


def hsd_splits(cfg: RunConfig):
    """SHD: validation = held-out speakers of the training file; SSC: its own valid file; spoken digits: SHD layout
    (voices are the speakers). n_train/n_val/n_test > 0 take a fixed random subset of that size."""
    d = cfg.data
    kind = "ssc" if d.task == "ssc" else "shd"
    opts = dict(pool=d.pool, duration=d.duration, cache=d.cache)
    root = d.root
    if d.task == "spoken-digits":
        if d.fold >= 0:                       # leave-voices-out fold: its own SHD layout (written by --folds)
            root = str(Path(d.root).expanduser() / "folds" / f"fold-{d.fold}")
            if not Path(root).is_dir():
                have = sorted(p.name for p in (Path(d.root).expanduser() / "folds").glob("fold-*"))
                raise DataError(f"data.fold = {d.fold}: {root} does not exist (folds present: {have or 'none'}); "
                                f"write the folds with `eventprop data spoken-digits --out {d.root} --folds K`")
        missing = [f for f in (hsd_file("shd", root, s) for s in ("train", "test")) if not f.exists()]
        if missing:
            raise DataError(f"{missing[0]}: file not found. The spoken digits are generated offline: `eventprop data "
                            f"spoken-digits --out {d.root}` (needs espeak-ng), or point data.root at a folder "
                            f"holding SHD/ in the SHD layout")
    full = HSDDataset(kind, root, "train", **opts)
    if kind == "ssc":
        train, val = full, HSDDataset(kind, root, "valid", **opts)
    else:
        tr, va = speaker_split(full.speakers, d.val_speakers, d.val_fraction)
        train, val = full.subset(tr), full.subset(va)
    test = HSDDataset(kind, root, "test", **opts)
    n_classes = max(s.n_classes for s in (train, val, test))
    rng = np.random.default_rng(cfg.seed)
    out = []
    for ds, n in ((train, d.n_train), (val, d.n_val), (test, d.n_test)):
        if 0 < n < len(ds):
            ds = ds.subset(np.sort(rng.permutation(len(ds))[:n]))
        ds.n_classes = n_classes
        out.append(ds)
    if d.shift or d.blend or d.stretch:
        out[0].augment = Augment(d.shift, d.blend, d.stretch)
    if d.cache:   # read everything once up front, with a progress bar on a terminal
        for ds in out:
            ds.load_all(quiet=not sys.stdout.isatty())
        for ds in (out[0], out[2]):          # the training file (train + validation) and the test file
            cut, total = ds.cut
            if cut:
                warnings.warn(f"data.duration = {d.duration:g} ms: {cut:,} of {total:,} input events "
                              f"({100 * cut / total:.1f} %) of {ds.path.name} come later and are left out")
    return tuple(out)


def make_space(cfg: RunConfig, sizes: dict[str, int]) -> Space | None:
    """The config's [space] section as the architecture's Space (None without space); `sizes`: population sizes,
    against which a layout file is checked."""
    sp = cfg.space
    if sp.dims == 0:
        return None
    if sp.init == "layout":
        init = _read_layout(Path(sp.layout).expanduser(), sp.dims, sizes, cfg.space.populations)
    else:
        init = Uniform(0.0, sp.extent) if sp.init == "uniform" else Normal(0.0, sp.extent)
    return Space(sp.dims, sp.velocity, tuple(sp.populations), init, sp.learn_positions, sp.free_delays)


def _read_layout(path: Path, dims: int, sizes: dict[str, int], groups) -> dict[str, np.ndarray]:
    try:
        with np.load(path) as f:
            arrays = {k: np.asarray(f[k], dtype=np.float64) for k in f.files}
    except (OSError, ValueError) as e:
        raise ConfigError(f"config key 'space.layout': cannot read {path} as .npz: {e}") from None
    for name, size in sizes.items():
        group = "hidden" if name.startswith("hidden") else name
        if group not in groups:
            continue
        if name not in arrays:
            raise ConfigError(f"config key 'space.layout': {path} has no array {name!r} (has {sorted(arrays)})")
        if arrays[name].shape != (size, dims) or not np.all(np.isfinite(arrays[name])):
            raise ConfigError(f"config key 'space.layout': array {name!r} must be finite with shape {(size, dims)}, "
                              f"got {arrays[name].shape}")
    return arrays


def make_candidates(cfg: RunConfig, n_inputs: int, n_classes: int) -> dict[str, Candidates]:
    """Per structured connection (config [structure]) its candidate pairs and initial synapses (empty when dense)."""
    m, st = cfg.model, cfg.structure
    if st.sparsity == 0:
        return {}
    _, lo, hi = delay_steps(m.dt, m.max_delay_ms, tuple(m.delay_init_ms))
    placed = set(cfg.space.populations) if cfg.space.dims else set()
    h = m.hidden
    shapes = {"in_hid": (n_inputs, h[0], m.w_in, ("input", "hidden"), True),
              **{f"hid{k - 1}_hid{k}": (h[k - 1], h[k], m.w_hid, ("hidden", "hidden"), True) for k in range(1, len(h))},
              **{f"hid{k}_rec": (h[k], h[k], m.w_rec, ("hidden", "hidden"), False) for k in range(len(h))},
              "hid_out": (h[-1], n_classes, m.w_out, ("hidden", "output"), m.readout_delays)}
    out = {}
    for name in st.connections:
        n_pre, n_post, w_init, ends, delayed = shapes[name]
        spatial = set(ends) <= placed                  # spatial delays: the learned part is an offset from 0
        span = (lo, hi) if delayed and not spatial else (0.0, 0.0)
        out[name] = candidates(name, n_pre, n_post, st, tuple(w_init), span, cfg.seed)
    return out


def make_network(cfg: RunConfig, n_inputs: int, n_classes: int, dense: bool = False):
    """The config's network; dense=True: the same with every structured connection dense (RigL's twin)."""
    m = cfg.model
    check_ranges(cfg)
    check_memory(cfg, n_inputs, n_classes)
    sizes = {"input": n_inputs, **{f"hidden{k}": h for k, h in enumerate(m.hidden)}, "output": n_classes}
    sparse = {} if dense else {name: dict(pre=c.pre, post=c.post, weight=c.weight, delay=c.delays)
                               for name, c in make_candidates(cfg, n_inputs, n_classes).items()}
    return delay_network(n_inputs, n_classes, m.dt, m.hidden, tau_mem=m.tau_mem, tau_syn=m.tau_syn,
                         v_thresh=m.v_thresh, slope_floor=m.slope_floor, readout=m.readout, recurrent=m.recurrent,
                         learn_delays=m.learn_delays, readout_delays=m.readout_delays,
                         max_delay_ms=m.max_delay_ms, delay_init_ms=tuple(m.delay_init_ms), w_in=tuple(m.w_in),
                         w_hid=tuple(m.w_hid), w_rec=tuple(m.w_rec), w_out=tuple(m.w_out), space=make_space(cfg, sizes), sparse=sparse)
