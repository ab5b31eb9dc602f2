"""Tutorial: neurons in 2-D space, delays from their learned positions, and `eventprop analyze`.

Trains the `spoken-digits-2d` preset (delay = distance / velocity between neurons whose positions are learned), then
analyses the trained network: layouts, small-world and modularity measures, locality of strong synapses, and
whether class preference clusters in space. Plots go to RUN/plots, numbers to RUN/analysis/network.json.
"""
import json

from eventprop.pipeline.training import config as configs

from _common import QUICK, WORK, eventprop, spoken_digits

cfg = configs.preset("spoken-digits-2d")
cfg.data.root = str(spoken_digits())
if QUICK:
    cfg.train.epochs, cfg.model.hidden = 2, [32]
cfg.dump(WORK / "positions.toml")
run = WORK / "positions"
eventprop("train", WORK / "positions.toml", "--out", run, "--force", "--quiet")
eventprop("analyze", run, "--permutations", 99 if QUICK else 999)

report = json.loads((run / "analysis" / "network.json").read_text())
print("trained parameters:", json.loads((run / "results.json").read_text())["parameters"])
print("modularity Q, initial -> trained:", report["graph"]["initial"]["modularity"], "->",
      report["graph"]["trained"]["modularity"])
print("layouts:", sorted(p.name for p in (run / "plots").glob("layout_*.png")))
