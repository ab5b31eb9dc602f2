"""CUDA backend: the generated numba-cuda kernels against the CPU backend (identical spikes and voltages, gradients
within float tolerance). Without a GPU they run in Numba's CUDA simulator (see conftest.py); tests that need a real
device are marked gpu and skip with the reason."""
from __future__ import annotations

import numpy as np
import pytest
import torch

import eventprop
from eventprop.pipeline.engine.codegen import numba_cuda
from eventprop.pipeline.engine.codegen.plan import make_plan
from eventprop.pipeline.engine.cuda import CudaEngine, simulator

from nets import build, random_raster

pytestmark = pytest.mark.timeout(600)


def run_both(net, params, x, engine: CudaEngine | None = None, block: int = 8):
    out = []
    for device in ("cpu", "cuda"):
        m = eventprop.compile(net, params=params, dtype=torch.float64, device=device, block=block)
        if device == "cuda" and engine is not None:
            m.engine = engine
        r = m.run({k: torch.tensor(v, dtype=torch.float64) for k, v in x.items()})
        loss = sum((v ** 2).sum() for v in r.readouts.values()) + 1e-3 * sum((c ** 2).sum()
                                                                             for c in r.spike_counts.values())
        loss.backward()
        out.append((r, {n: p.grad.detach().cpu().clone() for n, p in m.named_parameters()}))
    return out


def assert_same(cpu, gpu):
    (rc, gc), (rg, gg) = cpu, gpu
    assert sum(c.sum() for c in rc.spike_counts.values()) > 0, "test net too quiet"
    for k in rc.spike_counts:
        assert torch.equal(rc.spike_counts[k], rg.spike_counts[k].cpu()), k
    for k in rc.voltages:
        assert torch.allclose(rc.voltages[k], rg.voltages[k].cpu(), rtol=0, atol=1e-12), k
    for n in gc:
        scale = gc[n].abs().max() + 1e-12
        assert ((gc[n] - gg[n]).abs().max() / scale) < 1e-9, n


def inputs(net, seed: int, steps: int = 25) -> dict:
    return {p.name: random_raster(np.random.default_rng(seed + k), 2, steps, p.size, 0.2)
            for k, p in enumerate(net.input_populations)}


@pytest.mark.parametrize("kind", ["feedforward", "recurrent", "sparse", "two_layer", "spatial"])
def test_cuda_kernels_match_cpu(kind):
    net = build(kind, dt=1.0)
    assert_same(*run_both(net, net.instantiate(1), inputs(net, 2)))


def test_several_spikes_per_backward_group():
    """With 64 threads two spikes of a step are processed side by side (32 lanes each) in the backward pass."""
    net = build("recurrent", dt=1.0, n_hid=16, w_in=2.0)
    params, x = net.instantiate(6), inputs(net, 7, steps=10)
    steps, _ = eventprop.compile(net, params=params).spike_trains(x)["hid"][0]
    assert np.bincount(steps).max() >= 2, "no step with two spikes: the test would not exercise grouping"
    assert_same(*run_both(net, params, x, block=64))


def test_global_workspace_and_record_regrowth_give_the_same_results():
    """With no shared memory budget every buffer lives in global workspace; a tiny spike-record capacity forces
    the regrow-and-rerun path. Neither may change a result."""
    net = build("recurrent", dt=1.0)
    params = net.instantiate(4)
    engine = CudaEngine(net, block=8, shared_budget=0)
    engine.capacity = {k: 1 for k in engine.capacity}
    src, fwd, bwd = numba_cuda.generate(make_plan(net), 8, "float64", budget=0)
    assert not any(a.shared for a in fwd + bwd)
    g = engine.plan.groups[0]       # 8 delay steps: a 9-row ring rounded to 16; synapse events wrapped by a mask
    masked, _, _ = numba_cuda.generate(engine.plan, 8, "float64", budget=0)
    assert g.pow2 and g.ring_len == 16 and "ring_0[(t + 1 + d_0[i, j]) & 15, j] += w_0[i, j]" in masked
    assert_same(*run_both(net, params, inputs(net, 5), engine))
    assert max(engine.capacity.values()) > 1


def test_shared_memory_placement_follows_the_budget():
    plan = make_plan(build("recurrent", dt=1.0, n_hid=64, max_delay_ms=60.0))
    _, fwd, _ = numba_cuda.generate(plan, 32, "float32", budget=2048)
    placed = {a.name: a.shared for a in fwd}
    assert placed["V_1"] and not placed["ring_0"]       # state first; the 61 x 64 ring does not fit 2 KB
    with pytest.raises(ValueError, match="power of two"):
        numba_cuda.generate(plan, 48, "float32")


@pytest.mark.gpu
@pytest.mark.skipif(simulator() or not torch.cuda.is_available(), reason="needs a CUDA GPU (none visible to torch)")
def test_real_gpu_float32_training_step_stays_on_device():
    net = build("two_layer", dt=1.0, n_in=40, n_hid=128)
    params = net.instantiate(0)
    x = torch.tensor(random_raster(np.random.default_rng(0), 64, 200, 40, 0.05))
    cpu = eventprop.compile(net, params=params)
    gpu = eventprop.compile(net, params=params, device="cuda")
    assert all(p.is_cuda for p in gpu.parameters())
    rc, rg = cpu.run(x), gpu.run(x.cuda())
    assert rg.voltages["out"].is_cuda
    agree = (rc.spike_counts["hid"] == rg.spike_counts["hid"].cpu()).float().mean()
    assert agree > 0.99          # float32 on two devices: rare threshold knife-edges may differ
    rg.readouts["out"].sum().backward()
    assert gpu.get_submodule("in_hid").weight.grad.is_cuda


def test_cuda_without_gpu_or_simulator_is_one_clear_message(monkeypatch, tmp_path):
    from click.testing import CliRunner

    from eventprop.cli import main
    from eventprop.pipeline.engine import cuda as engine_cuda
    monkeypatch.setattr(engine_cuda, "simulator", lambda: False)
    monkeypatch.setattr(torch.cuda, "is_available", lambda: False)
    with pytest.raises(engine_cuda.DeviceError, match="needs an NVIDIA GPU"):
        eventprop.compile(build("feedforward"), device="cuda")
    r = CliRunner().invoke(main, ["train", "--preset", "sequence", "--device", "cuda", "--out", str(tmp_path / "r")])
    assert r.exit_code == 2 and "needs an NVIDIA GPU" in r.output


PTX_CHECK = """
from nets import build
from eventprop.models.architectures import delay_network
from eventprop.pipeline.engine.codegen import numba_cuda
from eventprop.pipeline.engine.codegen.plan import make_plan
shd = delay_network(700, 20, 1.0, [256, 256], max_delay_ms=62, delay_init_ms=(0, 62))
cases = [(build(k, dt=1.0), "float32", numba_cuda.SHARED_BUDGET)
         for k in ("feedforward", "recurrent", "sparse", "two_layer", "spatial")]
cases += [(build("recurrent", dt=1.0), "float64", 0), (shd, "float32", numba_cuda.SHARED_BUDGET), (shd, "float32", 0),
          (build("recurrent", dt=1.0, tau_refrac=2.0), "float32", numba_cuda.SHARED_BUDGET)]
for net, dtype, budget in cases:
    ptx = numba_cuda.compile_ptx(make_plan(net), 256, dtype, budget, cc=(9, 0))
    assert ".entry" in ptx["forward"] and ".entry" in ptx["backward"]
print("compiled", len(cases))
"""


def test_generated_kernels_compile_to_ptx_for_h100():
    """The simulator runs the kernels as Python; this compiles them with NVVM in nopython mode for sm_90, which is
    what a real GPU would do first (typing errors show up here)."""
    import os
    import subprocess
    import sys
    from pathlib import Path
    pytest.importorskip("numba_cuda", reason="numba-cuda is not installed (it is in requirements.lock)")
    env = {**os.environ, "NUMBA_ENABLE_CUDASIM": "0"}
    proc = subprocess.run([sys.executable, "-c", PTX_CHECK], cwd=Path(__file__).parent, env=env,
                          capture_output=True, text=True, timeout=900)
    assert proc.returncode == 0, proc.stderr[-3000:]
    assert "compiled 9" in proc.stdout
