import os
import sys
import tempfile
from pathlib import Path

sys.path.insert(0, str(Path(__file__).parent))
# Generated kernels of the tests go to a private cache folder unless the caller chose one.
os.environ.setdefault("EVENTPROP_CACHE", str(Path(tempfile.gettempdir()) / "eventprop-test-kernels"))
