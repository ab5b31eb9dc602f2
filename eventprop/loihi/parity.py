"""Spike-by-spike comparison of runs: float vs fixed point, emulator vs Lava.

Spike trains are per population, per sample: (steps, neuron ids) sorted by step. A sample matches when every
compared population fired the same spikes at the same steps (and, for two fixed-point runs, the readout v traces
are equal); otherwise the first divergence is the earliest (step, layer, neuron) present in one run only.
"""
from __future__ import annotations

import numpy as np

from .fixed_point import FxNetwork, FxResult

Trains = dict[str, list[tuple[np.ndarray, np.ndarray]]]


def trains(fx: FxNetwork, result: FxResult, names: list[str] | None = None) -> Trains:
    """Per-population spike trains of a fixed-point run (default: all LIF populations, relays excluded)."""
    names = names or [p.name for p in fx.populations if p.kind == "lif"]
    index = {p.name: k for k, p in enumerate(fx.populations)}
    out = {n: [] for n in names}
    for steps, pops, ids in zip(result.spike_steps, result.spike_pops, result.spike_ids):
        for n in names:
            mine = pops == index[n]
            out[n].append((steps[mine], ids[mine]))
    return out


def first_divergence(a: Trains, b: Trains, sample: int) -> dict | None:
    """Earliest spike present in only one of the two runs for `sample`, or None when they are identical."""
    best = None
    for name in a:
        (sa, ia), (sb, ib) = a[name][sample], b[name][sample]
        if sa.size == sb.size and np.array_equal(sa, sb) and np.array_equal(ia, ib):
            continue
        in_a, in_b = set(zip(sa.tolist(), ia.tolist())), set(zip(sb.tolist(), ib.tolist()))
        step, neuron = min(in_a ^ in_b)
        if best is None or step < best["step"]:
            best = {"step": int(step), "layer": name, "neuron": int(neuron),
                    "in": "first" if (step, neuron) in in_a else "second"}
    return best


def first_v_divergence(a: FxResult, b: FxResult, sample: int) -> dict | None:
    for name, va in a.v.items():
        diff = np.argwhere(va[sample] != b.v[name][sample])
        if diff.size:
            t, n = diff[0]
            return {"step": int(t), "layer": name, "neuron": int(n), "what": "readout v"}
    return None


def compare_fixed(fx: FxNetwork, a: FxResult, b: FxResult, fx_b: FxNetwork | None = None,
                  names: list[str] | None = None) -> list[dict | None]:
    """Per sample: None when spikes (relays included) and readout v agree exactly, else the first divergence.
    `fx_b`: b's own network when its layout differs from a's (a netx file without a's relays); `names`: the
    populations compared (default: every LIF and relay population of fx)."""
    names = names or [p.name for p in fx.populations if p.kind in ("lif", "relay")]
    ta, tb = trains(fx, a, names), trains(fx_b or fx, b, names)
    return [first_divergence(ta, tb, s) or first_v_divergence(a, b, s) for s in range(len(a.spike_steps))]


def exactness(div: list[dict | None]) -> dict:
    """Share of samples without a divergence, and the first divergence (with its sample), of a compare_* result."""
    return {"exact_samples": sum(d is None for d in div) / len(div),
            "first_divergence": next((dict(d, sample=int(s)) for s, d in enumerate(div) if d is not None), None)}


def compare_trains(a: Trains, b: Trains) -> list[dict | None]:
    n = len(next(iter(a.values()))) if a else 0
    return [first_divergence(a, b, s) for s in range(n)]


def spike_agreement(a: Trains, b: Trains) -> float:
    """Fraction of all spikes (union of both runs) that both runs fired at the same step."""
    same = total = 0
    for name in a:
        for (sa, ia), (sb, ib) in zip(a[name], b[name]):
            x, y = set(zip(sa.tolist(), ia.tolist())), set(zip(sb.tolist(), ib.tolist()))
            same, total = same + len(x & y), total + len(x | y)
    return same / total if total else 1.0


def timing_offsets(a: Trains, b: Trains) -> dict:
    """Spike timing of b relative to a: for every (sample, layer, neuron) firing the same number of spikes in both,
    the k-th spikes are paired. Returns the fraction of spikes so paired, the fraction of paired spikes within one
    step, and the mean offset in steps (positive: b is later)."""
    offsets, paired, total = [], 0, 0
    for name in a:
        for (sa, ia), (sb, ib) in zip(a[name], b[name]):
            total += max(sa.size, sb.size) if sa.size or sb.size else 0
            for n in np.union1d(ia, ib):
                x, y = sa[ia == n], sb[ib == n]
                if x.size == y.size:
                    offsets.append(y - x)
                    paired += x.size
    off = np.concatenate(offsets) if offsets else np.zeros(0)
    return {"paired": paired / total if total else 1.0,
            "within_1_step": float((np.abs(off) <= 1).mean()) if off.size else 1.0,
            "mean_offset_steps": float(off.mean()) if off.size else 0.0}
