"""NIR graphs run by the real consumers: snnTorch's import_from_nir and Norse's from_nir against eventprop's engine."""
from __future__ import annotations

import numpy as np
import pytest
import torch

from eventprop import SpikeEvents, to_nir
from eventprop.errors import ModelError
from eventprop.models import (Connection, Dense, Exponential, LeakyIntegrate, LeakyIntegrateFire, Network, Normal,
                              Population, SpikeInput, Uniform)
from eventprop.pipeline.engine.module import compile as compile_network

snntorch_import = pytest.importorskip("snntorch.import_nir")
norse_torch = pytest.importorskip("norse.torch")

N_IN, T, B = 20, 100, 16


def _net(hidden=(48,), recurrent=False, delay=False):
    net = Network(dt=1.0)
    with net:
        pre = Population(SpikeInput(), N_IN, name="inp")
        for k, n in enumerate(hidden):
            hid = Population(LeakyIntegrateFire(v_thresh=1.0, tau_mem=20.0), n, name=f"hid{k}")
            Connection(pre, hid, Dense(weight=Normal(2.0 / np.sqrt(pre.size), 1.0 / np.sqrt(pre.size)),
                                       delay=Uniform(0, 4) if delay else 0.0), Exponential(5.0),
                       max_delay_steps=4 if delay else 0, name=f"to_hid{k}")
            if recurrent:
                Connection(hid, hid, Dense(weight=Normal(0.0, 0.1)), Exponential(5.0), name=f"hid{k}_rec")
            pre = hid
        out = Population(LeakyIntegrate(tau_mem=20.0, readout="max_var"), 5, name="out")
        Connection(pre, out, Dense(weight=Normal(0.0, 0.5)), Exponential(5.0), name="to_out")
    return net


def _inputs(seed=0):
    rng = np.random.default_rng(seed)
    samples = [(rng.uniform(0, 60, 150), rng.integers(0, N_IN, 150)) for _ in range(B)]
    events = SpikeEvents.from_lists(samples, n_channels=N_IN, duration=float(T))
    x = torch.zeros(T, B, N_IN)
    for b, (times, ids) in enumerate(samples):
        np.add.at(x.numpy(), (np.floor(times).astype(int), b, ids), 1.0)   # per step spike counts (dt = 1 ms)
    return events, x


def _run_consumer(consumer: str, graph, x, populations, readout="out"):
    """Step the consumer's module over x [T, B, N]; (spikes per population [B, T, N], readout membrane [B, T, N])."""
    if consumer == "snntorch":
        module = snntorch_import.import_from_nir(graph)
    else:
        module = norse_torch.from_nir(graph, dt=graph.metadata["eventprop"]["dt_ms"] * 1e-3)
    seen = {}
    for name, sub in module.named_modules():
        leaf = name.split(".")[-1]
        if leaf in populations + [readout] and not hasattr(sub, "graph"):
            sub.register_forward_hook(lambda m, i, o, leaf=leaf: seen.__setitem__(leaf, (m, o)))
    spikes, volts, state = {p: [] for p in populations}, [], None
    with torch.no_grad():
        for t in range(x.shape[0]):
            out = module(x[t]) if state is None else module(x[t], state)
            state = out[1] if isinstance(out, tuple) else None
            for p in populations:
                spikes[p].append(seen[p][1] if consumer == "snntorch" else seen[p][1][0])
            m, o = seen[readout]
            volts.append((m.mem if consumer == "snntorch" else o[1][1].v).clone())
    return ({p: torch.stack(s, 1).double().numpy() for p, s in spikes.items()},
            torch.stack(volts, 1).double().numpy())


def _ours(net, params, events):
    model = compile_network(net, params=params, dtype=torch.float64)
    with torch.no_grad():
        volts = model.run(events).voltages["out"].numpy()
    spikes = {}
    for p, trains in model.spike_trains(events).items():
        s = np.zeros((B, T, net.population(p).size))
        for b, (steps, ids) in enumerate(trains):
            np.add.at(s[b], (steps, ids), 1.0)
        spikes[p] = s
    return spikes, volts


@pytest.mark.parametrize("consumer,hidden,recurrent", [("snntorch", (48,), False), ("snntorch", (48, 32), False),
                                                       ("norse", (48,), False), ("norse", (48, 32), False),
                                                       ("norse", (48,), True)])
def test_consumer_runs_our_export_spike_for_spike(consumer, hidden, recurrent):
    net = _net(hidden, recurrent)
    params = net.instantiate(seed=3)
    graph, _ = to_nir(net, params, consumer=consumer)
    assert graph.metadata["eventprop"]["conventions"]["consumer"] == consumer
    events, x = _inputs()
    ours, v_ours = _ours(net, params, events)
    pops = [f"hid{k}" for k in range(len(hidden))]
    theirs, v_theirs = _run_consumer(consumer, graph, x, pops)
    for k, p in enumerate(pops):                 # population k + 1 hops from the input runs k + 1 steps earlier there
        shift = k + 1
        assert ours[p].sum() > 20 * ours[p].shape[2], p        # an active network, not a silent one
        np.testing.assert_array_equal(theirs[p][:, :T - shift], ours[p][:, shift:], err_msg=p)
    shift = len(hidden) + 1
    np.testing.assert_allclose(v_theirs[:, :T - shift], v_ours[:, shift:], atol=1e-4 * np.abs(v_ours).max())
    np.testing.assert_array_equal(v_theirs.max(1).argmax(1), v_ours.max(1).argmax(1))
    from eventprop import from_nir              # and back: the graph's metadata says how it is to be read
    net2, params2 = from_nir(graph)
    back, v_back = _ours(net2, params2, events)
    for p in pops:
        np.testing.assert_array_equal(back[p], ours[p], err_msg=p)
    np.testing.assert_allclose(v_back, v_ours, rtol=0, atol=1e-9 * np.abs(v_ours).max())


def test_consumer_export_refuses_what_the_consumer_cannot_run():
    net = _net(delay=True)
    with pytest.raises(ModelError, match="'to_hid0' has delays .* maps no Delay node"):
        to_nir(net, net.instantiate(seed=0), consumer="norse")
    net = _net(recurrent=True)
    with pytest.raises(ModelError, match="'hid0_rec' is recurrent: snnTorch 1.0's import_from_nir runs recurrent"):
        to_nir(net, net.instantiate(seed=0), consumer="snntorch")
    net = _net(hidden=(8, 8))
    with net:
        Connection(net.population("inp"), net.population("out"), Dense(weight=Normal(0.0, 0.1)), Exponential(5.0),
                   name="skip")
    with pytest.raises(ModelError, match="'skip' \\(inp -> out\\) skips or goes back a layer"):
        to_nir(net, net.instantiate(seed=0), consumer="snntorch")
    with pytest.raises(ModelError, match="consumer must be one of"):
        to_nir(_net(), _net().instantiate(seed=0), consumer="sinabs")


def _step_counts(events: SpikeEvents, dt: float) -> torch.Tensor:
    """[T, B, N] spike counts per step, binned as eventprop bins input events."""
    n_steps = events.n_steps(dt)
    x = np.zeros((n_steps, len(events.counts), events.n_channels))
    for b, n in enumerate(np.asarray(events.counts)):
        steps = np.floor(np.asarray(events.times[b][:n]) / dt + 1e-9).astype(int)
        keep = steps < n_steps
        np.add.at(x, (steps[keep], b, np.asarray(events.ids[b][:n]).astype(int)[keep]), 1.0)
    return torch.as_tensor(x, dtype=torch.float32)


def test_export_nir_for_norse_command_runs_a_trained_run_in_norse(tmp_path):
    from click.testing import CliRunner
    from eventprop.cli import main
    from eventprop.pipeline.training import config as configs
    from eventprop.pipeline.training.runs import load_trained
    import nir
    cfg = configs.preset("yinyang")
    cfg.data.n_train, cfg.data.n_val, cfg.data.n_test, cfg.train.epochs, cfg.model.hidden = 64, 16, 32, 1, [24]
    cfg.dump(tmp_path / "yy.toml")
    invoke = lambda *a: CliRunner().invoke(main, [str(x) for x in a], catch_exceptions=False)  # noqa: E731
    assert invoke("train", tmp_path / "yy.toml", "--out", tmp_path / "run", "--quiet").exit_code == 0
    r = invoke("export-nir", tmp_path / "run", tmp_path / "run.nir", "--for", "norse")
    assert r.exit_code == 0, r.output
    run = load_trained(tmp_path / "run")
    events, _ = run.datasets[2].batch(np.arange(32))
    model = compile_network(run.net, params=run.params, dtype=torch.float64)
    with torch.no_grad():
        ours = model.run(events).voltages["output"].numpy()
    graph = nir.read(str(tmp_path / "run.nir"))
    x = _step_counts(events, run.net.dt)
    _, theirs = _run_consumer("norse", graph, x, [], readout="output")
    shift, n_steps = 2, x.shape[0]
    np.testing.assert_allclose(theirs[:, :n_steps - shift], ours[:, shift:], atol=1e-4 * np.abs(ours).max())
    r = invoke("export-nir", tmp_path / "run", tmp_path / "x.nir", "--for", "snntorch-2")
    assert r.exit_code == 2 and "'snntorch-2' is not one of" in r.output


def _events_from_counts(x: torch.Tensor, dt: float) -> SpikeEvents:
    """SpikeEvents whose spikes fall in the steps of x [T, B, N] (one event per count)."""
    samples = []
    for b in range(x.shape[1]):
        steps, ids = np.nonzero(x[:, b].numpy())
        reps = x[steps, b, ids].numpy().astype(int)
        samples.append((np.repeat(steps, reps) * dt, np.repeat(ids, reps)))
    return SpikeEvents.from_lists(samples, n_channels=x.shape[2], duration=x.shape[0] * dt)


def _step_module(module, x, hidden_leaf: str, out_leaf: str, norse: bool):
    """Spikes [B, T, N] of the hidden and output modules of a snnTorch / Norse model stepped over x [T, B, N]."""
    seen, state = {}, None
    for name, sub in module.named_modules():
        if name in (hidden_leaf, out_leaf):
            sub.register_forward_hook(lambda m, i, o, name=name: seen.__setitem__(name, o))
    hid, out = [], []
    with torch.no_grad():
        for t in range(x.shape[0]):
            if norse:
                _, state = module(x[t], state)
            else:
                module(x[t])
            first = lambda o: o[0] if isinstance(o, tuple) else o  # noqa: E731
            hid.append(first(seen[hidden_leaf]).clone())
            out.append(first(seen[out_leaf]).clone())
    return torch.stack(hid, 1).double().numpy(), torch.stack(out, 1).double().numpy()


def _compare_import(net, params, x, theirs_hid, theirs_out, hidden: str, output: str):
    """Ours (spike trains of the imported network) against the library's run: hidden one step later, output two."""
    events = _events_from_counts(x, net.dt)
    model = compile_network(net, params=params, dtype=torch.float64)
    trains = model.spike_trains(events)
    ours = {}
    for p, s_theirs in ((hidden, theirs_hid), (output, theirs_out)):
        s = np.zeros_like(s_theirs)
        for b, (steps, ids) in enumerate(trains[p]):
            np.add.at(s[b], (steps, ids), 1.0)
        ours[p] = s
    n_steps = x.shape[0]
    assert theirs_hid.sum() > 200 and theirs_out.sum() > 20
    np.testing.assert_array_equal(ours[hidden][:, 1:], theirs_hid[:, :n_steps - 1])
    np.testing.assert_array_equal(ours[output][:, 2:], theirs_out[:, :n_steps - 2])
    with torch.no_grad():
        counts = model(events).numpy()                 # spiking output: the readout is its spike counts
    np.testing.assert_array_equal(counts, ours[output].sum(1))


def test_snntorch_export_runs_in_eventprop_spike_for_spike():
    import snntorch as snn
    from snntorch.export_nir import export_to_nir
    from eventprop import from_nir
    torch.manual_seed(0)
    module = torch.nn.Sequential(   # per-neuron parameters: snnTorch 1.0 cannot export scalar ones (type inference)
        torch.nn.Linear(N_IN, 48, bias=False),
        snn.Synaptic(alpha=torch.full((48,), 0.8), beta=torch.full((48,), 0.9), threshold=torch.ones(48),
                     init_hidden=True, reset_mechanism="zero", reset_delay=False),
        torch.nn.Linear(48, 5, bias=False),
        snn.Leaky(beta=torch.full((5,), 0.95), threshold=torch.ones(5), init_hidden=True, reset_mechanism="zero",
                  reset_delay=False))
    with torch.no_grad():
        module[0].weight.mul_(4.0)
        module[2].weight.mul_(2.0)
    graph = export_to_nir(module, torch.zeros(1, N_IN), ignore_dims=[0])
    _, x = _inputs(1)
    theirs_hid, theirs_out = _step_module(module, x, "1", "3", norse=False)
    net, params = from_nir(graph, dt=1.0, reading="snntorch")
    assert isinstance(net.population("n_3").model, LeakyIntegrateFire) and not net.output_populations
    _compare_import(net, params, x, theirs_hid, theirs_out, "n_1", "n_3")


def test_norse_export_runs_in_eventprop_spike_for_spike():
    from eventprop import from_nir
    torch.manual_seed(0)
    module = norse_torch.SequentialState(torch.nn.Linear(N_IN, 48, bias=False), norse_torch.LIFBoxCell(),
                                         torch.nn.Linear(48, 5, bias=False), norse_torch.LIFBoxCell())
    with torch.no_grad():
        module[0].weight.mul_(20.0)
        module[2].weight.abs_().mul_(20.0)
    graph = norse_torch.to_nir(module, torch.zeros(1, N_IN))
    dt = 1e-3                       # Norse 1.1 writes tau = dt / tau_mem_inv; the time constant is tau / dt
    for node in graph.nodes.values():
        if hasattr(node, "tau"):
            node.tau = np.asarray(node.tau) / dt
    _, x = _inputs(2)
    theirs_hid, theirs_out = _step_module(module, x, "1", "3", norse=True)
    net, params = from_nir(graph, reading="norse")
    assert net.dt == 1.0
    _compare_import(net, params, x, theirs_hid, theirs_out, "n_1", "n_3")
