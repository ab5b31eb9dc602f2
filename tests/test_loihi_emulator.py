"""The bit-exact emulator against Lava's fixed_pt models, spike for spike (marker: lava)."""
from __future__ import annotations

from dataclasses import replace

import numpy as np
import pytest

from eventprop.loihi import parity
from eventprop.loihi.emulator import Emulator
from eventprop.loihi.fixed_point import FxNetwork
from eventprop.loihi.lava_runner import run_lava

from eventprop.loihi import long_delays
from eventprop.loihi.quantize import quantize

from fxnets import random_fx, raster
from nets import long_delay_net

pytestmark = pytest.mark.lava


def assert_identical(fx, a, b):
    diverged = [d for d in parity.compare_fixed(fx, a, b) if d is not None]
    assert not diverged, f"emulator and Lava diverge: {diverged[:3]}"


@pytest.mark.parametrize("kind,seed", [("feedforward", 1), ("recurrent", 2), ("sparse", 3), ("two_layer", 4),
                                       ("saturating", 5)])
def test_emulator_matches_lava_spike_for_spike(kind, seed):
    n_in = 40 if kind == "saturating" else 12
    fx = random_fx(seed, kind, n_in=n_in)
    x = raster(seed, 3, 90, n_in, 0.9 if kind == "saturating" else 0.15)
    emu = Emulator(fx).run(x)
    lava, _ = run_lava(fx, x, timeout=240)
    assert sum(c.sum() for c in emu.spike_counts.values()) > 10, "test net too quiet to be informative"
    assert_identical(fx, emu, lava)


def test_saturating_net_reaches_wrap_and_clip():
    """The saturating net really drives u past +-2^23 and v into its clip, so its parity test covers both."""
    fx = random_fx(5, "saturating", n_in=40)
    x = raster(5, 3, 90, 40, 0.9)
    j = fx.projections[0]
    w = j.matrix(40, 10).T          # [N_in, N_hid]
    d = j.matrix(40, 10, j.delay).T
    a = np.zeros((3, 90 + 8, 10), np.int64)
    for t_in in range(90):
        for dd in range(d.max() + 1):
            a[:, t_in + 1 + dd] += (x[:, t_in, :] @ np.where(d == dd, w, 0)).astype(np.int64)
    u = np.zeros((3, 10), np.int64)
    peak = 0
    for t in range(90):
        u = np.trunc(u * 4095 / 4096).astype(np.int64) + a[:, t] * 64   # u without the 24-bit wrap
        peak = max(peak, np.abs(u).max())
    assert peak > (1 << 23), "u never reaches the wrap-around range"
    as_readout = replace(fx.populations[1], kind="readout")
    probe = FxNetwork(fx.dt, [fx.populations[0], as_readout], [j])
    v = Emulator(probe).run(x).v["hid"]
    assert v.min() == 1 - (1 << 23), "v never reaches its negative clip"


def test_fast_delay_model_equals_stock_lava_model():
    fx = random_fx(7, "recurrent")
    x = raster(7, 1, 80, 12, 0.15)
    fast, _ = run_lava(fx, x, timeout=240)
    stock, _ = run_lava(fx, x, timeout=240, stock_models=True)
    assert sum(c.sum() for c in fast.spike_counts.values()) > 10
    assert_identical(fx, fast, stock)


def test_lava_results_do_not_depend_on_sample_order():
    """Back-to-back samples must not leak into each other (delay buffers and u/v are cleared per sample)."""
    fx = random_fx(8, "recurrent")
    x = raster(8, 4, 70, 12, 0.2)
    order = np.array([2, 0, 3, 1])
    a, _ = run_lava(fx, x, timeout=240)
    b, _ = run_lava(fx, x[order], timeout=240)
    emu = Emulator(fx).run(x)
    ta, tb = parity.trains(fx, a), parity.trains(fx, b)
    for k, s in enumerate(order):
        assert parity.first_divergence({n: [ta[n][s]] for n in ta}, {n: [tb[n][k]] for n in tb}, 0) is None
        assert np.array_equal(a.v["out"][s], b.v["out"][k])
    assert_identical(fx, emu, a)


def test_relay_network_in_lava_matches_emulator():
    net, params = long_delay_net(max_delay=140)
    fx = long_delays.apply(quantize(net, params), "relay")
    x = raster(9, 2, 200, 10, 0.05)
    emu = Emulator(fx).run(x)
    lava, _ = run_lava(fx, x, timeout=240)
    assert emu.spike_counts["hid"].sum() > 10
    assert_identical(fx, emu, lava)


def test_samples_that_overflow_the_spike_buffer_run_again_alone(monkeypatch):
    """A batch where some samples spike more than the buffer holds gives exactly the results of each sample run on
    its own (the overflowing ones are rerun with a bigger buffer, the others kept)."""
    from eventprop.loihi import emulator
    fx = random_fx(3, "recurrent")
    x = raster(3, 6, 90, 12, 0.25)
    x[::2] *= raster(4, 3, 90, 12, 0.3)            # quieter samples beside busy ones
    alone = [Emulator(fx).run(x[b:b + 1]) for b in range(6)]
    counts = sorted(len(r.spike_steps[0]) for r in alone)
    cap = 1 << (counts[2] - 1).bit_length()
    assert counts[0] <= cap < counts[-1], f"the batch must mix fitting and overflowing samples: {counts}, {cap}"
    monkeypatch.setattr(emulator, "spike_buffer", lambda n: cap)
    calls = []
    kernel = emulator._emulate
    monkeypatch.setattr(emulator, "_emulate", lambda *a: calls.append(a[2].shape[0]) or kernel(*a))
    emu = Emulator(fx)
    batch = emu.run(x)
    assert calls[0] == 6 and 0 < calls[1] < 6 and emu._cap >= counts[-1]
    for b, one in enumerate(alone):
        assert np.array_equal(batch.spike_steps[b], one.spike_steps[0])
        assert np.array_equal(batch.spike_ids[b], one.spike_ids[0])
        assert np.array_equal(batch.v["out"][b], one.v["out"][0])


def test_counts_are_those_of_the_spike_lists_and_the_inputs():
    """Per population and sample, spike_counts count the result's own spike lists and input_counts the raster."""
    fx = random_fx(4, "two_layer", n_in=12)
    x = raster(4, 4, 90, 12, 0.3)
    res = Emulator(fx).run(x)
    names = [p.name for p in fx.populations]
    for b in range(4):
        for name, c in res.spike_counts.items():
            mine = res.spike_ids[b][res.spike_pops[b] == names.index(name)]
            assert np.array_equal(c[b], np.bincount(mine, minlength=c.shape[1])), (name, b)
    (name, c), = res.input_counts.items()
    assert np.array_equal(c, x.sum(1)), name
    assert sum(c.sum() for c in res.spike_counts.values()) > 10, "test net too quiet to be informative"
