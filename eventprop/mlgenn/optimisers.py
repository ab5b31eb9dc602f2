"""mlGeNN's Adam as a torch.optim.Adam factory."""
from __future__ import annotations

import torch


class Adam:
    def __init__(self, alpha: float = 0.001, beta1: float = 0.9, beta2: float = 0.999, epsilon: float = 1e-8):
        self.alpha, self.beta1, self.beta2, self.epsilon = alpha, beta1, beta2, epsilon

    def make(self, params):
        return torch.optim.Adam(params, lr=self.alpha, betas=(self.beta1, self.beta2), eps=self.epsilon)
