"""Recipe search for the offline spoken digits (issue 10: >= 90 % on the unseen voices): each variant is a preset
(`spoken-digits-2d`: delays from learned 2-D positions; `spoken-digits`: free delays) with a few fields set, trained
over seeds.

    python experiments/digits_recipe.py [--seeds 0,1,2,3,4] [--only NAME,..]   # trains what is missing
    python experiments/digits_recipe.py --collect                              # table from the runs that exist

Runs live in runs/experiments/recipe/<variant>-s<seed>; an existing run is reused only when its config.toml is the
variant's config (else the script stops and names the field). Writes experiments/results/digits_recipe.{json,md}.
Needs data/spoken-digits (`eventprop data spoken-digits --out data/spoken-digits`).
"""
from __future__ import annotations

import argparse
import re

from common import RUNS, markdown, mean_sd, run, save_results

from eventprop.pipeline.training import config as configs

V25 = {"space.velocity": 0.025, "model.max_delay_ms": 60.0}     # box diagonal 1.41 / 0.025 = 57 ms
VARIANTS = {   # name: (preset, fields set on it)
    "v0.025": ("spoken-digits-2d", V25),
    "v0.025-stretch": ("spoken-digits-2d", {**V25, "data.stretch": 0.1}),
    "v0.025-shift10": ("spoken-digits-2d", {**V25, "data.shift": 10}),
    "v0.025-shift10-stretch": ("spoken-digits-2d", {**V25, "data.shift": 10, "data.stretch": 0.1}),
    "v0.025-h512": ("spoken-digits-2d", {**V25, "model.hidden": [512]}),
    "v0.025-h512-stretch": ("spoken-digits-2d", {**V25, "model.hidden": [512], "data.stretch": 0.1}),
    "v0.0175": ("spoken-digits-2d", {"space.velocity": 0.0175, "model.max_delay_ms": 85.0}),    # 81 ms
    "v0.0125": ("spoken-digits-2d", {"space.velocity": 0.0125, "model.max_delay_ms": 115.0}),   # 113 ms
    "free-d60": ("spoken-digits", {"model.max_delay_ms": 60.0, "model.delay_init_ms": [0.0, 60.0]}),
    "free-d85": ("spoken-digits", {"model.max_delay_ms": 85.0, "model.delay_init_ms": [0.0, 85.0]}),
}
DIR = RUNS / "recipe"


def variant_config(preset: str, fields: dict) -> configs.RunConfig:
    cfg = configs.preset(preset)
    for key, value in fields.items():
        section, name = key.split(".")
        setattr(getattr(cfg, section), name, value)
    return cfg                                  # run() checks it like a config file


def _finished_seeds(name: str) -> list[int]:
    pattern = re.compile(re.escape(name) + r"-s(\d+)")
    return sorted(int(m.group(1)) for p in DIR.glob(f"{name}-s*")
                  if (m := pattern.fullmatch(p.name)) and (p / "results.json").exists())


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--seeds", default="0,1,2,3,4")
    ap.add_argument("--only", help="comma-separated variant names")
    ap.add_argument("--collect", action="store_true", help="no training: the table from the runs that exist")
    args = ap.parse_args()
    names = args.only.split(",") if args.only else list(VARIANTS)
    unknown = sorted(set(names) - set(VARIANTS))
    if unknown:
        raise SystemExit(f"--only: unknown variants {unknown}; known: {list(VARIANTS)}")
    rows, table = {}, []
    for name in names:
        preset, fields = VARIANTS[name]
        cfg = variant_config(preset, fields)
        seeds = _finished_seeds(name) if args.collect else [int(s) for s in args.seeds.split(",")]
        res = []
        for s in seeds:
            out = DIR / f"{name}-s{s}"
            res.append({"seed": s, **run(cfg, out, s, None)})
        if not res:
            continue
        rows[name] = {"preset": preset, "fields": fields, "runs": res}
        table.append([name, preset, ", ".join(f"{k} = {v}" for k, v in fields.items()), str(len(res)),
                      mean_sd([r["test_acc"] for r in res], 100),
                      " / ".join(f"{100 * r['test_acc']:.1f}" for r in res),
                      mean_sd([r["best_val_acc"] for r in res], 100)])
        print(table[-1], flush=True)
    text = markdown(["variant", "preset", "fields set on it", "seeds", "test % (unseen voices)",
                     "per seed", "best val %"], table)
    save_results("digits_recipe", rows, text)


if __name__ == "__main__":
    main()
