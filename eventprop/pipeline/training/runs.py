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


def load_trained(run_dir: Path, datasets=None) -> TrainedRun:
    run_dir = Path(run_dir)
    if not run_dir.is_dir():
        raise RunError(f"run folder {run_dir} does not exist")
    if not (run_dir / "config.toml").exists():
        raise RunError(f"{run_dir} is not a run folder (no config.toml)")
    if not (run_dir / "best.pt").exists():
        raise RunError(f"{run_dir} holds no trained network yet (no best.pt); train it first")
    cfg = load_config(run_dir / "config.toml")
    datasets = make_datasets(cfg) if datasets is None else datasets
    net = make_network(cfg, datasets[0].n_channels, datasets[0].n_classes)
    state = load_checkpoint(run_dir / "best.pt")["model"]
    params = {k: v.detach().cpu().numpy().astype(np.float64) if v.is_floating_point() else v.cpu().numpy()
              for k, v in state.items()}
    expected = set(net.instantiate(cfg.seed))
    missing = expected - set(params)
    if missing:
        raise RunError(f"{run_dir / 'best.pt'} does not match the run's network: missing {sorted(missing)}")
    return TrainedRun(run_dir, cfg, net, params, datasets)
