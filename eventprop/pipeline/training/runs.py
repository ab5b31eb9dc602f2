"""Reopen a finished run folder: its config, datasets, network description and best parameters."""
from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np

from ...models import Network
from .checkpoints import RunError, load_checkpoint
from .config import RunConfig
from .config import load as load_config
from .tasks import make_datasets, make_network


@dataclass
class TrainedRun:
    dir: Path
    cfg: RunConfig
    net: Network
    params: dict[str, np.ndarray]
    datasets: tuple            # (train, validation, test)
    unfinished: str | None     # e.g. "epoch 25 of 150": training stopped (or still runs) before its end


def unfinished(run_dir: Path, cfg: RunConfig) -> str | None:
    """None when training ended (results.json written), else how far it got, from metrics.jsonl."""
    run_dir = Path(run_dir)
    if (run_dir / "results.json").exists():
        return None
    path = run_dir / "metrics.jsonl"
    done = sum(1 for line in path.read_text(errors="replace").splitlines() if line.strip()) if path.exists() else 0
    return f"epoch {done} of {cfg.train.epochs}"


def load_trained(run_dir: Path, datasets=None, checkpoint: str = "best.pt") -> TrainedRun:
    """The run with the parameters of `checkpoint` (best.pt: the best-validation network; checkpoints/last.pt: the
    final epoch's)."""
    run_dir = Path(run_dir)
    if not run_dir.is_dir():
        raise RunError(f"run folder {run_dir} does not exist")
    if not (run_dir / "config.toml").exists():
        raise RunError(f"{run_dir} is not a run folder (no config.toml)")
    ckpt = run_dir / checkpoint
    if not ckpt.exists():
        raise RunError(f"{run_dir} holds no trained network yet (no {checkpoint}); train it first")
    cfg = load_config(run_dir / "config.toml")
    datasets = make_datasets(cfg) if datasets is None else datasets
    net = make_network(cfg, datasets[0].n_channels, datasets[0].n_classes)
    state = load_checkpoint(ckpt)["model"]
    params = {k: v.detach().cpu().numpy().astype(np.float64) if v.is_floating_point() else v.cpu().numpy()
              for k, v in state.items()}
    expected = net.instantiate(cfg.seed)
    missing = set(expected) - set(params)
    if missing:
        raise RunError(f"{ckpt} does not match the run's network: missing {sorted(missing)}")
    for key, value in expected.items():
        if np.shape(value) != np.shape(params[key]) and not key.endswith(("pre_ind", "post_ind")):
            raise RunError(f"{ckpt} does not match {run_dir / 'config.toml'}: {key!r} has shape "
                           f"{np.shape(params[key])} in the checkpoint, {np.shape(value)} by the config (was "
                           f"config.toml edited after training?)")
    return TrainedRun(run_dir, cfg, net, params, datasets, unfinished(run_dir, cfg))
