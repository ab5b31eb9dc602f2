"""Bit-exact, batched emulation of Lava's fixed-point LIF / Dense / DelayDense dynamics (Numba, samples in parallel).

Per step t and neuron (constants per population; all arithmetic as in lava.proc.lif.models.PyLifModelBitAcc):
    u <- wrap24(int32(sign(u) (|u| (4096 - du - 1) >> 12) + (a << 6)))
    v <- clip(sign(v) (|v| (4096 - dv) >> 12) + u, -(2^23 - 1), 2^23 - 1);  spike if v > vth << 6, then v = 0
where a is the integer sum of the weights arriving at t; a spike at t with delay d arrives at t + 1 + d.
Each sample starts from zero state and empty delay buffers.
"""
from __future__ import annotations

import numba as nb
import numpy as np

from ..models.events import to_kernel_inputs
from .fixed_point import ACT_SHIFT, UV_LIMIT, FxNetwork, FxResult


@nb.njit(inline="always")
def _wrap32(x):
    return ((x + 2147483648) & 4294967295) - 2147483648


@nb.njit(inline="always")
def _decay(x, factor):
    p = x * factor
    return -((-p) >> 12) if p < 0 else p >> 12


@nb.njit(parallel=True, cache=True)
def _emulate(n_steps, in_step, in_gid, in_n, n_input, du, dv, vth, row, syn_post, syn_w, syn_d, ring,
             r_lo, vtrace, spk_step, spk_id, spk_n):
    B = in_n.shape[0]
    N = du.shape[0]
    cap = spk_step.shape[1]
    lim = UV_LIMIT
    for b in nb.prange(B):
        u = np.zeros(N, np.int64)
        v = np.zeros(N, np.int64)
        act = np.zeros((ring, N), np.int64)
        e = 0
        ns = 0
        for t in range(n_steps):
            slot = t % ring
            while e < in_n[b] and in_step[b, e] == t:      # input spikes of step t
                i = in_gid[b, e]
                for k in range(row[i], row[i + 1]):
                    act[(t + 1 + syn_d[k]) % ring, syn_post[k]] += syn_w[k]
                e += 1
            for n in range(n_input, N):
                a = act[slot, n]
                act[slot, n] = 0
                uc = _wrap32(_wrap32(_decay(u[n], 4095 - du[n])) + _wrap32(a << ACT_SHIFT))
                if uc > lim:
                    uc -= 2 * lim
                elif uc <= -lim:
                    uc += 2 * lim
                u[n] = uc
                nv = _decay(v[n], 4096 - dv[n]) + uc
                if nv > lim - 1:
                    nv = lim - 1
                elif nv < 1 - lim:
                    nv = 1 - lim
                if nv > (vth[n] << ACT_SHIFT):
                    nv = 0
                    if ns < cap:
                        spk_step[b, ns] = t
                        spk_id[b, ns] = n
                    ns += 1
                    for k in range(row[n], row[n + 1]):
                        act[(t + 1 + syn_d[k]) % ring, syn_post[k]] += syn_w[k]
                v[n] = nv
                if n >= r_lo:
                    vtrace[b, t, n - r_lo] = nv
        spk_n[b] = ns


def input_events(fx: FxNetwork, batch, offsets: dict[str, int]):
    """SpikeEvents / raster (or a dict of them by input population) -> (steps, global ids, counts, T) in the
    global layout, sorted by step per sample."""
    ins = fx.inputs
    if not isinstance(batch, dict):
        if len(ins) != 1:
            raise ValueError(f"network has {len(ins)} input populations; pass a dict by name")
        batch = {ins[0].name: batch}
    parts, T = [], 0
    for p in ins:
        if p.name not in batch:
            raise ValueError(f"input population {p.name!r} missing from the batch")
        steps, ids, n, t = to_kernel_inputs(batch[p.name], fx.dt, p.size, p.name)
        parts.append((steps.astype(np.int64), ids.astype(np.int64) + offsets[p.name], n.astype(np.int64)))
        T = max(T, t)
    B = parts[0][2].shape[0]
    if len(parts) == 1:
        return parts[0] + (T,)
    width = max(1, sum(int(n.max(initial=0)) for _, _, n in parts))
    steps = np.full((B, width), np.iinfo(np.int32).max, np.int64)
    ids = np.zeros((B, width), np.int64)
    n_all = np.zeros(B, np.int64)
    for b in range(B):
        s = np.concatenate([st[b, :n[b]] for st, _, n in parts])
        i = np.concatenate([id_[b, :n[b]] for _, id_, n in parts])
        o = np.argsort(s, kind="stable")
        steps[b, :s.size], ids[b, :s.size], n_all[b] = s[o], i[o], s.size
    return steps, ids, n_all, T


def make_result(fx: FxNetwork, steps: list[np.ndarray], gids: list[np.ndarray], vtrace: np.ndarray,
                inputs: tuple) -> FxResult:
    """FxResult from per-sample (step, global id) spike lists sorted by (step, id), readout v [B, T, N_r] and the
    (steps, global ids, counts, T) input events."""
    order, offsets = fx.layout()
    pop_of = np.concatenate([np.full(p.size, fx.populations.index(p), np.int64) for p in order])
    local = np.concatenate([np.arange(p.size) for p in order])
    r_lo = sum(p.size for p in order) - sum(p.size for p in fx.readouts)

    def per_pop(ids, lo, size):
        return np.bincount(ids[(ids >= lo) & (ids < lo + size)] - lo, minlength=size)

    v, volts, counts = {}, {}, {}
    for p in fx.readouts:
        lo = offsets[p.name] - r_lo
        v[p.name] = vtrace[:, :, lo:lo + p.size]
        volts[p.name] = v[p.name] * (p.scale / (1 << ACT_SHIFT))
    for p in order[len(fx.inputs):]:
        counts[p.name] = np.array([per_pop(g, offsets[p.name], p.size) for g in gids],
                                  dtype=np.int64).reshape(len(gids), p.size)
    _, in_ids, in_n, _ = inputs
    in_counts = {p.name: np.array([per_pop(in_ids[b, :in_n[b]], offsets[p.name], p.size) for b in range(len(gids))],
                                  dtype=np.int64).reshape(len(gids), p.size) for p in fx.inputs}
    return FxResult(steps, [pop_of[g] for g in gids], [local[g] for g in gids], v, volts, counts, in_counts)


class Emulator:
    """Compiled once per FxNetwork; `run(batch)` takes SpikeEvents or a [B, T, N] raster (one input population)
    or a dict of them by input population name."""

    def __init__(self, fx: FxNetwork):
        self.fx = fx
        order, self.offset = fx.layout()
        N = sum(p.size for p in order)
        self.n_input = sum(p.size for p in fx.inputs)
        self.r_lo = N - sum(p.size for p in fx.readouts)
        per = lambda attr: np.concatenate([np.full(p.size, getattr(p, attr), np.int64) for p in order])
        self.du, self.dv, self.vth = per("du"), per("dv"), per("vth")
        cat = lambda xs: np.concatenate(xs) if xs else np.zeros(0, np.int64)
        pre = cat([j.pre + self.offset[j.source] for j in fx.projections])
        post = cat([j.post + self.offset[j.target] for j in fx.projections])
        w, d = cat([j.weight for j in fx.projections]), cat([j.delay for j in fx.projections])
        keep = w != 0
        o = np.argsort(pre[keep], kind="stable")
        self.syn_post, self.syn_w = post[keep][o].astype(np.int64), w[keep][o].astype(np.int64)
        self.syn_d = d[keep][o].astype(np.int64)
        self.row = np.searchsorted(pre[keep][o], np.arange(N + 1)).astype(np.int64)
        self.ring = fx.max_delay + 2
        self._cap = 1024

    def run(self, batch, n_steps: int | None = None) -> FxResult:
        events = input_events(self.fx, batch, self.offset)
        steps, ids, n, T = events
        T = T if n_steps is None else int(n_steps)
        B, N = n.shape[0], self.du.shape[0]
        vtrace = np.zeros((B, T, N - self.r_lo), np.int64)
        while True:
            spk_step = np.zeros((B, self._cap), np.int64)
            spk_id = np.zeros((B, self._cap), np.int64)
            spk_n = np.zeros(B, np.int64)
            _emulate(T, steps, ids, n, self.n_input, self.du, self.dv, self.vth, self.row, self.syn_post, self.syn_w,
                     self.syn_d, self.ring, self.r_lo, vtrace, spk_step, spk_id, spk_n)
            if spk_n.max(initial=0) <= self._cap:
                break
            self._cap = int(2 ** np.ceil(np.log2(spk_n.max())))
        return make_result(self.fx, [spk_step[b, :spk_n[b]] for b in range(B)],
                           [spk_id[b, :spk_n[b]] for b in range(B)], vtrace, events)
