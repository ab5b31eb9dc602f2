"""Reference architectures: input -> LIF hidden layer(s) (optionally recurrent) -> LI readout, with delays."""
from __future__ import annotations

from ..models import (Connection, Dense, Exponential, LeakyIntegrate, LeakyIntegrateFire, Network, Normal,
                      Population, SpikeInput, Uniform)


def delay_network(n_inputs: int, n_classes: int, dt: float, hidden: list[int], tau_mem: float = 20.0,
                  tau_syn: float = 5.0, v_thresh: float = 1.0, slope_floor: float = 0.3,
                  readout: str = "avg_var_exp_weight",
                  recurrent: bool = False, learn_delays: bool = True, max_delay_ms: float = 0.0,
                  delay_init_ms: tuple[float, float] = (0.0, 0.0), w_in: tuple[float, float] = (0.0, 1.0),
                  w_hid: tuple[float, float] = (0.0, 0.1), w_rec: tuple[float, float] = (0.0, 0.02),
                  w_out: tuple[float, float] = (0.0, 0.1)) -> Network:
    """Feed-forward delays on every input->hidden and hidden->hidden connection; names: in_hid, hid0_hid1, ...,
    hid{k}_rec (recurrent), hid_out. Initial weights are Normal(mean, sd) from the given pairs."""
    max_delay = int(round(max_delay_ms / dt))
    lo, hi = (min(int(round(x / dt)), max_delay) for x in delay_init_ms)
    net = Network(dt=dt)
    with net:
        src = Population(SpikeInput(), n_inputs, name="input")
        for k, size in enumerate(hidden):
            lif = LeakyIntegrateFire(v_thresh=v_thresh, tau_mem=tau_mem, slope_floor=slope_floor)
            pop = Population(lif, size, name=f"hidden{k}")
            w = w_in if k == 0 else w_hid
            Connection(src, pop, Dense(weight=Normal(*w), delay=Uniform(lo, hi)), Exponential(tau_syn),
                       max_delay_steps=max_delay, learn_delays=learn_delays and max_delay > 0,
                       name="in_hid" if k == 0 else f"hid{k - 1}_hid{k}")
            if recurrent:
                Connection(pop, pop, Dense(weight=Normal(*w_rec)), Exponential(tau_syn), name=f"hid{k}_rec")
            src = pop
        out = Population(LeakyIntegrate(tau_mem=tau_mem, readout=readout), n_classes, name="output")
        Connection(src, out, Dense(weight=Normal(*w_out)), Exponential(tau_syn), name="hid_out")
    return net
