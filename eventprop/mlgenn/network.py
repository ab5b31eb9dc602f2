"""mlGeNN's Network / Population / Connection: recorded here, turned into an eventprop Network by a compiler."""
from __future__ import annotations

import functools
import inspect
import math
import weakref

from .errors import unsupported

_ACTIVE: list["Network"] = []


class Network:
    """`Network(default_params)`: {model class: {parameter: value}} applied to models built inside `with network:`
    where the script does not pass that parameter (mlGeNN's network_default_params)."""

    def __init__(self, default_params=None):
        self.default_params = dict(default_params or {})
        self.populations: list[Population] = []
        self.connections: list[Connection] = []

    def __enter__(self):
        _ACTIVE.append(self)
        return self

    def __exit__(self, *exc):
        _ACTIVE.remove(self)
        return False

    @staticmethod
    def get_default_params(model_type) -> dict:
        return dict(_ACTIVE[-1].default_params.get(model_type, {})) if _ACTIVE else {}

    def load(self, keys: tuple = (), serialiser="numpy"):
        """Weights ("g"), delays ("d") and sparse indices ("pre_ind", "post_ind") of every connection from
        `<keys>-<connection>-<var>.npy` (a Checkpoint or save_connectivity of the same network)."""
        from .serialisers import resolve
        ser = resolve(serialiser)
        for c in self.connections:
            state = ser.deserialise_all(tuple(keys) + (c.name,))
            if "g" not in state:
                raise unsupported(f"Network.load: no weights for connection {c.name!r} under keys {tuple(keys)} "
                                  f"in {ser.path}", "save them with a Checkpoint callback or compiled.save")
            c.connectivity.loaded(c, state)


def network_default_params(init):
    """Decorator for model constructors: parameters the caller did not pass come from the active Network's
    default_params for the model's class, else the constructor's own defaults."""
    names = list(inspect.signature(init).parameters)[1:]

    @functools.wraps(init)
    def wrapper(self, *args, **kwargs):
        passed = set(names[:len(args)]) | set(kwargs)
        defaults = {k: v for k, v in Network.get_default_params(type(self)).items() if k not in passed}
        return init(self, *args, **kwargs, **defaults)
    return wrapper


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
        if shape is None:
            raise unsupported("a Population or layer without a shape")
        size = shape if isinstance(shape, int) else int(math.prod(shape))
        self.neuron, self.shape, self.size, self.record_spikes = neuron, shape, size, record_spikes
        self.name = name or f"Pop{len(net.populations)}"
        net.populations.append(self)

    def __str__(self):
        return self.name


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

    def __str__(self):
        return self.name


class SequentialNetwork(Network):
    """mlGeNN's feed-forward network: InputLayer, then Layers each connected from the one before."""

    def __init__(self, default_params=None):
        super().__init__(default_params)
        self.layers: list = []


def _sequential(what: str) -> SequentialNetwork:
    net = _network(what)
    if not isinstance(net, SequentialNetwork):
        raise unsupported(f"{what} outside a `with SequentialNetwork():` block")
    return net


class InputLayer:
    """`population()` gives the layer's Population (mlGeNN keeps weak references)."""

    def __init__(self, neuron, shape=None, record_spikes: bool = False, record_spike_events: bool = False,
                 name: str | None = None):
        net = _sequential("InputLayer")
        self.population = weakref.ref(Population(neuron, shape, record_spikes, record_spike_events, name))
        self.connection = None
        net.layers.append(self)


class Layer:
    """A population connected from the previous layer; `population()` and `connection()` give them."""

    def __init__(self, connectivity, neuron, shape=None, synapse="delta", record_spikes: bool = False,
                 record_spike_events: bool = False, max_delay_steps: int | None = None, name: str | None = None):
        net = _sequential("Layer")
        if not net.layers:
            raise unsupported("a Layer before any InputLayer")
        pop = Population(neuron, shape, record_spikes, record_spike_events, name)
        conn = Connection(net.layers[-1].population(), pop, connectivity, synapse, max_delay_steps=max_delay_steps)
        self.population, self.connection = weakref.ref(pop), weakref.ref(conn)
        net.layers.append(self)


def underlying(obj):
    """The Population (or Connection) behind a layer, as mlGeNN's get_underlying_pop."""
    ref = getattr(obj, "population", None)
    return ref() if callable(ref) else obj
