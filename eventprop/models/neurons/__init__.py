"""Neuron models: each file holds one model's description, discrete equations and Loihi 2 mapping (base.py says
what a model provides)."""
from .base import Equations, NeuronModel
from .input import SpikeInput
from .li import READOUTS, LeakyIntegrate
from .lif import LeakyIntegrateFire
from .refractory import RefractoryLIF

__all__ = ["NeuronModel", "Equations", "SpikeInput", "LeakyIntegrateFire", "LeakyIntegrate", "RefractoryLIF",
           "READOUTS"]
