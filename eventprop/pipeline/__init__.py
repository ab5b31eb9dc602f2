"""The float side: engine/ (kernel generation, the EventProp engines, the torch bridge) and training/ (configs,
tasks, trainer, structure learning, data parallelism, run folders); SpikeEvents lives in models.events. Imported on
first use (torch and Numba are slow to import, and `eventprop --help` or `data inspect` need neither)."""
import importlib

_EXPORTS = {"EventPropModule": ".engine.module", "RunOutput": ".engine.module", "compile": ".engine.module"}
__all__ = list(_EXPORTS)


def __getattr__(name: str):
    if name in _EXPORTS:
        return getattr(importlib.import_module(_EXPORTS[name], __name__), name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
