"""Quantisation rules, refusals, long-delay handling (clip / relay), netx HDF5 round trip and op counts."""
from __future__ import annotations

import math

import h5py
import numpy as np
import pytest
import torch
from hypothesis import given, settings
from hypothesis import strategies as st

import eventprop
from eventprop.loihi import long_delays, parity
from eventprop.loihi.emulator import Emulator
from eventprop.loihi.energy import count_ops
from eventprop.loihi.fixed_point import LOIHI_MAX_DELAY
from eventprop.loihi.netx_io import read_netx, write_netx
from eventprop.loihi.quantize import DeployError, layer_scale, quantize
from eventprop.models import (Connection, Dense, Exponential, LeakyIntegrate, LeakyIntegrateFire, Network, Normal,
                              Population, SpikeInput)

from fxnets import raster
from nets import build, long_delay_net


@settings(max_examples=40, deadline=None)
@given(st.lists(st.floats(-5, 5, allow_nan=False), min_size=2, max_size=60), st.floats(50, 100))
def test_scale_puts_percentile_magnitude_in_top_bit(values, pct):
    w = np.array(values)
    s = layer_scale(w, pct, 8)
    pos, neg = w[w > 0], -w[w <= 0]
    m = max([np.percentile(x, pct) for x in (pos, neg) if x.size])
    if m > 0:
        assert 64 <= m / s < 128          # the percentile magnitude uses the 7th bit of the 8-bit range
    else:
        assert s == 1.0


def test_quantised_weights_decays_and_threshold_follow_the_spec():
    net = build("recurrent", dt=1.0)
    params = net.instantiate(3)
    fx = quantize(net, params, percentile=99)
    hid = fx.population("hid")
    alpha, beta = math.exp(-1 / 20), math.exp(-1 / 5)
    iscale = 5 * (1 - beta)
    assert hid.dv == round(4096 * (1 - alpha)) and hid.du == round(4096 * (1 - beta)) - 1
    assert hid.vth == round(1.0 / hid.scale)
    for j in fx.incoming("hid"):
        w = params[f"{j.name}.weight"][j.pre, j.post] * (1 - alpha) * iscale
        assert j.weight.min() >= -128 and j.weight.max() <= 127
        inside = np.abs(w / hid.scale) < 127
        assert np.all(np.abs(j.weight[inside] - w[inside] / hid.scale) <= 0.5 + 1e-9)
        d = np.clip(np.floor(params[f"{j.name}.delay"][j.pre, j.post] + 0.5), 0, 8)
        assert np.array_equal(j.delay, d)
    # recurrent and feed-forward weights of one layer share the scale
    assert len({fx.population(j.target).scale for j in fx.incoming("hid")}) == 1


def test_refusals_name_the_layer():
    net = Network(dt=1.0)
    with net:
        inp = Population(SpikeInput(), 3, name="inp")
        hid = Population(LeakyIntegrateFire(), 4, name="hid")
        out = Population(LeakyIntegrate(), 2, name="out")
        Connection(inp, hid, Dense(weight=Normal(1, 0.1)), Exponential(5.0), name="a")
        Connection(hid, hid, Dense(weight=Normal(0, 0.1)), Exponential(8.0), name="b")
        Connection(hid, out, Dense(weight=Normal(0, 0.1)), Exponential(5.0), name="c")
    with pytest.raises(DeployError, match="layer 'hid'.*synaptic time constants"):
        quantize(net, net.instantiate(0))
    with pytest.raises(DeployError, match="percentile"):
        quantize(build("feedforward"), build("feedforward").instantiate(0), percentile=0)


def test_long_delays_error_message_counts_and_offers_alternatives():
    net, params = long_delay_net()
    fx = quantize(net, params)
    n_long = sum(int((j.delay > LOIHI_MAX_DELAY).sum()) for j in fx.projections)
    with pytest.raises(DeployError, match=f"{n_long} synapses.*clip.*relay"):
        long_delays.apply(fx, "error")
    with pytest.raises(DeployError, match="must be one of"):
        long_delays.apply(fx, "stretch")


def test_relays_reproduce_unclipped_fixed_point_network_exactly():
    """Relay chains realise delays up to 150 steps: the original populations spike exactly as in the fixed-point
    network with unlimited delays (the emulator does not need Loihi's limit), and readout v is identical."""
    net, params = long_delay_net()
    fx = quantize(net, params)
    relayed = long_delays.apply(fx, "relay")
    assert all(j.delay.max(initial=0) <= LOIHI_MAX_DELAY for j in relayed.projections)
    assert relayed.meta["n_relay_neurons"] > 0
    x = raster(1, 4, 220, 10, 0.05)
    ref, rel = Emulator(fx).run(x), Emulator(relayed).run(x)
    assert ref.spike_counts["hid"].sum() > 20
    assert all(d is None for d in parity.compare_trains(parity.trains(fx, ref), parity.trains(relayed, rel)))
    assert np.array_equal(ref.v["out"], rel.v["out"])
    clipped = Emulator(long_delays.apply(fx, "clip")).run(x)
    assert not np.array_equal(ref.v["out"], clipped.v["out"]), "clipping should change this network"


def test_relay_deployment_tracks_the_unclipped_float_network():
    """Against the float network (feed-forward, delays up to 150 steps): relays keep the spikes that are not on a
    quantisation knife-edge; clipping the delays loses most of them. (Feed-forward, so that one knife-edge spike
    does not cascade through recurrent synapses.)"""
    net, params = long_delay_net(seed=2, recurrent=False)
    x = raster(2, 6, 220, 10, 0.05)
    model = eventprop.compile(net, params=params, dtype=torch.float64)
    float_trains = {"hid": model.spike_trains(torch.tensor(x))["hid"]}
    fx = quantize(net, params)
    agree = {}
    for mode in ("relay", "clip"):
        dep = long_delays.apply(fx, mode)
        agree[mode] = parity.spike_agreement(float_trains, parity.trains(dep, Emulator(dep).run(x), ["hid"]))
    assert agree["relay"] >= 0.85, agree
    assert agree["relay"] > agree["clip"] + 0.2, agree


def test_netx_round_trip_and_errors(tmp_path):
    net = build("recurrent", dt=1.0)
    fx = quantize(net, net.instantiate(4))
    path = tmp_path / "model.h5"
    write_netx(fx, path)
    back = read_netx(path)
    assert [(p.name, p.kind, p.size, p.du, p.dv, p.vth, p.scale) for p in back.populations] == \
           [(p.name, p.kind, p.size, p.du, p.dv, p.vth, p.scale) for p in fx.populations]
    x = raster(3, 2, 60, 6, 0.2)
    a, b = Emulator(fx).run(x), Emulator(back).run(x)
    assert all(d is None for d in parity.compare_fixed(fx, a, b))
    with h5py.File(path) as f:
        assert f["layer/1/type"][()] == b"dense_rec" and f["layer/1/neuron/type"][()] == b"CUBA"
        assert f["layer/1/weight"].shape == (8, 6) and f["layer/1/delay_rec"].shape == (8, 8)
    (tmp_path / "junk.h5").write_bytes(b"not hdf5 at all")
    with pytest.raises(DeployError, match="not an HDF5 file"):
        read_netx(tmp_path / "junk.h5")
    with h5py.File(tmp_path / "foreign.h5", "w") as f:
        f["data"] = np.arange(3)
    with pytest.raises(DeployError, match="not a netx network file"):
        read_netx(tmp_path / "foreign.h5")
    with pytest.raises(DeployError, match="no such file"):
        read_netx(tmp_path / "missing.h5")


def test_op_counts_match_brute_force():
    net = build("two_layer", dt=1.0)
    fx = quantize(net, net.instantiate(5))
    x = raster(4, 3, 50, 6, 0.2)
    res = Emulator(fx).run(x)
    ops = count_ops(fx, {**res.spike_counts, **res.input_counts}, 50)
    expected = 0
    for b in range(3):
        counts = {"inp": x[b].sum(0), **{k: v[b] for k, v in res.spike_counts.items()}}
        for j in fx.projections:
            expected += sum(counts[j.source][i] for i in j.pre[j.weight != 0])
    assert ops["totals"]["synaptic_ops"] == pytest.approx(expected / 3)
    assert ops["layers"]["hid"]["neuron_updates"] == 8 * 50
    assert ops["energy_uj_per_sample"] > 0 and "Loihi 1" in ops["energy_model"]


def test_timing_offsets_pair_spikes_per_neuron():
    a = {"h": [(np.array([1, 5, 9]), np.array([0, 0, 1]))]}
    b = {"h": [(np.array([2, 5, 7, 12]), np.array([0, 0, 1, 2]))]}   # neuron 2 fires only in b
    t = parity.timing_offsets(a, b)
    assert t["paired"] == pytest.approx(3 / 4)
    assert t["within_1_step"] == pytest.approx(2 / 3) and t["mean_offset_steps"] == pytest.approx((1 + 0 - 2) / 3)
