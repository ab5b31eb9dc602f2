"""Engine benchmark: SHD-shaped synthetic workload on the CPU.

700 inputs firing ~8 spikes/ms in total, T = 1000 steps of 1 ms, LIF hidden layer, 20 LI outputs, input delays
U(0, max_delay), dense or sparse (FixedProbability, weights scaled by 1 / density for the same drive). Each configuration runs in its own process (so peak memory is its own): the configurations at
--batch with all threads, the baseline at batch 1 on one thread (NUMBA_NUM_THREADS=1), and the DCLS model of the same
shape (torch CPU: Dcls1d learnable-delay convolution + LIF trained by BPTT with a surrogate gradient, the DCLS
paper's recipe) when the `dcls` package is installed (`pip install dcls==0.1.1`). Prints a table with ratios against
the baseline (256 hidden, max delay 62, feed-forward, --batch) and writes benchmarks/results/engine.json. "engine MB"
is the peak RSS above the process's RSS after importing torch, Numba and eventprop (kernels are compiled in a
warm-up process first, so it counts loading them from the cache, not compiling them); "numba MB" is what importing
Numba itself added to that baseline (the engine imports it lazily, on the first network it compiles).

    python benchmarks/engine.py [--batch 32] [--repeats 3] [--quick] [--no-dcls]
"""
from __future__ import annotations

import argparse
import json
import os
import resource
import subprocess
import sys
import time
from pathlib import Path

CONFIGS = [  # name, hidden, max delay, recurrent, sparsity of the input connection (fraction of absent synapses)
    ("ff-256-d62 (baseline)", 256, 62, False, 0.0),
    ("rec-256-d62", 256, 62, True, 0.0),
    ("ff-256-d512", 256, 512, False, 0.0),
    ("ff-1024-d62", 1024, 62, False, 0.0),
    ("ff-256-d62 sparse 50 %", 256, 62, False, 0.5),
    ("ff-256-d62 sparse 87.5 %", 256, 62, False, 0.875),
    ("ff-256-d62 sparse 93.75 %", 256, 62, False, 0.9375),
]


def _rss_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def _current_mb() -> float:
    with open("/proc/self/statm") as f:
        return int(f.read().split()[1]) * os.sysconf("SC_PAGE_SIZE") / 2**20


def run_dcls(hidden: int, max_delay: int, batch: int, repeats: int) -> dict:
    """DCLS-delays model of the same shape: Dcls1d (one learnable-position Gaussian kernel per synapse) over a dense
    [B, 700, T] input, LIF (tau 20 ms, synaptic tau 5 ms) by BPTT with a fast-sigmoid surrogate, LI readout."""
    import numpy as np
    import torch
    from DCLS.construct.modules import Dcls1d
    base = _rss_mb()
    torch.manual_seed(0)
    T, n_in = 1000, 700
    conv = Dcls1d(n_in, hidden, kernel_count=1, dilated_kernel_size=max_delay + 1, bias=False, version="gauss")
    w_out = torch.nn.Linear(hidden, 20, bias=False)
    alpha, beta = float(np.exp(-1 / 20)), float(np.exp(-1 / 5))

    class Spike(torch.autograd.Function):
        @staticmethod
        def forward(ctx, v):
            ctx.save_for_backward(v)
            return (v > 0).float()

        @staticmethod
        def backward(ctx, g):
            (v,) = ctx.saved_tensors
            return g / (1 + 10 * v.abs()) ** 2

    rng = np.random.default_rng(0)
    times = []
    for _ in range(repeats):
        x = torch.zeros(batch, n_in, T)
        for b in range(batch):
            x[b, rng.integers(0, n_in, 8000), rng.integers(0, T, 8000)] = 1.0
        t0 = time.perf_counter()
        drive = conv(torch.nn.functional.pad(x, (max_delay, 0)))          # [B, hidden, T], causal
        i = v = torch.zeros(batch, hidden)
        io = vo = torch.zeros(batch, 20)
        total = 0
        for t in range(T):
            i = beta * i + drive[:, :, t]
            v = alpha * v + (1 - alpha) * i
            s = Spike.apply(v - 1.0)
            v = v * (1 - s)
            io = beta * io + w_out(s)
            vo = alpha * vo + (1 - alpha) * io
            total = total + vo
        loss = torch.nn.functional.cross_entropy(total / T, torch.zeros(batch, dtype=torch.long))
        loss.backward()
        times.append(time.perf_counter() - t0)
    med = sorted(times)[len(times) // 2]
    return {"hidden": hidden, "max_delay": max_delay, "recurrent": False, "batch": batch,
            "forward_s_per_sample": float("nan"), "backward_s_per_sample": float("nan"),
            "total_s_per_sample": med / batch, "compile_or_load_s": 0.0, "hidden_spikes_per_sample": float("nan"),
            "peak_rss_mb": _rss_mb(), "engine_mb": _rss_mb() - base}


def run_one(hidden: int, max_delay: int, recurrent: bool, sparsity: float, batch: int, repeats: int) -> dict:
    import numpy as np
    import torch

    import eventprop
    from eventprop import SpikeEvents
    from eventprop.models import (Connection, Dense, Exponential, FixedProbability, LeakyIntegrate,
                                  LeakyIntegrateFire, Network, Normal, Population, SpikeInput, Uniform)
    before_numba = _current_mb()
    import numba  # noqa: F401  (imported lazily by the engine; loaded here so the baseline includes it)
    numba_mb = _current_mb() - before_numba
    import eventprop.pipeline.engine.module  # noqa: F401  (torch bridge loaded before the baseline)
    base = _rss_mb()

    net = Network(dt=1.0)
    with net:
        inp = Population(SpikeInput(), 700, name="input")
        hid = Population(LeakyIntegrateFire(v_thresh=1.0, tau_mem=20.0), hidden, name="hidden")
        out = Population(LeakyIntegrate(tau_mem=20.0, readout="avg_var_exp_weight"), 20, name="output")
        w_in, delay = Normal(0.03 / (1 - sparsity), 0.01 / (1 - sparsity)), Uniform(0, max_delay)  # same drive
        conn = (FixedProbability(1 - sparsity, weight=w_in, delay=delay) if sparsity else
                Dense(weight=w_in, delay=delay))
        Connection(inp, hid, conn, Exponential(5.0), max_delay_steps=max_delay, learn_delays=True, name="in_hid")
        if recurrent:
            Connection(hid, hid, Dense(weight=Normal(0.0, 0.02)), Exponential(5.0), name="hid_hid")
        Connection(hid, out, Dense(weight=Normal(0.0, 0.03)), Exponential(5.0), name="hid_out")
    t0 = time.perf_counter()
    model = eventprop.compile(net, seed=0)
    build_s = time.perf_counter() - t0
    rng = np.random.default_rng(0)
    n_events = 8 * 1000

    def batch_of(b):   # time-sorted, as datasets deliver them
        return SpikeEvents.from_lists([(np.sort(rng.uniform(0, 1000, n_events)), rng.integers(0, 700, n_events))
                                       for _ in range(b)], 700, 1000.0)

    labels = torch.zeros(batch, dtype=torch.long)
    warm = batch_of(1)
    loss = torch.nn.functional.cross_entropy(model(warm), labels[:1])
    loss.backward()
    compile_s = sum(model.engine.compile_seconds.values())
    if repeats == 0:      # warm-up process: kernels are compiled into the cache, nothing measured
        return {}
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
    return {"hidden": hidden, "max_delay": max_delay, "recurrent": recurrent, "sparsity": sparsity, "batch": batch,
            "build_s": build_s, "compile_or_load_s": compile_s,
            "forward_s_per_sample": med(fwd) / batch, "backward_s_per_sample": med(bwd) / batch,
            "total_s_per_sample": (med(fwd) + med(bwd)) / batch,
            "hidden_spikes_per_sample": med(spikes),
            "peak_rss_mb": _rss_mb(), "engine_mb": _rss_mb() - base, "numba_import_mb": numba_mb}


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--batch", type=int, default=32)
    ap.add_argument("--repeats", type=int, default=3)
    ap.add_argument("--quick", action="store_true", help="batch 4, 1 repeat (smoke run)")
    ap.add_argument("--no-dcls", action="store_true", help="skip the DCLS comparison")
    ap.add_argument("--only", help="comma-separated config names to run (substrings), e.g. sparse,baseline")
    ap.add_argument("--one", help=argparse.SUPPRESS)
    ap.add_argument("--dcls", action="store_true", help=argparse.SUPPRESS)
    args = ap.parse_args()
    if args.quick:
        args.batch, args.repeats = 4, 1
    if args.one:
        hidden, delay, rec, sparsity = json.loads(args.one)
        print(json.dumps(run_dcls(hidden, delay, args.batch, args.repeats) if args.dcls else
                         run_one(hidden, delay, rec, sparsity, args.batch, args.repeats)))
        return
    jobs = [(name, [hidden, delay, rec, sp], args.batch, {}, False) for name, hidden, delay, rec, sp in CONFIGS]
    jobs.append(("ff-256-d62 batch 1, 1 thread", [256, 62, False, 0.0], 1, {"NUMBA_NUM_THREADS": "1"}, False))
    try:
        import DCLS  # noqa: F401
        if not args.no_dcls:
            jobs.append(("DCLS Dcls1d+LIF BPTT", [256, 62, False, 0.0], min(args.batch, 8), {}, True))
    except ImportError:
        print("  DCLS comparison skipped: pip install dcls==0.1.1", file=sys.stderr)
    if args.only:
        keys = args.only.split(",")
        jobs = [j for j in jobs if j[0] == CONFIGS[0][0] or any(k in j[0] for k in keys)]
    rows = []
    for name, spec, batch, env, dcls in jobs:
        cmd = [sys.executable, __file__, "--one", json.dumps(spec), "--batch", str(batch)] + (["--dcls"] if dcls else [])
        if not dcls:   # compile first in a process of its own, so the measured one loads kernels from the cache
            subprocess.run(cmd + ["--repeats", "0"], check=True, capture_output=True, env={**os.environ, **env})
        cmd += ["--repeats", str(args.repeats)]
        out = subprocess.run(cmd, check=True, capture_output=True, text=True, env={**os.environ, **env})
        rows.append({"config": name, **json.loads(out.stdout.strip().splitlines()[-1])})
        print(f"  done {name}", file=sys.stderr)
    base = rows[0]["total_s_per_sample"]
    head = f"{'config':30} {'batch':>5} {'fwd s/smp':>10} {'bwd s/smp':>10} {'total':>9} {'x base':>7} " \
           f"{'compile s':>10} {'spk/smp':>8} {'peak MB':>8} {'engine MB':>9} {'numba MB':>8}"
    print(head)
    print("-" * len(head))
    for r in rows:
        print(f"{r['config']:30} {r['batch']:5d} {r['forward_s_per_sample']:10.4f} {r['backward_s_per_sample']:10.4f} "
              f"{r['total_s_per_sample']:9.4f} {r['total_s_per_sample'] / base:7.2f} {r['compile_or_load_s']:10.2f} "
              f"{r['hidden_spikes_per_sample']:8.0f} {r['peak_rss_mb']:8.0f} {r['engine_mb']:9.0f} "
              f"{r.get('numba_import_mb', float('nan')):8.0f}")
    print(f"load while measuring: {os.getloadavg()[0]:.1f} (1-min average; 2 cores)")
    out_dir = Path(__file__).parent / "results"
    out_dir.mkdir(exist_ok=True)
    (out_dir / "engine.json").write_text(json.dumps(rows, indent=2))
    print(f"written {out_dir / 'engine.json'}")


if __name__ == "__main__":
    main()
