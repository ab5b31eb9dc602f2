"""Spatial-network experiments (issue: spatial networks end to end), resumable: each run lands in
runs/experiments/<suite>/<variant>-s<seed>/ and is skipped when its results.json exists.

  yinyang: no delays | free per-synapse delays | positions in 1, 2, 3 dims (same budget: the presets' 60 epochs)
  digits:  the same comparison on the offline spoken digits (needs data/spoken-digits; --epochs to shorten)
  cost:    spoken digits, 2-D positions, recurrent hidden layer, connection cost at several strengths, then
           `eventprop analyze` on each run (small-world sigma, modularity, Moran's I of class preference)

Writes experiments/results/spatial_<suite>.json and prints a markdown table of mean +- sd over seeds.

    python experiments/spatial.py yinyang --seeds 0,1,2
    python experiments/spatial.py cost --seeds 0 --epochs 20 --costs 0,1e-4,1e-3
"""
from __future__ import annotations

import argparse
import json
import math
from pathlib import Path

import numpy as np

from eventprop.analyze import analyze
from eventprop.pipeline import config as configs
from eventprop.pipeline.trainer import start_run

ROOT = Path(__file__).resolve().parent.parent
RUNS = ROOT / "runs" / "experiments"


def variants(suite: str, costs: list[float]):
    """(name, config) per variant."""
    if suite == "yinyang":
        out = [("no-delays", configs.preset("yinyang")), ("free-delays", configs.preset("yinyang-delays"))]
        for dims in (1, 2, 3):
            cfg = configs.preset("yinyang-2d")
            cfg.space.dims, cfg.space.velocity = dims, round(math.sqrt(dims) / 7.0, 4)   # box diagonal = 7 ms
            out.append((f"positions-{dims}d", cfg))
        return out
    if suite == "digits":
        nodelay = configs.preset("spoken-digits")
        nodelay.model.learn_delays, nodelay.model.max_delay_ms, nodelay.model.delay_init_ms = False, 0.0, [0.0, 0.0]
        return [("no-delays", nodelay), ("free-delays", configs.preset("spoken-digits")),
                ("positions-2d", configs.preset("spoken-digits-2d"))]
    out = []
    for cost in costs:
        cfg = configs.preset("spoken-digits-2d")
        cfg.model.recurrent, cfg.space.cost = True, cost
        out.append((f"cost-{cost:g}", cfg))
    return out


def run_one(name: str, cfg, seed: int, epochs: int | None, suite: str) -> dict:
    cfg.seed = seed
    if epochs is not None:
        cfg.train.epochs = epochs
    out = RUNS / suite / f"{name}-s{seed}"
    if not (out / "results.json").exists():
        print(f"--- {suite} {name} seed {seed}", flush=True)
        start_run(cfg, out, force=True, quiet=True).fit()
    res = json.loads((out / "results.json").read_text())
    if suite == "cost":
        if not (out / "analysis" / "network.json").exists():
            analyze(out, permutations=999)
        rep = json.loads((out / "analysis" / "network.json").read_text())
        g, sp = rep["graph"]["trained"], rep["specialisation"]
        res.update(sigma=g["sigma"], omega=g["omega"], modularity=g["modularity"],
                   moran_preference=sp.get("moran_preference", {}).get("I"),
                   moran_p=sp.get("moran_preference", {}).get("p_value"),
                   spearman_in_hid=rep["locality"]["trained"].get("in_hid", {}).get("spearman_w_distance"))
    return res


def table(rows: dict[str, list[dict]], suite: str) -> str:
    cols = ["test_acc", "parameters", "train_seconds"] + (
        ["sigma", "modularity", "moran_preference", "moran_p", "spearman_in_hid"] if suite == "cost" else [])
    lines = ["| variant | seeds | " + " | ".join(cols) + " |", "|---" * (len(cols) + 2) + "|"]
    for name, results in rows.items():
        cells = []
        for col in cols:
            if col == "parameters":
                p = results[0]["parameters"]
                cells.append(f"{sum(p.values()):,} ({p['weight']:,} w, {p['delay']:,} d, {p['position']:,} p)")
                continue
            vals = np.array([r[col] for r in results if r.get(col) is not None], dtype=float)
            scale = 100 if col == "test_acc" else 1
            cells.append("-" if not vals.size else f"{scale * vals.mean():.3g} +- {scale * vals.std(ddof=1):.2g}"
                         if vals.size > 1 else f"{scale * vals[0]:.3g}")
        lines.append(f"| {name} | {len(results)} | " + " | ".join(cells) + " |")
    return "\n".join(lines)


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("suite", choices=("yinyang", "digits", "cost"))
    ap.add_argument("--seeds", default="0,1,2")
    ap.add_argument("--epochs", type=int, help="override every variant's epochs (same budget for all)")
    ap.add_argument("--costs", default="0,1e-4,1e-3", help="cost suite: connection-cost strengths")
    ap.add_argument("--only", help="comma-separated variant names")
    args = ap.parse_args()
    seeds = [int(s) for s in args.seeds.split(",")]
    chosen = [(n, c) for n, c in variants(args.suite, [float(x) for x in args.costs.split(",")])
              if not args.only or n in args.only.split(",")]
    rows = {}
    for name, cfg in chosen:
        rows[name] = [run_one(name, configs.from_dict(cfg.to_dict()), s, args.epochs, args.suite) for s in seeds]
    (ROOT / "experiments" / "results" / f"spatial_{args.suite}.json").write_text(json.dumps(rows, indent=2))
    print(table(rows, args.suite))


if __name__ == "__main__":
    main()
