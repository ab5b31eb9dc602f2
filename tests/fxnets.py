"""Random fixed-point networks for the emulator / Lava parity tests (built directly, not through quantisation)."""
from __future__ import annotations

import numpy as np

from eventprop.loihi.fixed_point import FxNetwork, FxPopulation, FxProjection


def projection(rng, name, src, tgt, n_pre, n_post, p=1.0, w_lo=-128, w_hi=127, d_max=62, dense=True):
    mask = rng.random((n_pre, n_post)) < p
    pre, post = np.nonzero(mask)
    return FxProjection(name, src, tgt, pre, post, rng.integers(w_lo, w_hi + 1, pre.size),
                        rng.integers(0, d_max + 1, pre.size), dense=dense)


def random_fx(seed: int, kind: str = "feedforward", n_in: int = 12, n_hid: int = 10, n_out: int = 3,
              d_max: int = 62) -> FxNetwork:
    """kind: feedforward | recurrent | sparse | two_layer | saturating."""
    rng = np.random.default_rng(seed)
    lif = lambda name, n, **kw: FxPopulation(name, "lif", n, du=kw.get("du", int(rng.integers(50, 1500))),
                                             dv=kw.get("dv", int(rng.integers(50, 800))),
                                             vth=kw.get("vth", int(rng.integers(50, 400))), scale=2.0 ** -8)
    pops = [FxPopulation("inp", "input", n_in), lif("hid", n_hid)]
    projs = [projection(rng, "in_hid", "inp", "hid", n_in, n_hid, w_lo=-40, d_max=d_max)]
    last = "hid"
    if kind == "recurrent":
        projs.append(projection(rng, "hid_hid", "hid", "hid", n_hid, n_hid, w_lo=-128, w_hi=80, d_max=d_max))
    if kind == "sparse":
        projs[0] = projection(rng, "in_hid", "inp", "hid", n_in, n_hid, p=0.3, w_lo=0, d_max=d_max, dense=False)
        projs.append(projection(rng, "hid_hid", "hid", "hid", n_hid, n_hid, p=0.3, d_max=d_max, dense=False))
    if kind == "two_layer":
        pops.append(lif("hid2", n_hid))
        projs.append(projection(rng, "hid_hid2", "hid", "hid2", n_hid, n_hid, w_lo=-60, d_max=d_max))
        last = "hid2"
    if kind == "saturating":
        # slow current decay and full-scale weights drive u past +-2^23 (wrap) and v into its clip (n_in >= 40)
        pops[1] = lif("hid", n_hid, du=0, dv=0, vth=(1 << 17) - 1)
        projs[0] = projection(rng, "in_hid", "inp", "hid", n_in, n_hid, d_max=3)
        projs[0].weight = np.where(projs[0].post % 2 == 0, 127, -128)
    pops.append(FxPopulation("out", "readout", n_out, du=int(rng.integers(100, 1000)), dv=int(rng.integers(50, 500)),
                             vth=1 << 16, scale=2.0 ** -8, readout="max_var"))
    projs.append(projection(rng, "hid_out", last, "out", n_hid, n_out, d_max=d_max))
    return FxNetwork(1.0, pops, projs)


def raster(seed: int, batch: int, n_steps: int, n_in: int, rate: float) -> np.ndarray:
    return (np.random.default_rng(seed).random((batch, n_steps, n_in)) < rate).astype(np.float32)
