"""Why hidden-delay gradients at dt = 1 agree less with fine dt than weight gradients do: spike-time drift.

A probe population (one channel per arrival time, weight 1e-9, so the forward pass is unchanged) reads each hidden
neuron's arrival-time sensitivity D_j(a) = dL/dd / w at every whole ms a, at dt = 1 and dt = 0.05, on the T = 200 ms
net of benchmarks/dt_consistency.py (feed-forward, ~10 spikes per neuron). Prints how far the dt = 1 spikes lag the
fine-dt ones, and the cosine of D at dt = 1 with D at dt = 0.05 as read (unwarped) and after mapping each dt = 1 time
onto the fine one with the same phase between matched spikes (warped; neurons with equal spike counts).

    python benchmarks/dt_drift.py [--seed 0]
"""
from __future__ import annotations

import argparse

import numpy as np
import torch

import eventprop
from eventprop import Connection, Network, Population, SpikeEvents
from eventprop.models import Constant, Dense, Exponential, LeakyIntegrate, LeakyIntegrateFire, SpikeInput

T, N_IN, N_HID, W_PROBE = 200.0, 200, 30, 1e-9


def probe(dt: float, seed: int):
    """(D [arrival, neuron] at every probe arrival time, spike times per neuron in ms, probe arrival times)."""
    times = np.arange(1.0, T - 1.0, dt)                     # probe arrivals
    zero = Dense(weight=Constant(0.0), delay=Constant(0.0))
    net = Network(dt=dt)
    with net:
        inp = Population(SpikeInput(), N_IN, name="inp")
        pr = Population(SpikeInput(), times.size, name="probe")
        hid = Population(LeakyIntegrateFire(v_thresh=1.0, tau_mem=20.0), N_HID, name="hid")
        out = Population(LeakyIntegrate(tau_mem=20.0, readout="avg_var_exp_weight"), 5, name="out")
        for a, b in ((inp, hid), (hid, out), (pr, hid)):
            Connection(a, b, zero, Exponential(5.0), max_delay_steps=int(round(20 / dt)), learn_delays=True,
                       name=f"{a.name}_{b.name}")
    rng = np.random.default_rng(seed)
    params = {"inp_hid.weight": rng.normal(0.09, 0.045, (N_IN, N_HID)),
              "inp_hid.delay": rng.uniform(0, 20, (N_IN, N_HID)) / dt,
              "hid_out.weight": rng.normal(0.0, 0.5, (N_HID, 5)), "hid_out.delay": rng.uniform(0, 20, (N_HID, 5)) / dt,
              "probe_hid.weight": np.full((times.size, N_HID), W_PROBE), "probe_hid.delay": np.zeros((times.size, N_HID))}
    model = eventprop.compile(net, params=params, dtype=torch.float64)
    n = rng.poisson(20.0 * T / 1000 * N_IN)
    batch = {"inp": SpikeEvents.from_lists([(rng.uniform(0, T, n), rng.integers(0, N_IN, n))], N_IN, T),
             # a spike emitted in step k arrives at the start of step k + 1: emit mid-step before each arrival time
             "probe": SpikeEvents.from_lists([(times - dt / 2, np.arange(times.size))], times.size, T)}
    torch.nn.functional.cross_entropy(5 * model(batch), torch.tensor([0])).backward()
    steps, ids = model.spike_trains(batch)["hid"][0]
    D = model.probe_hid.delay.grad.numpy() / dt / W_PROBE
    return D, [(steps[ids == j] + 1) * dt for j in range(N_HID)], times


def cos(a, b) -> float:
    a, b = np.ravel(a), np.ravel(b)
    return float(a @ b / (np.linalg.norm(a) * np.linalg.norm(b)))


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--seed", type=int, default=0)
    args = ap.parse_args()
    D1, s1, t1 = probe(1.0, args.seed)
    D0, s0, t0 = probe(0.05, args.seed)
    fine_at_ms = D0[np.searchsorted(t0, t1 - 1e-9)]
    same = [j for j in range(N_HID) if len(s1[j]) == len(s0[j])]
    lag = np.concatenate([s1[j] - s0[j] for j in same])
    per_spike = np.mean([np.polyfit(np.arange(len(s1[j])), s1[j] - s0[j], 1)[0] for j in same if len(s1[j]) > 2])
    warped = []
    for j in same:
        knots1, knots0 = np.r_[0.0, s1[j], T], np.r_[0.0, s0[j], T]
        warped.append(np.interp(np.interp(t1, knots1, knots0), t0, D0[:, j]))
    print(f"hidden spikes per neuron: dt=1 {np.mean([len(s) for s in s1]):.1f}, dt=0.05 {np.mean([len(s) for s in s0]):.1f}; "
          f"{len(same)} of {N_HID} neurons with equal counts")
    print(f"dt=1 spike lag behind dt=0.05 (same neuron, same spike index): mean {lag.mean():.2f} ms, last spike "
          f"{np.mean([s1[j][-1] - s0[j][-1] for j in same if len(s0[j])]):.2f} ms; growth {per_spike:.2f} ms per spike")
    print(f"cosine of D (arrival-time sensitivity) dt=1 vs dt=0.05, all neurons: {cos(D1, fine_at_ms):.3f}; "
          f"equal-count neurons unwarped {cos(D1[:, same], fine_at_ms[:, same]):.3f}, "
          f"warped onto matched spikes {cos(D1[:, same].T, np.array(warped)):.3f}")


if __name__ == "__main__":
    main()
