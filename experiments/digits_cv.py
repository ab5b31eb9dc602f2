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
    python experiments/digits_cv.py --variants base,win2,t900   # recipe changes, judged on the validation voices
    python experiments/digits_cv.py --collect          # the table from the runs that exist, training nothing
    python experiments/digits_cv.py --collect --final  # + the test accuracy of each run's final-epoch weights

A recipe variant (VARIANTS: the preset with a few fields changed) is judged by its best validation accuracy (the
held-out training voices of each fold: data.val_fraction, 10 % of them), mean over folds x seeds; its test accuracy is
reported beside, never used to pick. A variant that changes the validation set itself (VALIDATION_RULES: val1, the
single validation voice used before) is compared on test only.

--voices default folds the 11 espeak-ng voices of the demo set (1,980 utterances; quick), extended the 45 voices.
Data: data/spoken-digits-<voices>-folds-<frontend>, written when missing (`eventprop data spoken-digits --voices V
--folds K --frontend F`; needs espeak-ng, and flite / festival for their voices). Runs (resumable, seed-major so
an interrupted sweep leaves whole (seed, fold) cells):
runs/experiments/digits-cv/<voices>-<frontend>-<arm>[-<variant>]-f<k>-s<seed>.
Writes experiments/results/digits_cv_<voices>.{json,md} (and digits_cv_final_<voices>.json with --final).
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
VARIANTS = {                                  # name -> config fields changed from the arm's preset
    "base": {},
    "win2": {"model.w_in": [0.08, 0.04]},     # twice the input weights: lauscher brings half of log-mel's events
    "t900": {"data.duration": 900.0},         # a longer window: 2.5 % of lauscher's events fall after 700 ms
    "val1": {"data.val_fraction": 0.03},      # one validation voice of the 45-voice set's 36 (the rule before 10 %)
}
# variants that change the validation set itself: compared on test only, never picked by validation (their
# validation measures something else)
VALIDATION_RULES = {v for v, fields in VARIANTS.items() if {"data.val_fraction", "data.val_speakers"} & set(fields)}


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


def arm_config(arm: str, voices: str, frontend: str, fold: int, epochs: int | None,
               variant: str = "base") -> configs.RunConfig:
    cfg = configs.preset("spoken-digits-2d" if arm == "positions" else "spoken-digits")
    if arm == "none":
        cfg.model.learn_delays, cfg.model.delay_init_ms = False, [0.0, 0.0]
    for field, value in VARIANTS[variant].items():
        section, key = field.split(".")
        setattr(getattr(cfg, section), key, value)
    cfg.data.root, cfg.data.fold = str(data_root(voices, frontend)), fold
    if epochs is not None:
        cfg.train.epochs = cfg.train.early_stop_patience = epochs
    return cfg


def cell(voices: str, frontend: str, arm: str, variant: str) -> str:
    """Run-folder name of one (voice set, front end, arm, variant) before its -f<fold>-s<seed>."""
    return f"{voices}-{frontend}-{arm}{'' if variant == 'base' else '-' + variant}"


def collect(voices: str, frontend: str, arm: str, variant: str = "base",
            measure: str = "test_acc") -> dict[tuple[int, int], float]:
    """(fold, seed) -> test (or best validation) accuracy of the finished runs of one voice set, front end, arm and
    recipe variant."""
    pattern = re.compile(re.escape(cell(voices, frontend, arm, variant)) + r"-f(\d+)-s(\d+)")
    out = {}
    for p in DIR.glob("*-f*-s*"):
        m = pattern.fullmatch(p.name)
        if m and (p / "results.json").exists():
            out[(int(m.group(1)), int(m.group(2)))] = json.loads((p / "results.json").read_text())[measure]
    return out


def final_epoch_acc(run_dir) -> float:
    """Test accuracy of the final epoch's weights (checkpoints/last.pt), shown beside the protocol's pick (the
    best-validation checkpoint), never instead of it: a validation voice that reaches 100 % early picks an early
    checkpoint."""
    from eventprop.pipeline.training.runs import load_trained
    from eventprop.workflows import float_accuracy
    run_ = load_trained(run_dir, checkpoint="checkpoints/last.pt")
    return float_accuracy(run_, np.arange(len(run_.datasets[2])))


def final_accs(voices: str, names: list[str]) -> dict[str, float]:
    """Run name -> final-epoch test accuracy, cached in experiments/results/digits_cv_final_<voices>.json."""
    path = ROOT / "experiments" / "results" / f"digits_cv_final_{voices}.json"
    cache = json.loads(path.read_text()) if path.exists() else {}
    todo = [n for n in names if n not in cache and (DIR / n / "results.json").exists()]
    for i, name in enumerate(todo):
        print(f"final-epoch weights {i + 1}/{len(todo)}: {name}", flush=True)
        cache[name] = final_epoch_acc(DIR / name)
        path.write_text(json.dumps(dict(sorted(cache.items())), indent=2))
    return cache


def _paired_row(a: dict, b: dict) -> list[str]:
    """a - b over the (fold, seed) cells both hold: paired over folds (fold means) and over the cells."""
    cells = sorted(set(a) & set(b))
    folds = sorted({k for k, _ in cells})
    by_fold = [[np.mean([d[c] for c in cells if c[0] == k]) for k in folds] for d in (a, b)]
    return [f"{paired(*by_fold)}, n = {len(folds)}",
            f"{paired([a[c] for c in cells], [b[c] for c in cells])}, n = {len(cells)}"]


def table(voices, frontends, arms, variants=("base",), final: bool = False) -> tuple[dict, str]:
    acc = {(f, a): collect(voices, f, a) for f in frontends for a in arms}
    rows, diffs = [], []
    for f in frontends:
        for a in arms:
            r = acc[(f, a)]
            folds = sorted({k for k, _ in r})
            fold_means = [np.mean([v for (k, _), v in r.items() if k == fold]) for fold in folds]
            rows.append([f, a, str(len(folds)), str(len({s for _, s in r})), mean_sd(r.values(), 100),
                         " / ".join(f"{100 * m:.1f}" for m in fold_means)])
            if final:
                names = [f"{cell(voices, f, a, 'base')}-f{k}-s{s}" for k, s in sorted(r)]
                last = final_accs(voices, names)
                rows[-1].append(mean_sd([last[n] for n in names], 100))
        for a in [x for x in ("delays", "positions") if x in arms and "none" in arms]:
            diffs.append([f, f"{a} - none", *_paired_row(acc[(f, a)], acc[(f, "none")])])
        if "delays" in arms and "positions" in arms:
            diffs.append([f, "positions - delays", *_paired_row(acc[(f, "positions")], acc[(f, "delays")])])
    if {"logmel", "lauscher"} <= set(frontends):
        for a in arms:
            diffs.append([a, "lauscher - logmel", *_paired_row(acc[("lauscher", a)], acc[("logmel", a)])])
    text = f"Voices: {voices}.\n\n" + markdown(
        ["front end", "arm", "folds", "seeds", "test % (mean +- sd over folds x seeds)", "per fold (mean over seeds)"]
        + (["final-epoch weights, test % (not the protocol's pick)"] if final else []), rows)
    text += "\n\nPaired differences (points):\n\n" + markdown(
        ["front end / arm", "difference", "over folds (fold means)", "over (fold, seed) pairs"], diffs)
    rows = {f"{f}/{a}": {f"f{k}-s{s}": v for (k, s), v in sorted(acc[(f, a)].items())} for f, a in acc}
    if [v for v in variants if v != "base"]:
        recipe_rows, recipe_text = recipe_table(voices, frontends, arms, variants)
        rows["variants"] = recipe_rows
        text += "\n\n" + recipe_text
    return rows, text


def recipe_table(voices, frontends, arms, variants) -> tuple[dict, str]:
    """Each variant against the preset (base) on the (fold, seed) cells both ran: validation (what picks) and test
    (reported, never used to pick)."""
    rows, out, picks = [], {}, []
    for f in frontends:
        for a in arms:
            val0, test0 = collect(voices, f, a, "base", "best_val_acc"), collect(voices, f, a)
            gains = {}
            for v in variants:
                val, test = collect(voices, f, a, v, "best_val_acc"), collect(voices, f, a, v)
                if not test:
                    continue
                shared = sorted(set(val) & set(val0))
                if v not in VALIDATION_RULES:
                    gains[v] = float(np.mean([val[c] - val0[c] for c in shared])) if shared else float("nan")
                out[f"{f}/{a}/{v}"] = {f"f{k}-s{s}": {"val": val[(k, s)], "test": test[(k, s)]}
                                       for k, s in sorted(test)}
                rows.append([f, a, v, "; ".join(f"{k}={x}" for k, x in VARIANTS[v].items()) or "preset",
                             str(len(test)), mean_sd(val.values(), 100), mean_sd(test.values(), 100),
                             "" if v == "base" else "another validation set" if v in VALIDATION_RULES
                             else _paired_row(val, val0)[0],
                             "" if v == "base" else _paired_row(test, test0)[0]])
            if len(gains) > 1:
                best = max(gains, key=lambda v: -np.inf if np.isnan(gains[v]) else gains[v])
                others = ", ".join(f"{v} {100 * g:+.1f} pt" for v, g in gains.items() if v != "base")
                picks.append(f"- {f} / {a}: {'the preset' if best == 'base' else best} (validation against the "
                             f"preset on the runs both made: {others})")
    benefit = []
    for f in frontends:
        for v in [x for x in variants if x != "base" and "none" in arms]:
            none = collect(voices, f, "none", v)
            for a in [x for x in ("delays", "positions") if x in arms]:
                learned = collect(voices, f, a, v)
                if learned and none:
                    benefit.append([f, v, f"{a} - none", *_paired_row(learned, none)])
    text = ("Recipe variants, judged on the validation voices of each fold (test beside, never used to pick):\n\n"
            + markdown(["front end", "arm", "variant", "change", "runs", "validation %", "test %",
                        "validation - preset, over folds", "test - preset, over folds"], rows)
            + ("\n\nPicked by validation:\n\n" + "\n".join(picks) if picks else ""))
    if benefit:
        text += "\n\nDelay benefit with a variant's recipe (test points):\n\n" + markdown(
            ["front end", "variant", "difference", "over folds (fold means)", "over (fold, seed) pairs"], benefit)
    return out, text


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--voices", choices=("default", "extended"), default="extended")
    ap.add_argument("--frontends", default="logmel")
    ap.add_argument("--folds", type=int, default=5)
    ap.add_argument("--seeds", default="0,1,2")
    ap.add_argument("--arms", default=",".join(ARMS))
    ap.add_argument("--variants", default="base", help=f"recipe variants, of {list(VARIANTS)}")
    ap.add_argument("--epochs", type=int, help="override the presets' epochs (default: theirs, 60)")
    ap.add_argument("--collect", action="store_true", help="no training: the table from the runs that exist")
    ap.add_argument("--final", action="store_true",
                    help="also the test accuracy of each run's final-epoch weights (cached; beside the pick, never "
                         "instead of it)")
    args = ap.parse_args()
    frontends, arms, variants = args.frontends.split(","), args.arms.split(","), args.variants.split(",")
    bad = (sorted(set(arms) - set(ARMS)) + sorted(set(frontends) - {"logmel", "lauscher"})
           + sorted(set(variants) - set(VARIANTS)))
    if bad:
        raise SystemExit(f"unknown arms / front ends / variants {bad}; arms: {list(ARMS)}, front ends: logmel, "
                         f"lauscher, variants: {list(VARIANTS)}")
    if not args.collect:
        for f in frontends:
            ensure_data(args.voices, f, args.folds)
        for s in [int(x) for x in args.seeds.split(",")]:
            for k in range(args.folds):
                for f in frontends:
                    for a in arms:
                        for v in variants:
                            run(arm_config(a, args.voices, f, k, args.epochs, v),
                                DIR / f"{cell(args.voices, f, a, v)}-f{k}-s{s}", s, None)
    rows, text = table(args.voices, frontends, arms, variants, args.final)
    save_results(f"digits_cv_{args.voices}", rows, text)


if __name__ == "__main__":
    main()
