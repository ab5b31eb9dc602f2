"""Cross-validated spoken digits (issue: spoken-digits benchmark). K leave-voices-out folds of the extended voice
set (every voice tested in exactly one fold, never heard in that fold's training) x seeds x arms, per front end:

  delays:    the `spoken-digits` preset (free delays, learned, 0..85 ms)
  positions: the `spoken-digits-2d` preset (delays from learned 2-D positions)
  none:      the `spoken-digits` preset without delays (all 0, not learned)

Table: test accuracy mean +- sd over folds x seeds; the delay benefit (delays or positions minus none) and, with two
front ends, lauscher minus logmel, each paired over folds (each fold's mean over seeds; paired t and Wilcoxon) and
over (fold, seed) pairs.

    python experiments/digits_cv.py [--voices extended] [--frontends logmel,lauscher] [--folds 5] [--seeds 0,1,2]
                                    [--arms delays,positions,none]
    python experiments/digits_cv.py --collect          # the table from the runs that exist, training nothing

--voices default folds the 11 espeak-ng voices of the demo set (1,980 utterances; quick), extended the 45 voices.
Data: data/spoken-digits-<voices>-folds-<frontend>, written when missing (`eventprop data spoken-digits --voices V
--folds K --frontend F`; needs espeak-ng, and flite / festival for their voices). Runs (resumable, seed-major so
an interrupted sweep leaves whole (seed, fold) cells):
runs/experiments/digits-cv/<voices>-<frontend>-<arm>-f<k>-s<seed>.
Writes experiments/results/digits_cv_<voices>.{json,md}.
"""
from __future__ import annotations

import argparse
import json
import re

import numpy as np
from common import ROOT, RUNS, markdown, mean_sd, paired, run, save_results

from eventprop.pipeline.training import config as configs

DIR = RUNS / "digits-cv"
ARMS = ("delays", "positions", "none")


def data_root(voices: str, frontend: str):
    return ROOT / "data" / f"spoken-digits-{voices}-folds-{frontend}"


def ensure_data(voices: str, frontend: str, folds: int) -> None:
    root = data_root(voices, frontend)
    if (root / "folds" / f"fold-{folds - 1}" / "SHD" / "shd_test.h5").exists():
        have = len(list((root / "folds").glob("fold-*")))
        if have != folds:
            raise SystemExit(f"{root} holds {have} folds, not {folds}: move it away or pass --folds {have}")
        return
    from eventprop.datasets.spoken_digits import generate
    print(f"--- writing {root} ({frontend}, {voices} voices, {folds} folds)", flush=True)
    summary = generate(root, frontend=frontend, voice_set=voices, folds=folds)
    for note in summary["notes"]:
        print(f"note: {note}")


def arm_config(arm: str, voices: str, frontend: str, fold: int, epochs: int | None) -> configs.RunConfig:
    cfg = configs.preset("spoken-digits-2d" if arm == "positions" else "spoken-digits")
    if arm == "none":
        cfg.model.learn_delays, cfg.model.delay_init_ms = False, [0.0, 0.0]
    cfg.data.root, cfg.data.fold = str(data_root(voices, frontend)), fold
    if epochs is not None:
        cfg.train.epochs = cfg.train.early_stop_patience = epochs
    return cfg


def collect(voices: str, frontend: str, arm: str) -> dict[tuple[int, int], float]:
    """(fold, seed) -> test accuracy of the finished runs of one voice set, front end and arm."""
    pattern = re.compile(re.escape(f"{voices}-{frontend}-{arm}-f") + r"(\d+)-s(\d+)")
    out = {}
    for p in DIR.glob(f"{voices}-{frontend}-{arm}-f*-s*"):
        m = pattern.fullmatch(p.name)
        if m and (p / "results.json").exists():
            out[(int(m.group(1)), int(m.group(2)))] = json.loads((p / "results.json").read_text())["test_acc"]
    return out


def _paired_row(a: dict, b: dict) -> list[str]:
    """a - b over the (fold, seed) cells both hold: paired over folds (fold means) and over the cells."""
    cells = sorted(set(a) & set(b))
    folds = sorted({k for k, _ in cells})
    by_fold = [[np.mean([d[c] for c in cells if c[0] == k]) for k in folds] for d in (a, b)]
    return [f"{paired(*by_fold)}, n = {len(folds)}",
            f"{paired([a[c] for c in cells], [b[c] for c in cells])}, n = {len(cells)}"]


def table(voices, frontends, arms) -> tuple[dict, str]:
    acc = {(f, a): collect(voices, f, a) for f in frontends for a in arms}
    rows, diffs = [], []
    for f in frontends:
        for a in arms:
            r = acc[(f, a)]
            folds = sorted({k for k, _ in r})
            fold_means = [np.mean([v for (k, _), v in r.items() if k == fold]) for fold in folds]
            rows.append([f, a, str(len(folds)), str(len({s for _, s in r})), mean_sd(r.values(), 100),
                         " / ".join(f"{100 * m:.1f}" for m in fold_means)])
        for a in [x for x in ("delays", "positions") if x in arms and "none" in arms]:
            diffs.append([f, f"{a} - none", *_paired_row(acc[(f, a)], acc[(f, "none")])])
    if {"logmel", "lauscher"} <= set(frontends):
        for a in arms:
            diffs.append([a, "lauscher - logmel", *_paired_row(acc[("lauscher", a)], acc[("logmel", a)])])
    text = f"Voices: {voices}.\n\n" + markdown(
        ["front end", "arm", "folds", "seeds", "test % (mean +- sd over folds x seeds)", "per fold (mean over seeds)"],
        rows)
    text += "\n\nPaired differences (points):\n\n" + markdown(
        ["front end / arm", "difference", "over folds (fold means)", "over (fold, seed) pairs"], diffs)
    return {f"{f}/{a}": {f"f{k}-s{s}": v for (k, s), v in sorted(acc[(f, a)].items())} for f, a in acc}, text


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--voices", choices=("default", "extended"), default="extended")
    ap.add_argument("--frontends", default="logmel")
    ap.add_argument("--folds", type=int, default=5)
    ap.add_argument("--seeds", default="0,1,2")
    ap.add_argument("--arms", default=",".join(ARMS))
    ap.add_argument("--epochs", type=int, help="override the presets' epochs (default: theirs, 60)")
    ap.add_argument("--collect", action="store_true", help="no training: the table from the runs that exist")
    args = ap.parse_args()
    frontends, arms = args.frontends.split(","), args.arms.split(",")
    bad = sorted(set(arms) - set(ARMS)) + sorted(set(frontends) - {"logmel", "lauscher"})
    if bad:
        raise SystemExit(f"unknown arms / front ends {bad}; arms: {list(ARMS)}, front ends: logmel, lauscher")
    if not args.collect:
        for f in frontends:
            ensure_data(args.voices, f, args.folds)
        for s in [int(x) for x in args.seeds.split(",")]:
            for k in range(args.folds):
                for f in frontends:
                    for a in arms:
                        run(arm_config(a, args.voices, f, k, args.epochs),
                            DIR / f"{args.voices}-{f}-{a}-f{k}-s{s}", s, None)
    rows, text = table(args.voices, frontends, arms)
    save_results(f"digits_cv_{args.voices}", rows, text)


if __name__ == "__main__":
    main()
