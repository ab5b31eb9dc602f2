"""Import Lava on Python 3.11.

lava-nc 0.10.0 declares dataclass fields whose default is a `ByteEncoder()` instance; Python 3.11 refuses
unhashable dataclass defaults, so `lava.magma.compiler.var_model` fails to import. A meta-path finder rewrites
that one decorator to `@dataclass(unsafe_hash=True)` while the module's source is compiled; site-packages is not
touched. `import_lava()` installs the finder once and reports a missing Lava clearly.
"""
from __future__ import annotations

import importlib.abc
import importlib.machinery
import multiprocessing
import sys

_TARGET = "lava.magma.compiler.var_model"
_OLD = "@dataclass\nclass ByteEncoder:"
_NEW = "@dataclass(unsafe_hash=True)\nclass ByteEncoder:"


class _PatchedLoader(importlib.machinery.SourceFileLoader):
    """Compiles the patched source every time (never reads or writes the module's .pyc)."""

    def get_code(self, fullname):
        source = self.get_data(self.path).decode("utf-8")
        if _OLD not in source and _NEW not in source:
            raise ImportError(f"eventprop's Lava fix does not recognise {self.path}; expected lava-nc 0.10.0")
        return compile(source.replace(_OLD, _NEW), self.path, "exec", dont_inherit=True)


class _VarModelFinder(importlib.abc.MetaPathFinder):
    def find_spec(self, fullname, path, target=None):
        if fullname != _TARGET:
            return None
        spec = importlib.machinery.PathFinder.find_spec(fullname, path)
        if spec is None or not isinstance(spec.loader, importlib.machinery.SourceFileLoader):
            return spec
        spec.loader = _PatchedLoader(fullname, spec.origin)
        return spec


def install() -> None:
    """Put the patching finder first on sys.meta_path (idempotent)."""
    if not any(isinstance(f, _VarModelFinder) for f in sys.meta_path):
        sys.meta_path.insert(0, _VarModelFinder())


def import_lava():
    """Install the fix and import lava; raise a RuntimeError saying how to install it when missing.

    Lava calls `multiprocessing.set_start_method("fork")` at import, which raises once anything (Numba, torch)
    has fixed the start method already; during the import that call is made a no-op when "fork" is in effect."""
    install()
    original = multiprocessing.set_start_method

    def tolerant(method, force=False):
        if not force and multiprocessing.get_start_method(allow_none=True) == method:
            return
        original(method, force=force)

    multiprocessing.set_start_method = tolerant
    try:
        import lava.magma.core.process.process  # noqa: F401
        import lava.magma.core.run_configs  # noqa: F401
    except ModuleNotFoundError as exc:
        raise RuntimeError("Lava is not installed: run `make install` (lava-nc 0.10.0 is installed with "
                           "--no-deps --ignore-requires-python)") from exc
    finally:
        multiprocessing.set_start_method = original
    import lava
    return lava
