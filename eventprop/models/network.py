"""Network / Population / Connection: the mlGeNN-style description of a spiking network.

A Network is a context manager: Populations and Connections created inside it register themselves.
`Network.instantiate(seed)` draws every initialiser and returns the concrete parameter dictionary
(`<conn>.weight`, `<conn>.delay`, `<conn>.pre_ind/post_ind` for sparse, `<pop>.position`).
"""
from __future__ import annotations

import math
from typing import Any

import numpy as np

from ..errors import ModelError
from .connectivity import Dense
from .initialisers import Initialiser, materialise, value_bounds
from .neurons import LeakyIntegrate, NeuronModel, SpikeInput
from .synapses import Exponential

_ACTIVE: list["Network"] = []
POSITION_EPS = 1e-6  # d = sqrt(eps + |p_post - p_pre|^2) / velocity keeps the gradient finite at distance 0


def _current_network(what: str) -> "Network":
    if not _ACTIVE:
        raise ModelError(f"{what} must be created inside a `with Network(...):` block")
    return _ACTIVE[-1]


class Network:
    """A spiking network; `dt` is the simulation step in ms."""

    def __init__(self, dt: float = 1.0):
        if not (isinstance(dt, (int, float)) and dt > 0 and math.isfinite(dt)):
            raise ModelError(f"Network: dt must be a positive finite number of ms, got {dt!r}")
        self.dt = float(dt)
        self.populations: list[Population] = []
        self.connections: list[Connection] = []

    def __enter__(self):
        _ACTIVE.append(self)
        return self

    def __exit__(self, *exc):
        _ACTIVE.remove(self)
        return False

    def _register_name(self, obj, name: str | None, prefix: str) -> str:
        taken = {p.name for p in self.populations} | {c.name for c in self.connections}
        if name is None:
            i = len(self.populations) + len(self.connections)
            while f"{prefix}{i}" in taken:
                i += 1
            name = f"{prefix}{i}"
        if not isinstance(name, str) or not name.isidentifier():
            raise ModelError(f"{type(obj).__name__}: name must be a Python identifier, got {name!r}")
        if name in taken:
            raise ModelError(f"{type(obj).__name__} {name!r}: name already used in this network")
        return name

    # ---- queries -------------------------------------------------------------------------------------------
    def population(self, name: str) -> "Population":
        for p in self.populations:
            if p.name == name:
                return p
        raise KeyError(f"no population named {name!r}; have {[p.name for p in self.populations]}")

    def connection(self, name: str) -> "Connection":
        for c in self.connections:
            if c.name == name:
                return c
        raise KeyError(f"no connection named {name!r}; have {[c.name for c in self.connections]}")

    @property
    def input_populations(self) -> list["Population"]:
        return [p for p in self.populations if isinstance(p.model, SpikeInput)]

    @property
    def output_populations(self) -> list["Population"]:
        return [p for p in self.populations if isinstance(p.model, LeakyIntegrate)]

    @property
    def spiking_outputs(self) -> list["Population"]:
        """Spiking populations without outgoing connections: the readout (by spike counts) of a network that has no
        LeakyIntegrate population."""
        return [p for p in self.populations if not isinstance(p.model, (SpikeInput, LeakyIntegrate))
                and not any(c.source is p for c in self.connections)]

    def validate(self) -> None:
        """Whole-network checks (per-object checks run at construction)."""
        if not self.input_populations:
            raise ModelError("Network: needs at least one SpikeInput population")
        if not self.output_populations and not self.spiking_outputs:
            raise ModelError("Network: needs a readout: a LeakyIntegrate population, or a spiking population "
                             "without outgoing connections (read by its spike counts)")
        for pop in self.populations:
            if not isinstance(pop.model, SpikeInput) and not any(c.target is pop for c in self.connections):
                raise ModelError(f"Population {pop.name!r}: receives no connection")

    # ---- parameters ----------------------------------------------------------------------------------------
    def instantiate(self, seed: int = 0) -> dict[str, np.ndarray]:
        """Draw all initialisers (deterministically for `seed`) and return the parameter dictionary."""
        self.validate()
        rng = np.random.default_rng(seed)
        params: dict[str, np.ndarray] = {}
        for pop in self.populations:
            if pop.position is not None:
                params[f"{pop.name}.position"] = materialise(pop.position, (pop.size, pop.dims), rng,
                                                             f"Population {pop.name!r} position")
        for c in self.connections:
            params.update(c.instantiate(rng))
        return params


class Population:
    """`size` neurons of one `model`; optional `position` ([size, dims] array or Initialiser) for spatial nets."""

    def __init__(self, model: NeuronModel, size: int, name: str | None = None, position: Any = None,
                 dims: int | None = None, learn_position: bool = True):
        net = _current_network("Population")
        if not isinstance(model, NeuronModel):
            raise ModelError(f"Population {name!r}: model must be a neuron model, got {type(model).__name__}")
        if isinstance(size, bool) or not isinstance(size, (int, np.integer)) or size <= 0:
            raise ModelError(f"Population {name!r}: size must be a positive integer, got {size!r}")
        if position is not None:
            if dims is None:
                arr = None if isinstance(position, Initialiser) else np.asarray(position)
                if arr is None or arr.ndim != 2:
                    raise ModelError(f"Population {name!r}: give dims= with a position initialiser "
                                     f"(or a [size, dims] array)")
                dims = arr.shape[1]
            if not 1 <= dims <= 4:
                raise ModelError(f"Population {name!r}: dims must be 1..4, got {dims}")
        elif dims is not None:
            raise ModelError(f"Population {name!r}: dims given without position")
        self.model, self.size, self.position, self.dims = model, int(size), position, dims
        self.learn_position = bool(learn_position) and position is not None
        self.name = net._register_name(self, name, "pop")
        self.network = net
        net.populations.append(self)

    def __repr__(self):
        return f"Population({self.name!r}, {type(self.model).__name__}, {self.size})"


class Connection:
    """Synapses from `source` to `target`.

    max_delay_steps: largest delay (timesteps) the ring buffers hold; delays are clamped to [0, max_delay_steps].
    learn_delays: delays become a trainable parameter `<name>.delay`; on a spatial connection that parameter is a
        free per-synapse offset (initially 0) added to the spatial delay ("positions and free delays").
    delay_from_positions: conduction velocity (position units per ms); the delay of each synapse is then
        sqrt(eps + |p_target - p_source|^2) / velocity / dt timesteps, and both populations need positions.
    """

    def __init__(self, source: Population, target: Population, connectivity, synapse: Exponential | None = None,
                 max_delay_steps: int = 0, learn_delays: bool = False, delay_from_positions: float | None = None,
                 name: str | None = None):
        net = _current_network("Connection")
        label = f"Connection {name!r}" if name else "Connection"
        for end, pop in (("source", source), ("target", target)):
            if not isinstance(pop, Population) or pop.network is not net:
                raise ModelError(f"{label}: {end} must be a Population of this network, got {pop!r}")
        if isinstance(target.model, SpikeInput):
            raise ModelError(f"{label}: target {target.name!r} is a SpikeInput population and cannot receive synapses")
        if isinstance(source.model, LeakyIntegrate):
            raise ModelError(f"{label}: source {source.name!r} is a non-spiking LeakyIntegrate population")
        synapse = Exponential() if synapse is None else synapse
        if not isinstance(synapse, Exponential):
            raise ModelError(f"{label}: synapse must be Exponential, got {type(synapse).__name__}")
        if isinstance(max_delay_steps, bool) or not isinstance(max_delay_steps, (int, np.integer)) \
                or max_delay_steps < 0:
            raise ModelError(f"{label}: max_delay_steps must be an integer >= 0, got {max_delay_steps!r}")
        if delay_from_positions is not None:
            if not (isinstance(delay_from_positions, (int, float)) and delay_from_positions > 0):
                raise ModelError(f"{label}: delay_from_positions (velocity) must be > 0, got {delay_from_positions!r}")
            missing = [p.name for p in (source, target) if p.position is None]
            if missing:
                raise ModelError(f"{label}: delay_from_positions needs positions on both populations; "
                                 f"{missing} ha{'s' if len(missing) == 1 else 've'} none")
            if source.dims != target.dims:
                raise ModelError(f"{label}: position dims differ ({source.name}: {source.dims}, "
                                 f"{target.name}: {target.dims})")
        else:
            bounds = value_bounds(connectivity.delay)
            if bounds is not None and (bounds[0] < 0 or bounds[1] > max_delay_steps):
                raise ModelError(f"{label}: delay init range [{bounds[0]}, {bounds[1]}] lies outside "
                                 f"[0, max_delay_steps={max_delay_steps}]")
        if isinstance(connectivity, Dense):
            for field in ("weight", "delay"):
                value = getattr(connectivity, field)
                if not isinstance(value, Initialiser) and np.ndim(value) not in (0,) and \
                        np.shape(value) != (source.size, target.size):
                    raise ModelError(f"{label}: dense {field} must be a scalar, an initialiser or an array of shape "
                                     f"[N_pre, N_post] = {(source.size, target.size)}, got {np.shape(value)}")
        self.source, self.target, self.connectivity, self.synapse = source, target, connectivity, synapse
        self.max_delay_steps = int(max_delay_steps)
        self.learn_delays = bool(learn_delays)
        self.velocity = None if delay_from_positions is None else float(delay_from_positions)
        self.name = net._register_name(self, name, "conn")
        self.network = net
        net.connections.append(self)

    @property
    def sparse(self) -> bool:
        return bool(self.connectivity.sparse)

    @property
    def recurrent(self) -> bool:
        return self.source is self.target

    @property
    def spatial(self) -> bool:
        return self.velocity is not None

    @property
    def has_delays(self) -> bool:
        """True when any synapse can have a non-zero delay."""
        return self.max_delay_steps > 0

    # The delay rules, in one place for every consumer (float engine, quantiser, connection cost, analysis). They take
    # numpy arrays or torch tensors alike, so positions get their gradients through them under autograd.
    def distances(self, source_pos, target_pos, pre_ind=None, post_ind=None):
        """sqrt(eps + |p_target - p_source|^2) per synapse, in the parameter layout ([N_pre, N_post], or [S] for
        sparse connections with pre_ind / post_ind)."""
        if self.sparse:
            diff = target_pos[post_ind] - source_pos[pre_ind]
        else:
            diff = target_pos[None, :, :] - source_pos[:, None, :]
        return (POSITION_EPS + (diff ** 2).sum(-1)) ** 0.5

    def spatial_delays(self, source_pos, target_pos, pre_ind=None, post_ind=None):
        """Delays (timesteps) a spatial connection's geometry gives: distance / (velocity dt)."""
        return self.distances(source_pos, target_pos, pre_ind, post_ind) / (self.velocity * self.network.dt)

    def delays(self, param):
        """Real-valued delays (timesteps) in the parameter layout; `param(key)` returns a parameter by its name
        (numpy or torch). Free delays: `<name>.delay`; spatial: from positions, plus the free offset if learned."""
        if not self.spatial:
            return param(f"{self.name}.delay")
        pre, post = (param(f"{self.name}.pre_ind"), param(f"{self.name}.post_ind")) if self.sparse else (None, None)
        d = self.spatial_delays(param(f"{self.source.name}.position"), param(f"{self.target.name}.position"), pre, post)
        return d + param(f"{self.name}.delay") if self.learn_delays else d

    def rounded_delays(self, delays):
        """The integer step delays the forward pass uses: floor(d + 0.5) clamped to [0, max_delay_steps]."""
        x = delays + 0.5                                 # the one new array; the rest works in place
        if hasattr(x, "floor_"):
            return x.floor_().clamp_(0, self.max_delay_steps)
        return np.clip(np.floor(x, out=x), 0, self.max_delay_steps, out=x)

    def synapse_list(self, params: dict) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """(pre, post, weight) per synapse, in the parameter layout's order (dense: pre-major; sparse: CSR), from a
        parameter dictionary: the per-synapse view the quantiser, NIR export and the analysis read."""
        w = np.asarray(params[f"{self.name}.weight"], dtype=np.float64).ravel()
        if self.sparse:
            return (np.asarray(params[f"{self.name}.pre_ind"], np.int64),
                    np.asarray(params[f"{self.name}.post_ind"], np.int64), w)
        pre, post = np.meshgrid(np.arange(self.source.size), np.arange(self.target.size), indexing="ij")
        return pre.ravel(), post.ravel(), w

    def instantiate(self, rng: np.random.Generator) -> dict[str, np.ndarray]:
        what = f"Connection {self.name!r}"
        n_pre, n_post = self.source.size, self.target.size
        out: dict[str, np.ndarray] = {}
        if isinstance(self.connectivity, Dense):
            shape = (n_pre, n_post)
        else:
            pre, post = self.connectivity.indices(n_pre, n_post, rng, what)
            order = np.lexsort((post, pre))  # CSR order: by pre, then post
            out[f"{self.name}.pre_ind"], out[f"{self.name}.post_ind"] = pre[order], post[order]
            shape = (pre.size,)
        w = materialise(self.connectivity.weight, shape, rng, f"{what} weight")
        if not isinstance(self.connectivity, Dense) and np.ndim(self.connectivity.weight) == 1:
            w = w[order]
        out[f"{self.name}.weight"] = w
        if not self.spatial:
            d = materialise(self.connectivity.delay, shape, rng, f"{what} delay")
            if not isinstance(self.connectivity, Dense) and np.ndim(self.connectivity.delay) == 1:
                d = d[order]
            if d.size and (d.min() < 0 or d.max() > self.max_delay_steps or not np.all(np.isfinite(d))):
                raise ModelError(f"{what}: delays drawn in [{d.min():.3g}, {d.max():.3g}] lie outside "
                                 f"[0, max_delay_steps={self.max_delay_steps}]")
            out[f"{self.name}.delay"] = d
        elif self.learn_delays:
            out[f"{self.name}.delay"] = np.zeros(shape)   # free offset on top of the spatial delay
        return out

    def __repr__(self):
        return f"Connection({self.name!r}, {self.source.name} -> {self.target.name})"
