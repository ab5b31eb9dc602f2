"""The two delay rules live on Connection and serve the float engine (torch) and the quantiser (numpy) alike."""
import numpy as np
import torch

from eventprop.models import Connection, Dense, Exponential, LeakyIntegrate, Network, Population, SpikeInput, Uniform
from eventprop.models.network import POSITION_EPS


def _spatial_net(max_delay=6):
    net = Network(dt=0.5)
    with net:
        a = Population(SpikeInput(), 3, name="a", position=Uniform(0, 1), dims=2)
        b = Population(LeakyIntegrate(), 4, name="b", position=Uniform(0, 1), dims=2)
        conn = Connection(a, b, Dense(weight=Uniform(0, 1)), Exponential(5.0), max_delay_steps=max_delay,
                          delay_from_positions=0.5, name="ab")
    return net, conn


def test_rounding_rule_half_up_and_clamped_for_numpy_and_torch():
    _, conn = _spatial_net(max_delay=6)
    d = np.array([-1.0, 0.49, 0.5, 1.5, 2.4999, 5.5, 6.49, 80.0])
    want = np.array([0, 0, 1, 2, 2, 6, 6, 6])
    np.testing.assert_array_equal(conn.rounded_delays(d), want)
    np.testing.assert_array_equal(conn.rounded_delays(torch.from_numpy(d)).numpy(), want)


def test_spatial_rule_same_in_numpy_and_torch_and_differentiable():
    net, conn = _spatial_net()
    p = net.instantiate(0)
    ps, pt = p["a.position"], p["b.position"]
    want = np.sqrt(POSITION_EPS + ((pt[None] - ps[:, None]) ** 2).sum(-1)) / (0.5 * 0.5)
    np.testing.assert_allclose(conn.spatial_delays(ps, pt), want, rtol=1e-12)
    tps = torch.tensor(ps, requires_grad=True)
    got = conn.spatial_delays(tps, torch.tensor(pt))
    np.testing.assert_allclose(got.detach().numpy(), want, rtol=1e-12)
    got.sum().backward()
    assert torch.isfinite(tps.grad).all() and tps.grad.abs().sum() > 0
