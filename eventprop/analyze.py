"""`eventprop analyze RUN`: what emerged in a trained network. Spatial layout plots (initial and trained), graph
metrics (small-world, modularity), spatial locality and functional specialisation (spec/spatial.md); receptive
fields and their Moran's I, trained vs initial (spec/structure.md). Writes RUN/analysis/network.json and
RUN/plots/layout_*.png, receptive_*.png, moran_*.png."""
from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import torch
from scipy.stats import mannwhitneyu
from sklearn.metrics import adjusted_mutual_info_score

from .analysis.graphs import locality, modularity, small_world, strongest_graph
from .analysis.layout import plot_channel_map, plot_layout
from .analysis.moran import class_indicator_moran, knn_weights, moran_test
from .analysis.receptive import (delay_histogram, max_moran, moran_grid, output_fields, plot_fields,
                                 plot_moran_histogram, receptive_fields, shuffle_marks)
from .analysis.space_as_time import (clustering_ratio, layout_diameter, mantel, modularity_with_nulls,
                                      preferred_positions, wiring_efficiency)
from .analysis.specialisation import class_preference
from .errors import RunError
from .files import write_atomic
from .pipeline.engine.module import compile as compile_network
from .pipeline.training.folders import writes_into_run
from .pipeline.training.runs import load_trained


def _graph(net, params, density: float):
    """The recurrent hidden graph when the net has one (the graph the small-world measures are about); otherwise
    the whole layered network as one undirected graph. Returns (graph, scope, node offset per population)."""
    rec = [c for c in net.connections if c.recurrent]
    conns = rec[:1] or net.connections
    pops = [rec[0].source] if rec else net.populations
    offset, n = {}, 0
    for p in pops:
        offset[p.name], n = n, n + p.size
    pre, post, w = [], [], []
    for c in conns:
        a, b, wc = c.synapse_list(params)
        pre.append(a + offset[c.source.name]), post.append(b + offset[c.target.name]), w.append(wc)
    g = strongest_graph(np.concatenate(pre), np.concatenate(post), np.concatenate(w), n, density)
    scope = f"recurrent {rec[0].name}" if rec else "whole network (layered: no triangles, so C = 0)"
    return g, scope, offset


def _graph_metrics(net, params, density, seed):
    g, scope, offset = _graph(net, params, density)
    q, communities = modularity(g, seed)
    return {"scope": scope, "density": density, **small_world(g, seed=seed), "modularity": q,
            "communities": len(communities)}, communities, offset


def _locality(net, params, k):
    out = {}
    for c in net.connections:
        if c.spatial and not c.sparse:
            pos = {p: np.asarray(params[f"{p}.position"]) for p in (c.source.name, c.target.name)}
            out[c.name] = locality(params[f"{c.name}.weight"], c.distances(pos[c.source.name], pos[c.target.name]), k)
    return out


def _dense(c, params) -> np.ndarray:
    """Connection c's weights as a [N_pre, N_post] matrix (zeros where a sparse connection has no synapse)."""
    pre, post, w = c.synapse_list(params)
    out = np.zeros((c.source.size, c.target.size))
    out[pre, post] = w
    return out


def _space_as_time(net, params, active: np.ndarray, permutations: int, seed: int) -> dict:
    """The Space-as-Time paper's measures: on the recurrent hidden connection the clustering ratio against weight
    shuffles, directed Louvain modularity against weight- and row-shuffled nulls, and (spatial) the wiring
    efficiency over all and over the active neurons; with positioned hidden neurons, the input channels' preferred
    positions and the Mantel test of channel distance against preferred-position distance."""
    out = {}
    rec = next((c for c in net.connections if c.recurrent and c.source.name == "hidden0"), None)
    hid = net.population("hidden0")
    positions = np.asarray(params["hidden0.position"]) if hid.position is not None else None
    if rec is not None:
        w = _dense(rec, params)
        out["recurrent"] = {"connection": rec.name, "clustering": clustering_ratio(w, seed=seed),
                            "modularity": modularity_with_nulls(w, seed=seed)}
        if rec.spatial and positions is not None:
            dist = rec.distances(positions, positions)
            on = np.flatnonzero(active)
            out["recurrent"]["wiring_efficiency"] = wiring_efficiency(w, dist)
            out["recurrent"]["wiring_efficiency_active"] = wiring_efficiency(w[np.ix_(on, on)], dist[np.ix_(on, on)]) \
                if on.size > 1 else None
            out["recurrent"]["active_neurons"] = int(on.size)
    first = next((c for c in net.connections if c.source.name == "input" and c.target.name == "hidden0"), None)
    if positions is not None and first is not None and first.source.size > 2:
        pref = preferred_positions(_dense(first, params), positions)
        ok = np.flatnonzero(np.isfinite(pref).all(1))
        channels = np.abs(ok[:, None] - ok[None, :]).astype(float)
        places = np.sqrt(((pref[ok][:, None] - pref[ok][None]) ** 2).sum(-1))
        out["channel_map"] = {"preferred_positions": pref.tolist(), "layout_diameter": layout_diameter(positions),
                              "mantel": mantel(channels, places, permutations, seed) if ok.size > 2 else None}
    return out


def _hidden_counts(run, params) -> tuple[np.ndarray, np.ndarray]:
    """Spike counts of the first hidden population over the test set, and the labels."""
    model = compile_network(run.net, params=params, dtype=torch.float64)
    test, counts, labels = run.datasets[2], [], []
    with torch.no_grad():
        for events, y in test.batches(128):
            counts.append(model.run(events).spike_counts["hidden0"].numpy())
            labels.append(y)
    return np.concatenate(counts), np.concatenate(labels)


def _edges(net, params):
    return [(c.source.name, c.target.name, *c.synapse_list(params)) for c in net.connections]


def _all_fields(c, params, marks: str) -> np.ndarray:
    """Receptive fields of every target neuron of connection c: w (marks "weight") or sign(w) (marks "sign") at
    each synapse's integer delay."""
    pre, post, w = c.synapse_list(params)
    d = np.asarray(c.rounded_delays(c.delays(lambda key: np.asarray(params[key])))).ravel()
    return receptive_fields(pre, post, np.sign(w) if marks == "sign" else w, d, c.source.size,
                            np.arange(c.target.size), c.max_delay_steps)


def _selected(net, hidden: np.ndarray, params, targets, target: str) -> np.ndarray:
    """The analysed fields: the `targets` among c's own (target "hidden"), or the output neurons' fields, every
    hidden field summed through hid_out's weights (target "output", the paper's)."""
    if target == "hidden":
        return hidden[targets]
    return output_fields(hidden, _dense(net.connection("hid_out"), params), targets)


def _rf_connections(net, target: str) -> list:
    """Delayed connections whose fields are analysed: all (target hidden), or the input connection of a network
    whose first hidden layer feeds the output (target output)."""
    delayed = [c for c in net.connections if c.max_delay_steps > 0]
    if target == "hidden":
        return delayed
    names = {c.name for c in net.connections}
    if "hid_out" not in names or net.connection("hid_out").source.name != "hidden0":
        raise RunError("--rf-target output needs one hidden layer feeding the output (hid_out from hidden0)")
    return [c for c in delayed if c.name == "in_hid"]


def _receptive(net, initial, trained, permutations: int, n_fields: int, seed: int, plots: Path,
               target: str = "hidden", marks: str = "weight") -> dict:
    """Per analysed connection: max-over-row-orders Moran's I of `n_fields` receptive fields, initial vs trained and
    trained vs a fill-preserving null (each field's marks shuffled over its own occupied cells; for output fields,
    shuffled in every hidden field before the sum), two-sided Mann-Whitney U; the delay histogram initial and trained;
    for input connections (ordered channels) also the unpermuted I."""
    out = {}
    for c in _rf_connections(net, target):
        rng = np.random.default_rng(seed)
        pool = c.target.size if target == "hidden" else net.connection("hid_out").target.size
        targets = np.sort(rng.choice(pool, min(n_fields, pool), replace=False))
        hidden = {name: _all_fields(c, params, marks) for name, params in (("initial", initial), ("trained", trained))}
        fields = {name: _selected(net, hidden[name], params, targets, target)
                  for name, params in (("initial", initial), ("trained", trained))}
        fields["null"] = _selected(net, shuffle_marks(hidden["trained"], rng), trained, targets, target)
        values = {k: np.array([max_moran(rf, permutations, rng) for rf in f]) for k, f in fields.items()}
        ordered = {k: float(np.nanmean(moran_grid(f))) for k, f in fields.items()}
        empty = {k: int(np.isnan(v).sum()) for k, v in values.items()}
        values = {k: v[np.isfinite(v)] for k, v in values.items()}
        if min(len(v) for v in values.values()) == 0:
            continue
        test = mannwhitneyu(values["trained"], values["initial"], alternative="two-sided")
        null = mannwhitneyu(values["trained"], values["null"], alternative="two-sided")
        hist = {name: delay_histogram(np.asarray(c.rounded_delays(c.delays(
            lambda key, p=params: np.asarray(p[key])))).ravel(), c.max_delay_steps)
            for name, params in (("initial", initial), ("trained", trained))}
        out[c.name] = {"target": target, "marks": marks, "fields": len(targets), "row_permutations": permutations,
                       "constant_fields_left_out": empty, "moran_initial": values["initial"].tolist(),
                       "moran_trained": values["trained"].tolist(), "moran_null": values["null"].tolist(),
                       "median_initial": float(np.median(values["initial"])),
                       "median_trained": float(np.median(values["trained"])),
                       "median_null": float(np.median(values["null"])),
                       "mann_whitney_u": float(test.statistic), "p_value": float(test.pvalue),
                       "null_mann_whitney_u": float(null.statistic), "null_p_value": float(null.pvalue),
                       "delay_histogram": hist}
        if c.source.name == "input":
            out[c.name]["ordered_mean_initial"], out[c.name]["ordered_mean_trained"] = \
                ordered["initial"], ordered["trained"]
        who = c.target.name if target == "hidden" else "output"
        plot_fields(fields["trained"][:4], [f"{who} {t}" for t in targets[:4]], plots / f"receptive_{c.name}.png",
                    net.dt)
        plot_moran_histogram(values, plots / f"moran_{c.name}.png",
                             f"{c.name} ({target} fields): vs initial p = {test.pvalue:.2g}, vs null p = "
                             f"{null.pvalue:.2g}")
    return out


@writes_into_run("eventprop analyze")
def analyze(run_dir: Path, density: float = 0.1, permutations: int = 999, k: int = 8, seed: int = 0,
            datasets=None, rf_fields: int = 32, rf_permutations: int = 200, rf_target: str = "hidden",
            rf_marks: str = "weight") -> dict:
    if rf_target not in ("hidden", "output") or rf_marks not in ("weight", "sign"):
        raise RunError(f"--rf-target must be hidden or output and --rf-marks weight or sign, got {rf_target!r} and "
                       f"{rf_marks!r}")
    if not 0 < density <= 1:
        raise RunError(f"--density must lie in (0, 1], got {density}")
    if min(permutations, k, rf_fields, rf_permutations) < 1:
        raise RunError(f"--permutations, --k, --rf-fields and --rf-permutations must be >= 1, got {permutations}, "
                       f"{k}, {rf_fields} and {rf_permutations}")
    run = load_trained(run_dir, datasets)
    _rf_connections(run.net, rf_target)                  # refuses --rf-target output before the slow parts
    if k >= run.net.population("hidden0").size:
        raise RunError(f"--k must be below the first hidden layer's {run.net.population('hidden0').size} neurons "
                       f"(k nearest neighbours among them), got {k}")
    out_dir, plots = Path(run_dir) / "analysis", Path(run_dir) / "plots"
    out_dir.mkdir(exist_ok=True)
    net, trained = run.net, run.params
    initial = net.instantiate(run.cfg.seed)
    report = {"run": str(run_dir), "graph": {}, "locality": {}}
    communities = None
    for name, params in (("initial", initial), ("trained", trained)):
        report["graph"][name], comms, offset = _graph_metrics(net, params, density, seed)
        report["locality"][name] = _locality(net, params, k)
        communities = comms if name == "trained" else communities
    counts, labels = _hidden_counts(run, trained)
    spec = class_preference(counts, labels, run.datasets[2].n_classes)
    active = spec["active"]
    hid = net.population("hidden0")
    report["specialisation"] = {"active_neurons": int(active.sum()), "neurons": hid.size,
                                "mean_selectivity": float(spec["selectivity"][active].mean()) if active.any() else None,
                                "preferred_classes": int(len(np.unique(spec["preference"][active])))}
    community_of = {node - offset["hidden0"]: i for i, comm in enumerate(communities) for node in comm
                    if 0 <= node - offset["hidden0"] < hid.size} if "hidden0" in offset else {}
    if community_of and active.sum() > 2:
        ids = [i for i in np.flatnonzero(active) if i in community_of]
        report["specialisation"]["community_class_ami"] = float(adjusted_mutual_info_score(
            [community_of[i] for i in ids], spec["preference"][ids]))
    positions = {p.name: np.asarray(trained[f"{p.name}.position"]) for p in net.populations if p.position is not None}
    if hid.position is not None and active.sum() > k + 1:
        w = knn_weights(positions["hidden0"][active], k)
        report["specialisation"]["moran_selectivity"] = moran_test(spec["selectivity"][active], w, permutations, seed)
        report["specialisation"]["moran_preference"] = moran_test(spec["preference"][active], w, permutations, seed,
                                                                  statistic=class_indicator_moran)
    if positions:
        start = {p: np.asarray(initial[f"{p}.position"]) for p in positions}
        plot_layout(start, _edges(net, initial), plots / "layout_initial.png", "initial layout")
        plot_layout(positions, _edges(net, trained), plots / "layout_trained.png", "trained layout")
        plot_layout(positions, [], plots / "layout_preference.png", "hidden neurons by preferred class",
                    colour_by={"hidden0": np.where(active, spec["preference"], -1)})
        if community_of and "hidden0" in positions:
            plot_layout({"hidden0": positions["hidden0"]}, [], plots / "layout_community.png",
                        f"hidden neurons by Louvain community of the trained graph "
                        f"(Q = {report['graph']['trained']['modularity']:.2f})",
                        colour_by={"hidden0": np.array([community_of.get(i, -1) for i in range(hid.size)])},
                        colour_label=("community {}", "not in the graph"))
    report["space_as_time"] = _space_as_time(net, trained, active, permutations, seed)
    if "channel_map" in report["space_as_time"]:
        cmap = report["space_as_time"]["channel_map"]
        plot_channel_map(positions["hidden0"], np.asarray(cmap["preferred_positions"]), plots / "channel_map.png",
                         cmap["mantel"])
    report["receptive_fields"] = _receptive(net, initial, trained, rf_permutations, rf_fields, seed, plots,
                                            rf_target, rf_marks)
    write_atomic(out_dir / "network.json", json.dumps(report, indent=2, default=float))
    return report
