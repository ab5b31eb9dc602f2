"""Structure-learning experiments (issue: structure learning), resumable like experiments/spatial.py.

  ablation: offline spoken digits, {fixed, learned structure (DEEP R + RigL + Dale)} x {fixed, learned delays} on the
            input -> hidden connection at the given sparsities (the paper's four models; fixed structures without
            Dale's law, as the paper). The input weight mean is scaled by 1 / (1 - sparsity) so every hidden neuron
            starts with the same expected drive as in the dense net.
  moran:    receptive-field Moran's I (max over row orders), trained vs initial, Mann-Whitney U, for the dense delay
            net (the spatial digits suite's free-delays run) and the ablation's 87.5 % DEEP R + RigL + Dale delay net.
  frontiers: the paper's protocol (preset frontiers-digits: both layers sparse, L1 0.01, Dale 50/50, RigL every step)
            {fixed structure, learned structure, learned structure + Dale} x {fixed, learned delays} per sparsity, a
            dense reference with the same epoch budget; paired tests over seeds; the output receptive fields' Moran's
            I (signs, max over row orders) against the fill-preserving null and the initial fields, dense vs sparse.

    python experiments/structure.py ablation --seeds 0,1 --epochs 20 --sparsities 0.75,0.9375
    python experiments/structure.py moran --seeds 0 --epochs 20
    python experiments/structure.py frontiers --seeds 0,1,2,3,4 --epochs 30 --sparsities 0.875,0.9375,0.984375 \
        [--arms fixed,learned,dale]
"""
from __future__ import annotations

import argparse
import shutil

import numpy as np
from common import ROOT, RUNS, markdown, mean_sd, paired, params_cell, run, save_results
from scipy.stats import mannwhitneyu

from eventprop.pipeline.training import config as configs


def model(sparsity: float, learned_structure: bool, learned_delays: bool):
    cfg = configs.preset("spoken-digits")
    cfg.model.max_delay_ms, cfg.model.delay_init_ms = 60.0, [0.0, 60.0]   # as when the stored tables ran
    cfg.model.learn_delays = learned_delays                 # fixed delays: the same Uniform(0, 60 ms) draw, frozen
    if sparsity > 0:
        st = cfg.structure
        st.connections, st.sparsity = ["in_hid"], sparsity
        st.method, st.dale = ("deep_r+rigl", True) if learned_structure else ("fixed", False)
        st.period, st.fraction = 20, 0.05
        cfg.model.w_in = [cfg.model.w_in[0] / (1 - sparsity), cfg.model.w_in[1] / (1 - sparsity)]
    return cfg


ARMS = {"fixed structure": ("fixed", False), "learned structure": ("deep_r+rigl", False),
        "learned structure + Dale": ("deep_r+rigl", True)}
LEARNED = ("learned structure + Dale", "learned structure")      # the rewired arms, in the order the tables list them


def frontiers_model(sparsity: float, arm: str | None, learned_delays: bool):
    """The frontiers-digits preset at `sparsity` (0: the dense reference) for one structure arm."""
    cfg = configs.preset("frontiers-digits")
    cfg.model.learn_delays = learned_delays
    base = configs.preset("spoken-digits").model            # its weights, scaled to the same expected drive
    cfg.model.w_in = [base.w_in[0] / (1 - sparsity), base.w_in[1] / (1 - sparsity)]
    cfg.model.w_out = [base.w_out[0], base.w_out[1] / (1 - sparsity)]
    if sparsity == 0:
        cfg.structure = type(cfg.structure)()
        return cfg
    cfg.structure.sparsity = sparsity
    cfg.structure.method, cfg.structure.dale = ARMS[arm]
    return cfg


def frontiers(seeds, epochs, sparsities, arms=tuple(ARMS)) -> tuple[dict, str]:
    analysis = dict(permutations=9, rf_fields=20, rf_permutations=2000, rf_target="output", rf_marks="sign")
    acc, rows, table = {}, {}, []
    variants = [(0.0, None, d) for d in (False, True)] + [(sp, arm, d) for sp in sparsities for arm in arms
                                                           for d in (False, True)]
    name = {v: (f"dense-{'learned' if v[2] else 'fixed'}_delays" if v[0] == 0 else
                f"s{v[0]:g}-{v[1].replace(' + ', '_').replace(' ', '_')}-{'learned' if v[2] else 'fixed'}_delays")
            for v in variants}
    folder = RUNS / "frontiers"
    for s in seeds:                              # seed-major: an interrupted sweep leaves whole seeds behind
        for v in variants:
            moran = v[2] and (v[0] == 0 or (v[1] == "learned structure + Dale" and v[0] == min(sparsities)))
            run(frontiers_model(*v), folder / f"{name[v]}-s{s}", s, epochs, analysis if moran else None)
    for v in variants:
        res = [run(frontiers_model(*v), folder / f"{name[v]}-s{s}", s, epochs) for s in seeds]
        rows[name[v]] = res
        acc[v] = [r["test_acc"] for r in res]
        table.append([f"{100 * v[0]:g} %", v[1] or "dense", "learned" if v[2] else "fixed", str(len(res)),
                      mean_sd(acc[v], 100), params_cell(res[0]["parameters"])])
    text = markdown(["sparsity", "structure", "delays", "seeds", "test %", "trained parameters"], table)
    claims = []
    for sp in sparsities:
        for arm in [a for a in LEARNED if (sp, a, False) in acc]:
            fixed = acc[(sp, arm, False)]
            claims.append([f"{100 * sp:g} %", arm, paired(fixed, acc[(sp, "fixed structure", False)]),
                           paired(fixed, acc[(sp, "fixed structure", True)]), paired(acc[(sp, arm, True)], fixed)])
    text += "\n\nPaired differences over seeds (points):\n\n" + markdown(
        ["sparsity", "learned structure arm", "its fixed delays vs fixed structure, fixed delays",
         "its fixed delays vs fixed structure, learned delays", "learned delays added to it"], claims)
    trend = []                                  # claim (a)'s "more so the sparser": does the gap close?
    for arm in [a for a in LEARNED if (sparsities[0], a, False) in acc]:
        gap = {sp: np.subtract(acc[(sp, arm, False)], acc[(sp, "fixed structure", True)]) for sp in sparsities}
        trend += [[arm, f"{100 * lo:g} % -> {100 * hi:g} %", paired(gap[hi], gap[lo])]
                  for lo, hi in zip(sparsities, sparsities[1:])]
    text += "\n\nChange of the gap (learned structure with fixed delays minus fixed structure with learned delays) " \
        "from one sparsity to the next, paired over seeds (points; > 0: the gap closes):\n\n" + markdown(
            ["learned structure arm", "sparsity", "change of the gap"], trend)
    fields = []
    for label, v in (("dense", (0.0, None, True)),
                     (f"{100 * min(sparsities):g} % DEEP R + RigL + Dale", (min(sparsities), "learned structure + Dale",
                                                                            True))):
        res = [run(frontiers_model(*v), folder / f"{name[v]}-s{s}", s, epochs, analysis) for s in seeds]
        figure = f"structure_frontiers_fields_{'sparse' if v[0] else 'dense'}.png"       # the first seed's fields
        shutil.copyfile(folder / f"{name[v]}-s{seeds[0]}" / "plots" / "receptive_in_hid.png",
                        ROOT / "experiments" / "results" / figure)
        rf = [r["analysis"]["receptive_fields"]["in_hid"] for r in res]
        pool = {k: sum((x[f"moran_{k}"] for x in rf), []) for k in ("initial", "trained", "null")}
        vs_null = mannwhitneyu(pool["trained"], pool["null"], alternative="two-sided")
        vs_init = mannwhitneyu(pool["trained"], pool["initial"], alternative="two-sided")
        hist = [x["delay_histogram"]["trained"] for x in rf]
        bounds = np.mean([h["share_at_0"] + h["share_at_max"] for h in hist])
        fields.append([label, str(len(pool["trained"])), f"{np.median(pool['initial']):.3f}",
                       f"{np.median(pool['trained']):.3f}", f"{np.median(pool['null']):.3f}",
                       f"U = {vs_init.statistic:.0f}, p = {vs_init.pvalue:.2g}",
                       f"U = {vs_null.statistic:.0f}, p = {vs_null.pvalue:.2g}", f"{100 * bounds:.1f} %"])
        rows[f"moran {label}"] = {"pooled": pool}
    text += "\n\nOutput receptive fields (sign marks, max Moran's I over 2000 row orders), pooled over seeds:\n\n" + \
        markdown(["model", "fields", "median initial", "median trained", "median null", "trained vs initial",
                  "trained vs fill-preserving null", "input delays at 0 or max"], fields)
    _plot_frontiers(acc, sparsities, rows, ROOT / "experiments" / "results" / "structure_frontiers.png")
    return rows, text


def _plot_frontiers(acc: dict, sparsities, rows: dict, path):
    import matplotlib
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    from eventprop.files import save_figure
    fig, (ax, ax_m) = plt.subplots(1, 2, figsize=(11, 5))
    for arm in sorted({v[1] for v in acc if v[1]}, key=list(ARMS).index):
        for delays, style in ((False, "--"), (True, "-")):
            y = [100 * np.mean(acc[(sp, arm, delays)]) for sp in sparsities]
            e = [100 * np.std(acc[(sp, arm, delays)], ddof=1) if len(acc[(sp, arm, delays)]) > 1 else 0
                 for sp in sparsities]
            ax.errorbar([100 * sp for sp in sparsities], y, e, ls=style, marker="o", capsize=3,
                        label=f"{arm}, {'learned' if delays else 'fixed'} delays")
    for delays, colour in ((False, "grey"), (True, "black")):
        ax.axhline(100 * np.mean(acc[(0.0, None, delays)]), color=colour, lw=0.8,
                   label=f"dense, {'learned' if delays else 'fixed'} delays")
    ax.set(xlabel="sparsity (%)", ylabel="test accuracy (%), mean +- sd over seeds", title="accuracy vs sparsity")
    ax.legend(fontsize=6, loc="upper center", bbox_to_anchor=(0.5, -0.15), ncol=2)   # below: clear of the data
    for key in [k for k in rows if k.startswith("moran ")]:
        pool = rows[key]["pooled"]
        for kind, style in (("trained", "-"), ("null", ":")):
            ax_m.hist(pool[kind], bins=20, histtype="step", ls=style, label=f"{key[6:]}: {kind}")
    ax_m.set(xlabel="max Moran's I of an output field", ylabel="fields", title="output fields vs fill-preserving null")
    ax_m.legend(fontsize=6)
    fig.tight_layout()
    save_figure(fig, path, dpi=110)


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("suite", choices=("ablation", "moran", "frontiers"))
    ap.add_argument("--seeds", default="0,1,2")
    ap.add_argument("--epochs", type=int, default=20)
    ap.add_argument("--sparsities", default="0.5,0.75,0.875,0.9375")
    ap.add_argument("--arms", default="fixed,learned,dale",
                    help="frontiers: structure arms, any of fixed (fixed structure), learned (DEEP R + RigL), dale "
                    "(DEEP R + RigL + Dale)")
    args = ap.parse_args()
    seeds = [int(s) for s in args.seeds.split(",")]
    rows, table = {}, []
    if args.suite == "frontiers":
        keys = dict(zip(("fixed", "learned", "dale"), ARMS))
        bad = sorted(set(args.arms.split(",")) - set(keys))
        if bad or not {"fixed", "dale"} <= set(args.arms.split(",")):
            raise SystemExit(f"--arms: unknown {bad} or missing fixed / dale (the claims compare them); "
                             f"known: {sorted(keys)}")
        rows, text = frontiers(seeds, args.epochs, [float(x) for x in args.sparsities.split(",")],
                               [keys[a] for a in args.arms.split(",")])
    elif args.suite == "ablation":
        variants = [(sp, structure, delays) for sp in [float(x) for x in args.sparsities.split(",")]
                    for structure in (False, True) for delays in (False, True)]
        name = {v: f"s{v[0]:g}-{'learned' if v[1] else 'fixed'}_structure-{'learned' if v[2] else 'fixed'}_delays"
                for v in variants}
        for s in seeds:                          # seed-major: an interrupted sweep leaves whole seeds behind
            for v in variants:
                run(model(*v), RUNS / "structure" / f"{name[v]}-s{s}", s, args.epochs)
        for v in variants:
            res = [run(model(*v), RUNS / "structure" / f"{name[v]}-s{s}", s, args.epochs) for s in seeds]
            rows[name[v]] = res
            table.append([f"{100 * v[0]:g} %", "learned" if v[1] else "fixed", "learned" if v[2] else "fixed",
                          str(len(res)), mean_sd([r["test_acc"] for r in res], 100), params_cell(res[0]["parameters"]),
                          mean_sd([r["train_seconds"] for r in res])])
        header = ["sparsity", "structure", "delays", "seeds", "test %", "trained parameters", "train s"]
        acc = {v: [r["test_acc"] for r in rows[name[v]]] for v in variants}
        diffs = [[f"{100 * sp:g} %", paired(acc[(sp, True, False)], acc[(sp, False, False)]),
                  paired(acc[(sp, True, True)], acc[(sp, False, True)]),
                  paired(acc[(sp, False, True)], acc[(sp, False, False)])]
                 for sp in sorted({v[0] for v in variants})]
        extra = "\n\nPaired differences over seeds (points):\n\n" + markdown(
            ["sparsity", "learned vs fixed structure, fixed delays", "learned vs fixed structure, learned delays",
             "learned vs fixed delays, fixed structure"], diffs)
    else:
        analysis = dict(permutations=99, rf_fields=32, rf_permutations=200)
        models = (("dense (digits free-delays run)", model(0.0, False, True), RUNS / "digits" / "free-delays-s{}"),
                  ("87.5 % DEEP R+RigL+Dale", model(0.875, True, True),
                   RUNS / "structure" / "s0.875-learned_structure-learned_delays-s{}"))
        for name, cfg, folder in models:       # the runs of the other suites, analysed (trained if missing)
            res = [run(cfg, type(folder)(str(folder).format(s)), s, args.epochs, analysis) for s in seeds]
            rows[name] = res
            for r, s in zip(res, seeds):
                rf = r["analysis"]["receptive_fields"]["in_hid"]
                table.append([name, str(s), f"{100 * r['test_acc']:.1f}", f"{rf['median_initial']:.3f}",
                              f"{rf['median_trained']:.3f}", f"{rf['mann_whitney_u']:.0f}", f"{rf['p_value']:.2g}"])
        header = ["model", "seed", "test %", "median max I initial", "median max I trained", "Mann-Whitney U", "p"]
    if args.suite != "frontiers":
        text = markdown(header, table) + (extra if args.suite == "ablation" else "")
    save_results(f"structure_{args.suite}", rows, text)


if __name__ == "__main__":
    main()
