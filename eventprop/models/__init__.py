"""Network description: populations, neuron and synapse models, connectivity, initialisers. No compute."""
from .connectivity import Dense, FixedProbability, Sparse
from .initialisers import Constant, Initialiser, Normal, Uniform
from .network import Connection, Network, Population
from .neurons import READOUTS, LeakyIntegrate, LeakyIntegrateFire, RefractoryLIF, SpikeInput
from .synapses import Exponential

__all__ = ["Network", "Population", "Connection", "SpikeInput", "LeakyIntegrateFire", "LeakyIntegrate",
           "RefractoryLIF", "READOUTS", "Exponential", "Dense", "Sparse", "FixedProbability", "Constant", "Normal",
           "Uniform", "Initialiser"]
