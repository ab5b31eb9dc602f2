"""Float-model inference on this machine's CPU (and GPU when present) for `eventprop bench`: latency at batch 1 and
batched, and MEASURED energy where the machine exposes it (RAPL package counters under /sys/class/powercap on
Intel/AMD CPUs; NVML power sampling on NVIDIA GPUs through pynvml). Every number says whether it was measured."""
from __future__ import annotations

import glob
import threading
import time
from pathlib import Path

import torch

from .pipeline.engine.module import compile as compile_network


def _rapl_paths() -> list[str]:
    return sorted(p for p in glob.glob("/sys/class/powercap/intel-rapl:*/energy_uj") if p.count(":") == 1)


def _rapl_read(paths) -> float | None:
    try:
        return sum(int(Path(p).read_text()) for p in paths) * 1e-6
    except OSError:
        return None


class _NvmlSampler:
    """Mean GPU board power (W) while running, sampled every 10 ms by a thread."""

    def __init__(self, index: int):
        import pynvml
        pynvml.nvmlInit()
        self.nvml, self.handle, self.samples, self.stop = pynvml, pynvml.nvmlDeviceGetHandleByIndex(index), [], False

    def __enter__(self):
        def loop():
            while not self.stop:
                self.samples.append(self.nvml.nvmlDeviceGetPowerUsage(self.handle) / 1000.0)
                time.sleep(0.01)
        self.thread = threading.Thread(target=loop, daemon=True)
        self.thread.start()
        return self

    def __exit__(self, *exc):
        self.stop = True
        self.thread.join()
        self.nvml.nvmlShutdown()

    @property
    def watts(self) -> float | None:
        return sum(self.samples) / len(self.samples) if self.samples else None


def _time(model, batch, sync) -> float:
    with torch.no_grad():
        t0 = time.perf_counter()
        model(batch)
        sync()
        return time.perf_counter() - t0


def measure(net, params: dict, test, idx, device: str = "cpu") -> dict:
    """ms per sample at batch 1 (first min(20, n) samples) and batched (all of idx in one batch), and energy per
    sample of the batched run: measured (RAPL / NVML) when readable, else None with the reason."""
    model = compile_network(net, params=params, device=device)
    sync = torch.cuda.synchronize if device == "cuda" else (lambda: None)
    _time(model, test.batch(idx[:1])[0], sync)                                   # compile / load / warm up
    singles = idx[:min(20, len(idx))]
    one = sum(_time(model, test.batch([k])[0], sync) for k in singles) / len(singles)
    events, _ = test.batch(idx)
    out = {"device": device, "ms_per_sample_batch1": 1e3 * one, "latency": "measured"}
    if device == "cuda":
        try:
            with _NvmlSampler(torch.cuda.current_device()) as power:
                secs = _time(model, events, sync)
            out["energy_uj_per_sample"] = power.watts * secs / len(idx) * 1e6 if power.watts else None
            out["energy"] = "measured (NVML board power x time)"
        except (ImportError, OSError, RuntimeError) as e:     # pynvml missing or NVML unavailable
            secs = _time(model, events, sync)
            out["energy_uj_per_sample"], out["energy"] = None, f"not measured: NVML unavailable ({e})"
    else:
        paths = _rapl_paths()
        before = _rapl_read(paths) if paths else None
        secs = _time(model, events, sync)
        after = _rapl_read(paths) if paths else None
        if before is not None and after is not None and after >= before:
            out["energy_uj_per_sample"] = (after - before) / len(idx) * 1e6
            out["energy"] = "measured (RAPL package energy: the whole CPU package, other load included)"
        else:
            out["energy_uj_per_sample"] = None
            out["energy"] = "not measured: RAPL counters not readable here (/sys/class/powercap)"
    out["ms_per_sample_batched"] = 1e3 * secs / len(idx)
    return out
