"""eventprop.mlgenn: a typical mlGeNN EventProp SHD script with its imports changed trains, checkpoints in mlGeNN's
layout (read back by `eventprop import-mlgenn`), and unsupported features fail with one clear error."""
from __future__ import annotations

import numpy as np
import pytest
import torch
from click.testing import CliRunner
from shd_files import write_hsd

from eventprop.cli import main
from eventprop.mlgenn import Connection, Network, Population
from eventprop.mlgenn.callbacks import Checkpoint
from eventprop.mlgenn.compilers import EventPropCompiler, InferenceCompiler
from eventprop.mlgenn.compilers.event_prop_compiler import default_params
from eventprop.mlgenn.connectivity import Dense
from eventprop.mlgenn.errors import Unsupported
from eventprop.mlgenn.initializers import Normal, Uniform
from eventprop.mlgenn.neurons import LeakyIntegrate, LeakyIntegrateFire, SpikeInput
from eventprop.mlgenn.optimisers import Adam
from eventprop.mlgenn.serialisers import Numpy
from eventprop.mlgenn.synapses import Exponential
from eventprop.mlgenn.utils.data import preprocess_tonic_spikes


def _shd(root, split, n, seed):
    from tonic.datasets import SHD
    write_hsd(root / "SHD" / f"shd_{split}.h5", n, seed=seed, n_spikes=(400, 800))
    dataset = SHD(save_to=str(root), train=split == "train")
    spikes, labels = [], []
    for i in range(len(dataset)):                   # as mlGeNN's SHD examples do
        events, label = dataset[i]
        spikes.append(preprocess_tonic_spikes(events, dataset.ordering, dataset.sensor_size))
        labels.append(label)
    return spikes, labels


def _network():
    network = Network(default_params)
    with network:
        inp = Population(SpikeInput(max_spikes=32 * 800), 700)
        hidden = Population(LeakyIntegrateFire(v_thresh=1.0, tau_mem=20.0, tau_refrac=None), 64, record_spikes=True)
        out = Population(LeakyIntegrate(tau_mem=20.0, readout="avg_var_exp_weight"), 20)
        c = Connection(inp, hidden, Dense(Normal(mean=0.3, sd=0.15), delay=Uniform(0, 20)), Exponential(5.0),
                       max_delay_steps=20)
        Connection(hidden, hidden, Dense(Normal(mean=0.0, sd=0.02)), Exponential(5.0))
        Connection(hidden, out, Dense(Normal(mean=0.0, sd=0.1)), Exponential(5.0))
    return network, inp, out, c


def test_mlgenn_script_trains_checkpoints_and_imports(tmp_path):
    spikes, labels = _shd(tmp_path / "data", "train", 100, 1)
    network, inp, out, c = _network()
    compiler = EventPropCompiler(example_timesteps=1250, losses="sparse_categorical_crossentropy",
                                 optimiser=Adam(0.003), delay_learn_conns=[c], delay_optimiser=Adam(0.1),
                                 batch_size=16)
    compiled_net = compiler.compile(network)
    accuracy = []
    with compiled_net:
        for epoch in range(3):
            metrics, _ = compiled_net.train({inp: spikes}, {out: labels}, num_epochs=1, start_epoch=epoch,
                                            shuffle=True, callbacks=[Checkpoint(Numpy(str(tmp_path / "ckpt")))])
            accuracy.append(metrics[out].result)
    assert max(accuracy) > 0.3, accuracy                     # 20 classes: chance is 0.05
    files = sorted(p.name for p in (tmp_path / "ckpt").glob("2-*.npy"))
    assert files == ["2-Conn_Pop0_Pop1-d.npy", "2-Conn_Pop0_Pop1-g.npy", "2-Conn_Pop1_Pop1-g.npy",
                     "2-Conn_Pop1_Pop2-g.npy"]
    (tmp_path / "net.toml").write_text(f"""
[data]
task = "shd"
root = "{tmp_path / 'data'}"
duration = 1250.0
[model]
dt = 1.0
hidden = [64]
recurrent = true
readout = "avg_var_exp_weight"
max_delay_ms = 20.0
delay_init_ms = [0.0, 20.0]
""")
    _shd(tmp_path / "data", "test", 10, 2)
    r = CliRunner().invoke(main, ["import-mlgenn", str(tmp_path / "ckpt"), "--config", str(tmp_path / "net.toml"),
                                  "--epoch", "2", "--out", str(tmp_path / "run"), "--map", "in_hid=Conn_Pop0_Pop1",
                                  "--map", "hid0_rec=Conn_Pop1_Pop1", "--map", "hid_out=Conn_Pop1_Pop2"],
                           catch_exceptions=False)
    assert r.exit_code == 0, r.output
    state = torch.load(tmp_path / "run" / "best.pt", weights_only=False)["model"]
    for ours, theirs in (("in_hid", "c0"), ("hid0_rec", "c1"), ("hid_out", "c2")):
        torch.testing.assert_close(state[f"{ours}.weight"], getattr(compiled_net.module, theirs).weight.detach())
    torch.testing.assert_close(state["in_hid.delay"], compiled_net.module.c0.delay.detach())
    infer = InferenceCompiler(evaluate_timesteps=1250, batch_size=32).compile(network)
    metrics, _ = infer.evaluate({inp: spikes[:8]}, {out: labels[:8]})
    assert metrics[out].total == 8


def _in_network(build, params=default_params):
    with Network(params):
        return build()


@pytest.mark.parametrize("build,message", [
    (lambda: _in_network(lambda: LeakyIntegrateFire(tau_refrac=2.0, integrate_during_refrac=True)), "tau_refrac"),
    (lambda: _in_network(lambda: LeakyIntegrate(readout="var")), "readout 'var'"),
    (lambda: _in_network(lambda: LeakyIntegrateFire(), None), "relative_reset=True"),
    (lambda: _in_network(lambda: LeakyIntegrateFire(relative_reset=False), None),
     "LeakyIntegrateFire\\(scale_i=False\\).*Network\\(default_params\\)"),
    (lambda: _in_network(lambda: Exponential(5.0), None), "Exponential\\(scale_i=False\\)"),
    (lambda: _in_network(lambda: LeakyIntegrate(scale_i=False, readout="max_var")), "LeakyIntegrate\\(scale_i"),
    (lambda: EventPropCompiler(100, kernel_profiling=True), "kernel_profiling=True"),
    (lambda: InferenceCompiler(100, reset_vars_between_batches=False), "reset_vars_between_batches"),
    (lambda: EventPropCompiler(100, losses="mean_square_error"), "losses 'mean_square_error'"),
    (lambda: EventPropCompiler(100, per_timestep_loss=True), "per_timestep_loss"),
    (lambda: EventPropCompiler(100, reg_lambda_upper=1e-3, reg_lambda_lower=0.0), "reg_lambda_upper"),
    (lambda: EventPropCompiler(100, optimiser="sgd"), "Adam only"),
])
def test_unsupported_features_name_themselves(build, message):
    with pytest.raises(Unsupported, match=message):
        build()


def test_delta_synapse_is_refused():
    with Network(default_params):
        a = Population(SpikeInput(), 3)
        b = Population(LeakyIntegrate(readout="max_var"), 2)
        with pytest.raises(Unsupported, match="synapse 'delta'"):
            Connection(a, b, Dense(np.ones((3, 2))))


def test_refractory_lif_without_integration_maps_to_refractory_lif():
    from eventprop.mlgenn.compilers import _build
    from eventprop.models import RefractoryLIF
    network = Network(default_params)
    with network:
        a = Population(SpikeInput(), 3)
        b = Population(LeakyIntegrateFire(tau_refrac=2.0, integrate_during_refrac=False), 4)
        c = Population(LeakyIntegrate(readout="max_var"), 2)
        Connection(a, b, Dense(np.ones((3, 4))), Exponential(5.0))
        Connection(b, c, Dense(np.ones((4, 2))), Exponential(5.0))
    net, _ = _build(network, 1.0, [])
    assert net.populations[1].model == RefractoryLIF(v_thresh=1.0, tau_mem=20.0, tau_refrac=2.0)


def test_mlgenn_style_script_trains_checkpoints_loads_and_records(tmp_path):
    """tests/mlgenn_scripts/shd_style.py as a script: train (Checkpoint, save_connectivity, batch_progress_bar),
    then a fresh process loads the checkpoint (Network.load) and evaluates with InferenceCompiler and recorders: the
    same test accuracy as the trained network."""
    import os
    import re
    import subprocess
    import sys
    from pathlib import Path
    root = tmp_path / "data"
    write_hsd(root / "SHD" / "shd_train.h5", 96, seed=1, n_spikes=(400, 800))
    write_hsd(root / "SHD" / "shd_test.h5", 24, seed=2, n_spikes=(400, 800))
    script = Path(__file__).parent / "mlgenn_scripts" / "shd_style.py"
    env = {**os.environ, "SHD_ROOT": str(root), "NUM_EPOCHS": "3", "CHECKPOINTS": str(tmp_path / "ckpt")}
    runs = {}
    for train in ("1", "0"):
        r = subprocess.run([sys.executable, str(script)], env={**env, "TRAIN": train}, capture_output=True,
                           text=True, timeout=600, cwd=tmp_path)
        assert r.returncode == 0, r.stdout + r.stderr
        runs[train] = r.stdout
    trained = float(re.search(r"Test accuracy = ([\d.]+)%", runs["1"]).group(1))
    loaded = float(re.search(r"Test accuracy = ([\d.]+)%", runs["0"]).group(1))
    assert loaded == trained and trained > 100 / 20, runs
    assert re.search(r"Recorded 2 examples, [1-9]\d* hidden spikes; output v \(\d+, 20\)", runs["0"]), runs["0"]
    assert len(re.findall(r"Epoch \d silent neurons \d+ of 64, examples counted 96, validation", runs["1"])) == 3
    assert f"Learning rate {0.0003 * 1.5 ** 5:g}" in runs["1"]    # the last batch's alpha reached torch's Adam
    names = sorted(p.name for p in (tmp_path / "ckpt").glob("2-*.npy"))
    assert names == ["2-Conn_Pop0_Pop1-d.npy", "2-Conn_Pop0_Pop1-g.npy", "2-Conn_Pop1_Pop1-g.npy",
                     "2-Conn_Pop1_Pop1-post_ind.npy", "2-Conn_Pop1_Pop1-pre_ind.npy", "2-Conn_Pop1_Pop2-g.npy"]


def test_sequential_network_yin_yang_with_a_learning_rate_schedule():
    """mlGeNN's tutorial shape: SequentialNetwork / InputLayer / Layer, generate_yin_yang_dataset,
    OptimiserParamSchedule; metrics keyed by the layer the script passed."""
    from eventprop.mlgenn import InputLayer, Layer, SequentialNetwork
    from eventprop.mlgenn.callbacks import OptimiserParamSchedule
    from eventprop.mlgenn.connectivity import Dense
    from eventprop.mlgenn.utils.data import generate_yin_yang_dataset
    np.random.seed(0)
    spikes, labels = generate_yin_yang_dataset(480, 25.0, 2.0)
    assert len(spikes) == 480 and set(labels) == {0, 1, 2} and len(spikes[0].spike_times) == 5
    assert spikes[0].spike_times.min() == 2.0                   # the bias spike at the offset
    network = SequentialNetwork(default_params)
    with network:
        inp = InputLayer(SpikeInput(max_spikes=5 * 32), 5)
        hidden = Layer(Dense(Normal(mean=1.5, sd=0.8)), LeakyIntegrateFire(v_thresh=1.0, tau_mem=20.0), 64,
                       Exponential(5.0))
        out = Layer(Dense(Normal(mean=0.0, sd=0.3)), LeakyIntegrate(tau_mem=20.0, readout="max_var"), 3,
                    Exponential(5.0))
    assert hidden.connection().source is inp.population() and len(network.connections) == 2
    compiled = EventPropCompiler(example_timesteps=60, dt=0.5, optimiser=Adam(0.003), batch_size=32).compile(network)
    alphas = []
    schedule = OptimiserParamSchedule("alpha", lambda epoch, alpha: alphas.append(alpha) or 0.003 * 0.9 ** epoch)
    with compiled:
        metrics, _ = compiled.train({inp: spikes}, {out: labels}, num_epochs=6, callbacks=[schedule])
    assert alphas == pytest.approx([0.003] + [0.003 * 0.9 ** e for e in range(5)])
    assert compiled.optimisers[0][1].param_groups[0]["lr"] == pytest.approx(0.003 * 0.9 ** 5)
    assert metrics[out].result > 0.5, metrics[out].result   # three classes: chance is 1/3
    with pytest.raises(Unsupported, match="a readout on a spiking population"):
        with SequentialNetwork(default_params):
            LeakyIntegrateFire(readout="first_spike_time")
    with pytest.raises(Unsupported, match="OptimiserParamSchedule\\('beta1'\\)"):
        compiled.train({inp: spikes}, {out: labels}, num_epochs=1, callbacks=[OptimiserParamSchedule("beta1", max)])
