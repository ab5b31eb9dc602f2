"""The generated forward kernel equals the plain-numpy reference of the same discrete equations."""
import numpy as np
import pytest
import torch

import eventprop
from nets import build, random_raster
from reference import simulate


@pytest.mark.parametrize("kind", ["feedforward", "recurrent", "sparse", "spatial", "two_layer"])
def test_forward_matches_reference(kind):
    rng = np.random.default_rng(1)
    net = build(kind, dt=1.0, n_in=10, n_hid=12, n_out=4, max_delay_ms=12.0, w_in=0.9)
    model = eventprop.compile(net, seed=3, dtype=torch.float64)
    params = model.export()
    T = 60
    rasters = {p.name: random_raster(rng, 3, T, p.size, 0.08) for p in net.input_populations}
    out = model.run(rasters if len(rasters) > 1 else next(iter(rasters.values())))
    total_spikes = 0
    for b in range(3):
        spikes, vout, dens = simulate(net, params, {k: v[b] for k, v in rasters.items()}, T)
        np.testing.assert_allclose(out.voltages["out"][b].detach().numpy(), vout["out"], atol=1e-5, rtol=0)
        for pop in [p for p in net.populations if p.name.startswith("hid")]:
            counts = np.zeros(pop.size)
            for _, i in spikes[pop.name]:
                counts[i] += 1
            np.testing.assert_array_equal(out.spike_counts[pop.name][b].detach().numpy(), counts)
            total_spikes += len(spikes[pop.name])
    assert total_spikes > 20, "test network too quiet to test anything"


def test_spike_records_identical_steps():
    """Spike steps and tau_m Vdot^- recorded per spike equal the reference, spike by spike."""
    rng = np.random.default_rng(2)
    net = build("recurrent", dt=0.5, n_in=8, n_hid=10, max_delay_ms=6.0)
    model = eventprop.compile(net, seed=1, dtype=torch.float64)
    params = model.export()
    T = 120
    raster = random_raster(rng, 2, T, 8, 0.05)
    inputs, n = model._inputs(raster, None)
    kp = model._kernel_params([t for c in net.connections for t in
                              (getattr(model, c.name).weight, model.delays(c.name))])
    rec = model.engine.forward(n, inputs, kp)
    hid = model.engine.plan.pops[1]
    for b in range(2):
        spikes, _, dens = simulate(net, params, {"inp": raster[b]}, T)
        k = rec.records[f"spk_n_{hid.index}"][b]
        got = list(zip(rec.records[f"spk_step_{hid.index}"][b, :k].tolist(), rec.records[f"spk_id_{hid.index}"][b, :k].tolist()))
        want = [(t, int(i)) for t, i in spikes["hid"]]
        assert got == want
        for x, want_x in zip(("gb", "ga", "q"), np.array(dens["hid"]).T):
            np.testing.assert_allclose(rec.records[f"spk_{x}_{hid.index}"][b, :k], want_x, rtol=1e-7)
        assert k > 5


@pytest.mark.parametrize("pow2,paired", [(False, True), (True, False), (False, False)])
def test_cpu_kernels_refuse_a_plan_without_their_layout(pow2, paired):
    """The CPU emitter wraps ring rows by a mask and reads G and D side by side: any other plan layout would index
    wrongly, so it is refused before any source is written."""
    from eventprop.pipeline.engine.codegen import numba_cpu
    from eventprop.pipeline.engine.codegen.plan import make_plan
    net = build("recurrent", dt=1.0, max_delay_ms=5.0)       # ring length 6: not a power of two unless rounded up
    numba_cpu.generate(make_plan(net, pow2=True, paired=True))
    with pytest.raises(ValueError, match=r"make_plan\(pow2=True, paired=True\)"):
        numba_cpu.generate(make_plan(net, pow2=pow2, paired=paired))
