"""Every file eventprop writes into a run or data folder goes through here: written under a temporary name in the same
folder and renamed over the target (os.replace), so a reader, a crash or a full disk never sees half a file; a write
that fails (no space left, no permission) removes its temporary file and becomes one RunError naming the file."""
from __future__ import annotations

import errno
import io
import os
import shutil
from pathlib import Path
from typing import Callable

from .errors import RunError

TMP_TAG = ".tmp"     # temporaries are named .<name>.tmp<pid>


def temporary(path: Path) -> Path:
    """The temporary name under which `path` is written (hidden, in the same folder, tagged with our pid)."""
    return path.with_name(f".{path.name}{TMP_TAG}{os.getpid()}")


def is_temporary(name: str) -> bool:
    return name.startswith(".") and TMP_TAG in name


def _full(folder: Path) -> bool:
    try:
        return shutil.disk_usage(folder).free < 64 * 1024
    except OSError:
        return False


def write_failed(path: Path, err: OSError, size: int | None = None, full: bool = False) -> RunError:
    """The one message for a failed write: disk full with the bytes it needed, or the OS's reason. `full`: the
    writer saw the disk full (libraries such as HDF5 report it without errno)."""
    if full or err.errno in (errno.ENOSPC, errno.EDQUOT):
        need = f": {size:,} bytes needed" if size else ""
        return RunError(f"no space left on the device writing {path}{need}; nothing partial was left and the "
                        f"files written before are intact (free some space, then resume)")
    return RunError(f"cannot write {path}: {err.strerror or err}")


def write_atomic(path: Path, data: bytes | str) -> None:
    """Replace `path` by `data` in one step (text is written as UTF-8)."""
    path = Path(path)
    data = data.encode() if isinstance(data, str) else data
    write_via(path, lambda tmp: tmp.write_bytes(data), size=len(data))


def write_via(path: Path, writer: Callable[[Path], None], size: int | None = None) -> None:
    """`writer(tmp)` writes the file under its temporary name (e.g. h5py); then it replaces `path`."""
    path = Path(path)
    tmp = temporary(path)
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        writer(tmp)
        os.replace(tmp, path)
    except OSError as e:
        written = tmp.stat().st_size if tmp.exists() else None
        full = _full(path.parent)
        tmp.unlink(missing_ok=True)
        raise write_failed(path, e, size or written, full) from None
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise


def save_figure(fig, path: Path, **savefig_kwargs) -> None:
    """A matplotlib figure rendered in memory, then written atomically; the figure is closed either way."""
    import matplotlib.pyplot as plt
    buf = io.BytesIO()
    try:
        fig.savefig(buf, format=Path(path).suffix.lstrip(".") or "png", **savefig_kwargs)
    finally:
        plt.close(fig)
    write_atomic(path, buf.getvalue())


def append_line(path: Path, line: str) -> None:
    """Append one line; on failure the file is cut back to its previous length (no torn line is left)."""
    path = Path(path)
    data = (line.rstrip("\n") + "\n").encode()
    before = path.stat().st_size if path.exists() else 0
    try:
        with path.open("ab") as f:
            f.write(data)
            f.flush()
    except OSError as e:
        try:
            os.truncate(path, before)
        except OSError:
            pass
        raise write_failed(path, e, len(data)) from None


def remove_temporaries(folder: Path) -> list[Path]:
    """Delete temporaries that a killed writer left under `folder` (the caller holds the folder's lock)."""
    found = [p for p in Path(folder).rglob(f".*{TMP_TAG}*") if p.is_file() and is_temporary(p.name)]
    for p in found:
        p.unlink(missing_ok=True)
    return found
