"""Tutorial: structure learning - a sparse input connection rewired by DEEP R + RigL, with fixed delays.

The `sequence` task (class 1 iff five channels fire in order 0..4, 5 ms apart) is solved by delays; here the delays
are fixed (each candidate synapse gets its own random delay) and the network must find which synapses to keep:
87.5 % of the input synapses are absent at any time, DEEP R removes those whose weight crosses zero, RigL regrows
where the dense gradient is largest. Then `eventprop analyze --rf-target output` draws the output neurons'
receptive fields (a mark at each synapse's delay, coloured by sign, summed through the readout weights).
"""
import json

from eventprop.pipeline.training import config as configs

from _common import QUICK, WORK, eventprop

cfg = configs.preset("sequence")
cfg.model.learn_delays, cfg.model.delay_init_ms = False, [0.0, 25.0]   # fixed delays, drawn once per candidate
cfg.structure.connections, cfg.structure.sparsity = ["in_hid"], 0.875
cfg.structure.method, cfg.structure.period = "deep_r+rigl", 20
cfg.model.hidden = [16]
if QUICK:
    cfg.train.epochs, cfg.data.n_train = 2, 128
cfg.dump(WORK / "structure.toml")
run = WORK / "structure"
eventprop("train", WORK / "structure.toml", "--out", run, "--force", "--quiet")
eventprop("analyze", run, "--rf-target", "output", "--rf-fields", 2, "--rf-permutations", 20 if QUICK else 200,
          "--permutations", 99)
print("test accuracy:", json.loads((run / "results.json").read_text())["test_acc"])
