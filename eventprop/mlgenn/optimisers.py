"""mlGeNN's Adam on torch.optim.Adam: `alpha` can be changed between batches (as mlGeNN's schedules and callbacks
do) and takes effect in the torch optimisers made from it."""
from __future__ import annotations

import torch


class Adam:
    def __init__(self, alpha: float = 0.001, beta1: float = 0.9, beta2: float = 0.999, epsilon: float = 1e-8):
        self._alpha, self.beta1, self.beta2, self.epsilon = alpha, beta1, beta2, epsilon
        self._made: list[torch.optim.Adam] = []

    @property
    def alpha(self) -> float:
        return self._alpha

    @alpha.setter
    def alpha(self, value: float):
        self._alpha = float(value)
        for opt in self._made:
            for group in opt.param_groups:
                group["lr"] = self._alpha

    def make(self, params) -> torch.optim.Adam:
        opt = torch.optim.Adam(params, lr=self._alpha, betas=(self.beta1, self.beta2), eps=self.epsilon)
        self._made.append(opt)
        return opt
