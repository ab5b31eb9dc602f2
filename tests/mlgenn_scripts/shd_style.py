"""An mlGeNN 2.4-style SHD script (training, checkpoints, inference from a checkpoint, recorders) written against
mlGeNN's API; only the package name differs (`eventprop.mlgenn` for `ml_genn`). Run by tests/test_mlgenn_compat.py
with SHD_ROOT (SHD-layout files), TRAIN (1/0), NUM_EPOCHS and CHECKPOINTS in the environment."""
import os

import numpy as np
from tonic.datasets import SHD

from eventprop.mlgenn import Connection, Network, Population
from eventprop.mlgenn.callbacks import Callback, Checkpoint, SpikeRecorder, VarRecorder
from eventprop.mlgenn.compilers import EventPropCompiler, InferenceCompiler
from eventprop.mlgenn.compilers.event_prop_compiler import default_params
from eventprop.mlgenn.connectivity import Dense, FixedProbability
from eventprop.mlgenn.initializers import Normal, Uniform
from eventprop.mlgenn.neurons import LeakyIntegrate, LeakyIntegrateFire, SpikeInput
from eventprop.mlgenn.optimisers import Adam
from eventprop.mlgenn.serialisers import Numpy
from eventprop.mlgenn.synapses import Exponential
from eventprop.mlgenn.utils.data import calc_latest_spike_time, calc_max_spikes, preprocess_tonic_spikes

NUM_HIDDEN = 64
BATCH_SIZE = 16
NUM_EPOCHS = int(os.environ["NUM_EPOCHS"])
DT = 1.0
TRAIN = os.environ["TRAIN"] == "1"


class EaseInSchedule(Callback):
    def set_params(self, compiled_network, **kwargs):
        self._optimisers = [o for o, _ in compiled_network.optimisers]

    def on_batch_begin(self, batch):
        for optimiser in self._optimisers:
            optimiser.alpha = min(0.003, 0.0003 * (1.5 ** batch))


def load(train):
    dataset = SHD(save_to=os.environ["SHD_ROOT"], train=train)
    spikes, labels = [], []
    for i in range(len(dataset)):
        events, label = dataset[i]
        spikes.append(preprocess_tonic_spikes(events, dataset.ordering, dataset.sensor_size))
        labels.append(label)
    return dataset, spikes, labels


dataset, spikes, labels = load(TRAIN)
_, test_spikes, test_labels = load(False)
max_spikes = calc_max_spikes(spikes)
latest_spike_time = calc_latest_spike_time(spikes)
print(f"Max spikes {max_spikes}, latest spike time {latest_spike_time}")
num_input = int(np.prod(dataset.sensor_size))
num_output = len(dataset.classes)

serialiser = Numpy(os.environ["CHECKPOINTS"])
network = Network(default_params)
with network:
    input = Population(SpikeInput(max_spikes=BATCH_SIZE * max_spikes), num_input)
    hidden = Population(LeakyIntegrateFire(v_thresh=1.0, tau_mem=20.0, tau_refrac=None), NUM_HIDDEN,
                        record_spikes=True)
    output = Population(LeakyIntegrate(tau_mem=20.0, readout="avg_var_exp_weight"), num_output)
    in_hid = Connection(input, hidden, Dense(Normal(mean=0.3, sd=0.15), delay=Uniform(0, 20)), Exponential(5.0),
                        max_delay_steps=20)
    Connection(hidden, hidden, FixedProbability(0.5, Normal(mean=0.0, sd=0.02)), Exponential(5.0))
    Connection(hidden, output, Dense(Normal(mean=0.0, sd=0.1)), Exponential(5.0))

max_example_timesteps = int(np.ceil(latest_spike_time / DT))
if TRAIN:
    compiler = EventPropCompiler(example_timesteps=max_example_timesteps, losses="sparse_categorical_crossentropy",
                                 reg_lambda_upper=2.5e-10, reg_lambda_lower=2.5e-10, reg_nu_upper=14,
                                 max_spikes=1500, optimiser=Adam(0.003), batch_size=BATCH_SIZE,
                                 delay_learn_conns=[in_hid], delay_optimiser=Adam(0.1))
    compiled_net = compiler.compile(network)
    with compiled_net:
        callbacks = ["batch_progress_bar", Checkpoint(serialiser),
                     SpikeRecorder(hidden, key="hidden_spikes", record_counts=True), EaseInSchedule()]
        for e in range(NUM_EPOCHS):
            metrics, valid_metrics, train_cb, _ = compiled_net.train(
                {input: spikes}, {output: labels}, start_epoch=e, num_epochs=1, shuffle=True, callbacks=callbacks,
                validation_callbacks=[], validation_x={input: test_spikes[:8]}, validation_y={output: test_labels[:8]})
            hidden_spikes = np.sum(train_cb["hidden_spikes"], axis=0)
            print(f"Epoch {e} silent neurons {np.count_nonzero(hidden_spikes == 0)} of {len(hidden_spikes)}, "
                  f"examples counted {len(train_cb['hidden_spikes'])}, validation {100 * valid_metrics[output].result}%")
            in_hid_sg = compiled_net.connection_populations[in_hid]
            in_hid_sg.vars["g"].pull_from_device()
            g_view = in_hid_sg.vars["g"].view.reshape((num_input, NUM_HIDDEN))
            g_view[:, hidden_spikes == 0] += 0.002
            in_hid_sg.vars["g"].push_to_device()
        compiled_net.save_connectivity((NUM_EPOCHS - 1,), serialiser)
        compiled_net.save((NUM_EPOCHS - 1,), serialiser)
        print(f"Learning rate {compiled_net.optimisers[0][1].param_groups[0]['lr']:g}")
        print(f"Accuracy = {100 * metrics[output].result}%")
        metrics, _ = compiled_net.evaluate({input: test_spikes}, {output: test_labels})
        print(f"Test accuracy = {100 * metrics[output].result}%")
else:
    network.load((NUM_EPOCHS - 1,), serialiser)
    compiler = InferenceCompiler(evaluate_timesteps=max_example_timesteps, reset_in_syn_between_batches=True,
                                 batch_size=BATCH_SIZE)
    compiled_net = compiler.compile(network)
    with compiled_net:
        callbacks = ["batch_progress_bar", SpikeRecorder(hidden, key="hidden_spikes", example_filter=[0, 1]),
                     VarRecorder(output, "v", key="output_v", example_filter=0)]
        metrics, cb_data = compiled_net.evaluate({input: spikes}, {output: labels}, callbacks=callbacks)
        print(f"Test accuracy = {100 * metrics[output].result}%")
        times, ids = cb_data["hidden_spikes"]
        print(f"Recorded {len(times)} examples, {sum(len(t) for t in times)} hidden spikes; "
              f"output v {cb_data['output_v'][0].shape}")
