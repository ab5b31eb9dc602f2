"""End-to-end training-epoch throughput on SHD-shaped data, with the kernels alone on the same batches beside it.

Writes SHD-layout files of the real training set's size and spike statistics (8156 samples, 700 channels, about
8,000 events per sample, 20 classes each firing a band of channels plus 60 % of events on random channels; a small
test file), then for each network runs `eventprop train`'s trainer for --epochs epochs in its own process and
reports per-epoch seconds, samples per second, the share of the epoch spent in the kernels (forward + backward),
in reading / augmenting batches, and in the rest (optimiser, bookkeeping, validation), and peak RSS. The baseline
row of each network is its kernels alone (model.run + backward on the epoch's first batches, no trainer).

    python benchmarks/epoch.py                       # shd, shd-recurrent, 700-256-256-20 with delays; 2 epochs
    python benchmarks/epoch.py --train 2048 --nets shd --epochs 2
"""
from __future__ import annotations

import argparse
import json
import resource
import subprocess
import sys
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
NETS = {   # name: (preset, edits)
    "shd": ("shd", {}),
    "shd-recurrent": ("shd-recurrent", {}),
    "shd-2x256": ("shd", {"model.hidden": [256, 256]}),   # mlGeNN's reported 26.7 s per SHD epoch (A5000) shape
}


def write_data(root: Path, n_train: int, events: int, seed: int = 0) -> Path:
    """SHD layout under root/SHD (reused when the same sizes were written before)."""
    from eventprop.datasets.spoken_digits import write_shd_file
    stamp = root / "SHD" / f"written-{n_train}-{events}"
    if stamp.exists():
        return root
    rng = np.random.default_rng(seed)
    for split, n in (("train", n_train), ("test", 256)):
        labels = rng.integers(0, 20, n)
        samples = []
        for k in range(n):
            m = max(100, int(rng.normal(events, events / 4)))
            t = np.sort(rng.uniform(0.0, 1.0, m))
            x = rng.integers(labels[k] * 35, labels[k] * 35 + 35, m)
            x = np.where(rng.random(m) < 0.6, rng.integers(0, 700, m), x)
            samples.append((t, x))
        write_shd_file(root / "SHD" / f"shd_{split}.h5", samples, labels, rng.integers(0, 10, n),
                       [str(c) for c in range(20)], 700)
    stamp.touch()
    return root


def measure(net: str, data: Path, epochs: int, out: Path, prefetch: bool = True) -> dict:
    """One network in this process: epoch timings split by where the time went, then the kernels alone.
    prefetch=False reads each batch in turn (the trainer's background reading off: the A/B baseline)."""
    import torch
    from eventprop.pipeline.engine import cpu
    from eventprop.pipeline.training import config as configs
    from eventprop.pipeline.training import trainer as trainer_module
    from eventprop.pipeline.training.trainer import Trainer, prepare_run_dir

    preset, edits = NETS[net]
    cfg = configs.preset(preset)
    cfg.data.root, cfg.data.n_val, cfg.train.epochs = str(data), 256, epochs
    for key, value in edits.items():
        section, name = key.split(".")
        setattr(getattr(cfg, section), name, value)
    clock = {"kernels": 0.0, "data": 0.0}

    def timed(fn, key):
        def wrapper(*args, **kwargs):
            t0 = time.perf_counter()
            try:
                return fn(*args, **kwargs)
            finally:
                clock[key] += time.perf_counter() - t0
        return wrapper
    cpu.Engine.forward = timed(cpu.Engine.forward, "kernels")
    cpu.Engine.backward = timed(cpu.Engine.backward, "kernels")
    plain_prefetch = trainer_module.prefetch if prefetch else (lambda batches, depth=1: batches)

    def timed_prefetch(batches, depth=1):       # the consumer's wait for each batch (reading not hidden by prefetch)
        it = iter(plain_prefetch(batches, depth))
        while True:
            t0 = time.perf_counter()
            try:
                item = next(it)
            except StopIteration:
                return
            finally:
                clock["data"] += time.perf_counter() - t0
            yield item
    trainer_module.prefetch = timed_prefetch
    cfg = prepare_run_dir(out, cfg, resume=False, force=True)
    trainer = Trainer(cfg, out, quiet=True)
    n = len(trainer.train_set)
    rows = []
    for _ in range(epochs):
        clock.update(kernels=0.0, data=0.0)
        t0 = time.perf_counter()
        trainer._train_epoch(None)                  # one epoch: batches, updates, validation, best.pt
        rows.append({"seconds": time.perf_counter() - t0, **clock})
    trainer.close()
    batches = []
    for events, labels in trainer.train_set.batches(cfg.train.batch_size):
        batches.append((events, torch.from_numpy(labels)))
        if len(batches) == 4:
            break
    model = trainer.model
    t0 = time.perf_counter()
    for events, labels in batches:
        run = model.run(events)
        torch.nn.functional.cross_entropy(run.readouts["output"], labels).backward()
    kernel_only = (time.perf_counter() - t0) / sum(len(y) for _, y in batches)
    return {"net": net, "samples": n, "batch": cfg.train.batch_size, "epochs": rows,
            "kernels_only_ms_per_sample": 1e3 * kernel_only,
            "peak_rss_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024}


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--train", type=int, default=8156, help="training samples (SHD: 8156)")
    ap.add_argument("--events", type=int, default=8000, help="mean events per sample")
    ap.add_argument("--epochs", type=int, default=2)
    ap.add_argument("--nets", default=",".join(NETS), help=f"any of {sorted(NETS)}")
    ap.add_argument("--work", default=str(ROOT / "benchmarks" / "results" / "epoch"))
    ap.add_argument("--no-prefetch", action="store_true", help="read each batch in turn (A/B baseline)")
    ap.add_argument("--one", help=argparse.SUPPRESS)          # internal: measure one net in this process
    args = ap.parse_args()
    work = Path(args.work)
    if args.one:
        print(json.dumps(measure(args.one, work / "data", args.epochs, work / "runs" / args.one,
                                 prefetch=not args.no_prefetch)))
        return
    t0 = time.perf_counter()
    write_data(work / "data", args.train, args.events)
    print(f"data: {args.train} train samples, ~{args.events} events each ({time.perf_counter() - t0:.0f} s)",
          flush=True)
    results = []
    for net in args.nets.split(","):
        r = subprocess.run([sys.executable, __file__, "--one", net, "--epochs", str(args.epochs), "--work", str(work)]
                           + (["--no-prefetch"] if args.no_prefetch else []), capture_output=True, text=True, check=True)
        results.append(json.loads(r.stdout.strip().splitlines()[-1]))
    print("\n| network | epoch | s / epoch | samples / s | ms / sample | kernels | data wait | rest | "
          "kernels alone, ms / sample | x kernels alone | peak RSS MB |")
    print("|---|---|---|---|---|---|---|---|---|---|---|")
    for r in results:
        for k, e in enumerate(r["epochs"]):
            ms = 1e3 * e["seconds"] / r["samples"]
            rest = e["seconds"] - e["kernels"] - e["data"]
            print(f"| {r['net']} (batch {r['batch']}) | {k + 1} | {e['seconds']:.1f} | {r['samples'] / e['seconds']:.0f} "
                  f"| {ms:.2f} | {100 * e['kernels'] / e['seconds']:.0f} % | {100 * e['data'] / e['seconds']:.0f} % "
                  f"| {100 * rest / e['seconds']:.0f} % | {r['kernels_only_ms_per_sample']:.2f} "
                  f"| {ms / r['kernels_only_ms_per_sample']:.2f} | {r['peak_rss_mb']:.0f} |")
    (work / "epoch.json").write_text(json.dumps(results, indent=2))


if __name__ == "__main__":
    main()
