"""Structure learning: [structure] validation, exact sparsity through rewiring, Dale's signs, dormant synapses
silent, RigL's choice against a brute-force dense gradient, resume, receptive fields and their Moran's I."""
from __future__ import annotations

import json

import numpy as np
import pytest
import torch
from scipy.stats import mannwhitneyu

from eventprop.analysis.moran import moran_i
from eventprop.analysis.receptive import (QUEEN, ROOK, delay_histogram, max_moran, moran_grid, output_fields,
                                          receptive_fields, shuffle_marks)
from eventprop.errors import ConfigError
from eventprop.pipeline.training import config as configs
from eventprop.pipeline.engine.module import compile as compile_network
from eventprop.pipeline.training.tasks import make_candidates, make_datasets, make_network
from eventprop.pipeline.training.trainer import Trainer, prepare_run_dir


def _cfg(**structure):
    cfg = configs.preset("sequence")
    cfg.data.n_train, cfg.data.n_val, cfg.data.n_test = 96, 32, 32
    cfg.model.hidden = [24]
    cfg.train.epochs = 2
    for key, value in {"sparsity": 0.75, "method": "deep_r+rigl", "dale": True, "period": 3,
                       "connections": ["in_hid", "hid_out"], **structure}.items():
        setattr(cfg.structure, key, value)
    return cfg


@pytest.mark.parametrize("structure,key", [
    (dict(sparsity=0.0, method="deep_r"), "structure.method"),
    (dict(sparsity=1.0), "structure.sparsity"),
    (dict(method="rigl"), "structure.method"),
    (dict(connections=["in_out"]), "structure.connections"),
    (dict(connections=["hid0_rec"]), "structure.connections"),   # not recurrent
    (dict(excitatory=1.5), "structure.excitatory"),
    (dict(period=0), "structure.period"),
    (dict(fraction=1.0), "structure.fraction"),
    (dict(l1=-1.0), "structure.l1"),
])
def test_structure_config_errors_name_the_key(structure, key):
    data = _cfg().to_dict()
    data["structure"].update(structure)
    with pytest.raises(ConfigError, match=key.replace(".", r"\.")):
        configs.from_dict(data)


def _invariants(model, cands):
    for name, c in cands.items():
        holder = getattr(model, name)
        p, q, w = holder.pre_ind.numpy(), holder.post_ind.numpy(), holder.weight.detach().numpy()
        assert w.size == c.pre.size                                     # slots never change
        assert np.all(c.sign[p, q] * w > 0)                             # every slot active, sign as fixed
        assert len(set(zip(p.tolist(), q.tolist()))) == w.size          # no duplicate pairs
        assert np.all(np.diff(p * c.sign.shape[1] + q) > 0)             # CSR order


def test_candidates_exact_count_dale_rows_and_initial_signs():
    cfg = _cfg()
    cands = make_candidates(cfg, 5, 3)
    c = cands["in_hid"]
    assert c.pre.size == round(0.25 * 5 * 24) and np.all(np.diff(c.pre * 24 + c.post) > 0)
    assert np.all(c.sign == c.sign[:, :1])                              # Dale: one sign per presynaptic row
    assert np.all(np.sign(c.weight) == c.sign[c.pre, c.post])
    again = make_candidates(cfg, 5, 3)["in_hid"]
    np.testing.assert_array_equal(again.weight, c.weight)               # deterministic in (seed, name)


@pytest.mark.parametrize("excitatory", [0.5, 0.8, 1.0])
def test_dale_excitatory_share_of_presynaptic_rows(excitatory):
    """structure.excitatory is the probability that a presynaptic neuron is excitatory (the paper: 0.5)."""
    cfg = _cfg(excitatory=excitatory)
    sign = make_candidates(cfg, 400, 3)["in_hid"].sign[:, 0]
    share = np.mean(sign > 0)
    assert abs(share - excitatory) < 3 * np.sqrt(excitatory * (1 - excitatory) / 400) + 1e-9, share


def test_l1_pressure_is_l1_times_sum_abs_weights_of_the_structured_connections(tmp_path):
    """The loss gains l1 * sum |w| over the structured connections only, so each of their weights gets
    l1 * sign(w) added to its gradient and the unstructured readout nothing."""
    cfg = _cfg(l1=0.25, connections=["in_hid"])
    out = tmp_path / "run"
    trainer = Trainer(prepare_run_dir(out, cfg, resume=False, force=False), out, quiet=True)
    try:
        w = trainer.model._param("in_hid.weight")
        assert trainer.rewirer.penalty().item() == pytest.approx(0.25 * w.detach().abs().sum().item())
        trainer.model.zero_grad()
        trainer.rewirer.penalty().backward()
        np.testing.assert_allclose(w.grad.numpy(), 0.25 * np.sign(w.detach().numpy()))
        assert trainer.model._param("hid_out.weight").grad is None
    finally:
        trainer.close()


def test_training_keeps_sparsity_and_dale_signs_through_rewiring(tmp_path):
    cfg = _cfg(l1=1e-3)
    cfg.train.lr = 3e-2                                                  # large steps: many synapses die
    out = tmp_path / "run"
    cfg = prepare_run_dir(out, cfg, resume=False, force=False)
    trainer = Trainer(cfg, out, quiet=True)
    seen = []
    original = trainer.rewirer.after_step

    def checked(*args):
        original(*args)
        _invariants(trainer.model, trainer.rewirer.cands)
        seen.append(1)
    trainer.rewirer.after_step = checked
    trainer.fit()
    assert len(seen) == trainer.step
    rows = [json.loads(line) for line in (out / "metrics.jsonl").read_text().splitlines()]
    st = rows[-1]["structure"]
    assert st["in_hid"]["active"] == st["in_hid"]["slots"] == 30
    assert sum(r["structure"]["in_hid"]["pruned"] for r in rows) > 0
    assert all(r["structure"]["in_hid"]["pruned"] == r["structure"]["in_hid"]["regrown"] for r in rows)


@pytest.mark.parametrize("learn_delays", [False, True])
@pytest.mark.parametrize("method", ["deep_r", "deep_r+rigl"])
def test_every_synapse_keeps_its_pair_candidate_delay_through_rewiring(method, learn_delays):
    """Fixed delays are a buffer, learned ones a Parameter: both must follow their synapse through refill and the
    CSR re-sort (a regrown synapse starts at its pair's candidate delay; fixed ones keep it for ever)."""
    cfg = _cfg(method=method, sparsity=0.5, period=1, fraction=0.2, dale=False)
    cfg.model.learn_delays, cfg.model.delay_init_ms = learn_delays, [0.0, 25.0]
    cfg.train.lr = 5e-2                                                 # large steps: many synapses die
    trainer = Trainer(cfg, "unused", quiet=True)
    rew, model = trainer.rewirer, trainer.model
    c, holder = rew.cands["in_hid"], model.in_hid
    assert isinstance(holder.delay, torch.nn.Parameter) == learn_delays
    assert np.ptp(c.delay) > 10                                         # candidate delays differ: a swap shows
    batches = trainer.train_set.batches(16)
    moved = 0
    for step in range(6):
        events, labels = next(batches)
        before = set(zip(holder.pre_ind.tolist(), holder.post_ind.tolist()))
        pairs = dict(zip(zip(holder.pre_ind.tolist(), holder.post_ind.tolist()), holder.delay.detach().tolist()))
        with torch.no_grad():                                           # a third of the slots go dormant
            s = torch.as_tensor(c.sign[holder.pre_ind.numpy(), holder.post_ind.numpy()], dtype=holder.weight.dtype)
            holder.weight[::3] = -s[::3] * 1e-3
        rew.after_step(step, 1e-3, events, labels)
        p, q = holder.pre_ind.numpy(), holder.post_ind.numpy()
        d = holder.delay.detach().numpy()
        after = list(zip(p.tolist(), q.tolist()))
        moved += len(set(after) - before)
        for k, pair in enumerate(after):                                # survivors keep theirs, new ones the candidate
            expected = pairs.get(pair, c.delay[pair])
            assert d[k] == pytest.approx(expected, abs=1e-5), (step, pair)
        if not learn_delays:
            np.testing.assert_allclose(d, c.delay[p, q], atol=1e-5)
        _invariants(model, rew.cands)
    assert moved > 0


def _dense_twin_params(model, cands):
    params = {}
    for name, value in model.state_dict().items():
        conn, attr = name.split(".")
        if conn not in cands:
            params[name] = value.numpy()
    for conn, c in cands.items():
        holder = getattr(model, conn)
        w = np.zeros(c.sign.shape)
        w[holder.pre_ind.numpy(), holder.post_ind.numpy()] = holder.weight.detach().numpy()
        params[f"{conn}.weight"] = w
        d = c.delay.copy()
        d[holder.pre_ind.numpy(), holder.post_ind.numpy()] = holder.delay.detach().numpy()
        params[f"{conn}.delay"] = d
    return params


def test_dormant_synapses_are_silent_in_the_forward_pass():
    cfg = _cfg(method="fixed", dale=False)
    cands = make_candidates(cfg, 5, 3)
    sparse = compile_network(make_network(cfg, 5, 3), seed=cfg.seed, dtype=torch.float64)
    dense_net = make_network(cfg, 5, 3, dense=True)
    dense = compile_network(dense_net, params=_dense_twin_params(sparse, cands), dtype=torch.float64)
    events, _ = next(make_datasets(cfg)[0].batches(16))
    a, b = sparse.spike_trains(events), dense.spike_trains(events)
    assert sum(len(s) for s, _ in a["hidden0"]) > 0
    for (sa, ia), (sb, ib) in zip(a["hidden0"], b["hidden0"]):
        np.testing.assert_array_equal(sa, sb) and np.testing.assert_array_equal(ia, ib)
    torch.testing.assert_close(sparse(events), dense(events), rtol=1e-12, atol=1e-12)


def test_rigl_regrows_the_most_negative_dormant_gradients():
    cfg = _cfg(fraction=0.0, sparsity=0.5)
    cfg.model.w_in = [5.0, 1.0]                                         # an active hidden layer: informative gradients
    trainer = Trainer(cfg, "unused", quiet=True)             # builds everything, writes nothing until fit()
    rew, model = trainer.rewirer, trainer.model
    events, labels = next(trainer.train_set.batches(16))
    c, holder, k = rew.cands["in_hid"], model.in_hid, 4
    with torch.no_grad():                                               # k synapses go dormant
        s = torch.as_tensor(c.sign[holder.pre_ind.numpy(), holder.post_ind.numpy()], dtype=holder.weight.dtype)
        holder.weight[:k] = -s[:k] * 1e-3
    # brute force: an independently built dense network at the same parameters
    dense_net = make_network(cfg, trainer.train_set.n_channels, trainer.train_set.n_classes, dense=True)
    dense = compile_network(dense_net, params=_dense_twin_params(model, rew.cands), dtype=model.dtype)
    torch.nn.functional.cross_entropy(dense(events), torch.from_numpy(labels), reduction="sum").backward()
    g = dense.in_hid.weight.grad.double().numpy()
    active = np.zeros(c.sign.shape, bool)
    active[holder.pre_ind.numpy(), holder.post_ind.numpy()] = True
    dormant = np.flatnonzero(~active.ravel())
    theta_grad = (c.sign * g).ravel()[dormant]
    expected = set(dormant[np.argsort(theta_grad, kind="stable")[:k]].tolist())
    assert np.sort(theta_grad)[k - 1] < np.sort(theta_grad)[k] < 0     # a strict, non-trivial top k
    before = set((holder.pre_ind.numpy() * c.sign.shape[1] + holder.post_ind.numpy()).tolist())
    rew.after_step(0, 1e-3, events, labels)                            # step 0: a RigL period
    after = set((holder.pre_ind.numpy() * c.sign.shape[1] + holder.post_ind.numpy()).tolist())
    assert after - before == expected
    _invariants(model, rew.cands)


def test_resume_with_structure_is_bit_identical(tmp_path):
    cfg = _cfg()
    a, b = tmp_path / "a", tmp_path / "b"
    for out in (a, b):
        prepare_run_dir(out, cfg, resume=False, force=False)
    Trainer(cfg, a, quiet=True).fit()
    Trainer(cfg, b, quiet=True).fit(stop_after=1)
    t = Trainer(cfg, b, quiet=True)
    t.resume()
    t.fit()
    sa = torch.load(a / "checkpoints" / "last.pt", weights_only=False)
    sb = torch.load(b / "checkpoints" / "last.pt", weights_only=False)
    for key, value in sa["model"].items():
        assert torch.equal(value, sb["model"][key]), key


# ---- receptive fields and Moran's I on grids ----------------------------------------------------------------
def _brute_weights(rows, cols, neighbours):
    w = np.zeros((rows * cols, rows * cols))
    for i in range(rows):
        for j in range(cols):
            for di, dj in neighbours:
                if 0 <= i + di < rows and 0 <= j + dj < cols:
                    w[i * cols + j, (i + di) * cols + j + dj] = 1
    return w


def test_moran_grid_against_hand_computed_values():
    x = np.random.default_rng(0).random((6, 7))
    assert moran_grid(x) == pytest.approx(moran_i(x.ravel(), _brute_weights(6, 7, QUEEN)), rel=1e-12)
    board = np.indices((6, 6)).sum(0) % 2 * 1.0
    assert moran_grid(board, ROOK) == pytest.approx(-1.0)              # the checkerboard limit (rook's case)
    # Queen's case on a 4x4 checkerboard: 48 ordered rook pairs differ (-1/4 each), 36 diagonal pairs agree (+1/4):
    # cross sum -3, W = 84, sum z^2 = 4, so I = 16 / 84 * (-3) / 4 = -1/7 (not -1: the diagonals agree)
    assert moran_grid(np.indices((4, 4)).sum(0) % 2 * 1.0) == pytest.approx(-1 / 7, rel=1e-12)
    blocks = np.kron(np.array([[1.0, 0.0], [0.0, 1.0]]), np.ones((4, 4)))
    assert moran_grid(blocks) > 0.6
    rng = np.random.default_rng(1)
    values = moran_grid(rng.random((400, 20, 20)))
    assert values.mean() == pytest.approx(-1 / 399, abs=0.01)


def test_receptive_fields_and_max_over_row_orders():
    pre, post = np.array([0, 1, 2, 0]), np.array([1, 1, 1, 0])
    rf = receptive_fields(pre, post, np.array([0.5, -1.0, 2.0, 9.0]), np.array([0, 3, 3, 1]), 3, [1], 4)
    assert rf.shape == (1, 3, 5)
    assert rf[0, 0, 0] == 0.5 and rf[0, 1, 3] == -1.0 and rf[0, 2, 3] == 2.0 and rf.sum() == 1.5
    stripes = np.zeros((10, 8))
    stripes[::2, 2:5] = 1.0                                            # excitation in every second row
    rng = np.random.default_rng(0)
    assert max_moran(stripes, 200, rng) > moran_grid(stripes) + 0.2    # a row order that groups the rows exists


def test_output_fields_are_hidden_fields_summed_through_the_readout():
    # hidden 0: input 0 at delay 1 (+), input 2 at delay 0 (-); hidden 1: input 1 at delay 2 (+); marks = signs
    pre, post, w, d = np.array([0, 2, 1]), np.array([0, 0, 1]), np.array([0.3, -2.0, 0.7]), np.array([1, 0, 2])
    hidden = receptive_fields(pre, post, np.sign(w), d, 3, [0, 1], 2)
    readout = np.array([[2.0, 0.0], [-1.0, 3.0]])                    # [hidden, output]
    out = output_fields(hidden, readout, [0, 1])
    want0, want1 = np.zeros((3, 3)), np.zeros((3, 3))
    want0[0, 1], want0[2, 0], want0[1, 2] = 2.0, -2.0, -1.0           # 2 F_0 - F_1
    want1[1, 2] = 3.0                                                  # 3 F_1
    np.testing.assert_array_equal(out[0], want0)
    np.testing.assert_array_equal(out[1], want1)


def test_fill_preserving_null_tells_grouping_from_fill():
    rng = np.random.default_rng(0)
    fields = np.zeros((12, 20, 10))
    fields[:, :10, :6], fields[:, 10:, :6] = 1.0, -1.0                 # E on top, I below, 60 % filled
    null = shuffle_marks(fields, rng)
    assert np.array_equal(null != 0, fields != 0)                      # the same occupied cells ...
    assert np.array_equal(np.sort(null, axis=None), np.sort(fields, axis=None))   # ... and marks
    grouped = [max_moran(f, 30, rng) for f in fields]
    shuffled = [max_moran(f, 30, rng) for f in null]
    assert min(grouped) > 0.3 > max(shuffled)                          # 0.42-0.80 vs 0.02-0.13
    assert mannwhitneyu(grouped, shuffled).pvalue < 1e-4


def test_delay_histogram_counts_the_bounds():
    h = delay_histogram(np.array([0, 0, 3, 5, 5, 5, 2]), 5)
    assert h["counts"] == [2, 0, 1, 1, 0, 3] and h["share_at_0"] == pytest.approx(2 / 7)
    assert h["share_at_max"] == pytest.approx(3 / 7)


def test_structured_run_analyze_deploy_parity(tmp_path):
    from click.testing import CliRunner

    from eventprop.cli import main
    cfg = _cfg(sparsity=0.5)
    cfg.dump(tmp_path / "st.toml")
    run = tmp_path / "run"
    invoke = lambda *a: CliRunner().invoke(main, [str(x) for x in a], catch_exceptions=False)  # noqa: E731
    r = invoke("train", tmp_path / "st.toml", "--out", run, "--quiet")
    assert r.exit_code == 0, r.output
    r = invoke("analyze", run, "--permutations", "9", "--rf-fields", "6", "--rf-permutations", "20")
    assert r.exit_code == 0, r.output
    rf = json.loads((run / "analysis" / "network.json").read_text())["receptive_fields"]["in_hid"]
    assert rf["fields"] == 6 and len(rf["moran_trained"]) == 6 - rf["constant_fields_left_out"]["trained"]
    assert (run / "plots" / "receptive_in_hid.png").stat().st_size > 0
    r = invoke("analyze", run, "--permutations", "9", "--rf-fields", "6", "--rf-permutations", "20",
               "--rf-target", "output", "--rf-marks", "sign")
    assert r.exit_code == 0, r.output
    rf = json.loads((run / "analysis" / "network.json").read_text())["receptive_fields"]["in_hid"]
    assert rf["target"] == "output" and rf["marks"] == "sign" and rf["fields"] == 2       # the 2 output neurons
    assert len(rf["moran_null"]) == 2 and 0 <= rf["null_p_value"] <= 1
    assert sum(rf["delay_histogram"]["trained"]["counts"]) == 60                         # in_hid's 50 % of 5 x 24
    r = invoke("deploy", run, "--target", "lava-sim", "--samples", "4", "--long-delays", "relay")
    assert r.exit_code == 0, r.output
    dep = json.loads((run / "loihi" / "deploy.json").read_text())
    syn = dep["ops"]["synapses"]
    assert syn["stored"] < syn["dense_equivalent"]                     # the half-sparse layers stay sparse
    r = invoke("parity", run, "--samples", "4")
    assert r.exit_code == 0, r.output
    assert json.loads((run / "loihi" / "parity.json").read_text())["emulator_vs_lava"]["exact_samples"] == 1.0
