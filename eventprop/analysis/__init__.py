"""Analysis and plots of runs."""
from .curves import plot_training_curves
from .energy import plot_energy, plot_platforms
from .rasters import plot_spike_comparison

__all__ = ["plot_training_curves", "plot_energy", "plot_platforms", "plot_spike_comparison"]
