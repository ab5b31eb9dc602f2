"""Engine benchmark: SHD-shaped synthetic workload on the CPU.

700 inputs firing ~8 spikes/ms in total, T = 1000 steps of 1 ms, LIF hidden layer, 20 LI outputs, input delays
U(0, max_delay). Each configuration runs in its own process (so peak memory is its own). Prints a table with ratios
against the baseline (256 hidden, max delay 62, feed-forward) and writes benchmarks/results/engine.json.

    python benchmarks/engine.py [--batch 32] [--repeats 3] [--quick]
"""
from __future__ import annotations

import argparse
import json
import resource
import subprocess
import sys
import time
from pathlib import Path

CONFIGS = [  # name, hidden, max delay, recurrent
    ("ff-256-d62 (baseline)", 256, 62, False),
    ("rec-256-d62", 256, 62, True),
    ("ff-256-d512", 256, 512, False),
    ("ff-1024-d62", 1024, 62, False),
]


def run_one(hidden: int, max_delay: int, recurrent: bool, batch: int, repeats: int) -> dict:
    import numpy as np
    import torch

    import eventprop
    from eventprop import SpikeEvents
    from eventprop.models import (Connection, Dense, Exponential, LeakyIntegrate, LeakyIntegrateFire, Network,
                                  Normal, Population, SpikeInput, Uniform)

    net = Network(dt=1.0)
    with net:
        inp = Population(SpikeInput(), 700, name="input")
        hid = Population(LeakyIntegrateFire(v_thresh=1.0, tau_mem=20.0), hidden, name="hidden")
        out = Population(LeakyIntegrate(tau_mem=20.0, readout="avg_var_exp_weight"), 20, name="output")
        Connection(inp, hid, Dense(weight=Normal(0.03, 0.01), delay=Uniform(0, max_delay)), Exponential(5.0),
                   max_delay_steps=max_delay, learn_delays=True, name="in_hid")
        if recurrent:
            Connection(hid, hid, Dense(weight=Normal(0.0, 0.02)), Exponential(5.0), name="hid_hid")
        Connection(hid, out, Dense(weight=Normal(0.0, 0.03)), Exponential(5.0), name="hid_out")
    t0 = time.perf_counter()
    model = eventprop.compile(net, seed=0)
    build_s = time.perf_counter() - t0
    rng = np.random.default_rng(0)
    n_events = 8 * 1000

    def batch_of(b):
        return SpikeEvents.from_lists([(rng.uniform(0, 1000, n_events), rng.integers(0, 700, n_events))
                                       for _ in range(b)], 700, 1000.0)

    labels = torch.zeros(batch, dtype=torch.long)
    warm = batch_of(1)
    loss = torch.nn.functional.cross_entropy(model(warm), labels[:1])
    loss.backward()
    compile_s = sum(model.engine.compile_seconds.values())
    fwd, bwd, spikes = [], [], []
    for _ in range(repeats):
        data = batch_of(batch)
        t0 = time.perf_counter()
        run = model.run(data)
        t1 = time.perf_counter()
        loss = torch.nn.functional.cross_entropy(run.readouts["output"], labels)
        model.zero_grad()
        loss.backward()
        t2 = time.perf_counter()
        fwd.append(t1 - t0)
        bwd.append(t2 - t1)
        spikes.append(float(run.spike_counts["hidden"].sum(1).mean()))
    med = lambda xs: sorted(xs)[len(xs) // 2]
    return {"hidden": hidden, "max_delay": max_delay, "recurrent": recurrent, "batch": batch,
            "build_s": build_s, "compile_or_load_s": compile_s,
            "forward_s_per_sample": med(fwd) / batch, "backward_s_per_sample": med(bwd) / batch,
            "total_s_per_sample": (med(fwd) + med(bwd)) / batch,
            "hidden_spikes_per_sample": med(spikes),
            "peak_rss_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024}


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--batch", type=int, default=32)
    ap.add_argument("--repeats", type=int, default=3)
    ap.add_argument("--quick", action="store_true", help="batch 4, 1 repeat (smoke run)")
    ap.add_argument("--one", help=argparse.SUPPRESS)
    args = ap.parse_args()
    if args.quick:
        args.batch, args.repeats = 4, 1
    if args.one:
        hidden, delay, rec = json.loads(args.one)
        print(json.dumps(run_one(hidden, delay, rec, args.batch, args.repeats)))
        return
    rows = []
    for name, hidden, delay, rec in CONFIGS:
        cmd = [sys.executable, __file__, "--one", json.dumps([hidden, delay, rec]),
               "--batch", str(args.batch), "--repeats", str(args.repeats)]
        out = subprocess.run(cmd, check=True, capture_output=True, text=True).stdout.strip().splitlines()[-1]
        rows.append({"config": name, **json.loads(out)})
        print(f"  done {name}", file=sys.stderr)
    base = rows[0]["total_s_per_sample"]
    head = f"{'config':24} {'fwd s/smp':>10} {'bwd s/smp':>10} {'total':>9} {'x base':>7} {'compile s':>10} " \
           f"{'spk/smp':>8} {'peak MB':>8}"
    print(head)
    print("-" * len(head))
    for r in rows:
        print(f"{r['config']:24} {r['forward_s_per_sample']:10.4f} {r['backward_s_per_sample']:10.4f} "
              f"{r['total_s_per_sample']:9.4f} {r['total_s_per_sample'] / base:7.2f} {r['compile_or_load_s']:10.2f} "
              f"{r['hidden_spikes_per_sample']:8.0f} {r['peak_rss_mb']:8.0f}")
    out_dir = Path(__file__).parent / "results"
    out_dir.mkdir(exist_ok=True)
    (out_dir / "engine.json").write_text(json.dumps(rows, indent=2))
    print(f"written {out_dir / 'engine.json'}")


if __name__ == "__main__":
    main()
