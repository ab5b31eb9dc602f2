"""mlGeNN's `ml_genn.compilers.event_prop_compiler`: the EventProp model defaults and the compiler."""
from ..neurons import LeakyIntegrate, LeakyIntegrateFire
from ..synapses import Exponential
from . import EventPropCompiler

default_params = {   # what mlGeNN's EventProp examples pass to Network(): eventprop's neuron and synapse semantics
    LeakyIntegrate: {"scale_i": True},
    LeakyIntegrateFire: {"relative_reset": False, "integrate_during_refrac": False, "scale_i": True},
    Exponential: {"scale_i": True},
}

__all__ = ["EventPropCompiler", "default_params"]
