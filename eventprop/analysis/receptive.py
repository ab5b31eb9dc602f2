"""Spatio-temporal receptive fields (spec/structure.md): RF_k[j, d] = w_kj where round(d_kj) == d, and their
Moran's I on the [presynaptic neuron x delay step] grid, maximised over random row orders."""
from __future__ import annotations

from pathlib import Path

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402

import numpy as np  # noqa: E402

from ..files import save_figure  # noqa: E402

QUEEN = [(-1, -1), (-1, 0), (-1, 1), (0, -1), (0, 1), (1, -1), (1, 0), (1, 1)]
ROOK = [(-1, 0), (0, -1), (0, 1), (1, 0)]


def receptive_fields(pre, post, weight, delay_steps, n_pre: int, targets, max_delay: int) -> np.ndarray:
    """[len(targets), n_pre, max_delay + 1]: each target's incoming weights placed at their integer delays."""
    rf = np.zeros((len(targets), n_pre, max_delay + 1))
    row = {int(t): k for k, t in enumerate(targets)}
    for i, j, w, d in zip(pre, post, weight, delay_steps):
        if int(j) in row:
            rf[row[int(j)], int(i), int(d)] += w
    return rf


def moran_grid(x: np.ndarray, neighbours=QUEEN) -> np.ndarray:
    """Moran's I of grids x [..., rows, cols] with binary neighbour weights (Queen's case: 8 neighbours, zero
    diagonal, no wrap-around); NaN for a constant grid."""
    z = x - x.mean(axis=(-2, -1), keepdims=True)
    rows, cols = x.shape[-2:]
    pad = np.pad(z, [(0, 0)] * (z.ndim - 2) + [(1, 1), (1, 1)])
    ones = np.pad(np.ones((rows, cols)), 1)
    cross, w_sum = np.zeros(z.shape[:-2]), 0.0
    for di, dj in neighbours:
        shifted = pad[..., 1 + di:1 + di + rows, 1 + dj:1 + dj + cols]
        cross = cross + (z * shifted).sum(axis=(-2, -1))
        w_sum += ones[1 + di:1 + di + rows, 1 + dj:1 + dj + cols].sum()
    denom = (z ** 2).sum(axis=(-2, -1))
    with np.errstate(invalid="ignore", divide="ignore"):
        return rows * cols / w_sum * cross / denom


def max_moran(rf: np.ndarray, permutations: int, rng: np.random.Generator, chunk: int = 100) -> float:
    """The maximum of Moran's I over `permutations` random row orders of one receptive field (rows = presynaptic
    neurons, whose order is arbitrary); NaN for a constant (e.g. empty) field."""
    if np.ptp(rf) == 0:
        return float("nan")
    best = -np.inf
    for start in range(0, permutations, chunk):
        n = min(chunk, permutations - start)
        orders = np.argsort(rng.random((n, rf.shape[0])), axis=1)
        best = max(best, float(np.nanmax(moran_grid(rf[orders]))))
    return best


def plot_fields(rfs: np.ndarray, titles: list[str], out_path: Path, dt: float):
    """Heat maps (red excitatory, blue inhibitory) of a few receptive fields."""
    n = len(rfs)
    fig, axes = plt.subplots(1, n, figsize=(3.2 * n, 3.4), squeeze=False)
    for ax, rf, title in zip(axes[0], rfs, titles):
        lim = max(np.abs(rf).max(), 1e-12)
        im = ax.imshow(rf, aspect="auto", cmap="bwr", vmin=-lim, vmax=lim, origin="lower", interpolation="nearest",
                       extent=(-0.5 * dt, (rf.shape[1] - 0.5) * dt, -0.5, rf.shape[0] - 0.5))
        ax.set(xlabel="delay (ms)", ylabel="presynaptic neuron", title=title)
        fig.colorbar(im, ax=ax, label="weight (red excitatory, blue inhibitory)", shrink=0.9)
    fig.tight_layout()
    save_figure(fig, out_path, dpi=110)


def plot_moran_histogram(values: dict[str, np.ndarray], out_path: Path, title: str):
    fig, ax = plt.subplots(figsize=(5, 3.4))
    for label, v in values.items():
        ax.hist(v, bins=20, alpha=0.6, label=f"{label} (n={len(v)})")
    ax.set(xlabel="max Moran's I over row orders", ylabel="receptive fields", title=title)
    ax.legend()
    fig.tight_layout()
    save_figure(fig, out_path, dpi=110)


def output_fields(hidden_fields: np.ndarray, hid_out: np.ndarray, targets) -> np.ndarray:
    """The paper's output receptive fields: every hidden neuron's field [H, n_pre, D + 1] summed through the
    hidden -> output weights W [H, O]: R_k = sum_j W[j, k] F_j, for k in `targets`."""
    return np.tensordot(np.asarray(hid_out)[:, targets].T, hidden_fields, axes=1)


def shuffle_marks(fields: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    """Fill-preserving null of [K, rows, cols] fields: each field's non-zero values permuted over its own occupied
    cells (the same cells, counts and values; their arrangement random)."""
    out = np.zeros_like(fields)
    for k, field in enumerate(fields):
        cells = np.flatnonzero(field)
        out[k].flat[cells] = rng.permutation(field.flat[cells])
    return out


def delay_histogram(delay_steps: np.ndarray, max_delay: int) -> dict:
    """Synapses per integer delay step, and the share at the bounds 0 and max_delay (delays piled there raise
    Moran's I without any grouping of excitation and inhibition)."""
    d = np.asarray(delay_steps, dtype=np.int64).ravel()
    counts = np.bincount(np.clip(d, 0, max_delay), minlength=max_delay + 1)
    n = max(d.size, 1)
    return {"counts": counts.tolist(), "share_at_0": float(counts[0] / n),
            "share_at_max": float(counts[max_delay] / n) if max_delay > 0 else 0.0}
