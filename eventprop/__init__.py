"""eventprop: EventProp training of spiking networks with learnable delays and positions, deployed to Loihi 2."""
from .models import Connection, Network, Population

__all__ = ["Network", "Population", "Connection", "compile", "EventPropModule", "SpikeEvents"]
__version__ = "0.1.0"


def __getattr__(name: str):
    """compile / EventPropModule / SpikeEvents load torch and Numba on first use only."""
    if name in ("compile", "EventPropModule", "SpikeEvents"):
        from . import pipeline
        return getattr(pipeline, name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
