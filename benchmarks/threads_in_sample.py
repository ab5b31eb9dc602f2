"""Threads inside one sample: the cost of a parallel region per time step (what splitting a sample's neurons over
threads would need: a barrier at every one of its T steps, forward and backward) against the serial loop.

    NUMBA_NUM_THREADS=2 python benchmarks/threads_in_sample.py [--steps 1000] [--neurons 256]

The engine instead runs samples in parallel (one prange over the batch, no barrier inside a sample); at batch 1 it
uses one thread.
"""
from __future__ import annotations

import argparse
import os
import time

import numpy as np
from numba import get_num_threads, njit, prange


@njit(parallel=True)
def _region_per_step(v, steps):
    for _ in range(steps):
        for j in prange(v.shape[0]):
            v[j] = 0.95 * v[j] + 0.01


@njit
def _serial(v, steps):
    for _ in range(steps):
        for j in range(v.shape[0]):
            v[j] = 0.95 * v[j] + 0.01


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--steps", type=int, default=1000)
    ap.add_argument("--neurons", type=int, default=256)
    ap.add_argument("--repeats", type=int, default=7)
    args = ap.parse_args()
    v = np.zeros(args.neurons, np.float32)
    out = {}
    for name, fn in (("serial", _serial), ("parallel region per step", _region_per_step)):
        fn(v, 2)                       # compile
        times = []
        for _ in range(args.repeats):
            t0 = time.perf_counter()
            fn(v, args.steps)
            times.append(time.perf_counter() - t0)
        out[name] = sorted(times)[len(times) // 2]
    base = out["serial"]
    print(f"{args.neurons} neurons, {args.steps} steps, {get_num_threads()} threads, load "
          f"{os.getloadavg()[0]:.1f} (1-min average)")
    for name, t in out.items():
        print(f"  {name:26} {t * 1e3:8.3f} ms  ({t / args.steps * 1e6:.2f} us per step, x{t / base:.0f} serial)")


if __name__ == "__main__":
    main()
