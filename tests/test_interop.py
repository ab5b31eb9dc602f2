"""Interop: mlGeNN checkpoints in, NIR out and in (round trip spike for spike), NeuroBench metrics."""
from __future__ import annotations

import json

import nir
import numpy as np
import pytest
import torch
from click.testing import CliRunner

from eventprop.cli import main
from eventprop.errors import ModelError
from eventprop.interop.neurobench import model_metrics
from eventprop import from_nir, to_nir
from eventprop.models import (Connection, Dense, Exponential, FixedProbability, LeakyIntegrate, LeakyIntegrateFire,
                              Network, Normal, Population, SpikeInput, Uniform)
from eventprop.pipeline.training import config as configs
from eventprop.pipeline.engine.module import compile as compile_network
from eventprop.pipeline.training.tasks import make_datasets, make_network


def invoke(*args):
    return CliRunner().invoke(main, [str(a) for a in args], catch_exceptions=False)


def _net():
    net = Network(dt=0.5)
    with net:
        inp = Population(SpikeInput(), 6, name="inp")
        hid = Population(LeakyIntegrateFire(v_thresh=1.0, tau_mem=10.0), 12, name="hid")
        out = Population(LeakyIntegrate(tau_mem=10.0, readout="max_var"), 3, name="out")
        Connection(inp, hid, Dense(weight=Normal(1.2, 0.6), delay=Uniform(0, 8)), Exponential(4.0),
                   max_delay_steps=8, learn_delays=True, name="in_hid")
        Connection(hid, hid, FixedProbability(0.3, weight=Normal(0.0, 0.3), delay=Uniform(0, 3)), Exponential(4.0),
                   max_delay_steps=3, name="rec")
        Connection(hid, out, Dense(weight=Normal(0.0, 0.5)), Exponential(4.0), name="hid_out")
    return net


def _events(n=20, seed=0):
    from eventprop import SpikeEvents
    rng = np.random.default_rng(seed)
    samples = [(rng.uniform(0, 30, 40), rng.integers(0, 6, 40)) for _ in range(n)]
    return SpikeEvents.from_lists(samples, n_channels=6, duration=40.0)


def test_nir_round_trip_spike_for_spike(tmp_path):
    net = _net()
    params = net.instantiate(seed=4)
    graph, sizes = to_nir(net, params)
    assert sizes["hid_out"] == {"nodes": 1, "channels": 0, "entries": 36}
    assert sizes["in_hid"]["nodes"] == 3 and 6 <= sizes["in_hid"]["channels"] <= 6 * 9
    conventions = graph.metadata["eventprop"]["conventions"]
    assert {"latency", "integration", "spikes", "threshold"} <= set(conventions) and "t + 1 + d" in conventions["latency"]
    nir.write(str(tmp_path / "net.nir"), graph)
    net2, params2 = from_nir(tmp_path / "net.nir")
    assert {c.name for c in net2.connections} == {"in_hid", "rec", "hid_out"}
    assert net2.connection("rec").sparse and net2.connection("in_hid").learn_delays
    a = compile_network(net, params=params, dtype=torch.float64)
    b = compile_network(net2, params=params2, dtype=torch.float64)
    events = _events()
    ta, tb = a.spike_trains(events)["hid"], b.spike_trains(events)["hid"]
    assert sum(len(s) for s, _ in ta) > 50
    for (sa, ia), (sb, ib) in zip(ta, tb):
        np.testing.assert_array_equal(sa, sb)
        np.testing.assert_array_equal(ia, ib)
    with torch.no_grad():
        torch.testing.assert_close(a(events), b(events), rtol=0, atol=0)


def test_nir_import_refuses_what_it_cannot_map():
    net = _net()
    graph, _ = to_nir(net, net.instantiate(0))
    graph.nodes["hid"].v_leak = np.full(12, 0.1)
    with pytest.raises(ModelError, match="'hid': v_leak = 0.1 found; eventprop's neurons have v_leak = 0"):
        from_nir(graph)
    graph, _ = to_nir(net, net.instantiate(0))
    graph.nodes["hid"].tau_mem = np.linspace(0.01, 0.02, 12)
    with pytest.raises(ModelError, match="'hid': tau_mem must be the same for every neuron"):
        from_nir(graph)
    graph, _ = to_nir(net, net.instantiate(0))
    graph.metadata = {}
    with pytest.raises(ModelError, match="pass dt="):
        from_nir(graph)
    graph.nodes["hid_out"] = nir.Affine(weight=graph.nodes["hid_out"].weight, bias=np.ones(3))
    with pytest.raises(ModelError, match="non-zero bias"):
        from_nir(graph, dt=0.5)


def test_nir_import_rescales_r_and_w_in_exactly():
    """NIR's CubaLIF: tau_syn dI/dt = -I + w_in S, tau_mem dV/dt = -V + r I; any r and w_in (per neuron) fold into
    the weights into the population, so the network runs unchanged."""
    net = _net()
    params = net.instantiate(seed=4)
    graph, _ = to_nir(net, params)
    rng = np.random.default_rng(0)
    r = rng.uniform(0.5, 2.0, 12)
    graph.nodes["hid"].r = r
    graph.nodes["hid"].w_in = graph.nodes["hid"].w_in * 3.0
    net2, params2 = from_nir(graph)
    np.testing.assert_allclose(params2["in_hid.weight"], params["in_hid.weight"] * 3.0 * r[None, :], rtol=1e-12)
    np.testing.assert_allclose(params2["hid_out.weight"], params["hid_out.weight"], rtol=0)
    graph, _ = to_nir(net, params)                # r w_in = 2 tau_syn and the threshold doubled: the same spikes
    graph.nodes["hid"].r, graph.nodes["hid"].w_in = np.full(12, 0.5), graph.nodes["hid"].w_in * 4.0
    graph.nodes["hid"].v_threshold = graph.nodes["hid"].v_threshold * 2.0
    net3, params3 = from_nir(graph)
    a = compile_network(net, params=params, dtype=torch.float64)
    b = compile_network(net3, params=params3, dtype=torch.float64)
    events = _events()
    for (sa, ia), (sb, ib) in zip(a.spike_trains(events)["hid"], b.spike_trains(events)["hid"]):
        np.testing.assert_array_equal(sa, sb)
        np.testing.assert_array_equal(ia, ib)


def test_neurobench_metrics_by_hand():
    net = Network(dt=1.0)
    with net:
        a = Population(SpikeInput(), 2, name="a")
        b = Population(LeakyIntegrateFire(), 2, name="b")
        c = Population(LeakyIntegrate(), 1, name="c")
        Connection(a, b, Dense(weight=np.array([[1.0, 0.0], [2.0, 3.0]])), name="ab")
        Connection(b, c, Dense(weight=np.array([[1.0], [0.0]])), name="bc")
    params = {k: v.astype(np.float32) for k, v in net.instantiate(0).items()}
    counts = {"a": np.array([[2, 1], [0, 1]]), "b": np.array([[1, 0], [3, 0]])}
    m = model_metrics(net, params, counts, n_steps=10)
    assert m["connection_sparsity"] == 2 / 6
    assert m["footprint_bytes"] == 4 * (4 + 2) + 4 * (4 + 2)            # weights and (zero) delay buffers
    # ACs per sample: a's spikes (2+0)/2 x fan-out 1 + (1+1)/2 x 2 -> 1 + 2; b's (1+3)/2 x 1 -> 2
    assert m["synaptic_operations"]["Effective_ACs"] == 5.0
    assert m["synaptic_operations"]["Dense"] == (4 + 2) * 10
    assert m["activation_sparsity"] == pytest.approx(1 - (2 + 2) / (4 * 10))


@pytest.fixture(scope="module")
def seq_run(tmp_path_factory):
    cfg = configs.preset("sequence")
    cfg.data.n_train, cfg.data.n_val, cfg.data.n_test = 64, 32, 16
    cfg.train.epochs = 1
    tmp = tmp_path_factory.mktemp("interop")
    cfg.dump(tmp / "seq.toml")
    r = invoke("train", tmp / "seq.toml", "--out", tmp / "run", "--quiet")
    assert r.exit_code == 0, r.output
    return tmp


def test_import_mlgenn_checkpoint_then_deploy(seq_run):
    tmp = seq_run
    cfg = configs.load(tmp / "seq.toml")
    train = make_datasets(cfg)[0]
    net = make_network(cfg, train.n_channels, train.n_classes)
    rng = np.random.default_rng(7)
    ckpt = tmp / "ckpt"
    ckpt.mkdir()
    theirs = {"in_hid": "Conn_Pop0_Pop1", "hid_out": "Conn_Pop1_Pop2"}
    want = {}
    for c in net.connections:
        w = rng.normal(0.5, 0.5, (c.source.size, c.target.size))
        np.save(ckpt / f"3-{theirs[c.name]}-g.npy", w.ravel().astype(np.float32))    # flattened pre-major
        want[f"{c.name}.weight"] = w.astype(np.float32)
        if c.learn_delays:
            d = rng.uniform(0, c.max_delay_steps, w.shape)
            np.save(ckpt / f"3-{theirs[c.name]}-d.npy", d.ravel().astype(np.float32))
            want[f"{c.name}.delay"] = d.astype(np.float32)
    np.save(ckpt / "3-Pop1-V.npy", np.zeros(3))                                        # population variables: ignored
    r = invoke("import-mlgenn", ckpt, "--config", tmp / "seq.toml", "--epoch", 3, "--out", tmp / "imp")
    assert r.exit_code == 2 and "--map in_hid=<mlGeNN name>" in " ".join(r.output.split()), r.output
    maps = [a for k, v in theirs.items() for a in ("--map", f"{k}={v}")]
    r = invoke("import-mlgenn", ckpt, "--config", tmp / "seq.toml", "--epoch", 3, "--out", tmp / "imp", *maps)
    assert r.exit_code == 0, r.output
    state = torch.load(tmp / "imp" / "best.pt", weights_only=False)["model"]
    for key, value in want.items():
        np.testing.assert_allclose(state[key].numpy(), value, rtol=1e-6)
    assert json.loads((tmp / "imp" / "results.json").read_text())["unused_in_checkpoint"] == ["Pop1"]
    r = invoke("deploy", tmp / "imp", "--long-delays", "relay", "--samples", "4")
    assert r.exit_code == 0, r.output
    r = invoke("import-mlgenn", ckpt, "--config", tmp / "seq.toml", "--epoch", 9, "--out", tmp / "imp2", *maps)
    assert r.exit_code == 2 and "no files of epoch 9" in r.output and "epochs present: [3]" in r.output


def test_export_nir_command_and_bench_neurobench(seq_run, tmp_path):
    run = seq_run / "run"
    r = invoke("export-nir", run, tmp_path / "run.nir")
    assert r.exit_code == 0, r.output
    net, params = from_nir(tmp_path / "run.nir")
    assert {c.name for c in net.connections} == {"in_hid", "hid_out"}
    r = invoke("deploy", run, "--long-delays", "relay", "--samples", "4")
    assert r.exit_code == 0, r.output
    r = invoke("bench", run, "--samples", "4", "--lava-samples", "0")
    assert r.exit_code == 0, r.output
    nb = json.loads((run / "loihi" / "bench.json").read_text())["neurobench"]
    assert nb["synaptic_operations"]["Effective_ACs"] > 0 and 0 < nb["activation_sparsity"] < 1
    host = json.loads((run / "loihi" / "bench.json").read_text())["host"][0]
    assert host["device"] == "cpu" and host["ms_per_sample_batch1"] > 0 and host["latency"] == "measured"
    assert (host["energy_uj_per_sample"] is None) == host["energy"].startswith("not measured")
    assert (run / "plots" / "platforms.png").stat().st_size > 0
