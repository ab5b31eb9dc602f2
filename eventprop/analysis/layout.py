"""Spatial layout plots: neurons by population, strongest synapses as edges coloured by sign."""
from __future__ import annotations

from pathlib import Path

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
from matplotlib.lines import Line2D  # noqa: E402

import numpy as np  # noqa: E402

from ..files import save_figure  # noqa: E402


def _xyz(pos: np.ndarray, dims: int, row: int) -> np.ndarray:
    """Coordinates to draw: 1-D positions get the population's row as y; 4-D show their first three."""
    if pos.shape[1] == 1:
        return np.column_stack([pos[:, 0], np.full(len(pos), float(row))])   # y: the population's row
    return pos[:, :min(dims, 3)]


def plot_layout(positions: dict[str, np.ndarray], edges: list[tuple[str, str, np.ndarray, np.ndarray, np.ndarray]],
                out_path: Path, title: str, percentile: float = 95.0, colour_by: dict[str, np.ndarray] | None = None,
                colour_label: tuple[str, str] = ("prefers class {}", "silent")):
    """positions: population -> [N, dims]; edges: (source pop, target pop, pre, post, weight) per connection, drawn
    where |w| is above its connection's `percentile` (red excitatory, blue inhibitory). colour_by: population ->
    per-neuron integer label (e.g. preferred class) to colour that population's neurons; colour_label: the legend's
    text for a label and for -1."""
    dims = next(iter(positions.values())).shape[1]
    three = dims >= 3
    fig = plt.figure(figsize=(8.5, 5.5))
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
    handles = [Line2D([], [], color="tab:red", lw=1, label=f"excitatory synapse (top {100 - percentile:g} % |w|)"),
               Line2D([], [], color="tab:blue", lw=1, label="inhibitory synapse")] if edges else []
    palette = plt.get_cmap("tab20")
    for name, pos in positions.items():
        xyz = _xyz(pos, dims, rows[name])
        marker, size = markers.get(name, "o"), 60 if name == "output" else 14
        kw = dict(marker=marker, s=size, edgecolors="k", linewidths=0.3)
        if colour_by and name in colour_by:
            labels = np.asarray(colour_by[name])
            ax.scatter(*xyz.T, c=[palette(int(v) % 20) for v in labels], **kw)
            handles += [Line2D([], [], ls="", marker=marker, color=palette(int(v) % 20), markeredgecolor="k",
                               label=f"{name}: " + (colour_label[0].format(int(v)) if v >= 0 else colour_label[1]))
                        for v in np.unique(labels)]
        else:
            handles.append(ax.scatter(*xyz.T, label=f"{name} ({len(pos)} neurons)", **kw))
    ax.set_title(title + (f" (first 3 of {dims} dims)" if dims > 3 else ""))
    axis_names = ["position x", "population" if dims == 1 else "position y", "position z"]
    ax.set_xlabel(axis_names[0])
    ax.set_ylabel(axis_names[1])
    if three:
        ax.set_zlabel(axis_names[2])
    ax.legend(handles=handles, loc="upper left", bbox_to_anchor=(1.02, 1.0), fontsize=7, borderaxespad=0)
    fig.tight_layout()
    save_figure(fig, out_path, dpi=110)


def plot_channel_map(hidden: np.ndarray, preferred: np.ndarray, out_path: Path, mantel: dict | None) -> None:
    """Each input channel's preferred position (|w|-weighted centroid of its targets), coloured by channel index,
    over the hidden neurons (first two dimensions; 1-D layouts on a line)."""
    fig, ax = plt.subplots(figsize=(6.5, 5))
    two = hidden.shape[1] >= 2
    y = (lambda p: p[:, 1]) if two else (lambda p: np.zeros(len(p)))
    ax.scatter(hidden[:, 0], y(hidden), s=10, c="lightgrey", edgecolors="grey", linewidths=0.3,
               label="hidden neurons")
    ok = np.isfinite(preferred).all(1)
    sc = ax.scatter(preferred[ok, 0], y(preferred[ok]), c=np.flatnonzero(ok), cmap="viridis", s=22, marker="D",
                    edgecolors="k", linewidths=0.3, label="input channels' preferred positions")
    fig.colorbar(sc, ax=ax, label="input channel")
    test = "" if mantel is None else f" (Mantel r = {mantel['r']:.2f}, p = {mantel['p_value']:.2g})"
    ax.set(xlabel="position x", ylabel="position y" if two else "", title="channel -> hidden position map" + test)
    ax.legend(fontsize=7, loc="upper left", bbox_to_anchor=(0, -0.12), ncol=2, borderaxespad=0)
    fig.tight_layout()
    save_figure(fig, out_path, dpi=110)
