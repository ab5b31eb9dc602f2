"""Analysis and plots of runs."""
from .curves import plot_training_curves

__all__ = ["plot_training_curves"]
