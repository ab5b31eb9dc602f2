"""On-disk kernel cache: generated source is written to a file named by its hash and imported from there, so Numba's
own `cache=True` stores the compiled machine code beside it and a second run of the same network does not recompile."""
from __future__ import annotations

import hashlib
import importlib.util
import os
import sys
from pathlib import Path

from ....errors import RunError


def cache_dir() -> Path:
    """$EVENTPROP_CACHE, else ~/.cache/eventprop/kernels."""
    root = os.environ.get("EVENTPROP_CACHE") or Path.home() / ".cache" / "eventprop" / "kernels"
    return Path(root)


def load_source(source: str, prefix: str):
    """Import `source` as a module stored in the cache folder (written atomically once per distinct source)."""
    digest = hashlib.sha256(source.encode()).hexdigest()[:20]
    name = f"{prefix}_{digest}"
    if name in sys.modules:
        return sys.modules[name]
    folder = cache_dir()
    path = folder / f"{name}.py"
    try:
        folder.mkdir(parents=True, exist_ok=True)
        if not path.exists() or path.read_text() != source:
            tmp = path.with_suffix(f".tmp{os.getpid()}")
            tmp.write_text(source)
            os.replace(tmp, path)
    except OSError as e:
        raise RunError(f"kernel cache {folder} is not writable ({e.strerror}); set EVENTPROP_CACHE to a writable "
                       f"folder") from None
    spec = importlib.util.spec_from_file_location(name, path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    sys.modules[name] = module
    return module
