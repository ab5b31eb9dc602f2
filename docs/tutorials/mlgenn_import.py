"""Tutorial: an mlGeNN script on eventprop, and its checkpoint as an eventprop run folder.

The script below is written against mlGeNN 2.4's API; only the package name differs (`eventprop.mlgenn` for
`ml_genn`). It trains on the spoken digits through tonic's SHD reader (written at 700 channels, SHD's size) and
checkpoints in mlGeNN's file layout. `eventprop import-mlgenn` then turns the checkpoint into a run folder, which
`deploy` takes to Loihi 2 fixed point like any other run.
"""
import numpy as np
from tonic.datasets import SHD

from eventprop.mlgenn import Connection, Network, Population
from eventprop.mlgenn.callbacks import Checkpoint
from eventprop.mlgenn.compilers import EventPropCompiler
from eventprop.mlgenn.compilers.event_prop_compiler import default_params
from eventprop.mlgenn.connectivity import Dense
from eventprop.mlgenn.initializers import Normal
from eventprop.mlgenn.neurons import LeakyIntegrate, LeakyIntegrateFire, SpikeInput
from eventprop.mlgenn.optimisers import Adam
from eventprop.mlgenn.serialisers import Numpy
from eventprop.mlgenn.synapses import Exponential
from eventprop.mlgenn.utils.data import calc_latest_spike_time, calc_max_spikes, preprocess_tonic_spikes
from eventprop.pipeline.training import config as configs

from _common import QUICK, WORK, eventprop, spoken_digits

root = spoken_digits(channels=700)
dataset = SHD(save_to=str(root), train=True)
spikes, labels = [], []
for i in range(len(dataset)):
    events, label = dataset[i]
    spikes.append(preprocess_tonic_spikes(events, dataset.ordering, dataset.sensor_size))
    labels.append(label)
EPOCHS = 2 if QUICK else 30
timesteps = int(np.ceil(calc_latest_spike_time(spikes)))

network = Network(default_params)
with network:
    inp = Population(SpikeInput(max_spikes=32 * calc_max_spikes(spikes)), 700)
    hidden = Population(LeakyIntegrateFire(v_thresh=1.0, tau_mem=20.0), 64)
    out = Population(LeakyIntegrate(tau_mem=20.0, readout="max_var"), 20)
    Connection(inp, hidden, Dense(Normal(mean=0.04, sd=0.02)), Exponential(5.0))
    Connection(hidden, out, Dense(Normal(mean=0.0, sd=0.3)), Exponential(5.0))

compiled = EventPropCompiler(example_timesteps=timesteps, optimiser=Adam(0.003), batch_size=32).compile(network)
with compiled:
    metrics, _ = compiled.train({inp: spikes}, {out: labels}, num_epochs=EPOCHS,
                                callbacks=[Checkpoint(Numpy(str(WORK / "mlgenn-checkpoints")))])
print(f"mlGeNN-style training accuracy {100 * metrics[out].result:.1f} %")

# The same network as an eventprop config (names: in_hid, hid_out), then the checkpoint of the last epoch.
cfg = configs.preset("spoken-digits")
cfg.data.root, cfg.data.duration = str(root), float(timesteps)
cfg.model.hidden, cfg.model.readout, cfg.model.learn_delays = [64], "max_var", False
cfg.model.max_delay_ms, cfg.model.delay_init_ms = 0.0, [0.0, 0.0]
cfg.dump(WORK / "from-mlgenn.toml")
eventprop("import-mlgenn", WORK / "mlgenn-checkpoints", "--config", WORK / "from-mlgenn.toml", "--epoch", EPOCHS - 1,
          "--out", WORK / "from-mlgenn", "--map", "in_hid=Conn_Pop0_Pop1", "--map", "hid_out=Conn_Pop1_Pop2",
          "--force")
eventprop("deploy", WORK / "from-mlgenn", "--samples", 20 if QUICK else 0)
