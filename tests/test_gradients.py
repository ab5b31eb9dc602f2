"""EventProp gradients (weights, delays, positions) against central finite differences of the loss.

Measure: cosine similarity between the EventProp gradient and the finite-difference gradient, per parameter
tensor, over the elements whose perturbation changes no spike count (the loss jumps there). Threshold 0.99, and at
least 80 % of elements must be comparable. float64, dt = 0.001 ms so that spike-time quantisation (one step) and delay
rounding are small against the perturbations (weights 1e-2, delays 0.2 ms, positions 3e-2).
"""
import numpy as np
import pytest
import torch

import eventprop
from eventprop import SpikeEvents
from gradcheck import check_gradients
from nets import build

DT = 0.001
EPS = {"weight": 1e-2, "delay": 0.2 / DT, "position": 3e-2}


def _batch(net, seed=0, B=2, duration=30.0):
    rng = np.random.default_rng(seed)
    batch = {}
    for p in net.input_populations:
        n = 3 * p.size
        batch[p.name] = SpikeEvents.from_lists(
            [(rng.uniform(0, 12, n), rng.integers(0, p.size, n)) for _ in range(B)], p.size, duration)
    return batch if len(batch) > 1 else next(iter(batch.values()))


def _check(kind, readout="avg_var_exp_weight"):
    net = build(kind, dt=DT, n_in=5, n_hid=6, n_out=3, max_delay_ms=8.0, readout=readout, w_in=1.5)
    model = eventprop.compile(net, seed=0, dtype=torch.float64)
    batch = _batch(net)
    counts = model.run(batch).spike_counts
    assert all(c.sum() > 10 for c in counts.values()), "hidden layers too quiet for a meaningful check"
    labels = torch.tensor([0, 2])
    results = check_gradients(model, batch, lambda r: torch.nn.functional.cross_entropy(5 * r, labels), EPS)
    expected = {n for n, _ in model.named_parameters()}
    assert set(results) == expected
    for name, g in results.items():
        assert g.smooth_fraction >= 0.8, f"{name}: only {g.smooth_fraction:.0%} of elements comparable"
        assert np.linalg.norm(g.fd[g.smooth]) > 0, f"{name}: finite differences are all zero"
        # max_var: an inhibitory arrival that ends a rise of V sits right after the maximum; its delay gradient is
        # the central difference of the linearised discrete loss, which ignores that the maximum then moves to the
        # step before (docs/concepts/model.md), so a few such delays are overestimated.
        bar = 0.97 if readout == "max_var" and name.endswith(".delay") else 0.99
        assert g.cosine >= bar, f"{kind}/{readout} {name}: cosine {g.cosine:.4f} < {bar}"
    return results


@pytest.mark.parametrize("kind", ["feedforward", "recurrent", "sparse", "spatial", "two_layer"])
def test_gradients_match_finite_differences(kind):
    results = _check(kind)
    if kind == "spatial":
        assert {"hid.position", "inp_sp.position"} <= set(results)
    if kind in ("recurrent", "sparse"):
        assert {"hid_hid.weight", "hid_hid.delay"} <= set(results)


@pytest.mark.parametrize("readout", ["avg_var", "sum_var", "max_var"])
def test_gradients_for_each_readout(readout):
    _check("feedforward", readout)


def _grads(model, batch, labels):
    model.zero_grad()
    torch.nn.functional.cross_entropy(model(batch), labels, reduction="sum").backward()
    return {n: p.grad.clone() for n, p in model.named_parameters()}


def test_sample_gradient_independent_of_batch():
    """The gradient of a sum over a batch equals the sum of each sample's gradient computed alone."""
    net = build("recurrent", dt=0.5, n_in=8, n_hid=10, max_delay_ms=6.0)
    model = eventprop.compile(net, seed=2, dtype=torch.float64)
    rng = np.random.default_rng(5)
    raster = (rng.random((5, 80, 8)) < 0.1).astype(np.float64)
    labels = torch.tensor([0, 1, 2, 1, 0])
    together = _grads(model, raster, labels)
    alone = [_grads(model, raster[b:b + 1], labels[b:b + 1]) for b in range(5)]
    for name, g in together.items():
        summed = sum(a[name] for a in alone)
        assert torch.abs(g).max() > 0
        torch.testing.assert_close(g, summed, rtol=1e-9, atol=1e-12)


def test_deterministic_for_fixed_seed():
    net = build("sparse", dt=1.0, n_in=8, n_hid=10)
    rng = np.random.default_rng(0)
    raster = (rng.random((6, 50, 8)) < 0.1).astype(np.float32)
    labels = torch.tensor([0, 1, 2, 0, 1, 2])
    runs = []
    for _ in range(2):
        model = eventprop.compile(net, seed=7)
        runs.append((model.export(), _grads(model, raster, labels)))
    for name in runs[0][0]:
        np.testing.assert_array_equal(runs[0][0][name], runs[1][0][name])
    for name in runs[0][1]:
        assert torch.equal(runs[0][1][name], runs[1][1][name])
    other = eventprop.compile(net, seed=8).export()
    assert not np.array_equal(other["in_hid.weight"], runs[0][0]["in_hid.weight"])
