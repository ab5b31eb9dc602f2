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
    return (p + ((p >> 63) & 4095)) >> 12          # p / 4096 rounded toward zero, without a branch


@nb.njit(parallel=True, cache=True)
def _emulate(n_steps, in_step, in_gid, in_n, n_input, du, dv, vth, row, syn_off, syn_w, width, act_proto, r_lo,
             vtrace, spk_step, spk_id, spk_n):
    # The delay ring is flat: the input arriving at step s for neuron n_input + m sits at (s mod R) * width + m, with
    # R and width powers of two, so synapse k's offset (1 + d) * width + m plus t * width, masked, addresses t + 1 + d.
    # Per step, all neurons integrate first (a branch-free loop), then the spiking ones fire: a spike lands at t + 1
    # or later, so it cannot reach a neuron's input of step t.
    B = in_n.shape[0]
    M = du.shape[0] - n_input
    cap = spk_step.shape[1]
    lim = UV_LIMIT
    mask = act_proto.shape[0] - 1
    u_keep, v_keep = 4095 - du[n_input:], 4096 - dv[n_input:]
    th = vth[n_input:] << ACT_SHIFT
    r0 = r_lo - n_input
    for b in nb.prange(B):
        u = np.zeros(M, np.int64)
        v = np.zeros(M, np.int64)
        act = np.zeros_like(act_proto)
        e = 0
        ns = 0
        for t in range(n_steps):
            base = t * width
            while e < in_n[b] and in_step[b, e] == t:      # input spikes of step t
                i = in_gid[b, e]
                for k in range(row[i], row[i + 1]):
                    act[(base + syn_off[k]) & mask] += syn_w[k]
                e += 1
            slot = base & mask
            for m in range(M):
                a = np.int64(act[slot + m])
                act[slot + m] = 0
                uc = _wrap32(_wrap32(_decay(u[m], u_keep[m])) + _wrap32(a << ACT_SHIFT))
                uc = uc - 2 * lim if uc > lim else (uc + 2 * lim if uc <= -lim else uc)
                u[m] = uc
                v[m] = min(max(_decay(v[m], v_keep[m]) + uc, 1 - lim), lim - 1)
            for m in range(M):
                if v[m] > th[m]:
                    v[m] = 0
                    if ns < cap:
                        spk_step[b, ns] = t
                        spk_id[b, ns] = n_input + m
                    ns += 1
                    for k in range(row[n_input + m], row[n_input + m + 1]):
                        act[(base + syn_off[k]) & mask] += syn_w[k]
            for m in range(r0, M):
                vtrace[b, t, m - r0] = v[m]
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

    B, N = len(gids), local.size

    def per_neuron(ids: np.ndarray, n: np.ndarray) -> np.ndarray:
        """[B, N] counts of the global ids, ids holding sample b's n[b] entries one after another."""
        return np.bincount(np.repeat(np.arange(B) * N, n) + ids, minlength=B * N).reshape(B, N)

    v, volts = {}, {}
    for p in fx.readouts:
        lo = offsets[p.name] - r_lo
        v[p.name] = vtrace[:, :, lo:lo + p.size]
        volts[p.name] = v[p.name] * (p.scale / (1 << ACT_SHIFT))
    spiked = per_neuron(np.concatenate(gids) if gids else np.zeros(0, np.int64),
                        np.array([g.size for g in gids], np.int64))
    _, in_ids, in_n, _ = inputs
    received = per_neuron(in_ids[np.arange(in_ids.shape[1])[None, :] < in_n[:, None]], in_n)
    counts = {p.name: spiked[:, offsets[p.name]:offsets[p.name] + p.size] for p in order[len(fx.inputs):]}
    in_counts = {p.name: received[:, offsets[p.name]:offsets[p.name] + p.size] for p in fx.inputs}
    return FxResult(steps, [pop_of[g] for g in gids], [local[g] for g in gids], v, volts, counts, in_counts)


def _pow2(x) -> int:
    """The smallest power of two >= x (1 for x <= 1)."""
    return 1 << max(0, int(x) - 1).bit_length()


def spike_buffer(n_input_events: np.ndarray) -> int:
    """First spike-buffer size per sample: as many spikes as the busiest sample has input events, rounded up to a
    power of two, at least 1024 (no more memory than the inputs take); a sample that spikes more runs again with a
    bigger one."""
    return max(1024, _pow2(n_input_events.max(initial=1)))


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
        post, w, d = post[keep][o], w[keep][o], d[keep][o]
        self.row = np.searchsorted(pre[keep][o], np.arange(N + 1)).astype(np.int64)
        self.width, ring = _pow2(N - self.n_input), _pow2(fx.max_delay + 2)
        self.syn_off = ((1 + d) * self.width + post - self.n_input).astype(
            np.int32 if ring * self.width < 2 ** 31 else np.int64)
        self.syn_w = w.astype(np.int16 if np.abs(w).max(initial=0) < 2 ** 15 else np.int64)   # 8-bit on Loihi
        bound = np.bincount(post, np.abs(w), minlength=N).max(initial=0)   # largest input one step can bring
        self.act_proto = np.zeros(ring * self.width, np.int32 if bound < 2 ** 31 else np.int64)
        self._cap = 0                                         # grows to the largest spike count seen

    def run(self, batch, n_steps: int | None = None) -> FxResult:
        events = input_events(self.fx, batch, self.offset)
        steps, ids, n, T = events
        T = T if n_steps is None else int(n_steps)
        B, N = n.shape[0], self.du.shape[0]
        vtrace = np.empty((B, T, N - self.r_lo), np.int64)       # the kernel writes every step
        spikes = [None] * B
        todo = np.arange(B)
        self._cap = max(self._cap, spike_buffer(n))
        while todo.size:      # samples that spiked more than the buffer holds run again (for their spikes; the first
            cap, every = self._cap, todo.size == B                  # pass wrote every sample's v already)
            spk_step, spk_id = np.empty((todo.size, cap), np.int64), np.empty((todo.size, cap), np.int64)
            spk_n = np.zeros(todo.size, np.int64)
            vt = vtrace if every else np.empty((todo.size,) + vtrace.shape[1:], np.int64)
            pick = (lambda x: x) if every else (lambda x: x[todo])  # noqa: E731
            _emulate(T, pick(steps), pick(ids), pick(n), self.n_input, self.du, self.dv, self.vth, self.row,
                     self.syn_off, self.syn_w, self.width, self.act_proto, self.r_lo, vt, spk_step, spk_id, spk_n)
            fits = spk_n <= cap
            for i in np.flatnonzero(fits):
                spikes[todo[i]] = spk_step[i, :spk_n[i]], spk_id[i, :spk_n[i]]
            if not fits.all():
                self._cap = _pow2(spk_n.max())
            todo = todo[~fits]
        return make_result(self.fx, [s for s, _ in spikes], [g for _, g in spikes], vtrace, events)
