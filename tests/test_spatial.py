"""Spatial networks from the config: [space] validation, the connection cost and its gradient, free delay offsets on
top of spatial delays, the analysis metrics on graphs with known answers, and train -> analyze -> deploy -> parity."""
from __future__ import annotations

import json

import networkx as nx
import numpy as np
import pytest
import torch
from click.testing import CliRunner

from eventprop.analysis.graphs import locality, modularity, small_world, strongest_graph
from eventprop.analysis.moran import class_indicator_moran, knn_weights, moran_i, moran_test
from eventprop.analysis.space_as_time import (clustering_ratio, clustering_wd, layout_diameter, mantel,
                                              modularity_with_nulls, preferred_positions, wiring_efficiency)
from eventprop.analysis.specialisation import class_preference
from eventprop.cli import main
from eventprop.errors import ConfigError
from eventprop.models.network import POSITION_EPS
from eventprop.pipeline.training import config as configs
from eventprop.pipeline.engine.module import compile as compile_network
from eventprop.pipeline.training.tasks import make_network


def _cfg(**space):
    cfg = configs.preset("yinyang-delays")
    cfg.data.n_train, cfg.data.n_val, cfg.data.n_test = 64, 32, 32
    cfg.model.hidden = [12]
    for key, value in {"dims": 2, "velocity": 0.2, **space}.items():
        setattr(cfg.space, key, value)
    return cfg


@pytest.mark.parametrize("space,key", [
    (dict(dims=0, cost=0.1), "space.cost"),
    (dict(dims=0, populations=["hidden"]), "space.populations"),
    (dict(dims=5), "space.dims"),
    (dict(velocity=0.0), "space.velocity"),
    (dict(velocity=0.1), "space.velocity"),                       # box diagonal 1.41 / 0.1 = 14 ms > 10 ms
    (dict(populations=["input", "brain"]), "space.populations"),
    (dict(populations=["input", "output"]), "space.populations"), # no connection has two placed ends
    (dict(init="layout"), "space.layout"),
    (dict(init="layout", layout="/nonexistent.npz"), "space.layout"),
    (dict(init="grid"), "space.init"),
    (dict(cost=-1.0), "space.cost"),
    (dict(cost=1.0, cost_kind="l2"), "space.cost_kind"),
    (dict(cost=1.0, populations=["hidden", "output"], cost_connections=["in_hid"]), "space.cost_connections"),
    (dict(cost=1.0, cost_connections=["hid_out", "hid_out"]), "space.cost_connections"),
    (dict(dims=0, cost_kind="l1"), "space.cost_kind"),
])
def test_space_config_errors_name_the_key(space, key):
    data = _cfg().to_dict()
    if space.get("dims") == 0:
        data["space"] = {}
    data["space"].update(space)
    with pytest.raises(ConfigError, match=key.replace(".", r"\.")):
        configs.from_dict(data)


def test_unknown_space_key_is_named():
    data = _cfg().to_dict()
    data["space"]["speed"] = 1.0
    with pytest.raises(ConfigError, match="space.speed"):
        configs.from_dict(data)


def test_which_connections_are_spatial_and_parameter_counts():
    cfg = _cfg(populations=["hidden", "output"])
    net = make_network(cfg, 5, 3)
    spatial = {c.name: c.spatial for c in net.connections}
    assert spatial == {"in_hid": False, "hid_out": True}
    counts = compile_network(net).parameter_counts()
    assert counts == {"weight": 5 * 12 + 12 * 3, "delay": 5 * 12, "position": (12 + 3) * 2}
    cfg = _cfg(dims=3, velocity=0.5)
    cfg.model.recurrent = True
    net = make_network(cfg, 5, 3)
    assert all(c.spatial for c in net.connections) and net.connection("hid0_rec").max_delay_steps == 100
    assert compile_network(net).parameter_counts() == {"weight": 60 + 144 + 36, "delay": 0, "position": 20 * 3}


def test_layout_file_positions_are_used(tmp_path):
    rng = np.random.default_rng(1)
    arrays = {"input": rng.random((5, 2)), "hidden0": rng.random((12, 2)), "output": rng.random((3, 2))}
    np.savez(tmp_path / "layout.npz", **arrays)
    cfg = _cfg(init="layout", layout=str(tmp_path / "layout.npz"))
    params = make_network(cfg, 5, 3).instantiate(cfg.seed)
    for name, arr in arrays.items():
        np.testing.assert_array_equal(params[f"{name}.position"], arr)
    np.savez(tmp_path / "bad.npz", input=arrays["input"], hidden0=rng.random((11, 2)), output=arrays["output"])
    with pytest.raises(ConfigError, match="'hidden0' must be finite with shape \\(12, 2\\)"):
        make_network(_cfg(init="layout", layout=str(tmp_path / "bad.npz")), 5, 3)


def test_connection_cost_value_and_gradient_against_finite_differences():
    net = make_network(_cfg(), 5, 3)
    model = compile_network(net, dtype=torch.float64)
    params = dict(model.named_parameters())
    want = 0.0
    for c in ("in_hid", "hid_out"):
        conn = net.connection(c)
        ps = params[f"{conn.source.name}.position"].detach().numpy()
        pt = params[f"{conn.target.name}.position"].detach().numpy()
        dist = np.sqrt(POSITION_EPS + ((pt[None] - ps[:, None]) ** 2).sum(-1))
        want += (np.abs(params[f"{c}.weight"].detach().numpy()) * dist).sum()
    cost = model.connection_cost()
    assert cost.item() == pytest.approx(want, rel=1e-12)
    cost.backward()
    h = 1e-6
    for name in ("in_hid.weight", "hid_out.weight", "input.position", "hidden0.position", "output.position"):
        p = params[name]
        idx = tuple(np.random.default_rng(len(name)).integers(0, s) for s in p.shape)
        with torch.no_grad():
            p[idx] += h
            up = model.connection_cost().item()
            p[idx] -= 2 * h
            down = model.connection_cost().item()
            p[idx] += h
        assert p.grad[idx].item() == pytest.approx((up - down) / (2 * h), rel=1e-6, abs=1e-9), name


def test_plain_l1_control_and_cost_restricted_to_chosen_connections():
    net = make_network(_cfg(), 5, 3)
    model = compile_network(net, dtype=torch.float64)
    w = {c: getattr(model, c).weight.detach().abs().sum().item() for c in ("in_hid", "hid_out")}
    assert model.connection_cost("l1").item() == pytest.approx(w["in_hid"] + w["hid_out"], rel=1e-12)
    assert model.connection_cost("l1", ["hid_out"]).item() == pytest.approx(w["hid_out"], rel=1e-12)
    both, one = model.connection_cost(), model.connection_cost("distance", ["in_hid"])
    assert 0 < one.item() < both.item()
    one.backward()
    assert model.hid_out.weight.grad is None and model.output.position.grad is None   # untouched by the cost
    assert model.in_hid.weight.grad.abs().sum() > 0


def _grads(model, events, labels):
    model.zero_grad()
    loss = torch.nn.functional.cross_entropy(model(events), torch.from_numpy(labels))
    loss.backward()
    return loss.item(), {n: p.grad.clone() for n, p in model.named_parameters()}


def test_free_delay_offsets_ride_on_spatial_delays():
    """Positions + free offsets (offsets 0) run exactly the positions-only net, the positions get the same gradient,
    and an offset's gradient equals the delay gradient of the same net with those delays as free parameters."""
    from eventprop.pipeline.training.tasks import make_datasets
    cfg = _cfg(free_delays=True)
    events, labels = next(make_datasets(cfg)[0].batches(16))
    both = compile_network(make_network(cfg, 5, 3), seed=3, dtype=torch.float64)
    only = compile_network(make_network(_cfg(), 5, 3), seed=3, dtype=torch.float64)
    assert both.parameter_counts()["delay"] == 5 * 12 + 12 * 3 and only.parameter_counts()["delay"] == 0
    loss_b, g_b = _grads(both, events, labels)
    loss_o, g_o = _grads(only, events, labels)
    assert loss_b == loss_o
    for name in ("input.position", "hidden0.position", "in_hid.weight"):
        torch.testing.assert_close(g_b[name], g_o[name], rtol=1e-12, atol=1e-15)
    free_cfg = _cfg(dims=0, velocity=1.0)
    free = make_network(free_cfg, 5, 3)
    free.connection("hid_out").max_delay_steps = free.connection("in_hid").max_delay_steps
    free.connection("hid_out").learn_delays = True
    params = {k: v.detach().numpy() for k, v in both.state_dict().items() if not k.endswith("position")}
    for c in ("in_hid", "hid_out"):
        params[f"{c}.delay"] = both.delays(c).detach().numpy()
    free_model = compile_network(free, params=params, dtype=torch.float64)
    loss_f, g_f = _grads(free_model, events, labels)
    assert loss_f == pytest.approx(loss_b, rel=1e-12)
    for c in ("in_hid", "hid_out"):
        torch.testing.assert_close(g_b[f"{c}.delay"], g_f[f"{c}.delay"], rtol=1e-9, atol=1e-12)


# ---- analysis metrics on graphs with known answers -------------------------------------------------------------
def _edges(g: nx.Graph, rng):
    u, v = np.array(list(g.edges())).T
    return u, v, rng.uniform(0.5, 1.0, u.size)


def test_small_world_ring_lattice_vs_random_graph():
    rng = np.random.default_rng(0)
    ws = nx.connected_watts_strogatz_graph(60, 6, 0.1, seed=1)          # a ring lattice with a few shortcuts
    er = nx.gnm_random_graph(60, ws.number_of_edges(), seed=2)
    sw = small_world(strongest_graph(*_edges(ws, rng), 60, 1.0))
    rnd = small_world(strongest_graph(*_edges(er, rng), 60, 1.0))
    assert sw["sigma"] > 2.0 and abs(sw["omega"]) < 0.4
    assert rnd["sigma"] < 1.5 and rnd["omega"] > 0.5


def test_strongest_graph_keeps_the_requested_density():
    pre, post = np.array([0, 1, 2, 1, 0]), np.array([1, 2, 3, 0, 3])
    w = np.array([0.1, -0.9, 0.5, 0.3, 0.05])
    g = strongest_graph(pre, post, w, 4, 0.5)                           # pairs: 01 (0.3 merged), 12, 23, 03
    assert set(map(frozenset, g.edges())) == {frozenset((1, 2)), frozenset((2, 3))}
    assert g[1][2]["weight"] == 0.9


def test_modularity_finds_two_planted_communities():
    g = nx.disjoint_union(nx.complete_graph(10), nx.complete_graph(10))
    g.add_edge(0, 10)
    rng = np.random.default_rng(0)
    q, comms = modularity(strongest_graph(*_edges(g, rng), 20, 1.0))
    assert q > 0.4 and sorted(map(sorted, comms)) == [list(range(10)), list(range(10, 20))]
    q_rand, _ = modularity(strongest_graph(*_edges(nx.gnm_random_graph(20, 91, seed=3), rng), 20, 1.0))
    assert q_rand < 0.25


def test_moran_clustered_vs_shuffled_map():
    xy = np.stack(np.meshgrid(np.arange(10), np.arange(10)), -1).reshape(-1, 2).astype(float)
    w = knn_weights(xy, 8)
    labels = (xy[:, 0] >= 5).astype(int)                              # left half vs right half
    clustered = moran_test(labels.astype(float), w, permutations=199)
    assert clustered["I"] > 0.6 and clustered["p_value"] <= 0.01
    assert class_indicator_moran(labels, w) == pytest.approx(moran_i(labels.astype(float), w))
    shuffled = np.random.default_rng(4).permutation(labels)
    res = moran_test(shuffled.astype(float), w, permutations=199)
    assert abs(res["I"]) < 0.2 and res["p_value"] > 0.05
    assert res["null_mean"] == pytest.approx(-1 / 99, abs=0.02)


def test_locality_of_distance_decaying_weights():
    rng = np.random.default_rng(0)
    ps, pt = rng.random((40, 2)), rng.random((30, 2))
    dist = np.linalg.norm(pt[None] - ps[:, None], axis=-1)
    local = locality(np.exp(-dist / 0.1) * rng.choice([-1, 1], dist.shape), dist, k=4)
    flat = locality(rng.normal(size=dist.shape), dist, k=4)
    assert local["spearman_w_distance"] < -0.9 and local["knn_weight_share"] > 0.5
    assert abs(flat["spearman_w_distance"]) < 0.1 and flat["knn_weight_share"] < 0.2 and flat["knn_chance"] == 0.1


def test_class_preference_and_selectivity():
    counts = np.array([[4, 1, 0], [6, 1, 0], [0, 1, 0], [0, 1, 0]], dtype=float)
    spec = class_preference(counts, np.array([0, 0, 1, 1]), 2)
    np.testing.assert_array_equal(spec["preference"][:2], [0, 0])
    np.testing.assert_allclose(spec["selectivity"], [(5 - 2.5) / (5 + 2.5), 0.0, 0.0])
    np.testing.assert_array_equal(spec["active"], [True, True, False])


# ---- end to end ---------------------------------------------------------------------------------------------
def test_paper_clustering_is_networkx_weighted_directed_clustering():
    rng = np.random.default_rng(1)
    w = rng.random((15, 15)) * (rng.random((15, 15)) < 0.4)
    np.fill_diagonal(w, 0)
    w /= w.max()
    theirs = nx.clustering(nx.from_numpy_array(w, create_using=nx.DiGraph), weight="weight")
    np.testing.assert_allclose(clustering_wd(w), [theirs[i] for i in range(15)], atol=1e-12)


def _blocks(rng, n=40, k=4):
    w = np.zeros((n, n))
    for b in range(k):
        s = slice(b * n // k, (b + 1) * n // k)
        w[s, s] = rng.random((n // k, n // k))
    np.fill_diagonal(w, 0)
    return w


def test_clustering_ratio_and_modularity_against_their_nulls():
    rng = np.random.default_rng(0)
    planted = _blocks(rng)
    random = rng.random((40, 40)) * (rng.random((40, 40)) < 0.25)
    assert clustering_ratio(planted, 20)["ratio"] > 2.5                       # 3.8: clustered
    assert 0.7 < clustering_ratio(random, 20)["ratio"] < 1.3                  # 0.9: as its shuffles
    q = modularity_with_nulls(planted, 5)
    assert q["q"] > 0.6 and q["q_weight_shuffle"] < 0.3 and q["q_row_shuffle"] < 0.3


def test_wiring_efficiency_mantel_and_preferred_positions():
    d = np.array([[1.0, 2.0], [3.0, 4.0]])
    assert wiring_efficiency(np.array([[4.0, 3.0], [2.0, 1.0]]), d) == 1.0    # largest weight on the shortest
    assert wiring_efficiency(np.array([[1.0, 2.0], [3.0, 4.0]]), d) == 0.0
    assert wiring_efficiency(np.ones((2, 2)), d) is None
    x = np.random.default_rng(0).random((12, 2))
    a = np.sqrt(((x[:, None] - x[None]) ** 2).sum(-1))
    same = mantel(a, a, 199)
    assert same["r"] == pytest.approx(1.0) and same["p_value"] <= 0.01
    y = np.random.default_rng(5).random((12, 2))
    assert mantel(a, np.sqrt(((y[:, None] - y[None]) ** 2).sum(-1)), 199)["p_value"] > 0.05
    pref = preferred_positions(np.array([[1.0, 3.0], [0.0, 0.0]]), np.array([[0.0, 0.0], [4.0, 8.0]]))
    np.testing.assert_allclose(pref[0], [3.0, 6.0])
    assert np.isnan(pref[1]).all()
    assert layout_diameter(np.array([[0.0, 0.0], [3.0, 4.0], [1.0, 1.0]])) == 5.0


def test_spatial_run_train_analyze_deploy_parity(tmp_path):
    cfg = _cfg(cost=1e-3)
    cfg.model.hidden, cfg.model.recurrent = [24], True
    cfg.data.n_train, cfg.data.n_val, cfg.data.n_test = 128, 32, 32
    cfg.train.epochs = 2
    cfg.dump(tmp_path / "sp.toml")
    run = tmp_path / "run"
    invoke = lambda *a: CliRunner().invoke(main, [str(x) for x in a], catch_exceptions=False)  # noqa: E731
    r = invoke("train", tmp_path / "sp.toml", "--out", run, "--quiet")
    assert r.exit_code == 0, r.output
    results = json.loads((run / "results.json").read_text())
    assert results["parameters"] == {"weight": 5 * 24 + 24 * 24 + 24 * 3, "delay": 0, "position": 32 * 2}
    rows = [json.loads(line) for line in (run / "metrics.jsonl").read_text().splitlines()]
    assert all(r["connection_cost"] > 0 for r in rows) and rows[0]["parameters"] == results["parameters"]
    assert set(rows[-1]["layout_diameter"]) == {"input", "hidden0", "output"}
    d = rows[-1]["delays"]["hid0_rec"]
    assert sum(d["hist"]) == 24 * 24 and 0 <= d["share_at_0"] <= 1 and d["mean"] > 0
    r = invoke("analyze", run, "--permutations", "19")
    assert r.exit_code == 0, r.output
    rep = json.loads((run / "analysis" / "network.json").read_text())
    assert set(rep["locality"]["trained"]) == {"in_hid", "hid0_rec", "hid_out"}
    sat = rep["space_as_time"]
    assert sat["recurrent"]["connection"] == "hid0_rec" and sat["recurrent"]["clustering"]["ratio"] > 0
    assert 0 <= sat["recurrent"]["wiring_efficiency"] <= 1 and len(sat["channel_map"]["preferred_positions"]) == 5
    assert (run / "plots" / "channel_map.png").stat().st_size > 0
    assert rep["specialisation"]["neurons"] == 24 and "moran_preference" in rep["specialisation"]
    for name in ("initial", "trained", "preference", "community"):
        assert (run / "plots" / f"layout_{name}.png").stat().st_size > 0
    r = invoke("deploy", run, "--target", "lava-sim", "--samples", "4", "--long-delays", "relay")
    assert r.exit_code == 0, r.output
    r = invoke("parity", run, "--samples", "4")
    assert r.exit_code == 0, r.output
    par = json.loads((run / "loihi" / "parity.json").read_text())
    assert par["ok"] and par["emulator_vs_lava"]["exact_samples"] == 1.0
