"""GPU training epoch on an SHD-shaped workload: eventprop's generated CUDA kernels vs DCLS on the same GPU.

Workload: 8156 samples (SHD train size), 700 input channels at ~8 spikes/ms, 1000 steps of 1 ms, network
700-256-256-20 feed-forward with learned delays on both hidden layers (max delay 62 and 512 steps), batch 256,
cross-entropy on avg_var_exp_weight, Adam on weights and delays. Reports seconds per epoch (forward + backward +
optimiser), peak GPU memory, and the counted floor of the work (synaptic events x fan-out, bytes of spike records).
DCLS row (PyPI `dcls`, Hammouamri et al. 2023 style: Dcls1d + BatchNorm1d + LIF per layer, 1 ms bins, the same
max delay, same batch): needs `pip install dcls`; skipped with a message otherwise. Its LIF is a plain torch loop
over time (the paper used spikingjelly's fused multi-step LIF), so its time is an upper bound.

    python benchmarks/gpu_epoch.py [--samples 8156] [--batch 256] [--delays 62,512] [--device cuda] [--no-dcls]
Writes benchmarks/results/gpu_epoch.json. On a machine without a GPU, `--device cpu --samples 64` exercises the
same code on the CPU backend (slow; for checking the script only).
"""
from __future__ import annotations

import argparse
import json
import time
from pathlib import Path

import numpy as np
import torch

RATE_PER_MS = 8.0
STEPS = 1000
N_IN, HIDDEN, N_OUT = 700, (256, 256), 20


def dataset(n: int, seed: int = 0):
    from eventprop import SpikeEvents
    rng = np.random.default_rng(seed)
    samples = []
    for _ in range(n):
        m = rng.poisson(RATE_PER_MS * STEPS)
        samples.append((np.sort(rng.uniform(0, STEPS, m)), rng.integers(0, N_IN, m)))
    return SpikeEvents.from_lists(samples, N_IN, float(STEPS)), rng.integers(0, N_OUT, n)


def eventprop_epoch(events, labels, batch: int, max_delay: int, device: str) -> dict:
    import eventprop
    from eventprop.models.architectures import delay_network
    net = delay_network(N_IN, N_OUT, 1.0, list(HIDDEN), readout="avg_var_exp_weight", max_delay_ms=max_delay,
                        delay_init_ms=(0.0, float(max_delay)), w_in=(0.03, 0.01), w_hid=(0.02, 0.02),
                        w_out=(0.0, 0.03))
    model = eventprop.compile(net, device=device)
    weights = [p for n, p in model.named_parameters() if n.endswith(".weight")]
    delays = [p for n, p in model.named_parameters() if n.endswith(".delay")]
    opt_w, opt_d = torch.optim.Adam(weights, lr=1e-3), torch.optim.Adam(delays, lr=0.1)
    y = torch.as_tensor(labels)
    n = len(labels)

    def step(idx):
        from eventprop import SpikeEvents
        ev = SpikeEvents(events.times[idx], events.ids[idx], events.counts[idx], N_IN, float(STEPS))
        run = model.run(ev)
        loss = torch.nn.functional.cross_entropy(run.readouts["output"], y[idx].to(run.readouts["output"].device))
        opt_w.zero_grad()
        opt_d.zero_grad()
        loss.backward()
        opt_w.step()
        opt_d.step()
        return run

    step(np.arange(min(batch, n)))                      # compile / warm up
    sync = torch.cuda.synchronize if device == "cuda" else (lambda: None)
    if device == "cuda":
        torch.cuda.reset_peak_memory_stats()
    sync()
    t0 = time.perf_counter()
    spikes = 0.0
    for start in range(0, n, batch):
        run = step(np.arange(start, min(start + batch, n)))
        spikes += float(sum(c.detach().sum() for c in run.spike_counts.values()))
    sync()
    secs = time.perf_counter() - t0
    in_spikes = float(events.counts.sum())
    syn_events = in_spikes * HIDDEN[0] + spikes / 2 * HIDDEN[1] + spikes / 2 * N_OUT   # forward fan-out
    return {"seconds": secs, "peak_gpu_mb": torch.cuda.max_memory_allocated() / 2 ** 20 if device == "cuda" else None,
            "hidden_spikes_per_sample": spikes / n, "synaptic_events_fwd": syn_events,
            "record_bytes": spikes * 12 + in_spikes * 8}


class SurrogateSpike(torch.autograd.Function):
    @staticmethod
    def forward(ctx, v):
        ctx.save_for_backward(v)
        return (v >= 0).to(v.dtype)

    @staticmethod
    def backward(ctx, g):
        (v,) = ctx.saved_tensors
        return g / (1 + 10 * v.abs()) ** 2


def lif(x, tau: float = 20.0, theta: float = 1.0):
    """Multi-step LIF over x [B, C, T] (a plain torch loop; spikingjelly fuses this)."""
    decay = np.exp(-1.0 / tau)
    v = torch.zeros_like(x[..., 0])
    out = []
    for t in range(x.shape[-1]):
        v = decay * v + x[..., t]
        s = SurrogateSpike.apply(v - theta)
        v = v * (1 - s)
        out.append(s)
    return torch.stack(out, -1)


def dcls_epoch(events, labels, batch: int, max_delay: int, device: str) -> dict:
    from DCLS.construct.modules import Dcls1d
    k = max_delay + 1
    layers = torch.nn.ModuleList()
    sizes = (N_IN, *HIDDEN, N_OUT)
    for a, b in zip(sizes[:-1], sizes[1:]):
        layers.append(torch.nn.ModuleDict({"conv": Dcls1d(a, b, kernel_count=1, dilated_kernel_size=k, padding=0,
                                                          bias=False, version="gauss"),
                                           "bn": torch.nn.BatchNorm1d(b)}))
    layers.to(device)
    opt = torch.optim.Adam(layers.parameters(), lr=1e-3)
    y = torch.as_tensor(labels)
    n = len(labels)

    def raster(idx):
        r = torch.zeros((len(idx), N_IN, STEPS), device=device)
        for row, i in enumerate(idx):
            c = events.counts[i]
            t = torch.as_tensor(np.floor(events.times[i, :c]).astype(np.int64), device=device)
            ch = torch.as_tensor(events.ids[i, :c], device=device)
            r[row].index_put_((ch, t), torch.ones_like(t, dtype=r.dtype), accumulate=True)
        return r

    def step(idx):
        x = raster(idx)
        for li, layer in enumerate(layers):
            x = layer["bn"](layer["conv"](torch.nn.functional.pad(x, (k - 1, 0))))
            x = lif(x) if li < len(layers) - 1 else x
        loss = torch.nn.functional.cross_entropy(x.mean(-1), y[idx].to(device))
        opt.zero_grad()
        loss.backward()
        opt.step()

    step(np.arange(min(batch, n)))
    sync = torch.cuda.synchronize if device == "cuda" else (lambda: None)
    if device == "cuda":
        torch.cuda.reset_peak_memory_stats()
    sync()
    t0 = time.perf_counter()
    for start in range(0, n, batch):
        step(np.arange(start, min(start + batch, n)))
    sync()
    return {"seconds": time.perf_counter() - t0,
            "peak_gpu_mb": torch.cuda.max_memory_allocated() / 2 ** 20 if device == "cuda" else None}


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--samples", type=int, default=8156)
    ap.add_argument("--batch", type=int, default=256)
    ap.add_argument("--delays", default="62,512")
    ap.add_argument("--device", default="cuda", choices=["cuda", "cpu"])
    ap.add_argument("--no-dcls", action="store_true")
    args = ap.parse_args()
    if args.device == "cuda" and not torch.cuda.is_available():
        raise SystemExit("no CUDA GPU visible to torch; run with --device cpu --samples 64 to check the script")
    events, labels = dataset(args.samples)
    rows = []
    for d in (int(x) for x in args.delays.split(",")):
        r = eventprop_epoch(events, labels, args.batch, d, args.device)
        rows.append({"method": "eventprop", "max_delay": d, **r})
        if not args.no_dcls:
            try:
                rows.append({"method": "DCLS", "max_delay": d, **dcls_epoch(events, labels, args.batch, d,
                                                                            args.device)})
            except ImportError:
                rows.append({"method": "DCLS", "max_delay": d, "seconds": None, "note": "pip install dcls"})
    base = rows[0]["seconds"]
    device = torch.cuda.get_device_name() if args.device == "cuda" else "cpu"
    print(f"{args.samples} samples x {STEPS} steps, 700-256-256-20, batch {args.batch}, on {device}")
    print(f"{'method':10s} {'max delay':>9s} {'s/epoch':>9s} {'x eventprop d' + str(rows[0]['max_delay']):>16s} "
          f"{'peak GPU MB':>12s}  note")
    for r in rows:
        secs = r.get("seconds")
        ratio = f"{secs / base:16.2f}" if secs else f"{'-':>16s}"
        mem = f"{r['peak_gpu_mb']:12.0f}" if r.get("peak_gpu_mb") else f"{'-':>12s}"
        print(f"{r['method']:10s} {r['max_delay']:9d} {(f'{secs:9.2f}' if secs else '        -')} {ratio} {mem}  "
              f"{r.get('note', '')}")
    for r in rows:
        if r["method"] == "eventprop":
            print(f"counted (d={r['max_delay']}): {r['synaptic_events_fwd'] / 1e9:.2f} G synaptic events forward per "
                  f"epoch, {r['hidden_spikes_per_sample']:.0f} hidden spikes/sample, spike records "
                  f"{r['record_bytes'] / 2 ** 20:.0f} MB per epoch")
    path = Path(__file__).parent / "results" / "gpu_epoch.json"
    path.parent.mkdir(exist_ok=True)
    path.write_text(json.dumps({"device": device, "rows": rows}, indent=2))


if __name__ == "__main__":
    main()
