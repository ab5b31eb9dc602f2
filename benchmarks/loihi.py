"""Loihi deployment benchmark: the bit-exact emulator vs Lava fixed_pt on one SHD-shaped network.

700 inputs (~8 spikes/ms in total), 256 LIF hidden with input delays U(0, 62) steps, 20 LI readouts, 1000 steps per
sample. Rows: Lava with its stock DelayDense model (baseline), Lava with eventprop's FastDelayDenseModel, and the
Numba emulator. All three are checked spike for spike against each other on the samples they share. With
--run RUN (a trained Yin-Yang run) it also deploys that run and reports float vs fixed-point test accuracy.
Writes benchmarks/results/loihi.json.

    python benchmarks/loihi.py [--lava-samples 2] [--stock-steps 100] [--emulator-samples 256] [--run runs/yy]
    python benchmarks/loihi.py --emulator-only       (the emulator row alone, for A/B runs of a change)
"""
from __future__ import annotations

import argparse
import json
import time
from pathlib import Path

import numpy as np


def shd_like_net():
    from eventprop.models import (Connection, Dense, Exponential, LeakyIntegrate, LeakyIntegrateFire, Network,
                                  Normal, Population, SpikeInput, Uniform)
    net = Network(dt=1.0)
    with net:
        inp = Population(SpikeInput(), 700, name="input")
        hid = Population(LeakyIntegrateFire(v_thresh=1.0, tau_mem=20.0), 256, name="hidden")
        out = Population(LeakyIntegrate(tau_mem=20.0, readout="avg_var_exp_weight"), 20, name="output")
        Connection(inp, hid, Dense(weight=Normal(0.03, 0.01), delay=Uniform(0, 62)), Exponential(5.0),
                   max_delay_steps=62, learn_delays=True, name="in_hid")
        Connection(hid, out, Dense(weight=Normal(0.0, 0.03)), Exponential(5.0), name="hid_out")
    return net


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--lava-samples", type=int, default=2)
    ap.add_argument("--stock-steps", type=int, default=100, help="steps run with the (slow) stock DelayDense model")
    ap.add_argument("--emulator-samples", type=int, default=256)
    ap.add_argument("--emulator-only", action="store_true", help="only the emulator row (for A/B runs of it)")
    ap.add_argument("--run", type=Path, help="a trained Yin-Yang run folder to deploy for the accuracy row")
    args = ap.parse_args()

    from eventprop import SpikeEvents
    from eventprop.loihi import parity
    from eventprop.loihi.emulator import Emulator
    from eventprop.loihi.lava_runner import run_lava
    from eventprop.loihi.quantize import quantize

    net = shd_like_net()
    fx = quantize(net, net.instantiate(0))
    rng = np.random.default_rng(0)

    def batch_of(b, steps):
        samples = []
        for _ in range(b):
            t = rng.uniform(0, steps, 8 * steps)
            ids = rng.integers(0, 700, t.size)
            key = np.unique(np.floor(t).astype(int) * 700 + ids)      # at most one spike per channel and step
            samples.append(((key // 700) + 0.5, key % 700))
        return SpikeEvents.from_lists(samples, 700, float(steps))

    emu = Emulator(fx)
    emu.run(batch_of(2, 50))                               # compile / load from cache
    big = batch_of(args.emulator_samples, 1000)
    t0 = time.perf_counter()
    emu_res = emu.run(big)
    emu_s = time.perf_counter() - t0
    hid_spikes = emu_res.spike_counts["hidden"].sum(1).mean()
    if args.emulator_only:
        print(f"emulator: {args.emulator_samples / emu_s:.1f} samples/s ({emu_s:.2f} s for {args.emulator_samples} "
              f"samples of 1000 steps, {hid_spikes:.0f} hidden spikes/sample)")
        return

    lava_batch = batch_of(args.lava_samples, 1000)
    lava_res, fast_s = run_lava(fx, lava_batch, timeout=600)
    stock_batch = batch_of(1, args.stock_steps)
    stock_res, stock_s = run_lava(fx, stock_batch, timeout=600, stock_models=True)
    exact_fast = all(d is None for d in parity.compare_fixed(fx, emu.run(lava_batch), lava_res))
    exact_stock = all(d is None for d in parity.compare_fixed(fx, emu.run(stock_batch), stock_res))

    rows = [
        {"name": "Lava fixed_pt, stock DelayDense (baseline)", "ms_per_step": 1e3 * stock_s / args.stock_steps,
         "steps": args.stock_steps, "spike_exact_vs_emulator": exact_stock},
        {"name": "Lava fixed_pt, FastDelayDenseModel", "ms_per_step": 1e3 * fast_s / (1000 * args.lava_samples),
         "steps": 1000 * args.lava_samples, "spike_exact_vs_emulator": exact_fast},
        {"name": "eventprop emulator (Numba, 2 threads)", "ms_per_step": 1e3 * emu_s / (1000 * args.emulator_samples),
         "steps": 1000 * args.emulator_samples, "spike_exact_vs_emulator": True},
    ]
    base = rows[0]["ms_per_step"]
    print(f"700-256-20, input delays U(0, 62), 1000 steps/sample, {hid_spikes:.0f} hidden spikes/sample")
    print(f"{'runner':45s} {'ms/step':>9s} {'samples/s':>10s} {'x baseline':>11s} {'steps run':>10s} {'spike-exact':>11s}")
    for r in rows:
        r["samples_per_s"] = 1e3 / (r["ms_per_step"] * 1000)
        r["speedup"] = base / r["ms_per_step"]
        print(f"{r['name']:45s} {r['ms_per_step']:9.3f} {r['samples_per_s']:10.2f} {r['speedup']:11.1f} "
              f"{r['steps']:10d} {str(r['spike_exact_vs_emulator']):>11s}")
    out = {"rows": rows, "hidden_spikes_per_sample": float(hid_spikes)}
    if args.run:
        from eventprop.workflows import deploy
        rep = deploy(args.run, long_delay_mode="relay", quiet=True)
        out["accuracy"] = {k: rep[k] for k in ("float_acc", "emulator_acc", "samples")}
        print(f"{args.run}: float {100 * rep['float_acc']:.2f} %, fixed point {100 * rep['emulator_acc']:.2f} % "
              f"(drop {100 * (rep['float_acc'] - rep['emulator_acc']):.2f} pt) on {rep['samples']} test samples")
    path = Path(__file__).parent / "results" / "loihi.json"
    path.parent.mkdir(exist_ok=True)
    path.write_text(json.dumps(out, indent=2))


if __name__ == "__main__":
    main()
