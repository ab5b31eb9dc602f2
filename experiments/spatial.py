"""Spatial-network experiments (issue: spatial networks end to end), resumable: each run lands in
runs/experiments/<suite>/<variant>-s<seed>/ and is skipped when its results.json exists.

  yinyang: no delays | free per-synapse delays | positions in 1, 2, 3 dims (same budget: the presets' 60 epochs)
  digits:  the same comparison on the offline spoken digits (needs data/spoken-digits; --epochs to shorten)
  cost:    spoken digits, 2-D positions, recurrent hidden layer, connection cost at several strengths, then
           `eventprop analyze` on each run (small-world sigma, modularity, Moran's I of class preference)

  space-as-time: the Space-as-Time protocol on the spoken digits (128 recurrent hidden neurons placed in 2-D, only
           hidden -> hidden spatial, cost on it at --costs, plain-L1 and non-spatial controls), then analyze (the
           paper's clustering ratio, directed modularity with nulls, wiring efficiency, channel map)
  spsnn:   the SpSNN paper's protocol on Yin-Yang: small layered nets 4(+bias) -> H -> 3 for H in --hidden, {no delays,
           free delays, positions in 1, 2, 3 dims}; only input -> hidden carries delays in every arm (no readout
           delays anywhere: the output population is not placed), the presets' 60-epoch budget; paired t-tests over
           seeds of each arm against free delays, and a figure of accuracy vs dims per H

Writes experiments/results/spatial_<suite>.json and .md (mean +- sd over seeds).

    python experiments/spatial.py yinyang --seeds 0,1,2
    python experiments/spatial.py cost --seeds 0 --epochs 20 --costs 0,1e-4,1e-3
    python experiments/spatial.py spsnn --seeds 0,1,2,3,4 --hidden 10,20,40
    python experiments/spatial.py space-as-time --seeds 0,1,2 --costs 0,1e-4,1e-3
"""
from __future__ import annotations

import argparse
import math

from common import ROOT, RUNS, markdown, mean_sd, params_cell, run, save_results

from eventprop.pipeline.training import config as configs


def spsnn_variants(hidden: list[int]):
    """(name, config) per H and arm of the SpSNN comparison."""
    out = []
    for h in hidden:
        arms = [("no-delays", configs.preset("yinyang")), ("free-delays", configs.preset("yinyang-delays"))]
        for dims in (1, 2, 3):
            cfg = configs.preset("yinyang-2d")
            cfg.space.dims, cfg.space.velocity = dims, round(math.sqrt(dims) / 7.0, 4)   # box diagonal = 7 ms
            cfg.space.populations = ["input", "hidden"]
            arms.append((f"positions-{dims}d", cfg))
        for name, cfg in arms:
            cfg.model.hidden = [h]
            out.append((f"H{h}-{name}", cfg))
    return out


def space_as_time_variants(costs: list[float]):
    """The Space-as-Time protocol on the spoken digits: 128 recurrent hidden neurons, positions on the hidden neurons
    only (uniform in [0, 1]^2), so only hidden -> hidden is spatial; no input or readout delays; the distance cost on
    the recurrent connection at each strength, a plain-L1 control at the middle strength, and a non-spatial control
    (free learned delays; here the input connection learns delays too: a difference to the paper's code)."""
    def base():
        cfg = configs.preset("spoken-digits")
        cfg.model.recurrent, cfg.model.hidden, cfg.model.learn_delays = True, [128], False
        cfg.model.delay_init_ms = [0.0, 0.0]
        return cfg
    out = []
    for cost in costs + [None]:
        cfg = base()
        sp = cfg.space
        sp.dims, sp.populations, sp.velocity = 2, ["hidden"], round(2 ** 0.5 / cfg.model.max_delay_ms, 5)
        if cost is None:                       # the plain-L1 control at the middle strength
            sp.cost, sp.cost_kind, sp.cost_connections = sorted(costs)[len(costs) // 2], "l1", ["hid0_rec"]
            out.append((f"l1-{sp.cost:g}", cfg))
        else:
            sp.cost, sp.cost_connections = cost, ["hid0_rec"] if cost > 0 else []
            out.append((f"cost-{cost:g}", cfg))
    free = base()
    free.model.learn_delays, free.model.delay_init_ms = True, [0.0, free.model.max_delay_ms]
    out.append(("non-spatial", free))
    return out


def variants(suite: str, costs: list[float]):
    """(name, config) per variant."""
    if suite == "space-as-time":
        return space_as_time_variants(costs)
    if suite == "yinyang":
        out = [("no-delays", configs.preset("yinyang")), ("free-delays", configs.preset("yinyang-delays"))]
        for dims in (1, 2, 3):
            cfg = configs.preset("yinyang-2d")
            cfg.space.dims, cfg.space.velocity = dims, round(math.sqrt(dims) / 7.0, 4)   # box diagonal = 7 ms
            out.append((f"positions-{dims}d", cfg))
        return out
    if suite == "digits":   # delay ranges as when this comparison ran (60 ms free, 57 ms spatial; tuned: digits_recipe)
        nodelay = configs.preset("spoken-digits")
        nodelay.model.learn_delays, nodelay.model.max_delay_ms, nodelay.model.delay_init_ms = False, 0.0, [0.0, 0.0]
        free, spatial = configs.preset("spoken-digits"), configs.preset("spoken-digits-2d")
        free.model.max_delay_ms, free.model.delay_init_ms = 60.0, [0.0, 60.0]
        spatial.model.max_delay_ms, spatial.space.velocity = 60.0, 0.025
        return [("no-delays", nodelay), ("free-delays", free), ("positions-2d", spatial)]
    out = []
    for cost in costs:
        cfg = configs.preset("spoken-digits-2d")
        cfg.model.recurrent, cfg.space.cost = True, cost
        cfg.model.max_delay_ms, cfg.space.velocity = 60.0, 0.025       # as when the stored table ran
        out.append((f"cost-{cost:g}", cfg))
    return out


GRAPH = [("sigma", lambda a: a["graph"]["trained"]["sigma"]),
         ("modularity", lambda a: a["graph"]["trained"]["modularity"]),
         ("Moran's I preference", lambda a: a["specialisation"].get("moran_preference", {}).get("I")),
         ("its p", lambda a: a["specialisation"].get("moran_preference", {}).get("p_value")),
         ("Spearman(|w|, d) in_hid", lambda a: a["locality"]["trained"].get("in_hid", {}).get("spearman_w_distance")),
         ("clustering / shuffled", lambda a: a.get("space_as_time", {}).get("recurrent", {}).get("clustering", {})
          .get("ratio")),
         ("directed Q", lambda a: a.get("space_as_time", {}).get("recurrent", {}).get("modularity", {}).get("q")),
         ("Q weight-shuffled", lambda a: a.get("space_as_time", {}).get("recurrent", {}).get("modularity", {})
          .get("q_weight_shuffle")),
         ("wiring efficiency (active)", lambda a: a.get("space_as_time", {}).get("recurrent", {})
          .get("wiring_efficiency_active"))]


def spsnn_summary(rows: dict, hidden: list[int]) -> str:
    """Per H: each arm minus free delays (points, paired over seeds, t-test), and the accuracy-vs-dims figure."""
    import matplotlib
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    import numpy as np
    from scipy.stats import ttest_rel

    from eventprop.files import save_figure
    arms = ["no-delays", "positions-1d", "positions-2d", "positions-3d"]
    table = []
    fig, ax = plt.subplots(figsize=(6, 4))
    for h in hidden:
        free = np.array([r["test_acc"] for r in rows[f"H{h}-free-delays"]])
        cells = []
        for arm in arms:
            acc = np.array([r["test_acc"] for r in rows[f"H{h}-{arm}"]])
            d = 100 * (acc - free)
            p = ttest_rel(acc, free).pvalue if len(d) > 1 and np.any(d != d[0]) else float("nan")
            cells.append(f"{d.mean():+.1f} +- {d.std(ddof=1) if len(d) > 1 else 0:.1f} (p = {p:.2g})")
        table.append([str(h)] + cells)
        x = [0, 1, 2, 3]
        y = [100 * np.mean([r["test_acc"] for r in rows[f"H{h}-{a}"]]) for a in arms]
        e = [100 * np.std([r["test_acc"] for r in rows[f"H{h}-{a}"]], ddof=1) for a in arms]
        line = ax.errorbar(x, y, e, marker="o", capsize=3, label=f"H = {h}: positions (0: no delays)")
        ax.axhline(100 * free.mean(), color=line[0].get_color(), ls=":", lw=1, label=f"H = {h}: free delays")
    ax.set(xticks=[0, 1, 2, 3], xlabel="position dimensions (0: no delays)", ylabel="test accuracy (%), mean +- sd",
           title="Yin-Yang: delays from positions vs free delays")
    ax.legend(fontsize=6)
    fig.tight_layout()
    save_figure(fig, ROOT / "experiments" / "results" / "spatial_spsnn.png", dpi=110)
    return "Each arm minus free delays, paired over seeds (points, t-test):\n\n" + markdown(["H"] + arms, table)


def _sat(r: dict, *path):
    """A Space-as-Time measure of one run's analysis (None when absent)."""
    node = r["analysis"].get("space_as_time", {})
    for key in path:
        node = node.get(key) if isinstance(node, dict) else None
    return node


SAT_MEASURES = [   # (label, getter): the paper's measures on the recurrent hidden connection
    ("test accuracy (%)", lambda r: 100 * r["test_acc"]),
    ("clustering / weight-shuffled", lambda r: _sat(r, "recurrent", "clustering", "ratio")),
    ("Q - Q weight-shuffled", lambda r: None if _sat(r, "recurrent", "modularity", "q") is None else
     _sat(r, "recurrent", "modularity", "q") - _sat(r, "recurrent", "modularity", "q_weight_shuffle")),
    ("Q - Q row-shuffled", lambda r: None if _sat(r, "recurrent", "modularity", "q") is None else
     _sat(r, "recurrent", "modularity", "q") - _sat(r, "recurrent", "modularity", "q_row_shuffle")),
    ("wiring efficiency (active)", lambda r: _sat(r, "recurrent", "wiring_efficiency_active")),
    ("Mantel r (channel vs place)", lambda r: _sat(r, "channel_map", "mantel", "r")),
]


def space_as_time_summary(rows: dict, costs: list[float]) -> str:
    """Each arm minus cost 0 on the paper's measures (paired over seeds, t-test), and measure-vs-cost figures with
    the plain-L1 and non-spatial controls beside."""
    import matplotlib
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    import numpy as np
    from scipy.stats import ttest_rel

    from eventprop.files import save_figure
    def paired(arm_rows, ref_rows, get) -> str:
        """arm minus reference over the seeds both have (runs are listed seed by seed)."""
        by_seed = {r["seed"]: get(r) for r in ref_rows}
        pairs = [(get(a), by_seed.get(a["seed"])) for a in arm_rows]
        pairs = [(a, b) for a, b in pairs if a is not None and b is not None]
        if not pairs:
            return "-"
        d = np.array([a - b for a, b in pairs], float)
        p = ttest_rel(*zip(*pairs)).pvalue if len(d) > 1 and np.ptp(d) > 0 else float("nan")
        return f"{d.mean():+.3g} +- {d.std(ddof=1) if len(d) > 1 else 0:.2g} (n = {len(d)}, p = {p:.2g})"

    base = rows["cost-0"]
    arms = [a for a in rows if a != "cost-0"]
    table = [[label] + [paired(rows[arm], base, get) for arm in arms] for label, get in SAT_MEASURES]
    l1 = next((a for a in rows if a.startswith("l1-")), None)
    control = f"cost-{float(l1[3:]):g}" if l1 else None
    versus = [[label, paired(rows[control], rows[l1], get)] for label, get in SAT_MEASURES] \
        if control in rows else []
    spatial = sorted(costs)
    fig, axes = plt.subplots(1, len(SAT_MEASURES) - 1, figsize=(4 * (len(SAT_MEASURES) - 1), 3.4))
    for ax, (label, get) in zip(axes, SAT_MEASURES[1:]):
        xs = np.arange(len(spatial))
        vals = [[get(r) for r in rows[f"cost-{c:g}"] if get(r) is not None] for c in spatial]
        ax.errorbar(xs, [np.mean(v) if v else np.nan for v in vals],
                    [np.std(v, ddof=1) if len(v) > 1 else 0 for v in vals], fmt="o-", capsize=3,
                    label="distance cost")
        l1 = next((a for a in rows if a.startswith("l1-")), None)
        if l1:
            v = [get(r) for r in rows[l1] if get(r) is not None]
            if v:
                mid = spatial.index(float(l1[3:])) if float(l1[3:]) in spatial else len(spatial) // 2
                ax.errorbar([mid + 0.1], [np.mean(v)], [np.std(v, ddof=1) if len(v) > 1 else 0], fmt="s",
                            capsize=3, label=f"plain L1 ({l1[3:]})")
        v = [get(r) for r in rows.get("non-spatial", []) if get(r) is not None]
        if v:
            ax.axhline(np.mean(v), color="grey", ls=":", label="non-spatial (free delays)")
        if label.startswith("clustering"):
            ax.axhline(1.0, color="k", lw=0.5, label="null (weight-shuffled)")
        elif label.startswith("Q -"):
            ax.axhline(0.0, color="k", lw=0.5, label="null")
        ax.set(xticks=xs, xticklabels=[f"{c:g}" for c in spatial], xlabel="space.cost (distance-weighted L1)",
               ylabel=label, title=label)
        ax.legend(fontsize=6)
    fig.suptitle("Space as Time protocol, spoken digits: mean +- sd over seeds")
    fig.tight_layout()
    save_figure(fig, ROOT / "experiments" / "results" / "spatial_space-as-time.png", dpi=110)
    text = "Each arm minus cost 0, paired over seeds (t-test):\n\n" + markdown(["measure"] + arms, table)
    if versus:
        text += (f"\n\nThe distance cost against the same pressure without distance ({control} minus {l1}, paired "
                 f"over seeds): what space adds\n\n" + markdown(["measure", f"{control} - {l1}"], versus))
    return text


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("suite", choices=("yinyang", "digits", "cost", "spsnn", "space-as-time"))
    ap.add_argument("--hidden", default="10,20,40", help="spsnn suite: hidden layer sizes")
    ap.add_argument("--seeds", default="0,1,2")
    ap.add_argument("--epochs", type=int, help="override every variant's epochs (same budget for all)")
    ap.add_argument("--costs", default="0,1e-4,1e-3", help="cost suite: connection-cost strengths")
    ap.add_argument("--only", help="comma-separated variant names")
    ap.add_argument("--table-only", action="store_true",
                    help="train nothing: tabulate the runs of these seeds that have finished (a sweep in progress)")
    args = ap.parse_args()
    seeds = [int(s) for s in args.seeds.split(",")]
    analysis = dict(permutations=999, rf_fields=8, rf_permutations=50) if args.suite in ("cost", "space-as-time") \
        else None
    rows, table = {}, []
    todo = spsnn_variants([int(h) for h in args.hidden.split(",")]) if args.suite == "spsnn" else \
        variants(args.suite, [float(x) for x in args.costs.split(",")])
    todo = [(name, cfg) for name, cfg in todo if not args.only or name in args.only.split(",")]
    for s in seeds if not args.table_only else []:   # seed-major: an interrupted sweep leaves whole seeds behind
        for name, cfg in todo:
            run(cfg, RUNS / args.suite / f"{name}-s{s}", s, args.epochs)
    for name, cfg in todo:
        done = [s for s in seeds if not args.table_only or (RUNS / args.suite / f"{name}-s{s}" / "results.json").exists()]
        if not done:
            continue
        res = [run(cfg, RUNS / args.suite / f"{name}-s{s}", s, args.epochs, analysis) for s in done]
        rows[name] = res
        line = [name, str(len(res)), mean_sd([r["test_acc"] for r in res], 100), params_cell(res[0]["parameters"]),
                mean_sd([r["train_seconds"] for r in res])]
        if analysis:
            line += [mean_sd([get(r["analysis"]) for r in res]) for _, get in GRAPH]
        table.append(line)
    header = ["variant", "seeds", "test %", "trained parameters", "train s"] + ([g for g, _ in GRAPH] if analysis else [])
    text = markdown(header, table)
    if args.suite == "spsnn":
        text += "\n\n" + spsnn_summary(rows, [int(h) for h in args.hidden.split(",")])
    if args.suite == "space-as-time" and "cost-0" in rows:
        text += "\n\n" + space_as_time_summary(rows, [float(x) for x in args.costs.split(",")])
    save_results(f"spatial_{args.suite}", rows, text)


if __name__ == "__main__":
    main()
