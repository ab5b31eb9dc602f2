"""Spatial layout plots: neurons by population, strongest synapses as edges coloured by sign."""
from __future__ import annotations

from pathlib import Path

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402


def _xyz(pos: np.ndarray, dims: int, row: int) -> np.ndarray:
    """Coordinates to draw: 1-D positions get the population's row as y; 4-D show their first three."""
    if pos.shape[1] == 1:
        return np.column_stack([pos[:, 0], np.full(len(pos), float(row))])
    return pos[:, :min(dims, 3)]


def plot_layout(positions: dict[str, np.ndarray], edges: list[tuple[str, str, np.ndarray, np.ndarray, np.ndarray]],
                out_path: Path, title: str, percentile: float = 95.0, colour_by: dict[str, np.ndarray] | None = None):
    """positions: population -> [N, dims]; edges: (source pop, target pop, pre, post, weight) per connection, drawn
    where |w| is above its connection's `percentile` (red excitatory, blue inhibitory). colour_by: population ->
    per-neuron integer label (e.g. preferred class) to colour that population's neurons."""
    dims = next(iter(positions.values())).shape[1]
    three = dims >= 3
    fig = plt.figure(figsize=(6.5, 5.5))
    ax = fig.add_subplot(projection="3d" if three else None)
    rows = {name: k for k, name in enumerate(positions)}
    for src, tgt, pre, post, w in edges:
        if src not in positions or tgt not in positions or not w.size:
            continue
        a, b = _xyz(positions[src], dims, rows[src]), _xyz(positions[tgt], dims, rows[tgt])
        keep = np.abs(w) >= np.percentile(np.abs(w), percentile)
        alpha = 0.6 * np.abs(w[keep]) / max(np.abs(w[keep]).max(), 1e-12)
        for i, j, sign, al in zip(pre[keep], post[keep], np.sign(w[keep]), alpha):
            ax.plot(*zip(a[i], b[j]), color="tab:red" if sign > 0 else "tab:blue", alpha=float(al), lw=0.6)
    markers = {"input": "s", "output": "*"}
    for name, pos in positions.items():
        xyz = _xyz(pos, dims, rows[name])
        kw = dict(marker=markers.get(name, "o"), s=60 if name == "output" else 14, label=f"{name} ({len(pos)})",
                  edgecolors="k", linewidths=0.3)
        if colour_by and name in colour_by:
            ax.scatter(*xyz.T, c=colour_by[name], cmap="tab20", **kw)
        else:
            ax.scatter(*xyz.T, **kw)
    ax.set_title(title + (f" (first 3 of {dims} dims)" if dims > 3 else "") + (" (y: population)" if dims == 1 else ""))
    ax.legend(loc="upper right", fontsize=7)
    fig.tight_layout()
    Path(out_path).parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(out_path, dpi=110)
    plt.close(fig)
