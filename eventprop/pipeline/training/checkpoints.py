"""Atomic checkpoint files (temporary file + rename) and their loading with clear errors."""
from __future__ import annotations

import os
from pathlib import Path

import torch

from ...errors import RunError  # noqa: F401  (raised here, re-exported for callers)


def save_atomic(obj, path: Path) -> None:
    path = Path(path)
    tmp = path.with_name(f".{path.name}.tmp{os.getpid()}")
    torch.save(obj, tmp)
    os.replace(tmp, path)


def load_checkpoint(path: Path) -> dict:
    path = Path(path)
    if not path.exists():
        raise RunError(f"checkpoint {path} does not exist")
    try:
        state = torch.load(path, map_location="cpu", weights_only=False)
    except Exception as e:  # torch raises many types for truncated/foreign files
        raise RunError(f"checkpoint {path} is corrupt or not an eventprop checkpoint ({type(e).__name__}: {e})") \
            from None
    if not isinstance(state, dict) or "model" not in state:
        raise RunError(f"checkpoint {path} is not an eventprop checkpoint (no 'model' entry)")
    return state
