"""Atomic checkpoint files (serialised in memory, then eventprop.files.write_atomic) and their loading with clear
errors."""
from __future__ import annotations

import io
from pathlib import Path

import torch

from ...errors import RunError  # noqa: F401  (raised here, re-exported for callers)
from ...files import write_atomic


def save_atomic(obj, path: Path) -> None:
    buf = io.BytesIO()
    torch.save(obj, buf)
    write_atomic(path, buf.getvalue())


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
