"""Functional specialisation of hidden neurons (spec/spatial.md): class preference and selectivity."""
from __future__ import annotations

import numpy as np


def class_preference(counts: np.ndarray, labels: np.ndarray, n_classes: int) -> dict[str, np.ndarray]:
    """counts [samples, neurons] spike counts, labels [samples]. Per neuron: preference = argmax of the
    class-conditional mean count, selectivity = (max - mean) / (max + mean) over classes, active = fired at all."""
    means = np.stack([counts[labels == c].mean(0) if np.any(labels == c) else np.zeros(counts.shape[1])
                      for c in range(n_classes)])                                 # [classes, neurons]
    top, avg = means.max(0), means.mean(0)
    selectivity = np.divide(top - avg, top + avg, out=np.zeros_like(top), where=(top + avg) > 0)
    return {"preference": means.argmax(0), "selectivity": selectivity, "active": top > 0, "class_means": means}
