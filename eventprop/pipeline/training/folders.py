"""Run folders: which folders are ours, one writer at a time, and what --force may replace.

A run folder is recognised by the marker file `.eventprop-run` (written when the folder is created; folders of
earlier versions by their config.toml) and by holding nothing but run-folder entries. --force replaces only such a
folder; anything else is refused with what is in it. A process that writes into a run folder (train, resume, deploy,
parity, bench, analyze) first takes an exclusive POSIX lock (lockf) on `.lock` inside it; the kernel drops the lock
when the process ends, however it ends, so a lock left by a dead process is simply taken over, and processes that Lava
forks do not inherit it. A second writer is refused with the holder's pid and command. The lock is re-entrant within
one process (demo trains, then deploys).
"""
from __future__ import annotations

import atexit
import errno
import fcntl
import json
import os
import shutil
import time
from contextlib import contextmanager
from functools import wraps
from pathlib import Path

from ...errors import RunError
from ...files import is_temporary, write_atomic

MARKER = ".eventprop-run"
LOCK = ".lock"
ENTRIES = {MARKER, LOCK, "config.toml", "metrics.jsonl", "checkpoints", "best.pt", "plots", "loihi", "analysis",
           "results.json"}
_held: dict[Path, list] = {}      # resolved folder -> [open lock file, count]


def foreign_entries(folder: Path) -> list[str]:
    """Names in `folder` that no eventprop run folder holds (our own temporaries are not foreign)."""
    return sorted(p.name for p in Path(folder).iterdir() if p.name not in ENTRIES and not is_temporary(p.name))


def is_run_folder(folder: Path) -> bool:
    folder = Path(folder)
    return (folder.is_dir() and ((folder / MARKER).is_file() or (folder / "config.toml").is_file())
            and not foreign_entries(folder))


def _describe(folder: Path, limit: int = 6) -> str:
    names = sorted(p.name + ("/" if p.is_dir() else "") for p in Path(folder).iterdir())
    more = f" and {len(names) - limit} more" if len(names) > limit else ""
    return ", ".join(names[:limit]) + more


def lock_run(folder: Path, purpose: str) -> None:
    """Take `folder`'s writer lock (the folder must exist); RunError naming the holder when another process has it."""
    folder = Path(folder)
    key = folder.resolve()
    if key in _held:
        _held[key][1] += 1
        return
    if not folder.is_dir():
        raise RunError(f"run folder {folder} does not exist")
    path = folder / LOCK
    try:
        f = open(path, "a+")
    except OSError as e:
        raise RunError(f"cannot open the lock file {path}: {e.strerror}") from None
    try:
        fcntl.lockf(f, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except OSError as e:
        if e.errno not in (errno.EACCES, errno.EAGAIN):
            f.close()
            raise RunError(f"cannot lock {path}: {e.strerror} (a file system without POSIX locks?)") from None
        who = _holder(f)
        f.close()
        raise RunError(f"run folder {folder} is in use by {who}; wait for it to end or stop it, then run again") \
            from None
    f.seek(0)
    f.truncate()
    f.write(json.dumps({"pid": os.getpid(), "purpose": purpose, "since": time.strftime("%Y-%m-%d %H:%M:%S")}))
    f.flush()
    _held[key] = [f, 1]


def _holder(f, wait_s: float = 2.0) -> str:
    """Who holds the lock open in `f`: the holder writes its identity just after taking the lock, so a process that
    lost a race by microseconds waits briefly for it to appear."""
    deadline = time.monotonic() + wait_s
    while True:
        f.seek(0)
        try:
            info = json.loads(f.read())
            return f"process {info['pid']} ({info['purpose']}, since {info['since']})"
        except (ValueError, KeyError, TypeError):
            if time.monotonic() > deadline:
                return "another process"
            time.sleep(0.02)


def unlock_run(folder: Path) -> None:
    key = Path(folder).resolve()
    entry = _held.get(key)
    if entry is None:
        return
    entry[1] -= 1
    if entry[1] == 0:
        del _held[key]
        entry[0].close()          # closing the file releases the lock


@atexit.register
def _release_all() -> None:
    for f, _ in _held.values():
        f.close()
    _held.clear()


@contextmanager
def run_locked(folder: Path, purpose: str):
    lock_run(folder, purpose)
    try:
        yield
    finally:
        unlock_run(folder)


def writes_into_run(purpose: str):
    """Decorator for a function(run_dir, ...) that writes into an existing run folder: it runs holding the lock
    (a folder that is no run folder is left untouched, for the function's own error)."""
    def wrap(fn):
        @wraps(fn)
        def locked(run_dir, *args, **kwargs):
            if not (Path(run_dir) / "config.toml").is_file():
                return fn(run_dir, *args, **kwargs)
            with run_locked(run_dir, purpose):
                return fn(run_dir, *args, **kwargs)
        return locked
    return wrap


def check_new_run_dir(out: Path, force: bool) -> None:
    """Whether a new run may be created in `out` (read-only): absent or empty, or --force on a run folder."""
    out = Path(out)
    if not out.exists():
        return
    if not out.is_dir():
        raise RunError(f"{out} is a file, not a run folder; choose another --out")
    if all(p.name == LOCK for p in out.iterdir()):     # empty, or a lock left by a start that got no further
        return
    if not is_run_folder(out):
        raise RunError(f"{out} exists and is not an eventprop run folder (it holds {_describe(out)}); nothing was "
                       f"changed. Choose another --out" + (" (--force replaces only run folders)" if force else ""))
    if not force:
        raise RunError(f"run folder {out} already exists; use --resume to continue it or --force to replace it")


def create_run_dir(out: Path, force: bool, purpose: str) -> None:
    """Create (or, with force, empty) the run folder and take its lock; the checks are repeated under the lock, so
    two processes racing for one folder cannot both pass them."""
    out = Path(out)
    check_new_run_dir(out, force)
    try:
        out.mkdir(parents=True, exist_ok=True)
    except OSError as e:
        raise RunError(f"cannot create run folder {out}: {e.strerror}") from None
    lock_run(out, purpose)
    try:
        check_new_run_dir(out, force)
        for entry in out.iterdir():
            if entry.name != LOCK:
                shutil.rmtree(entry) if entry.is_dir() and not entry.is_symlink() else entry.unlink()
        write_atomic(out / MARKER, "eventprop run folder\n")
        (out / "checkpoints").mkdir()
        (out / "plots").mkdir()
    except OSError as e:
        unlock_run(out)
        raise RunError(f"cannot write to run folder {out}: {e.strerror}") from None
    except BaseException:
        unlock_run(out)
        raise
