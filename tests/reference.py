"""Plain-numpy reference of the discrete forward equations (docs/concepts/model.md), written independently of the
generated kernels: dense matrices, one step at a time, explicit per-connection delay queues."""
from __future__ import annotations

import math

import numpy as np

from eventprop.models import LeakyIntegrate, LeakyIntegrateFire, SpikeInput
from eventprop.models.network import POSITION_EPS


def dense_matrices(net, params):
    """Per connection: (W [pre, post], D [pre, post] integer delays, mask [pre, post])."""
    out = {}
    for c in net.connections:
        n_pre, n_post = c.source.size, c.target.size
        if c.spatial:
            ps, pt = params[f"{c.source.name}.position"], params[f"{c.target.name}.position"]
            dist = np.sqrt(POSITION_EPS + ((pt[None, :, :] - ps[:, None, :]) ** 2).sum(-1))
            d_full = dist / (c.velocity * net.dt)
        if c.sparse:
            pre, post = params[f"{c.name}.pre_ind"], params[f"{c.name}.post_ind"]
            W = np.zeros((n_pre, n_post)); D = np.zeros((n_pre, n_post)); M = np.zeros((n_pre, n_post), bool)
            W[pre, post] = params[f"{c.name}.weight"]
            D[pre, post] = d_full[pre, post] if c.spatial else params[f"{c.name}.delay"]
            M[pre, post] = True
        else:
            W = params[f"{c.name}.weight"]
            D = d_full if c.spatial else params[f"{c.name}.delay"]
            M = np.ones((n_pre, n_post), bool)
        D = np.clip(np.floor(D + 0.5), 0, c.max_delay_steps).astype(int)
        out[c.name] = (np.where(M, W, 0.0), D, M)
    return out


def simulate(net, params, raster: dict, n_steps: int):
    """One sample. raster: input pop name -> [T, N] spike counts. Returns (spikes {pop: list of (t, i)},
    voltages {output pop: [T, N]}, spike-time coefficients {pop: list of (gb, ga, q)}: the crossing located by
    linear interpolation between V_{t-1} and U_t, slope floored at slope_floor * theta / tau_m)."""
    dt = net.dt
    mats = dense_matrices(net, params)
    V = {p.name: np.zeros(p.size) for p in net.populations if not isinstance(p.model, SpikeInput)}
    # pending[pop] maps arrival step -> {tau: current increment vector}
    pending = {p.name: {} for p in net.populations}
    insyn = {p.name: {} for p in net.populations}
    spikes = {p.name: [] for p in net.populations}
    dens = {p.name: [] for p in net.populations}
    vout = {p.name: np.zeros((n_steps, p.size)) for p in net.populations if isinstance(p.model, LeakyIntegrate)}
    # refractory holds: steps left, hold length, index of the neuron's last spike record (its q is set at release)
    held = {p.name: np.zeros(p.size, int) for p in net.populations}
    last = {p.name: np.full(p.size, -1) for p in net.populations}
    for c in net.connections:
        insyn[c.target.name].setdefault(c.synapse.tau, np.zeros(c.target.size))
    for t in range(n_steps):
        fired = {}
        for p in net.populations:
            m = p.model
            if isinstance(m, SpikeInput):
                counts = raster[p.name][t] if t < raster[p.name].shape[0] else np.zeros(p.size)
                fired[p.name] = np.repeat(np.arange(p.size), counts.astype(int))
                continue
            for tau, vec in pending[p.name].pop(t, {}).items():
                insyn[p.name][tau] += vec
            isyn = np.zeros(p.size)
            for tau, s in insyn[p.name].items():
                beta = math.exp(-dt / tau)
                isyn += s * (tau / dt) * (1 - beta)
                s *= beta
            alpha = math.exp(-dt / m.tau_mem)
            v = alpha * V[p.name] + (1 - alpha) * isyn
            if isinstance(m, LeakyIntegrateFire):
                R = int(round(getattr(m, "tau_refrac", 0.0) / dt))
                h = held[p.name]
                for i in np.nonzero(h > 0)[0]:
                    h[i] -= 1
                    v[i] = 0.0
                    if h[i] == 0:                      # release: the spike's reset term reads this step's current
                        gb, ga, _ = dens[p.name][last[p.name][i]]
                        dens[p.name][last[p.name][i]] = (gb, ga, (1 - alpha) * isyn[i])
                f = np.nonzero(v >= m.v_thresh)[0]
                for i in f:
                    spikes[p.name].append((t, i))
                    vprev = V[p.name][i]
                    rise = max(v[i] - vprev, (1 - alpha) * m.slope_floor * m.v_thresh)
                    frac = min((m.v_thresh - vprev) / rise, 1.0)
                    dens[p.name].append((frac / rise, (1 - frac) / rise, (1 - alpha) * isyn[i] if R == 0 else 0.0))
                    last[p.name][i], h[i] = len(dens[p.name]) - 1, R
                v[f] = 0.0
                fired[p.name] = f
            else:
                vout[p.name][t] = v
            V[p.name] = v
        for c in net.connections:
            W, D, M = mats[c.name]
            for i in fired.get(c.source.name, []):
                for j in np.nonzero(M[i])[0]:
                    slot = pending[c.target.name].setdefault(t + 1 + D[i, j], {})
                    slot.setdefault(c.synapse.tau, np.zeros(c.target.size))[j] += W[i, j]
    return spikes, vout, dens
