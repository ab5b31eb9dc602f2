"""Per-layer energy estimate of a deployed network (stacked bars), and latency / energy per platform side by side."""
from __future__ import annotations

from pathlib import Path

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402

from ..files import save_figure  # noqa: E402


def plot_energy(ops: dict, out_path: Path) -> None:
    """`ops` as returned by loihi.energy.count_ops (its pj_per_op prices each kind of operation)."""
    layers = list(ops["layers"])
    parts = (("synaptic_ops", "synaptic_op"), ("neuron_updates", "neuron_update"), ("spikes", "spike"))
    fig, ax = plt.subplots(figsize=(max(4, 1.3 * len(layers) + 2), 3.5))
    bottom = [0.0] * len(layers)
    for key, cost in parts:
        nj = [ops["layers"][name][key] * ops["pj_per_op"][cost] * 1e-3 for name in layers]
        ax.bar(layers, nj, bottom=bottom, label=key.replace("_", " "))
        bottom = [b + v for b, v in zip(bottom, nj)]
    ax.set(ylabel="nJ per sample", title=f"energy estimate, {ops['energy_uj_per_sample']:.2f} uJ per sample")
    ax.legend(fontsize=8)
    fig.text(0.01, 0.01, ops["energy_model"], fontsize=6)
    fig.tight_layout(rect=(0, 0.05, 1, 1))
    save_figure(fig, out_path, dpi=120)


def plot_platforms(report: dict, out_path: Path) -> None:
    """Latency (batch 1 and batched) and energy per sample: Loihi 2 (estimated energy; Lava simulation time is not
    chip latency, so none is drawn), the fixed-point emulator on this CPU (measured latency) and the float model on
    this machine's CPU / GPU (measured)."""
    names = ["Loihi 2", "fixed-point emulator (CPU)"]
    batch1 = [None, report["emulator_ms_per_sample_batch1"]]
    batched = [None, report["emulator_ms_per_sample_batched"]]
    energy, kinds = [report["ops"]["energy_uj_per_sample"], None], ["estimated", "not measured"]
    for h in report.get("host", []):
        names.append(f"float model ({h['device']})")
        batch1.append(h["ms_per_sample_batch1"])
        batched.append(h["ms_per_sample_batched"])
        energy.append(h["energy_uj_per_sample"])
        kinds.append("measured" if h["energy_uj_per_sample"] is not None else "not measured")
    fig, (ax_t, ax_e) = plt.subplots(1, 2, figsize=(10, 4.2))
    x = list(range(len(names)))
    ax_t.bar([i - 0.2 for i in x], [v or 0 for v in batch1], 0.4, label="batch 1 (measured)")
    ax_t.bar([i + 0.2 for i in x], [v or 0 for v in batched], 0.4, label="batched (measured)")
    ax_t.set(ylabel="ms per sample (log)", yscale="log", title="latency (Loihi 2: no chip here)")
    ax_t.text(0, 0.03, "no chip:\nnot measured", transform=ax_t.get_xaxis_transform(), ha="center", fontsize=7)
    ax_t.legend(fontsize=7)
    shown = [v for v in energy if v]
    ax_e.bar(x, [v or 0 for v in energy], color=["tab:green" if k == "estimated" else "tab:blue" for k in kinds])
    for i, (k, v) in enumerate(zip(kinds, energy)):
        ax_e.annotate(k, (i, v or (min(shown) if shown else 1)), ha="center", va="bottom", fontsize=7,
                      xytext=(0, 2), textcoords="offset points")
    log = len(shown) > 1
    ax_e.set(ylabel="uJ per sample" + (" (log)" if log else ""), yscale="log" if log else "linear",
             title="energy per sample")
    for ax in (ax_t, ax_e):
        ax.set_xticks(x)
        ax.set_xticklabels(names, rotation=20, ha="right", fontsize=8)
    fig.tight_layout()
    save_figure(fig, out_path, dpi=120)
