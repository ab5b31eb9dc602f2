"""Structure-learning experiments (issue: structure learning), resumable like experiments/spatial.py.

  ablation: offline spoken digits, {fixed, learned structure (DEEP R + RigL + Dale)} x {fixed, learned delays} on the
            input -> hidden connection at the given sparsities (the paper's four models; fixed structures without
            Dale's law, as the paper). The input weight mean is scaled by 1 / (1 - sparsity) so every hidden neuron
            starts with the same expected drive as in the dense net.
  moran:    receptive-field Moran's I (max over row orders), trained vs initial, Mann-Whitney U, for the dense delay
            net (the spatial digits suite's free-delays run) and the ablation's 87.5 % DEEP R + RigL + Dale delay net.

    python experiments/structure.py ablation --seeds 0,1 --epochs 20 --sparsities 0.75,0.9375
    python experiments/structure.py moran --seeds 0 --epochs 20
"""
from __future__ import annotations

import argparse
import json

from common import ROOT, RUNS, markdown, mean_sd, params_cell, run

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


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("suite", choices=("ablation", "moran"))
    ap.add_argument("--seeds", default="0,1,2")
    ap.add_argument("--epochs", type=int, default=20)
    ap.add_argument("--sparsities", default="0.5,0.75,0.875,0.9375")
    args = ap.parse_args()
    seeds = [int(s) for s in args.seeds.split(",")]
    rows, table = {}, []
    if args.suite == "ablation":
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
    text = markdown(header, table)
    out = ROOT / "experiments" / "results" / f"structure_{args.suite}"
    out.with_suffix(".json").write_text(json.dumps(rows, indent=2, default=str))
    out.with_suffix(".md").write_text(text + "\n")
    print(text)


if __name__ == "__main__":
    main()
