"""Central finite differences of a loss over every element of a model's parameters (float64).

EventProp differentiates the loss where it is smooth: between changes of the spike count. A perturbation that
makes a spike appear or vanish crosses a jump of the loss, so such elements are left out of the comparison (and
counted, so a test can bound how many were left out)."""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import torch


@dataclass
class GradCheck:
    analytic: np.ndarray
    fd: np.ndarray
    smooth: np.ndarray      # bool mask: the spike counts did not change under +-h

    @property
    def cosine(self) -> float:
        a, b = self.analytic[self.smooth], self.fd[self.smooth]
        return float(a @ b / (np.linalg.norm(a) * np.linalg.norm(b) + 1e-300))

    @property
    def smooth_fraction(self) -> float:
        return float(self.smooth.mean())


def check_gradients(model, batch, loss_of_readout, eps: dict[str, float]) -> dict[str, GradCheck]:
    """loss_of_readout(readout) -> scalar. eps: parameter kind ('weight', 'delay', 'position') -> FD step."""
    def evaluate():
        out = model.run(batch)
        counts = torch.cat([c.reshape(-1) for c in out.spike_counts.values()])
        return loss_of_readout(next(iter(out.readouts.values()))), counts.detach().numpy()

    model.zero_grad()
    loss, base_counts = evaluate()
    loss.backward()
    result = {}
    for name, p in model.named_parameters():
        analytic = p.grad.detach().numpy().reshape(-1).copy()
        h = eps[name.rsplit(".", 1)[1]]
        fd = np.zeros_like(analytic)
        smooth = np.zeros(analytic.shape, bool)
        flat = p.data.view(-1)
        with torch.no_grad():
            for k in range(flat.numel()):
                orig = flat[k].item()
                flat[k] = orig + h
                plus, c_plus = evaluate()
                flat[k] = orig - h
                minus, c_minus = evaluate()
                flat[k] = orig
                fd[k] = (plus.item() - minus.item()) / (2 * h)
                smooth[k] = np.array_equal(c_plus, base_counts) and np.array_equal(c_minus, base_counts)
        result[name] = GradCheck(analytic, fd, smooth)
    return result
