"""Analysis and plots of runs."""
from .curves import plot_training_curves
from .energy import plot_energy
from .rasters import plot_spike_comparison

__all__ = ["plot_training_curves", "plot_energy", "plot_spike_comparison"]
