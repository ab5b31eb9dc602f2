"""Training: kernel generation, the EventProp engine, the torch bridge."""
from .inputs import SpikeEvents
from .module import EventPropModule, RunOutput, compile

__all__ = ["SpikeEvents", "EventPropModule", "RunOutput", "compile"]
