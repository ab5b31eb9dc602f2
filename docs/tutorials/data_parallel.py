"""Tutorial: data-parallel training with torchrun.

`torchrun --nproc_per_node N -m eventprop train ...` splits every batch across N processes (here on one machine;
add --nnodes / --rdzv-endpoint for several). The spike regulariser uses the global spike sums, metrics are summed
across ranks, and rank 0 writes the run folder; the checkpoints are world-size independent, so a run can resume
with another number of processes.
"""
import json
import subprocess
import sys

from eventprop.pipeline.training import config as configs

from _common import QUICK, WORK

cfg = configs.preset("yinyang-delays")
if QUICK:
    cfg.train.epochs, cfg.data.n_train, cfg.data.n_val, cfg.data.n_test = 1, 256, 64, 32
cfg.dump(WORK / "dp.toml")
cmd = [sys.executable, "-m", "torch.distributed.run", "--standalone", "--nproc_per_node", "2",
       "-m", "eventprop", "train", str(WORK / "dp.toml"), "--out", str(WORK / "dp"), "--force", "--quiet"]
print("$", " ".join(cmd[2:]), flush=True)
subprocess.run(cmd, check=True)
results = json.loads((WORK / "dp" / "results.json").read_text())
print(f"world size {results['world_size']}, test accuracy {100 * results['test_acc']:.1f} %")
