"""Loihi deployment benchmark: the bit-exact emulator vs Lava fixed_pt on one SHD-shaped network.

700 inputs (~8 spikes/ms in total), 256 LIF hidden with input delays U(0, 62) steps, 20 LI readouts, 1000 steps per
sample. Rows: Lava with its stock DelayDense model (baseline), Lava with eventprop's FastDelayDenseModel, and the
Numba emulator. All three are checked spike for spike against each other on the samples they share. With
--run RUN (a trained Yin-Yang run) it also deploys that run and reports float vs fixed-point test accuracy.
Writes benchmarks/results/loihi.json.

    python benchmarks/loihi.py [--lava-samples 2] [--stock-steps 100] [--emulator-samples 256] [--run runs/yy]
    python benchmarks/loihi.py --emulator-only       (the emulator row alone, for A/B runs of a change)
    python benchmarks/loihi.py --emulator-only --split   (+ where its time goes)

--split also runs the same samples without input spikes (neuron updates, input conversion and result assembly
only: what remains is the input synapses' ring additions) and, as the floor of any per-synapse loop on this machine,
the same number of int16 additions into a sequential array (no ring, no scatter; Numba, samples in parallel).
"""
from __future__ import annotations

import argparse
import json
import time
from pathlib import Path

import numba as nb
import numpy as np


@nb.njit(parallel=True, cache=True)
def _sequential_adds(in_gid, in_n, row, syn_w, out):
    """Per sample, every input synapse's weight added into a sequential array: the emulator's per-synapse work
    without the ring addressing."""
    for b in nb.prange(in_n.shape[0]):
        acc = np.zeros(out.shape[1], np.int32)
        for e in range(in_n[b]):
            i = in_gid[b, e]
            lo = row[i]
            for k in range(lo, row[i + 1]):
                acc[k - lo] += syn_w[k]
        out[b] = acc


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


def split(emu, batch, total_s: float) -> None:
    """Where the emulator's time goes on `batch` (see the module docstring)."""
    from eventprop import SpikeEvents
    from eventprop.loihi.emulator import input_events
    B = batch.counts.shape[0]
    empty = SpikeEvents.from_lists([(np.zeros(0), np.zeros(0, np.int64))] * B, batch.n_channels, batch.duration)
    t0 = time.perf_counter()
    emu.run(empty)
    idle_s = time.perf_counter() - t0
    _, ids, n, _ = input_events(emu.fx, batch, emu.offset)
    syn = int((emu.row[ids + 1] - emu.row[ids])[np.arange(ids.shape[1])[None, :] < n[:, None]].sum())
    out = np.zeros((B, int(np.diff(emu.row).max())), np.int32)
    _sequential_adds(ids[:1], n[:1], emu.row, emu.syn_w, out[:1])          # compile / load from cache
    t0 = time.perf_counter()
    _sequential_adds(ids, n, emu.row, emu.syn_w, out)
    seq_s = time.perf_counter() - t0
    print(f"  without input spikes: {idle_s:.2f} s ({100 * idle_s / total_s:.0f} %: neuron updates, conversion, "
          f"results); the input synapses' ring additions: {total_s - idle_s:.2f} s "
          f"({100 * (total_s - idle_s) / total_s:.0f} %), {syn / B / 1e6:.2f} M per sample, "
          f"{1e9 * (total_s - idle_s) / syn * nb.get_num_threads():.2f} ns each per thread")
    print(f"  floor: the same additions into a sequential array, {1e9 * seq_s / syn * nb.get_num_threads():.2f} ns "
          f"each per thread ({seq_s:.2f} s)")


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--lava-samples", type=int, default=2)
    ap.add_argument("--stock-steps", type=int, default=100, help="steps run with the (slow) stock DelayDense model")
    ap.add_argument("--emulator-samples", type=int, default=256)
    ap.add_argument("--emulator-only", action="store_true", help="only the emulator row (for A/B runs of it)")
    ap.add_argument("--split", action="store_true", help="with --emulator-only: where the emulator's time goes")
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
        if args.split:
            split(emu, big, emu_s)
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
