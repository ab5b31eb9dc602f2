"""Small random networks used across the tests."""
from __future__ import annotations

import numpy as np

from eventprop.models import (Connection, Constant, Dense, Exponential, FixedProbability, LeakyIntegrate,
                              LeakyIntegrateFire, Network, Normal, Population, RefractoryLIF, SpikeInput, Uniform)


def build(kind: str, dt: float = 1.0, n_in: int = 6, n_hid: int = 8, n_out: int = 3, max_delay_ms: float = 8.0,
          readout: str = "avg_var_exp_weight", w_in: float = 1.2, tau_refrac: float | None = None) -> Network:
    """kind: feedforward | recurrent | sparse | spatial | two_layer; hidden neurons are RefractoryLIF when
    tau_refrac (ms) is given."""
    D = int(round(max_delay_ms / dt))
    tau_s = 5.0
    net = Network(dt=dt)
    with net:
        inp = Population(SpikeInput(), n_in, name="inp")
        pos = Uniform(0.0, 1.0) if kind == "spatial" else None
        hid_model = (LeakyIntegrateFire(v_thresh=1.0, tau_mem=20.0) if tau_refrac is None else
                     RefractoryLIF(v_thresh=1.0, tau_mem=20.0, tau_refrac=tau_refrac))
        hid = Population(hid_model, n_hid, name="hid", position=pos, dims=2 if pos else None)
        out = Population(LeakyIntegrate(tau_mem=20.0, readout=readout), n_out, name="out")
        if kind == "spatial":
            inp_sp = Population(SpikeInput(), n_in, name="inp_sp", position=Uniform(0.0, 1.0), dims=2)
            Connection(inp_sp, hid, Dense(weight=Normal(w_in, 0.5 * w_in)), Exponential(tau_s), max_delay_steps=D,
                       delay_from_positions=1.0 / (0.6 * max_delay_ms), name="sp_hid")
        Connection(inp, hid, Dense(weight=Normal(w_in, 0.5 * w_in), delay=Uniform(0, 0.6 * D)), Exponential(tau_s),
                   max_delay_steps=D, learn_delays=True, name="in_hid")
        last = hid
        if kind == "recurrent":
            Connection(hid, hid, Dense(weight=Normal(0.0, 0.3), delay=Uniform(0, 0.6 * D)), Exponential(tau_s),
                       max_delay_steps=D, learn_delays=True, name="hid_hid")
        if kind == "sparse":
            Connection(hid, hid, FixedProbability(0.4, weight=Normal(0.1, 0.3), delay=Uniform(0, 0.6 * D)),
                       Exponential(tau_s), max_delay_steps=D, learn_delays=True, name="hid_hid")
        if kind == "two_layer":
            hid2 = Population(hid_model, n_hid, name="hid2")
            Connection(hid, hid2, Dense(weight=Normal(0.8, 0.4), delay=Uniform(0, 0.6 * D)), Exponential(tau_s),
                       max_delay_steps=D, learn_delays=True, name="hid_hid2")
            last = hid2
        Connection(last, out, Dense(weight=Normal(0.0, 1.0), delay=Uniform(0, 0.6 * D)), Exponential(tau_s),
                   max_delay_steps=D, learn_delays=True, name="hid_out")
    return net


def random_raster(rng, batch: int, n_steps: int, n_in: int, rate: float) -> np.ndarray:
    """Poisson-like 0/1 raster [B, T, N] with `rate` spikes per channel per step."""
    return (rng.random((batch, n_steps, n_in)) < rate).astype(np.float32)


def input_dict(net: Network, raster_by_pop: dict) -> dict:
    return {p.name: raster_by_pop[p.name] for p in net.input_populations}


def long_delay_net(max_delay: int = 150, seed: int = 0, recurrent: bool = True):
    """Delays up to `max_delay` steps (beyond Loihi's 62) on every connection; returns (net, params)."""
    net = Network(dt=1.0)
    with net:
        inp = Population(SpikeInput(), 10, name="inp")
        hid = Population(LeakyIntegrateFire(v_thresh=1.0, tau_mem=10.0), 12, name="hid")
        out = Population(LeakyIntegrate(tau_mem=20.0, readout="max_var"), 3, name="out")
        Connection(inp, hid, Dense(weight=Normal(2.0, 1.0), delay=Uniform(0, max_delay)), Exponential(5.0),
                   max_delay_steps=max_delay, learn_delays=True, name="in_hid")
        if recurrent:
            Connection(hid, hid, Dense(weight=Normal(0.0, 0.3), delay=Uniform(0, max_delay)), Exponential(5.0),
                       max_delay_steps=max_delay, learn_delays=True, name="hid_rec")
        Connection(hid, out, Dense(weight=Normal(0.0, 1.0), delay=Uniform(0, 80)), Exponential(5.0),
                   max_delay_steps=max_delay, learn_delays=True, name="hid_out")
    return net, net.instantiate(seed)


def ms_network(dt: float, recurrent: bool = False, n_in: int = 200, n_hid: int = 30, n_out: int = 5,
               max_delay_ms: float = 20.0, readout: str = "avg_var_exp_weight", direct: bool = False,
               slope_floor: float = 0.3) -> Network:
    """input -> LIF hidden (optionally recurrent) -> LI readout, every connection with learned delays of up to
    `max_delay_ms`; `direct` adds input -> readout. Parameters come from `ms_params` (ms units) via `in_steps`."""
    D = int(round(max_delay_ms / dt))
    zero = Dense(weight=Constant(0.0), delay=Constant(0.0))
    net = Network(dt=dt)
    with net:
        inp = Population(SpikeInput(), n_in, name="inp")
        hid = Population(LeakyIntegrateFire(v_thresh=1.0, tau_mem=20.0, slope_floor=slope_floor), n_hid, name="hid")
        out = Population(LeakyIntegrate(tau_mem=20.0, readout=readout), n_out, name="out")
        Connection(inp, hid, zero, Exponential(5.0), max_delay_steps=D, learn_delays=True, name="in_hid")
        if recurrent:
            Connection(hid, hid, zero, Exponential(5.0), max_delay_steps=D, learn_delays=True, name="hid_hid")
        Connection(hid, out, zero, Exponential(5.0), max_delay_steps=D, learn_delays=True, name="hid_out")
        if direct:
            Connection(inp, out, zero, Exponential(5.0), max_delay_steps=D, learn_delays=True, name="in_out")
    return net


def ms_params(net: Network, seed: int, w_in: float = 0.05, w_rec: float = 0.03, w_out: float = 0.5,
              max_delay_ms: float = 20.0, integer_ms: bool = False) -> dict:
    """Weights and delays (ms) for an `ms_network`: in->hid Normal(w_in, w_in / 2), recurrent Normal(0, w_rec),
    to the readout Normal(0, w_out); delays uniform in [0, max_delay_ms] (whole ms when `integer_ms`)."""
    rng = np.random.default_rng(seed)
    out = {}
    for c in net.connections:
        shape = (c.source.size, c.target.size)
        mean, sd = {"in_hid": (w_in, w_in / 2), "hid_hid": (0.0, w_rec)}.get(c.name, (0.0, w_out))
        out[f"{c.name}.weight"] = rng.normal(mean, sd, shape)
        d = rng.uniform(0.0, max_delay_ms, shape)
        out[f"{c.name}.delay"] = np.clip(np.round(d), 1, max_delay_ms - 1) if integer_ms else d
    return out


def in_steps(params_ms: dict, dt: float) -> dict:
    """Delays from ms to timesteps."""
    return {k: v / dt if k.endswith(".delay") else v for k, v in params_ms.items()}


def poisson_events(seed: int, batch: int, n_in: int, duration: float, rate_hz: float):
    """SpikeEvents with independent uniform spike times (the same in ms at every dt)."""
    from eventprop import SpikeEvents
    rng = np.random.default_rng(seed)
    samples = []
    for _ in range(batch):
        n = rng.poisson(rate_hz * duration / 1000 * n_in)
        samples.append((rng.uniform(0, duration, n), rng.integers(0, n_in, n)))
    return SpikeEvents.from_lists(samples, n_in, duration)
