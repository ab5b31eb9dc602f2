"""Analysis and plots of runs."""
from .curves import plot_training_curves
from .rasters import plot_spike_comparison

__all__ = ["plot_training_curves", "plot_spike_comparison"]
