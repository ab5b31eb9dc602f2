import os
import sys
import tempfile
from pathlib import Path

sys.path.insert(0, str(Path(__file__).parent))
# Generated kernels of the tests go to a private cache folder unless the caller chose one.
os.environ.setdefault("EVENTPROP_CACHE", str(Path(tempfile.gettempdir()) / "eventprop-test-kernels"))
# Without a GPU, the generated CUDA kernels run in Numba's CUDA simulator (must be chosen before numba is imported);
# on a GPU machine the same tests run on the device.
if "NUMBA_ENABLE_CUDASIM" not in os.environ:
    import torch

    if not torch.cuda.is_available():
        os.environ["NUMBA_ENABLE_CUDASIM"] = "1"
