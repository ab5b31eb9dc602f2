"""mlGeNN connectivity: weight and delay (timesteps) as scalars, arrays or initializers."""
from __future__ import annotations

import numpy as np

from ..interop.mlgenn_checkpoints import pre_major


class Dense:
    def __init__(self, weight=0.0, delay=0):
        self.weight, self.delay, self.p = weight, delay, None

    def loaded(self, conn, state: dict):
        """Take checkpointed values (Network.load)."""
        n_pre, n_post = conn.source.size, conn.target.size
        self.weight = pre_major(state["g"], (n_pre, n_post), f"connection {conn.name!r} weights")
        if "d" in state:
            self.delay = pre_major(state["d"], (n_pre, n_post), f"connection {conn.name!r} delays")


class FixedProbability:
    def __init__(self, p: float, weight=0.0, delay=0, allow_self_connections: bool = False):
        self.weight, self.delay, self.p = weight, delay, p
        self.indices = None        # (pre, post) once loaded from a checkpoint

    def loaded(self, conn, state: dict):
        from .errors import unsupported
        if "pre_ind" not in state or "post_ind" not in state:
            raise unsupported(f"Network.load: connection {conn.name!r} is sparse and its checkpoint holds no "
                              f"pre_ind / post_ind", "save them with compiled.save_connectivity")
        pre, post = np.asarray(state["pre_ind"], np.int64), np.asarray(state["post_ind"], np.int64)
        self.indices = (pre, post)
        self.weight = np.asarray(state["g"], np.float64)
        if "d" in state:
            self.delay = np.asarray(state["d"], np.float64)
