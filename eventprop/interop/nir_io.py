"""NIR (Neuromorphic Intermediate Representation) out and in.

Mapping (times in seconds, NIR's convention; the graph's metadata keeps dt):
  SpikeInput -> Input; LeakyIntegrateFire -> CubaLIF(tau_syn, tau_mem, r = 1, v_leak = 0, v_threshold, v_reset = 0,
  w_in = tau_syn); LeakyIntegrate -> CubaLI(tau_syn, tau_mem, r = 1, v_leak = 0, w_in = tau_syn) followed by Output.
  w_in = tau_syn makes a spike through weight w raise I by w, as in the continuous-time limit of the engine (I jumps
  by w, tau_mem dV/dt = -V + I). A connection without delays is one Linear [N_post, N_pre]. NIR's Delay delays whole
  channels, so per-synapse delays are expanded: Linear F (one-hot, one channel per distinct (presynaptic neuron,
  delay) pair) -> Delay (that delay, seconds) -> Linear W [N_post, channels]; its size is reported. Delays are the
  integer step delays the forward pass uses (Connection.rounded_delays) times dt.

Every graph carries CONVENTIONS (metadata eventprop.conventions): one step of latency per connection beyond its
Delay, exact exponential integration, impulse spikes, the >= threshold test; a consumer that follows them runs the
graph as eventprop does.

from_nir reads those patterns and also pop -> Delay(per source) -> Linear -> pop and pop -> Linear -> Delay(per
target) -> pop; anything else is refused naming the node.
"""
from __future__ import annotations

import math
from pathlib import Path

import nir
import numpy as np

from ..errors import ModelError, RunError
from ..files import write_via
from . import nir_consumers
from ..models import (Connection, Dense, Exponential, LeakyIntegrate, LeakyIntegrateFire, Network, Population,
                      Sparse, SpikeInput)

MS = 1e-3


def _pop_node(pop, tau_syn_ms: float):
    m, n = pop.model, pop.size
    ones = np.ones(n)
    if isinstance(m, SpikeInput):
        return nir.Input(input_type={"input": np.array([n])})
    ts, tm = tau_syn_ms * MS * ones, m.tau_mem * MS * ones
    meta = {"eventprop": {"population": pop.name}}
    if type(m) is LeakyIntegrateFire:      # not its subclasses (RefractoryLIF: NIR's CubaLIF has no refractoriness)
        return nir.CubaLIF(tau_syn=ts, tau_mem=tm, r=ones, v_leak=0 * ones, v_threshold=m.v_thresh * ones,
                           v_reset=0 * ones, w_in=ts.copy(), metadata=meta)
    if isinstance(m, LeakyIntegrate):
        meta["eventprop"]["readout"] = m.readout
        return nir.CubaLI(tau_syn=ts, tau_mem=tm, r=ones, v_leak=0 * ones, w_in=ts.copy(), metadata=meta)
    raise ModelError(f"Population {pop.name!r}: {type(m).__name__} has no NIR mapping")


def to_nir(net: Network, params: dict, consumer: str | None = None) -> tuple[nir.NIRGraph, dict]:
    """The network with `params` as a NIR graph, and the expansion sizes per connection. `consumer` ("snntorch",
    "norse"): written for that consumer's importer instead (nir_consumers; layered networks without delays)."""
    nodes, edges, sizes, tau_syn = {}, [], {}, {}
    delays = {c.name: np.asarray(c.rounded_delays(c.delays(lambda k: np.asarray(params[k]))), dtype=np.int64).ravel()
              for c in net.connections}
    depth = nir_consumers.layer_depths(net, consumer, delays) if consumer else None
    for pop in net.populations:
        incoming = {c.synapse.tau for c in net.connections if c.target is pop}
        if len(incoming) > 1:
            raise ModelError(f"Population {pop.name!r}: NIR's CubaLIF has one synaptic time constant, incoming "
                             f"connections have {sorted(incoming)}")
        tau_syn[pop.name] = next(iter(incoming), 0.0)
        nodes[pop.name] = nir_consumers.population_node(consumer, pop, tau_syn[pop.name], net.dt) if consumer \
            else _pop_node(pop, tau_syn[pop.name])
        if isinstance(pop.model, LeakyIntegrate):
            nodes[f"{pop.name}_out"] = nir.Output(output_type={"output": np.array([pop.size])})
            edges.append((pop.name, f"{pop.name}_out"))
    for c in net.connections:
        pre, post, w = c.synapse_list(params)
        if consumer:
            w = w * nir_consumers.weight_scale(consumer, c.target, tau_syn[c.target.name], net.dt)
        d = delays[c.name]
        meta = {"connection": c.name, "sparse": c.sparse, "max_delay_steps": c.max_delay_steps,
                "learn_delays": c.learn_delays}
        if not np.any(d):
            mat = np.zeros((c.target.size, c.source.size))
            mat[post, pre] = w
            nodes[c.name] = nir.Linear(weight=mat, metadata={"eventprop": meta})
            edges += [(c.source.name, c.name), (c.name, c.target.name)]
            sizes[c.name] = {"nodes": 1, "channels": 0, "entries": int(mat.size)}
            continue
        keys, channel = np.unique(np.stack([pre, d]), axis=1, return_inverse=True)   # (pre, delay) pairs
        channel = channel.ravel()
        fan = np.zeros((keys.shape[1], c.source.size))
        fan[np.arange(keys.shape[1]), keys[0]] = 1.0
        mat = np.zeros((c.target.size, keys.shape[1]))
        mat[post, channel] = w
        nodes[f"{c.name}_fanout"] = nir.Linear(weight=fan, metadata={"eventprop": {**meta, "role": "fanout"}})
        nodes[f"{c.name}_delay"] = nir.Delay(delay=keys[1] * net.dt * MS, metadata={"eventprop": meta})
        nodes[c.name] = nir.Linear(weight=mat, metadata={"eventprop": {**meta, "role": "weights"}})
        edges += [(c.source.name, f"{c.name}_fanout"), (f"{c.name}_fanout", f"{c.name}_delay"),
                  (f"{c.name}_delay", c.name), (c.name, c.target.name)]
        sizes[c.name] = {"nodes": 3, "channels": int(keys.shape[1]), "entries": int(fan.size + mat.size)}
    conventions = nir_consumers.conventions(consumer, depth, net.dt) if consumer else CONVENTIONS
    graph = nir.NIRGraph(nodes=nodes, edges=edges, metadata={"eventprop": {"dt_ms": net.dt, "time_unit": "s",
                                                                       "conventions": conventions}})
    return graph, sizes


def export_run(run_dir: Path, path: Path, consumer: str | None = None) -> dict:
    """Write RUN's best network to `path` (.nir, HDF5), for `consumer` if given; returns the expansion sizes."""
    from ..pipeline.training.runs import load_trained
    if not Path(path).parent.is_dir():
        raise RunError(f"cannot write {path}: folder {Path(path).parent} does not exist")
    run = load_trained(run_dir)
    graph, sizes = to_nir(run.net, run.params, consumer)
    write_via(Path(path), lambda tmp: nir.write(str(tmp), graph))
    return sizes


# ---- import --------------------------------------------------------------------------------------------------------
MAX_DELAY_STEPS = 1 << 16     # longer delays than this are refused on import (ring buffers grow with them)


def _finite(node_name: str, field: str, value) -> np.ndarray:
    try:
        arr = np.asarray(value, dtype=np.float64)
    except (TypeError, ValueError):
        raise ModelError(f"NIR node {node_name!r}: {field} is not numeric") from None
    if not np.all(np.isfinite(arr)):
        raise ModelError(f"NIR node {node_name!r}: {field} holds non-finite values (NaN or inf)")
    return arr


def _uniform(node_name: str, field: str, value) -> float:
    arr = _finite(node_name, field, value).ravel()
    if arr.size == 0 or np.ptp(arr) > 1e-12 * max(1.0, abs(arr[0])):
        raise ModelError(f"NIR node {node_name!r}: {field} must be the same for every neuron (one eventprop "
                         f"population), got values in [{arr.min():g}, {arr.max():g}]")
    return float(arr[0])


CONVENTIONS = {   # what a consumer must do to run an exported graph as eventprop does (written into every graph)
    "latency": "a spike at step t through a connection with Delay d (steps) arrives at step t + 1 + d: every "
               "connection adds one step beyond its Delay node",
    "integration": "exact exponential per step: I <- exp(-dt/tau_syn) I + arrivals; V <- exp(-dt/tau_mem) V + "
                   "(1 - exp(-dt/tau_mem)) * (tau_syn/dt) (1 - exp(-dt/tau_syn)) I (the step's mean current)",
    "spikes": "a spike is an impulse: I jumps by w once, not an input of amplitude 1 held for one step",
    "threshold": "a neuron spikes when V >= v_threshold (NIR's text says >), then V is set to v_reset = 0",
}


READINGS = ("eventprop", "snntorch", "norse")
DEFAULT_DT_MS = {"snntorch": nir_consumers.SNNTORCH_DT / MS, "norse": 1.0}   # the importers' own time steps
INSTANT_SYNAPSE = 1e-3      # tau_syn / dt of a population without a synaptic current: exp(-1000) = 0, the current
                            # acts within its step only (a LIF's input jumps V directly)


def _reading(graph, reading: str | None) -> str:
    if reading is None:
        return graph.metadata.get("eventprop", {}).get("conventions", {}).get("consumer", "eventprop")
    if reading not in READINGS:
        raise ModelError(f"from_nir: reading must be one of {READINGS}, got {reading!r}")
    return reading


def _per_neuron(name: str, field: str, value, size: int) -> np.ndarray:
    arr = _finite(name, field, value).ravel()
    if arr.size not in (1, size):
        raise ModelError(f"NIR node {name!r}: {field} has {arr.size} values for {size} neurons")
    return np.broadcast_to(arr, (size,)).astype(np.float64)


def _population(name: str, node, dt: float, reading: str, size: int):
    """(neuron model, size, tau_syn ms, gain [size]) of a NIR population node read the `reading` way; the weights
    into it are multiplied by gain (eventprop's discrete model then runs the node as its reader does)."""
    if isinstance(node, nir.Input):
        return SpikeInput(), int(np.prod(node.input_type["input"])), None, None
    if not isinstance(node, (nir.CubaLIF, nir.CubaLI, nir.LIF)):
        return None
    current = not isinstance(node, nir.LIF)
    tau_mem_s = _uniform(name, "tau_mem" if current else "tau", node.tau_mem if current else node.tau)
    for field in ("v_leak", "v_reset"):
        value = getattr(node, field, None)
        if value is not None and np.any(_finite(name, field, value) != 0):
            raise ModelError(f"NIR node {name!r}: {field} = {np.ravel(value)[0]:g} found; eventprop's neurons have "
                             f"{field} = 0")
    r = _per_neuron(name, "r", node.r, size)
    w_in = _per_neuron(name, "w_in", node.w_in, size) if current else np.ones(size)
    tau_syn_s = _uniform(name, "tau_syn", node.tau_syn) if current else None
    if reading == "eventprop":        # NIR's equations with spikes as impulses: I jumps by w_in w / tau_syn
        if not current:
            raise ModelError(f"NIR node {name!r}: LIF without eventprop's conventions; pass reading='snntorch' or "
                             f"'norse' (the importer whose discrete reading the graph was written for)")
        tau_syn_ms, tau_mem_ms = tau_syn_s / MS, tau_mem_s / MS
        gain = r * w_in / tau_syn_s   # eventprop: I jumps by w, tau_mem dV/dt = -V + I
    else:                             # the importer's forward-Euler step (nir_consumers)
        a_syn, a_mem, drive = nir_consumers.read_step(reading, name, current, tau_syn_s, tau_mem_s, r, w_in, dt)
        tau_syn_ms = (-dt / math.log(a_syn)) if a_syn > 0 else INSTANT_SYNAPSE * dt
        tau_mem_ms = -dt / math.log(a_mem)
        # eventprop's step: U = a_mem V + (1 - a_mem) iscale inSyn, iscale = (tau_syn / dt)(1 - exp(-dt / tau_syn))
        gain = drive / ((1.0 - a_mem) * tau_syn_ms / dt * (1.0 - math.exp(-dt / tau_syn_ms)))
    if isinstance(node, nir.CubaLI) or not np.all(np.isfinite(np.asarray(node.v_threshold, dtype=float))):
        readout = node.metadata.get("eventprop", {}).get("readout", "avg_var_exp_weight")   # or a never-firing LIF
        return LeakyIntegrate(tau_mem=tau_mem_ms, readout=readout), size, tau_syn_ms, gain
    return LeakyIntegrateFire(v_thresh=_uniform(name, "v_threshold", node.v_threshold), tau_mem=tau_mem_ms), size, \
        tau_syn_ms, gain


def _linear(name: str, node) -> np.ndarray:
    if isinstance(node, nir.Affine) and np.any(np.asarray(node.bias) != 0):
        raise ModelError(f"NIR node {name!r}: Affine with a non-zero bias has no eventprop mapping")
    return _finite(name, "weight", node.weight)


def _delay_steps(name: str, node, dt: float) -> np.ndarray:
    seconds = _finite(name, "delay", node.delay)
    if np.any(seconds < 0):
        raise ModelError(f"NIR node {name!r}: negative delay ({seconds.min():g} s)")
    steps = np.floor(seconds / MS / dt + 0.5)
    if steps.max(initial=0) > MAX_DELAY_STEPS:
        raise ModelError(f"NIR node {name!r}: a delay of {seconds.max():g} s is {steps.max():.3g} steps at dt = "
                         f"{dt:g} ms; eventprop takes delays up to {MAX_DELAY_STEPS} steps")
    return steps


def _synapses(chain: list[str], graph, n_pre: int, n_post: int, dt: float):
    """(W [N_pre, N_post], D steps [N_pre, N_post]) of a chain of Linear / Affine / Delay nodes."""
    kinds = ["delay" if isinstance(graph.nodes[n], nir.Delay) else "linear" for n in chain]
    steps = lambda n: _delay_steps(n, graph.nodes[n], dt)  # noqa: E731
    if kinds == ["linear"]:
        w = _linear(chain[0], graph.nodes[chain[0]]).T
        return w, np.zeros_like(w)
    if kinds == ["delay", "linear"]:
        w = _linear(chain[1], graph.nodes[chain[1]]).T
        return w, np.repeat(steps(chain[0])[:, None], n_post, 1)
    if kinds == ["linear", "delay"]:
        w = _linear(chain[0], graph.nodes[chain[0]]).T
        return w, np.repeat(steps(chain[1])[None, :], n_pre, 0)
    if kinds == ["linear", "delay", "linear"]:
        fan, d, mat = _linear(chain[0], graph.nodes[chain[0]]), steps(chain[1]), _linear(chain[2], graph.nodes[chain[2]])
        if not (np.all((fan == 0) | (fan == 1)) and np.all(fan.sum(1) == 1)):
            raise ModelError(f"NIR node {chain[0]!r}: a Linear -> Delay -> Linear chain needs a one-hot fan-out "
                             f"(each channel copies one presynaptic neuron)")
        source = fan.argmax(1)
        w, dd, seen = np.zeros((n_pre, n_post)), np.zeros((n_pre, n_post)), np.zeros((n_pre, n_post), bool)
        for ch in range(fan.shape[0]):
            nz = np.flatnonzero(mat[:, ch])
            if np.any(seen[source[ch], nz]):
                raise ModelError(f"NIR chain {' -> '.join(chain)}: two delayed paths join the same pair of neurons")
            w[source[ch], nz], dd[source[ch], nz], seen[source[ch], nz] = mat[nz, ch], d[ch], True
        return w, dd
    raise ModelError(f"NIR chain {' -> '.join(chain)}: eventprop reads Linear, Delay -> Linear, Linear -> Delay and "
                     f"Linear -> Delay -> Linear between two populations")


def _identifier(name: str) -> str:
    out = "".join(ch if ch.isalnum() or ch == "_" else "_" for ch in name)
    return out if out.isidentifier() else f"n_{out}"


def _size(name: str, node, graph) -> int:
    """Neurons of a population node: its parameter arrays, or (scalar parameters, as snnTorch writes them) the rows
    of the Linear that feeds it."""
    sizes = {np.asarray(v).size for k, v in vars(node).items() if isinstance(v, (np.ndarray, list)) and k != "metadata"}
    if max(sizes, default=1) > 1:
        return max(sizes)
    rows = {np.shape(graph.nodes[a].weight)[0] for a, b in graph.edges
            if b == name and a in graph.nodes and hasattr(graph.nodes[a], "weight")}
    return rows.pop() if len(rows) == 1 else 1


def from_nir(graph, dt: float | None = None, reading: str | None = None) -> tuple[Network, dict]:
    """A NIR graph (or a .nir path) as an eventprop Network and its parameter dictionary (Network.instantiate's
    layout). dt (ms): from the graph's eventprop metadata when present. reading: how the neuron parameters are
    meant - "eventprop" (NIR's equations, spikes as impulses; graphs eventprop wrote), "snntorch" or "norse" (the
    discrete step that importer runs; for graphs those libraries wrote, or eventprop wrote --for them). Default:
    the consumer the graph's metadata names, else "eventprop"."""
    if isinstance(graph, (str, Path)):
        if not Path(graph).is_file():
            raise ModelError(f"from_nir: {graph} does not exist")
        try:
            graph = nir.read(str(graph))
        except Exception as e:  # h5py and nir raise many types for foreign or damaged files
            raise ModelError(f"from_nir: cannot read {graph} as a NIR graph ({type(e).__name__}: {e})") from None
    reading = _reading(graph, reading)
    dt = dt or graph.metadata.get("eventprop", {}).get("dt_ms") or DEFAULT_DT_MS.get(reading)
    if not dt or not np.isfinite(dt) or dt <= 0:
        raise ModelError("from_nir: the graph does not say its time step; pass dt= (ms, > 0)")
    succ: dict[str, list[str]] = {}
    for a, b in graph.edges:
        missing = [n for n in (a, b) if n not in graph.nodes]
        if missing:
            raise ModelError(f"NIR edge {a!r} -> {b!r}: node {missing[0]!r} is not in the graph")
        succ.setdefault(a, []).append(b)
    pops = {}
    for name, node in graph.nodes.items():
        spec = _population(name, node, dt, reading, _size(name, node, graph))
        if spec is None and not isinstance(node, (nir.Linear, nir.Affine, nir.Delay, nir.Output)):
            raise ModelError(f"NIR node {name!r}: {type(node).__name__} has no eventprop mapping")
        if spec is not None:
            pops[name] = spec
    net, params = Network(dt=dt), {}
    with net:
        made = {n: Population(m, size, name=_identifier(n)) for n, (m, size, _, _) in pops.items()}
        for src in pops:
            for first in succ.get(src, []):
                if isinstance(graph.nodes[first], nir.Output):
                    continue
                chain, node = [], first
                while node not in pops:
                    chain.append(node)
                    nxt = succ.get(node, [])
                    if len(nxt) != 1:
                        raise ModelError(f"NIR node {node!r}: expected one successor on the way to a population, "
                                         f"found {nxt}")
                    node = nxt[0]
                tgt = node
                w, d = _synapses(chain, graph, pops[src][1], pops[tgt][1], dt)
                w = w * pops[tgt][3][None, :]
                meta = graph.nodes[chain[-1] if isinstance(graph.nodes[chain[-1]], nir.Linear) else chain[0]] \
                    .metadata.get("eventprop", {})
                name = _identifier(meta.get("connection", "_".join(chain)))
                max_delay = int(max(meta.get("max_delay_steps", 0), d.max(initial=0)))
                if meta.get("sparse"):
                    pre, post = np.nonzero(w)
                    conn = Sparse(pre, post, w[pre, post], d[pre, post])
                    params[f"{name}.pre_ind"], params[f"{name}.post_ind"] = pre, post
                    params[f"{name}.weight"], params[f"{name}.delay"] = w[pre, post], d[pre, post]
                else:
                    conn = Dense(weight=w, delay=d)
                    params[f"{name}.weight"], params[f"{name}.delay"] = w, d
                Connection(made[src], made[tgt], conn, Exponential(pops[tgt][2]), max_delay_steps=max_delay,
                           learn_delays=bool(meta.get("learn_delays", False)) and max_delay > 0, name=name)
    return net, params
