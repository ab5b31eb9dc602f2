"""mlGeNN's Network / Population / Connection: recorded here, turned into an eventprop Network by a compiler."""
from __future__ import annotations

import math

from .errors import unsupported

_ACTIVE: list["Network"] = []


class Network:
    def __init__(self, default_params=None):
        if default_params:
            raise unsupported("Network(default_params=...)")
        self.populations: list[Population] = []
        self.connections: list[Connection] = []

    def __enter__(self):
        _ACTIVE.append(self)
        return self

    def __exit__(self, *exc):
        _ACTIVE.remove(self)
        return False


def _network(what: str) -> Network:
    if not _ACTIVE:
        raise unsupported(f"{what} outside a `with Network():` block")
    return _ACTIVE[-1]


class Population:
    def __init__(self, neuron, shape, record_spikes: bool = False, record_spike_events: bool = False,
                 name: str | None = None):
        net = _network("Population")
        if record_spike_events:
            raise unsupported("record_spike_events")
        size = shape if isinstance(shape, int) else int(math.prod(shape))
        self.neuron, self.shape, self.size = neuron, shape, size
        self.name = name or f"Pop{len(net.populations)}"
        net.populations.append(self)


class Connection:
    def __init__(self, source: Population, target: Population, connectivity, synapse="delta", name: str | None = None,
                 max_delay_steps: int | None = None):
        net = _network("Connection")
        from .synapses import Exponential
        if not isinstance(synapse, Exponential):
            raise unsupported(f"synapse {synapse!r}", "eventprop's engine has Exponential synapses only")
        self.source, self.target, self.connectivity, self.synapse = source, target, connectivity, synapse
        self.max_delay_steps = max_delay_steps
        self.name = name or f"Conn_{source.name}_{target.name}"
        net.connections.append(self)
