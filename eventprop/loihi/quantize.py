"""Float network description + parameters -> FxNetwork (Loihi 2 fixed point), by the netx / Lava fixed-point rules
(docs/concepts/loihi.md).

Per layer (= target population) one weight scale shared by all its incoming connections (feed-forward and
recurrent): W' = W (1 - alpha) IScale, m = max(P(W' > 0), P(-W' <= 0)) at the chosen percentile,
s = 2^(floor(log2 m) - (bits - 2)), W_int = clip(round(W' / s)). Threshold and decays come from the neuron model's
`fixed_point` (LIF: vThMant = round(theta / s), iDecay = round(4096 (1 - beta)), vDecay = round(4096 (1 - alpha)));
readouts get the largest threshold (they never fire). Delays = floor(d + 0.5) clamped to the
connection's max_delay_steps (the float forward pass's rule).
"""
from __future__ import annotations

import math

import numpy as np

from ..errors import DeployError
from ..models import Network
from .fixed_point import READOUT_VTH, VTH_MAX, FxNetwork, FxPopulation, FxProjection


def float_delays(conn, params: dict) -> np.ndarray:
    """Real-valued delays (timesteps) of a connection, in its parameter layout ([N_pre, N_post] or [S])."""
    return np.asarray(conn.delays(lambda key: np.asarray(params[key])), dtype=np.float64)


def _synapse_list(conn, params: dict):
    """(pre, post, weight, delay) in CSR order; delays rounded and clamped as in the float forward pass."""
    pre, post, w = conn.synapse_list(params)
    return pre, post, w, conn.rounded_delays(float_delays(conn, params)).astype(np.int64).ravel()


def layer_scale(scaled: np.ndarray, percentile: float, bits: int) -> float:
    """s = 2^lb from the percentile magnitudes of the positive and non-positive scaled weights."""
    pos, neg = scaled[scaled > 0], -scaled[scaled <= 0]
    m = max([float(np.percentile(x, percentile)) for x in (pos, neg) if x.size] or [0.0])
    if m <= 0:
        return 1.0
    return 2.0 ** (math.floor(math.log2(m)) - (bits - 2))


def quantize(net: Network, params: dict, percentile: float = 99.0, bits: int = 8) -> FxNetwork:
    """Quantise a trained network; raises DeployError for what Loihi 2 cannot hold."""
    if not 0 < percentile <= 100:
        raise DeployError(f"percentile must lie in (0, 100], got {percentile}")
    if not 2 <= bits <= 8:
        raise DeployError(f"weight bits must lie in [2, 8], got {bits}")
    net.validate()
    dt = net.dt
    lo, hi = -(1 << (bits - 1)), (1 << (bits - 1)) - 1
    pops, projs = [], []
    for pop in net.populations:
        if not pop.model.has_state:
            pops.append(FxPopulation(pop.name, "input", pop.size))
            continue
        incoming = [c for c in net.connections if c.target is pop]
        taus = sorted({c.synapse.tau for c in incoming})
        if len(taus) != 1:
            raise DeployError(f"layer {pop.name!r}: incoming connections have synaptic time constants {taus} ms; "
                              f"Loihi 2 has one current decay (du) per population")
        tau_s = taus[0]
        alpha, beta = pop.model.equations(dt).alpha, math.exp(-dt / tau_s)
        iscale = (tau_s / dt) * (1 - beta)
        lists = [_synapse_list(c, params) for c in incoming]
        scaled = [w * (1 - alpha) * iscale for _, _, w, _ in lists]
        s = layer_scale(np.concatenate(scaled), percentile, bits)
        try:
            fields = pop.model.fixed_point(dt, tau_s, s)     # the model's own Loihi mapping
        except DeployError as e:
            raise DeployError(f"layer {pop.name!r}: {e}") from None
        if fields["kind"] == "readout":
            fields["vth"] = READOUT_VTH
        elif not 0 <= fields["vth"] <= VTH_MAX:
            raise DeployError(f"layer {pop.name!r}: threshold {fields['v_thresh']} / weight scale {s:g} = "
                              f"{fields['vth']} does not fit Loihi's 17-bit vThMant; lower the weight percentile or "
                              f"the threshold")
        pops.append(FxPopulation(pop.name, size=pop.size, scale=s, **fields))
        for c, (pre, post, _, d), ws in zip(incoming, lists, scaled):
            w_int = np.clip(np.round(ws / s), lo, hi).astype(np.int64)
            order = np.lexsort((post, pre))
            projs.append(FxProjection(c.name, c.source.name, pop.name, pre[order], post[order], w_int[order],
                                      d[order], dense=not c.sparse))
    order = {p.name: k for k, p in enumerate(net.populations)}
    projs.sort(key=lambda j: order[j.target])
    return FxNetwork(dt, pops, projs, {"percentile": percentile, "bits": bits})
