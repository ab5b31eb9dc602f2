"""eventprop: EventProp training of spiking networks with learnable delays and positions, deployed to Loihi 2."""
from .models import Connection, Network, Population
from .models.events import SpikeEvents

__all__ = ["Network", "Population", "Connection", "compile", "EventPropModule", "SpikeEvents", "from_nir", "to_nir"]
__version__ = "0.1.0"


def __getattr__(name: str):
    """compile / EventPropModule / from_nir / to_nir load torch, Numba or nir on first use only."""
    if name in ("compile", "EventPropModule"):
        from . import pipeline
        return getattr(pipeline, name)
    if name in ("from_nir", "to_nir"):
        from .interop import nir_io
        return getattr(nir_io, name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
