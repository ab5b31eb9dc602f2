"""Read mlGeNN checkpoints (numpy serialiser: `<epoch>-<connection>-g.npy` weights, `-d.npy` delays in timesteps,
dense arrays flattened pre-major; spec/data-and-structure.md) into an eventprop run folder, so deploy / parity / bench
work on a network trained with mlGeNN."""
from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import torch

from ..errors import DataError
from ..pipeline.training.checkpoints import save_atomic
from ..pipeline.training.config import RunConfig
from ..pipeline.engine.module import compile as compile_network
from ..pipeline.training.tasks import make_datasets, make_network
from ..files import write_atomic
from ..pipeline.training.folders import unlock_run
from ..pipeline.training.trainer import check_run_dir, create_run_dir


def checkpoint_names(folder: Path, epoch: int) -> dict[str, set[str]]:
    """{connection or population name: {variables}} of one epoch's files."""
    out: dict[str, set[str]] = {}
    for f in Path(folder).glob(f"{epoch}-*.npy"):
        name, _, var = f.stem[len(f"{epoch}-"):].rpartition("-")
        out.setdefault(name, set()).add(var)
    return out


def pre_major(arr: np.ndarray, shape: tuple[int, int], what: str) -> np.ndarray:
    """[N_pre, N_post] from mlGeNN's flattened pre-major array, or from one already of that shape; errors name
    `what` (a file, or a connection's variable)."""
    arr = np.asarray(arr)
    size = shape[0] * shape[1]
    if not (arr.shape == (size,) or arr.shape == shape):
        hint = " (transposed? the layout is pre x post)" if arr.shape == shape[::-1] else ""
        raise DataError(f"{what}: expected {size} values flattened pre-major or an array of shape {shape} "
                        f"(pre x post), got shape {arr.shape}{hint}")
    if not np.issubdtype(arr.dtype, np.number) or not np.all(np.isfinite(arr)):
        raise DataError(f"{what}: expected finite numbers, got {arr.dtype} values, some non-finite or not numbers")
    return arr.astype(np.float64).reshape(shape)


def _load(folder: Path, epoch: int, name: str, var: str, shape: tuple[int, int]) -> np.ndarray:
    """[N_pre, N_post] of one checkpoint file (pre_major)."""
    path = Path(folder) / f"{epoch}-{name}-{var}.npy"
    try:
        arr = np.load(path, allow_pickle=False)
    except (OSError, ValueError) as e:
        raise DataError(f"{path}: cannot read as a numpy array ({e})") from None
    return pre_major(arr, shape, str(path))


def import_checkpoint(folder: Path, cfg: RunConfig, epoch: int, out: Path, names: dict[str, str] | None = None,
                      force: bool = False) -> dict:
    """Build run folder `out` (config.toml, best.pt, results.json) holding the network of `cfg` with the weights and
    delays of mlGeNN checkpoint `epoch` in `folder`. names: eventprop connection -> mlGeNN connection name (default:
    the same). Returns a summary."""
    folder = Path(folder)
    if not folder.is_dir():
        raise DataError(f"checkpoint folder {folder} does not exist")
    available = checkpoint_names(folder, epoch)
    if not available:
        epochs = sorted({int(f.name.split("-")[0]) for f in folder.glob("*-*.npy") if f.name.split("-")[0].isdigit()})
        raise DataError(f"{folder}: no files of epoch {epoch} (`{epoch}-<name>-<var>.npy`); epochs present: {epochs}")
    check_run_dir(out, resume=False, force=force)
    train, _, _ = make_datasets(cfg)
    net = make_network(cfg, train.n_channels, train.n_classes)
    model = compile_network(net, seed=cfg.seed)
    state = model.state_dict()
    names = names or {}
    unknown = sorted(set(names) - {c.name for c in net.connections})
    if unknown:
        raise DataError(f"--map {unknown[0]}=...: this network has no connection {unknown[0]!r} (its connections: "
                        f"{[c.name for c in net.connections]})")
    loaded = {}
    for c in net.connections:
        if c.sparse:
            raise DataError(f"connection {c.name!r}: importing sparse mlGeNN connections is not supported yet")
        theirs = names.get(c.name, c.name)
        if "g" not in available.get(theirs, set()):
            raise DataError(f"{folder}: no weights for connection {c.name!r} (looked for {epoch}-{theirs}-g.npy); "
                            f"connections in the checkpoint: {sorted(available)}; map names with "
                            f"--map {c.name}=<mlGeNN name>")
        shape = (c.source.size, c.target.size)
        state[f"{c.name}.weight"] = torch.from_numpy(_load(folder, epoch, theirs, "g", shape)).to(model.dtype)
        loaded[c.name] = ["g"]
        if f"{c.name}.delay" in state and not c.spatial:
            if "d" in available[theirs]:
                d = _load(folder, epoch, theirs, "d", shape)
                if d.min() < 0 or d.max() > c.max_delay_steps:
                    raise DataError(f"{folder / f'{epoch}-{theirs}-d.npy'}: delays span [{d.min():g}, {d.max():g}] "
                                    f"steps, outside [0, {c.max_delay_steps}] (model.max_delay_ms / model.dt)")
                state[f"{c.name}.delay"] = torch.from_numpy(d).to(model.dtype)
                loaded[c.name].append("d")
            elif c.learn_delays:
                raise DataError(f"{folder}: connection {c.name!r} learns delays but {epoch}-{theirs}-d.npy is missing")
            else:
                state[f"{c.name}.delay"] = torch.zeros_like(state[f"{c.name}.delay"])
    unused = sorted(set(available) - {names.get(c.name, c.name) for c in net.connections})
    summary = {"imported_from": str(folder.resolve()), "format": "mlGeNN numpy checkpoint", "epoch": epoch,
               "variables": loaded, "unused_in_checkpoint": unused}
    create_run_dir(out, cfg, force)
    try:
        save_atomic({"model": state, "epoch": epoch, "val_acc": None}, Path(out) / "best.pt")
        write_atomic(Path(out) / "results.json", json.dumps(summary, indent=2))
    finally:
        unlock_run(out)
    return summary
