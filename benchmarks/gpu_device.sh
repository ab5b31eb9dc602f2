#!/usr/bin/env bash
# The one prepared script for a lent GPU machine (one call, < 10 minutes): the CUDA kernels against the CPU backend on
# the real GPU (tests/test_cuda.py, which runs in Numba's CUDA simulator on machines without a GPU), then the
# SHD-shaped GPU epoch (benchmarks/gpu_epoch.py: batch 256, delays 62 and 512, peak GPU memory; DCLS beside it when its
# wheel is installed). The device image has Python, torch + CUDA, numba, numba-cuda, h5py, click, rich and scipy but no
# pytest: wheels placed in benchmarks/results/wheels (pytest, pluggy, iniconfig, packaging, dcls) are installed first.
# Results go to $OUT (the device tool's output folder) or benchmarks/results/gpu.
#   bash benchmarks/gpu_device.sh
set -u
cd "$(dirname "$0")/.."
out="${OUT:-benchmarks/results/gpu}"
mkdir -p "$out"
export PYTHONPATH="$PWD${PYTHONPATH:+:$PYTHONPATH}"
export EVENTPROP_CACHE="$out/kernels"
{ nvidia-smi --query-gpu=name,memory.total,driver_version --format=csv; python -c "import torch, numba; print('torch', torch.__version__, 'cuda', torch.version.cuda, 'numba', numba.__version__)"; } > "$out/device.txt" 2>&1
if [ -d benchmarks/results/wheels ]; then
  python -m pip install -q --no-index --find-links benchmarks/results/wheels benchmarks/results/wheels/*.whl > "$out/pip.txt" 2>&1
fi
timeout 240 python -m pytest -q -p no:cacheprovider tests/test_cuda.py > "$out/cuda_tests.txt" 2>&1
echo "cuda tests: exit $?" | tee -a "$out/summary.txt"
tail -3 "$out/cuda_tests.txt" | tee -a "$out/summary.txt"
timeout 300 python benchmarks/gpu_epoch.py --delays 62,512 --batch 256 > "$out/gpu_epoch.txt" 2>&1
echo "gpu epoch: exit $?" | tee -a "$out/summary.txt"
tail -12 "$out/gpu_epoch.txt" | tee -a "$out/summary.txt"
cp benchmarks/results/gpu_epoch.json "$out/" 2>/dev/null || true
