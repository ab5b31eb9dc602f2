"""Reference architectures: input -> LIF hidden layer(s) (optionally recurrent) -> LI readout, with delays, optionally
in space (delays = distance / velocity between positioned populations)."""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from ..models import (Connection, Dense, Exponential, LeakyIntegrate, LeakyIntegrateFire, Network, Normal,
                      Population, Sparse, SpikeInput, Uniform)


@dataclass(frozen=True)
class Space:
    """Which populations carry positions and how they start. groups: subset of ("input", "hidden", "output");
    init: an Initialiser for every placed population, or a dict population name -> [size, dims] array."""
    dims: int
    velocity: float                      # position units per ms
    groups: tuple[str, ...] = ("input", "hidden", "output")
    init: Any = field(default_factory=lambda: Uniform(0.0, 1.0))
    learn_positions: bool = True
    free_delays: bool = False            # a learned per-synapse offset on top of each spatial delay

    def position(self, group: str, name: str):
        if group not in self.groups:
            return {}
        init = self.init[name] if isinstance(self.init, dict) else self.init
        return dict(position=init, dims=self.dims, learn_position=self.learn_positions)


def delay_steps(dt: float, max_delay_ms: float, delay_init_ms: tuple[float, float]) -> tuple[int, int, int]:
    """(max delay, initial delay low, high) in timesteps, as the architecture uses them."""
    max_delay = int(round(max_delay_ms / dt))
    lo, hi = (min(int(round(x / dt)), max_delay) for x in delay_init_ms)
    return max_delay, lo, hi


def delay_network(n_inputs: int, n_classes: int, dt: float, hidden: list[int], tau_mem: float = 20.0,
                  tau_syn: float = 5.0, v_thresh: float = 1.0, slope_floor: float = 0.3,
                  readout: str = "avg_var_exp_weight",
                  recurrent: bool = False, learn_delays: bool = True, readout_delays: bool = False,
                  max_delay_ms: float = 0.0,
                  delay_init_ms: tuple[float, float] = (0.0, 0.0), w_in: tuple[float, float] = (0.0, 1.0),
                  w_hid: tuple[float, float] = (0.0, 0.1), w_rec: tuple[float, float] = (0.0, 0.02),
                  w_out: tuple[float, float] = (0.0, 0.1), space: Space | None = None,
                  sparse: dict | None = None) -> Network:
    """Feed-forward delays on every input->hidden and hidden->hidden connection (and hidden->output with
    readout_delays); names: in_hid, hid0_hid1, ...,
    hid{k}_rec (recurrent), hid_out; populations input, hidden0, ..., output. Initial weights are Normal(mean, sd)
    from the given pairs. With `space`, every connection whose two ends are placed takes its delays from the
    positions (up to max_delay_ms), the others keep the rules above. `sparse`: connection name -> dict(pre, post,
    weight, delay) arrays in CSR order: that connection is Sparse with exactly those synapses."""
    max_delay, lo, hi = delay_steps(dt, max_delay_ms, delay_init_ms)
    place = (lambda group, name: space.position(group, name)) if space else (lambda group, name: {})

    def connect(src, tgt, weight, name, free_delays: bool):
        given = (sparse or {}).get(name)
        if src.position is not None and tgt.position is not None:
            conn = Sparse(given["pre"], given["post"], given["weight"]) if given else Dense(weight=Normal(*weight))
            Connection(src, tgt, conn, Exponential(tau_syn), max_delay_steps=max_delay,
                       learn_delays=space.free_delays, delay_from_positions=space.velocity, name=name)
        elif free_delays:
            conn = Sparse(given["pre"], given["post"], given["weight"], given["delay"]) if given else \
                Dense(weight=Normal(*weight), delay=Uniform(lo, hi))
            Connection(src, tgt, conn, Exponential(tau_syn), max_delay_steps=max_delay,
                       learn_delays=learn_delays and max_delay > 0, name=name)
        else:
            conn = Sparse(given["pre"], given["post"], given["weight"]) if given else Dense(weight=Normal(*weight))
            Connection(src, tgt, conn, Exponential(tau_syn), name=name)

    net = Network(dt=dt)
    with net:
        src = Population(SpikeInput(), n_inputs, name="input", **place("input", "input"))
        for k, size in enumerate(hidden):
            lif = LeakyIntegrateFire(v_thresh=v_thresh, tau_mem=tau_mem, slope_floor=slope_floor)
            pop = Population(lif, size, name=f"hidden{k}", **place("hidden", f"hidden{k}"))
            connect(src, pop, w_in if k == 0 else w_hid, "in_hid" if k == 0 else f"hid{k - 1}_hid{k}", True)
            if recurrent:
                connect(pop, pop, w_rec, f"hid{k}_rec", False)
            src = pop
        out = Population(LeakyIntegrate(tau_mem=tau_mem, readout=readout), n_classes, name="output",
                         **place("output", "output"))
        connect(src, out, w_out, "hid_out", readout_delays)
    return net
