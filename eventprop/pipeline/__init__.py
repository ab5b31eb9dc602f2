"""Training: kernel generation, the EventProp engine, the torch bridge (SpikeEvents lives in models.events). Imported on first use (torch and Numba are
slow to import, and `eventprop --help` or `data inspect` need neither)."""
import importlib

_EXPORTS = {"EventPropModule": ".module", "RunOutput": ".module", "compile": ".module"}
__all__ = list(_EXPORTS)


def __getattr__(name: str):
    if name in _EXPORTS:
        return getattr(importlib.import_module(_EXPORTS[name], __name__), name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
