"""Tutorial: deploy -> parity -> bench on Loihi 2's fixed point, with Lava's CPU simulator as the judge.

Trains Yin-Yang with learned delays, quantises it to Loihi 2's fixed point (`deploy`; delays above Loihi's 62 steps
realised exactly with relay neurons), checks the emulator against Lava spike for spike (`parity`) and measures
latency, synaptic operations and the energy estimate (`bench`). No chip is needed: Lava's Loihi2SimCfg runs the
fixed-point network on the CPU.
"""
import json

from eventprop.pipeline.training import config as configs

from _common import QUICK, WORK, eventprop

cfg = configs.preset("yinyang-delays")
if QUICK:
    cfg.train.epochs, cfg.data.n_train, cfg.data.n_val, cfg.data.n_test = 1, 256, 64, 32
cfg.dump(WORK / "yinyang-delays.toml")
run = WORK / "yinyang-delays"
eventprop("train", WORK / "yinyang-delays.toml", "--out", run, "--force", "--quiet")
eventprop("deploy", run, "--long-delays", "relay")
eventprop("parity", run, "--samples", 4 if QUICK else 20)
eventprop("bench", run, "--samples", 8 if QUICK else 100, "--lava-samples", 1)

deploy = json.loads((run / "loihi" / "deploy.json").read_text())
parity = json.loads((run / "loihi" / "parity.json").read_text())
print(f"float {100 * deploy['float_acc']:.1f} % -> fixed point {100 * deploy['emulator_acc']:.1f} %; "
      f"emulator = Lava on {100 * parity['emulator_vs_lava']['exact_samples']:.0f} % of samples")
