"""`eventprop deploy`, `parity` and `bench` on a run folder: the glue between pipeline/ (the trained float
network and its datasets) and loihi/ (quantisation, emulator, Lava). Results go to RUN/loihi/."""
from __future__ import annotations

import hashlib
import json
import time
from pathlib import Path

import h5py
import numpy as np
import torch
from rich.progress import Progress

from .analysis import plot_energy, plot_platforms, plot_spike_comparison
from .host_inference import measure as measure_host
from .interop.neurobench import model_metrics
from .loihi import long_delays, parity
from .loihi.emulator import Emulator
from .loihi.energy import count_ops
from .loihi.fixed_point import FxNetwork, FxResult
from .loihi.lava_runner import require_loihi, run_lava
from .loihi.netx_runner import import_netx, run_netx
from .loihi.netx_io import read_netx, write_netx
from .loihi.quantize import DeployError, quantize
from .errors import LavaError
from .pipeline.training.checkpoints import RunError
from .pipeline.engine.module import compile as compile_network
from .pipeline.engine.readouts import reduce
from .files import write_atomic
from .pipeline.training.folders import writes_into_run
from .pipeline.training.runs import load_trained

TARGETS = ("emulator", "lava-sim", "loihi2")
BATCH = 128


def _indices(test, samples: int | None, default: int | None) -> np.ndarray:
    """The first `samples` test samples (default: `default`, capped at the set size; None: all)."""
    n = len(test)
    if samples is None:
        return np.arange(n if default is None else min(default, n))
    if not 1 <= samples <= n:
        raise RunError(f"--samples must lie in 1..{n} (the test set has {n} samples), got {samples}")
    return np.arange(samples)


def _predict(fx: FxNetwork, result: FxResult) -> np.ndarray:
    out = fx.readouts[0]
    values = reduce(out.readout or "max_var", torch.from_numpy(result.voltages[out.name]), fx.dt)
    return values.argmax(1).numpy()


def _emulate(fx: FxNetwork, test, idx: np.ndarray, quiet: bool):
    """Emulator over test[idx] in batches -> (predictions, op counts per sample, seconds)."""
    emu = Emulator(fx)
    preds, counts, t0 = [], [], time.perf_counter()
    with Progress(transient=True, disable=quiet) as bar:
        task = bar.add_task("emulator", total=len(idx))
        for start in range(0, len(idx), BATCH):
            events, _ = test.batch(idx[start:start + BATCH])
            res = emu.run(events)
            preds.append(_predict(fx, res))
            counts.append({**res.spike_counts, **res.input_counts})
            n_steps = events.n_steps(fx.dt)
            bar.update(task, advance=len(res.spike_steps))
    merged = {k: np.concatenate([c[k] for c in counts]) for k in counts[0]}
    ops = count_ops(fx, merged, n_steps)
    return np.concatenate(preds), ops, time.perf_counter() - t0


def float_accuracy(run, idx: np.ndarray) -> float:
    """Accuracy of the run's network with run.params (float64) on test[idx]."""
    model = compile_network(run.net, params=run.params, dtype=torch.float64)
    test, correct = run.datasets[2], 0
    with torch.no_grad():
        for start in range(0, len(idx), BATCH):
            events, labels = test.batch(idx[start:start + BATCH])
            correct += int((model(events).argmax(1).numpy() == labels).sum())
    return correct / len(idx)


def source_stamp(run_dir: Path) -> str:
    """sha256 (first 16 hex digits) of the run's config.toml and best.pt: which trained network a model.h5 holds."""
    h = hashlib.sha256()
    for name in ("config.toml", "best.pt"):
        h.update(Path(run_dir, name).read_bytes())
    return h.hexdigest()[:16]


@writes_into_run("eventprop deploy")
def deploy(run_dir: Path, target: str = "emulator", samples: int | None = None, long_delay_mode: str = "error",
           percentile: float = 99.0, timeout: float = 600.0, quiet: bool = False, datasets=None) -> dict:
    """Quantise the run's best network, write RUN/loihi/model.h5, and compare float vs fixed-point accuracy on the
    test set (emulator: all of it by default; Lava: the first 100 samples by default)."""
    if target not in TARGETS:
        raise RunError(f"--target must be one of {TARGETS}, got {target!r}")
    if target == "loihi2":
        require_loihi()
    if timeout <= 0:
        raise RunError(f"--timeout must be > 0 seconds, got {timeout:g}")
    run = load_trained(run_dir, datasets)
    test = run.datasets[2]
    idx = _indices(test, samples, None if target == "emulator" else 100)
    fx = quantize(run.net, run.params, percentile=percentile)
    out_dir = Path(run_dir) / "loihi"
    dep = long_delays.apply(fx, long_delay_mode)     # refuses (mode "error") before anything is written
    fx.meta["source"] = source_stamp(run_dir)
    notes = write_netx(fx, out_dir / "model.h5")
    labels = test.labels[idx]
    report = {"target": target, "samples": int(len(idx)), "long_delays": long_delay_mode, "percentile": percentile,
              "n_long_delays": dep.meta["n_long_delays"], "relay_neurons": dep.meta.get("n_relay_neurons", 0),
              "float_acc": float_accuracy(run, idx), "netx_compatible": not notes, "netx_notes": notes}
    preds, ops, secs = _emulate(dep, test, idx, quiet)
    report.update(emulator_acc=float((preds == labels).mean()), emulator_seconds=secs, ops=ops)
    if target != "emulator":
        events, _ = test.batch(idx)
        res, lava_secs = run_lava(dep, events, target=target, timeout=timeout)
        report.update(lava_acc=float((_predict(dep, res) == labels).mean()), lava_seconds=lava_secs)
    report["fixed_acc"] = report.get("lava_acc", report["emulator_acc"])
    report["unfinished_training"] = run.unfinished
    write_atomic(out_dir / "deploy.json", json.dumps(report, indent=2))
    return report


def _deployed(run_dir: Path, datasets=None):
    """(trained run, fixed-point network as deployed) from RUN/loihi/model.h5 and deploy.json."""
    run = load_trained(run_dir, datasets)
    out_dir = Path(run_dir) / "loihi"
    if not (out_dir / "model.h5").exists():
        raise RunError(f"{out_dir / 'model.h5'} does not exist; run `eventprop deploy {run_dir}` first")
    settings = json.loads((out_dir / "deploy.json").read_text()) if (out_dir / "deploy.json").exists() else {}
    fx = read_netx(out_dir / "model.h5")
    stamp, want = fx.meta.get("source"), source_stamp(run_dir)
    if stamp != want:
        what = "carries no eventprop source stamp" if stamp is None else \
            f"was deployed from another checkpoint or config (stamp {stamp}, this run {want})"
        raise RunError(f"{out_dir / 'model.h5'} {what}; run `eventprop deploy {run_dir}` again")
    return run, fx, long_delays.apply(fx, settings.get("long_delays", "error"))


@writes_into_run("eventprop bench")
def bench(run_dir: Path, samples: int | None = None, lava_samples: int = 2, timeout: float = 600.0,
          datasets=None) -> dict:
    """Latency (emulator batch 1 and batched, Lava fixed_pt per step) and per-layer synaptic ops, spikes and energy
    per sample of the deployed network, and NeuroBench's model metrics of the float network on the same samples;
    writes RUN/loihi/bench.json and RUN/plots/energy.png. samples: default min(100, test set)."""
    if timeout <= 0:
        raise RunError(f"--timeout must be > 0 seconds, got {timeout:g}")
    run, fx, dep = _deployed(run_dir, datasets)
    test = run.datasets[2]
    idx = _indices(test, samples, 100)
    if not 0 <= lava_samples <= len(idx):
        raise RunError(f"--lava-samples must lie in 0..{len(idx)} (the samples benchmarked), got {lava_samples}")
    emu = Emulator(dep)
    one, _ = test.batch(idx[:1])
    emu.run(one)                                     # compile / load
    t0 = time.perf_counter()
    for k in idx[:min(20, len(idx))]:
        emu.run(test.batch([k])[0])
    single_ms = 1e3 * (time.perf_counter() - t0) / min(20, len(idx))
    events, _ = test.batch(idx)
    t0 = time.perf_counter()
    res = emu.run(events)
    batched_ms = 1e3 * (time.perf_counter() - t0) / len(idx)
    n_steps = events.n_steps(fx.dt)
    ops = count_ops(dep, {**res.spike_counts, **res.input_counts}, n_steps)
    model = compile_network(run.net, params=run.params)
    with torch.no_grad():
        float_counts = {k: v.numpy() for k, v in model.run(events).spike_counts.items()}
    report = {"samples": int(len(idx)), "steps_per_sample": n_steps, "model_time_ms": n_steps * fx.dt,
              "emulator_ms_per_sample_batch1": single_ms, "emulator_ms_per_sample_batched": batched_ms, "ops": ops,
              "neurobench": model_metrics(run.net, model.export(), {**float_counts, **res.input_counts}, n_steps)}
    report["host"] = [measure_host(run.net, run.params, test, idx, "cpu")]
    if torch.cuda.is_available():
        report["host"].append(measure_host(run.net, run.params, test, idx, "cuda"))
    if lava_samples > 0:
        lava_events, _ = test.batch(idx[:lava_samples])
        _, secs = run_lava(dep, lava_events, timeout=timeout)
        report["lava_ms_per_step"] = 1e3 * secs / (lava_samples * n_steps)
    write_atomic(Path(run_dir) / "loihi" / "bench.json", json.dumps(report, indent=2))
    plot_energy(ops, Path(run_dir) / "plots" / "energy.png")
    plot_platforms(report, Path(run_dir) / "plots" / "platforms.png")
    return report


@writes_into_run("eventprop parity")
def parity_check(run_dir: Path, samples: int | None = None, timeout: float = 600.0, datasets=None,
                 netx: bool = False) -> dict:
    """Float vs emulator vs Lava fixed_pt on the first `samples` test samples (default min(20, test set)), from
    RUN/loihi/model.h5; with `netx`, also the file through lava-dl's own netx.hdf5.Network vs the emulator. Writes
    parity.json and parity.png (rasters of sample 0 from all three)."""
    if timeout <= 0:
        raise RunError(f"--timeout must be > 0 seconds, got {timeout:g}")
    run, fx, dep = _deployed(run_dir, datasets)
    if netx:
        import_netx()                       # before the Lava runs: a missing cv2 / torchvision is said at once
    out_dir = Path(run_dir) / "loihi"
    test = run.datasets[2]
    idx = _indices(test, samples, 20)
    events, labels = test.batch(idx)
    model = compile_network(run.net, params=run.params, dtype=torch.float64)
    float_trains = model.spike_trains(events)
    with torch.no_grad():
        float_pred = model(events).argmax(1).numpy()
    emu = Emulator(dep).run(events)
    lava, lava_secs = run_lava(dep, events, timeout=timeout)
    lif_names = [p.name for p in fx.populations if p.kind == "lif"]
    emu_trains = parity.trains(dep, emu, lif_names)
    float_div = parity.compare_trains({k: float_trains[k] for k in lif_names}, emu_trains)
    lava_div = parity.compare_fixed(dep, emu, lava)
    report = {
        "samples": int(len(idx)),
        "float_vs_emulator": {**parity.exactness(float_div),
                              "spike_agreement": parity.spike_agreement({k: float_trains[k] for k in lif_names},
                                                                        emu_trains),
                              "timing": parity.timing_offsets({k: float_trains[k] for k in lif_names}, emu_trains)},
        "emulator_vs_lava": parity.exactness(lava_div),
        "accuracy": {"float": float((float_pred == labels).mean()), "emulator": float((_predict(dep, emu) == labels)
                                                                                       .mean()),
                     "lava": float((_predict(dep, lava) == labels).mean())},
        "lava_seconds": lava_secs,
    }
    if netx:
        report["emulator_vs_netx"] = _netx_parity(fx, dep, emu, events, Path(run_dir) / "loihi" / "model.h5",
                                                  timeout, lif_names)
    report["ok"] = report["emulator_vs_lava"]["exact_samples"] == 1.0 and \
        report.get("emulator_vs_netx", {}).get("exact_samples", 1.0) == 1.0
    write_atomic(out_dir / "parity.json", json.dumps(report, indent=2))
    plot_spike_comparison({"float": float_trains, "emulator": emu_trains, "Lava": parity.trains(dep, lava, lif_names)},
                          lif_names, 0, fx.dt, out_dir / "parity.png")
    return report


def _netx_parity(fx, dep, emu, events, path: Path, timeout: float, lif_names: list[str]) -> dict:
    """The netx file (holding fx) through lava-dl's netx vs the emulator's run of the deployed network dep (fx with
    relays where it has them): exact samples and the first divergence, or why netx could not run the file; with the
    file's netx_compatible flag beside it."""
    with h5py.File(path, "r") as f:
        flag = bool(f.attrs.get("netx_compatible", False))
    out = {"file_says_netx_compatible": flag}
    try:
        ran, secs = run_netx(fx, path, events, timeout)
    except LavaError as e:                  # netx refused or failed on the file (importing it was checked before)
        return {**out, "exact_samples": 0.0, "refused": str(e).splitlines()[0][:500]}
    return {**out, **parity.exactness(parity.compare_fixed(dep, emu, ran, fx_b=fx, names=lif_names)), "seconds": secs}


__all__ = ["deploy", "parity_check", "bench", "TARGETS", "DeployError"]
