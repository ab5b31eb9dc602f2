"""eventprop: EventProp training of spiking networks with learnable delays and positions, deployed to Loihi 2."""
from .models import Connection, Network, Population
from .pipeline import EventPropModule, SpikeEvents, compile

__all__ = ["Network", "Population", "Connection", "compile", "EventPropModule", "SpikeEvents"]
__version__ = "0.1.0"
