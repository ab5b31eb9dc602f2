"""Datasets: in-memory spike datasets and the built-in tasks."""
from .base import SpikeDataset
from .sequence import sequences
from .yinyang import yinyang, yinyang_splits

__all__ = ["SpikeDataset", "sequences", "yinyang", "yinyang_splits"]
