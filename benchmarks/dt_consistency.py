"""Gradient consistency across time steps: the same network (ms units) at dt = 1, 0.5, 0.2 against dt = 0.05.

Prints, per configuration and connection, the cosine between each coarse-dt gradient and the fine one (delays per
ms), and hidden spikes per neuron; writes benchmarks/results/dt_consistency.json. The nets are those of
tests/test_gradients_dt1.py (200 inputs at 20 Hz, 30 LIF, 5 LI readouts, delays up to 20 ms, batch 16).

    python benchmarks/dt_consistency.py [--seeds 0,1,2] [--slope-floor 0.3]
"""
from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

import numpy as np
import torch

sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "tests"))
import eventprop  # noqa: E402
from nets import in_steps, ms_network, ms_params, poisson_events  # noqa: E402

CONFIGS = [("ff T=1000", False, 1000.0, 0.05), ("ff T=200", False, 200.0, 0.09), ("rec T=1000", True, 1000.0, 0.05)]
DTS = (1.0, 0.5, 0.2, 0.05)


def gradients(dt, recurrent, T, w_in, seed, floor):
    net = ms_network(dt, recurrent=recurrent, slope_floor=floor)
    model = eventprop.compile(net, params=in_steps(ms_params(net, seed=seed, w_in=w_in), dt), dtype=torch.float64)
    batch, labels = poisson_events(seed, 16, 200, T, 20.0), torch.arange(16) % 5
    run = model.run(batch)
    torch.nn.functional.cross_entropy(5 * run.readouts["out"], labels).backward()
    grads = {n: p.grad.numpy() / (dt if n.endswith(".delay") else 1.0) for n, p in model.named_parameters()}
    return grads, float(run.spike_counts["hid"].detach().mean())


def cos(a, b):
    a, b = a.ravel(), b.ravel()
    return float(a @ b / (np.linalg.norm(a) * np.linalg.norm(b)))


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--seeds", default="0,1,2")
    ap.add_argument("--slope-floor", type=float, default=0.3)
    args = ap.parse_args()
    rows = []
    for name, rec, T, w_in in CONFIGS:
        for seed in (int(s) for s in args.seeds.split(",")):
            res = {dt: gradients(dt, rec, T, w_in, seed, args.slope_floor) for dt in DTS}
            ref = res[DTS[-1]][0]
            for dt in DTS[:-1]:
                rows.append({"config": name, "seed": seed, "dt": dt, "spikes_per_neuron": res[dt][1],
                             **{n: cos(g, ref[n]) for n, g in res[dt][0].items()}})
                r = rows[-1]
                print(f"{name:11} seed {seed} dt {dt:4}: spikes/neuron {r['spikes_per_neuron']:5.1f}  " +
                      "  ".join(f"{n} {r[n]:+.3f}" for n in res[dt][0]), flush=True)
    out = Path(__file__).parent / "results"
    out.mkdir(exist_ok=True)
    (out / "dt_consistency.json").write_text(json.dumps({"slope_floor": args.slope_floor, "rows": rows}, indent=2))


if __name__ == "__main__":
    main()
