"""Spike rasters of one sample from several runs of the same network (float, emulator, Lava) on shared axes."""
from __future__ import annotations

from pathlib import Path

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402

from ..files import save_figure  # noqa: E402


def plot_spike_comparison(runs: dict, layers: list[str], sample: int, dt: float, out_path: Path) -> None:
    """`runs`: label -> {layer: [(steps, ids) per sample]}; one row per layer, runs overlaid in distinct markers."""
    fig, axes = plt.subplots(len(layers), 1, figsize=(9, 2.6 * len(layers)), squeeze=False, sharex=True)
    markers = ["|", "x", "."]
    for ax, layer in zip(axes[:, 0], layers):
        for (label, trains), marker in zip(runs.items(), markers):
            steps, ids = trains[layer][sample]
            ax.scatter(steps * dt, ids, marker=marker, s=18, linewidths=0.8, label=f"{label} ({steps.size})")
        ax.set(ylabel=f"{layer} neuron", title=f"{layer}, sample {sample}")
        ax.legend(loc="upper left", bbox_to_anchor=(1.01, 1.0), fontsize=7, borderaxespad=0)   # beside, not over
    axes[-1, 0].set_xlabel("time (ms)")
    fig.tight_layout()
    save_figure(fig, out_path, dpi=120)
