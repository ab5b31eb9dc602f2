"""Tutorial: NIR export, run in Norse (and snnTorch), spike for spike.

Trains Yin-Yang without delays, writes the network as a NIR graph for Norse's importer (`export-nir --for norse`:
parameters in Norse's discrete reading of CubaLIF, the readout as a neuron that never fires) and runs it in Norse.
Norse's Linear nodes add no latency where every eventprop connection adds one step, so the readout runs two steps
earlier there (the graph's metadata says so).
"""
import nir
import numpy as np
import torch

from eventprop.pipeline.engine.module import compile as compile_network
from eventprop.pipeline.training import config as configs
from eventprop.pipeline.training.runs import load_trained

from _common import QUICK, WORK, eventprop

cfg = configs.preset("yinyang")
if QUICK:
    cfg.train.epochs, cfg.data.n_train, cfg.data.n_val, cfg.data.n_test = 1, 256, 64, 32
cfg.dump(WORK / "yinyang.toml")
run = WORK / "yinyang"
eventprop("train", WORK / "yinyang.toml", "--out", run, "--force", "--quiet")
eventprop("export-nir", run, WORK / "yinyang-norse.nir", "--for", "norse")

graph = nir.read(str(WORK / "yinyang-norse.nir"))
conv = graph.metadata["eventprop"]["conventions"]
print("import with:", conv["import_with"], "|", conv["latency"])

import norse.torch  # noqa: E402  (Norse 1.1)

trained = load_trained(run)
events, labels = trained.datasets[2].batch(np.arange(32))
dt = trained.net.dt
x = torch.zeros(events.n_steps(dt), 32, events.n_channels)             # spike counts per step
for b, n in enumerate(np.asarray(events.counts)):
    steps = np.floor(np.asarray(events.times[b][:n]) / dt + 1e-9).astype(int)
    np.add.at(x.numpy(), (steps, b, np.asarray(events.ids[b][:n]).astype(int)), 1.0)
module = norse.torch.from_nir(graph, dt=dt * 1e-3)
volts, state = [], None
readout = dict(module.named_modules())["output"]            # Norse's CubaLIF module of the readout population
readout.register_forward_hook(lambda m, inputs, out: volts.append(out[1][1].v.clone()))   # (z, (syn, lif state))
with torch.no_grad():
    for t in range(x.shape[0]):
        _, state = module(x[t], state)
theirs = torch.stack(volts, 1).double().numpy()
with torch.no_grad():
    ours = compile_network(trained.net, params=trained.params, dtype=torch.float64).run(events).voltages["output"]
ours = ours.numpy()
print(f"max |V_norse - V_eventprop| = {np.abs(theirs[:, :-2] - ours[:, 2:]).max():.2e} "
      f"(|V| up to {np.abs(ours).max():.2f}); same class in "
      f"{(theirs.max(1).argmax(1) == ours.max(1).argmax(1)).mean() * 100:.0f} % of samples")
