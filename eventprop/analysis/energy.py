"""Per-layer energy estimate of a deployed network as a stacked bar chart (synaptic ops, neuron updates, spikes)."""
from __future__ import annotations

from pathlib import Path

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402

from ..loihi.energy import LOIHI1_PJ  # noqa: E402


def plot_energy(ops: dict, out_path: Path) -> None:
    """`ops` as returned by loihi.energy.count_ops."""
    layers = list(ops["layers"])
    parts = (("synaptic_ops", "synaptic_op"), ("neuron_updates", "neuron_update"), ("spikes", "spike"))
    fig, ax = plt.subplots(figsize=(max(4, 1.3 * len(layers) + 2), 3.5))
    bottom = [0.0] * len(layers)
    for key, cost in parts:
        nj = [ops["layers"][name][key] * LOIHI1_PJ[cost] * 1e-3 for name in layers]
        ax.bar(layers, nj, bottom=bottom, label=key.replace("_", " "))
        bottom = [b + v for b, v in zip(bottom, nj)]
    ax.set(ylabel="nJ per sample", title=f"energy estimate, {ops['energy_uj_per_sample']:.2f} uJ per sample")
    ax.legend(fontsize=8)
    fig.text(0.01, 0.01, ops["energy_model"], fontsize=6)
    fig.tight_layout(rect=(0, 0.05, 1, 1))
    Path(out_path).parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(out_path, dpi=120)
    plt.close(fig)
