"""Bad descriptions and bad inputs fail with a ValueError that names the problem."""
import numpy as np
import pytest
import torch

import eventprop
from eventprop import SpikeEvents
from eventprop.models import (Connection, Dense, Exponential, LeakyIntegrate, LeakyIntegrateFire, Network,
                              Population, Sparse, SpikeInput, Uniform)
from nets import build


def test_description_errors_name_the_field():
    with pytest.raises(ValueError, match="tau_mem"):
        LeakyIntegrateFire(tau_mem=0.0)
    with pytest.raises(ValueError, match="tau"):
        Exponential(-1.0)
    with pytest.raises(ValueError, match="readout"):
        LeakyIntegrate(readout="mean")
    net = Network(dt=1.0)
    with net:
        inp = Population(SpikeInput(), 4, name="inp")
        hid = Population(LeakyIntegrateFire(), 3, name="hid")
        with pytest.raises(ValueError, match="size"):
            Population(LeakyIntegrateFire(), 0, name="bad")
        with pytest.raises(ValueError, match="'hid': name already used"):
            Population(LeakyIntegrateFire(), 2, name="hid")
        with pytest.raises(ValueError, match="SpikeInput"):
            Connection(hid, inp, Dense(weight=1.0), name="back")
        with pytest.raises(ValueError, match=r"delay init range \[0.0, 12.0\].*max_delay_steps=10"):
            Connection(inp, hid, Dense(weight=1.0, delay=Uniform(0, 12)), max_delay_steps=10, name="c1")
        with pytest.raises(ValueError, match=r"'c2'.*weight.*\(4, 3\)"):
            Connection(inp, hid, Dense(weight=np.ones((3, 3))), name="c2")
    with pytest.raises(ValueError, match="dt"):
        Network(dt=0)


def test_spatial_connection_needs_positions_on_both_sides():
    with Network(dt=1.0):
        a = Population(SpikeInput(), 3, name="a", position=Uniform(0, 1), dims=2)
        b = Population(LeakyIntegrateFire(), 3, name="b")
        with pytest.raises(ValueError, match=r"\['b'\] has none"):
            Connection(a, b, Dense(weight=1.0), delay_from_positions=1.0, max_delay_steps=5, name="sp")


def test_sparse_indices_checked():
    net = Network(dt=1.0)
    with net:
        a = Population(SpikeInput(), 3, name="a")
        b = Population(LeakyIntegrate(), 2, name="b")
        Connection(a, b, Sparse(pre_ind=[0, 1], post_ind=[0, 5], weight=1.0), name="s")
    with pytest.raises(ValueError, match="'s'.*post_ind"):
        net.instantiate()


@pytest.fixture(scope="module")
def model():
    return eventprop.compile(build("feedforward", n_in=6), seed=0)


def test_raster_wrong_shape(model):
    with pytest.raises(ValueError, match=r"shape \[B, T, 6\]"):
        model(np.zeros((2, 10, 5)))


def test_channel_ids_out_of_range(model):
    ev = SpikeEvents.from_lists([([1.0, 2.0], [0, 6])], 6, 10.0)
    with pytest.raises(ValueError, match=r"channel ids must lie in \[0, 6\)"):
        model(ev)


@pytest.mark.parametrize("bad,msg", [(-1.0, "negative spike times"), (float("nan"), "NaN spike times")])
def test_bad_spike_times(model, bad, msg):
    ev = SpikeEvents.from_lists([([1.0, bad], [0, 1])], 6, 10.0)
    with pytest.raises(ValueError, match=msg):
        model(ev)


def test_events_and_raster_agree(model):
    """The same spikes as events or as a raster give the same readout."""
    rng = np.random.default_rng(0)
    raster = (rng.random((3, 40, 6)) < 0.1).astype(np.float32)
    lists = []
    for b in range(3):
        t, i = np.nonzero(raster[b])
        lists.append((t * 1.0 + 0.5, i))   # dt = 1 ms: time t + 0.5 falls in step t
    ev = SpikeEvents.from_lists(lists, 6, 40.0)
    torch.testing.assert_close(model(ev), model(raster))
