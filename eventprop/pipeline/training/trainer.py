"""The training loop: optimisers per parameter kind, schedules, regulariser, early stopping, NaN guard,
run folder (config.toml, metrics.jsonl, checkpoints/, best.pt, plots/, results.json) and bit-identical resume."""
from __future__ import annotations

import json
import math
import sys
import time
import warnings
from contextlib import nullcontext
from pathlib import Path

import numpy as np
import torch
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeRemainingColumn

from ...analysis import plot_training_curves
from ...analysis.receptive import delay_histogram
from ...analysis.space_as_time import layout_diameter
from ...datasets.base import prefetch
from ...errors import EventpropError
from ...files import append_line, remove_temporaries, write_atomic
from .checkpoints import RunError, load_checkpoint, save_atomic
from .config import RunConfig, differences
from .config import load as load_config
from .distributed import Single, from_environment
from .folders import check_new_run_dir, lock_run, unlock_run
from .folders import create_run_dir as create_new_run_dir
from ..engine.module import all_finite, compile as compile_network
from .structure import Rewirer
from .tasks import make_candidates, make_datasets, make_network

KINDS = ("weight", "delay", "position")


def check_run_dir(out: Path, resume: bool, force: bool) -> RunConfig | None:
    """Whether `out` can hold this run, without touching it; the stored config when resuming."""
    out = Path(out)
    if resume:
        if not (out / "config.toml").exists():
            raise RunError(f"cannot resume: {out} holds no run (no config.toml)")
        return load_config(out / "config.toml")
    check_new_run_dir(out, force)
    return None


def create_run_dir(out: Path, cfg: RunConfig, force: bool = False) -> None:
    """Create (with force: replace) the run folder, take its lock, write the resolved config."""
    create_new_run_dir(out, force, "eventprop train")
    try:
        cfg.dump(Path(out) / "config.toml")
    except BaseException:
        unlock_run(out)
        raise


def open_run_dir(out: Path) -> RunConfig:
    """Lock an existing run folder for resuming; its stored config."""
    if not (Path(out) / "config.toml").exists():
        raise RunError(f"cannot resume: {out} holds no run (no config.toml)")
    lock_run(out, "eventprop train --resume")
    try:
        return load_config(Path(out) / "config.toml")
    except BaseException:
        unlock_run(out)
        raise


def prepare_run_dir(out: Path, cfg: RunConfig, resume: bool, force: bool) -> RunConfig:
    """Create or reopen (and lock) a run folder; returns the config to use (the stored one when resuming)."""
    if resume:
        return open_run_dir(out)
    create_run_dir(out, cfg, force)
    return cfg


def start_run(cfg: RunConfig | None, out: Path, resume: bool = False, force: bool = False, device: str = "cpu",
              dist_timeout: float = 300.0, **kwargs) -> "Trainer":
    """A Trainer ready to fit, holding the run folder's lock (Trainer.close releases it; so does the process's end).
    Datasets, network and kernels are built BEFORE a new run folder is created or replaced, so a run that cannot
    start leaves nothing behind. cfg=None with resume: the stored config; a cfg given with resume must equal it.
    Under torchrun (WORLD_SIZE > 1) training is data-parallel (pipeline/distributed.py); rank 0 owns the folder."""
    dist = from_environment(device, dist_timeout)
    if resume:
        stored = _on_main(dist, lambda: open_run_dir(out))
    else:
        _on_main(dist, lambda: check_run_dir(out, resume, force))
    try:
        if resume:
            if cfg is not None:
                _on_main(dist, lambda: _same_config(out, cfg, stored))
            cfg = stored
        trainer = Trainer(cfg, out, device=device, dist=dist, **kwargs)
        if resume:
            trainer.resume()
        else:
            _on_main(dist, lambda: create_run_dir(out, cfg, force))
    except BaseException:
        if resume and dist.is_main:
            unlock_run(out)
        raise
    return trainer


def _same_config(out: Path, given: RunConfig, stored: RunConfig) -> None:
    diff = differences(stored, given)
    if diff:
        raise RunError(f"--resume continues {out} with its stored config.toml; the config given differs in "
                       f"{_listed(diff)}. Resume without a config file, or start a new run")


def _listed(diff: dict) -> str:
    return ", ".join(f"{k} ({a!r} stored, {b!r} given)" for k, (a, b) in diff.items())


def _on_main(dist, fn):
    """fn() on rank 0, its result (or its error) shared with every rank."""
    outcome = None
    if dist.is_main:
        try:
            outcome = ("ok", fn())
        except EventpropError as e:
            outcome = ("error", e)
    outcome = dist.broadcast(outcome)
    if outcome[0] == "error":
        raise outcome[1]
    return outcome[1]


def spike_regulariser(counts_sum, strength: float, nu: float, batch: int):
    """mlGeNN's spike-count regulariser: strength / (2 B^2) * sum_neurons (sum_batch count - nu B)^2; `counts_sum`
    holds each neuron's spike count summed over the batch."""
    return strength / (2 * batch * batch) * ((counts_sum - nu * batch) ** 2).sum()


def _finite_or_null(x):
    """JSON-safe copy: non-finite floats become null (a bare NaN is not JSON)."""
    if isinstance(x, dict):
        return {k: _finite_or_null(v) for k, v in x.items()}
    if isinstance(x, float) and not math.isfinite(x):
        return None
    return x


class Trainer:
    """Trains the network of `cfg` on the config's task, or on `datasets` = (train, validation, test): any objects
    with `len()`, `n_channels`, `n_classes` and `batches(batch_size, order)` yielding (SpikeEvents or raster, labels)."""

    def __init__(self, cfg: RunConfig, run_dir: Path, quiet: bool | None = None, datasets=None, device: str = "cpu",
                 dist=None):
        self.cfg, self.dir = cfg, Path(run_dir)
        self.dist = dist or Single()
        self.quiet = (not sys.stdout.isatty()) if quiet is None else quiet
        self.quiet = self.quiet or not self.dist.is_main
        if getattr(self.dist, "device", None) is not None:
            torch.cuda.set_device(self.dist.device)
        torch.manual_seed(cfg.seed)
        self.train_set, self.val_set, self.test_set = make_datasets(cfg) if datasets is None else datasets
        self.net = make_network(cfg, self.train_set.n_channels, self.train_set.n_classes)
        dtype = torch.float64 if cfg.train.dtype == "float64" else torch.float32
        self.model = compile_network(self.net, seed=cfg.seed, dtype=dtype, device=device)
        self.device = next(self.model.parameters()).device
        t = cfg.train
        groups = {k: [p for n, p in self.model.named_parameters() if n.endswith("." + k)] for k in KINDS}
        base_lr = {"weight": t.lr_start if t.ease_in_epochs > 0 else t.lr, "delay": t.lr_delay,
                   "position": t.lr_position}
        self.optims = {k: torch.optim.Adam(ps, lr=base_lr[k]) for k, ps in groups.items() if ps}
        self.steps_per_epoch = math.ceil(len(self.train_set) / t.batch_size)
        self.epoch, self.step, self.best_val, self.patience = 0, 0, -1.0, 0
        self.delay_limits = {f"{c.name}.delay": c.max_delay_steps for c in self.net.connections if c.learn_delays}
        self.rewirer = self._make_rewirer(dtype, device)
        self._silent_warned: set[str] = set()

    def _make_rewirer(self, dtype, device) -> Rewirer | None:
        cfg = self.cfg
        cands = make_candidates(cfg, self.train_set.n_channels, self.train_set.n_classes)
        if not cands:
            return None
        twin = None
        if cfg.structure.method == "deep_r+rigl":
            dense = make_network(cfg, self.train_set.n_channels, self.train_set.n_classes, dense=True)
            twin = compile_network(dense, seed=cfg.seed, dtype=dtype, device=device)
        return Rewirer(cfg, self.model, self.optims, cands, twin, self.dist)

    # ---- schedule -----------------------------------------------------------------------------------------
    def lr_factor(self, kind: str) -> float:
        t = self.cfg.train
        total = max(1, t.epochs * self.steps_per_epoch)
        frac = self.step / total
        factor = {"none": 1.0, "cosine": 0.5 * (1 + math.cos(math.pi * frac)),
                  "onecycle": frac / 0.3 if frac < 0.3 else 0.5 * (1 + math.cos(math.pi * (frac - 0.3) / 0.7))}[
            t.schedule]
        ease = t.ease_in_epochs * self.steps_per_epoch
        if kind == "weight" and self.step < ease:
            factor *= (t.lr_start / t.lr) ** (1 - self.step / ease)
        return factor

    def _set_lrs(self):
        t = self.cfg.train
        base = {"weight": t.lr, "delay": t.lr_delay, "position": t.lr_position}
        for k, opt in self.optims.items():
            for g in opt.param_groups:
                g["lr"] = base[k] * self.lr_factor(k)

    # ---- loss ---------------------------------------------------------------------------------------------
    def _loss(self, run, labels: torch.Tensor, batch: int, totals: dict | None = None):
        """(this rank's loss to differentiate, its cross-entropy share, the batch-wide terms). `batch`: the global
        batch size; `totals`: the global per-neuron spike sums (_global_spike_sums). Summed over ranks the gradients are those of mean cross-entropy + regulariser + cost: each rank
        adds the regulariser at the global spike sums (its gradient flows through its own counts only) and
        1 / world of the connection cost; the logged loss is the summed shares + the batch-wide terms."""
        t, B = self.cfg.train, batch
        ce = torch.nn.functional.cross_entropy(t.loss_scale * run.readouts["output"], labels, reduction="sum") / B
        loss, shared = ce, 0.0
        sp = self.cfg.space
        if sp.cost > 0:
            cost = sp.cost * self.model.connection_cost(sp.cost_kind, sp.cost_connections or None)
            loss, shared = loss + cost / self.dist.world, shared + cost.item()
        l1 = self.rewirer.penalty() if self.rewirer else None
        if l1 is not None:
            loss, shared = loss + l1 / self.dist.world, shared + l1.item()
        if t.reg_lambda > 0:
            for name, counts in run.spike_counts.items():
                local = counts.sum(0)
                total = (local + (totals[name] - local).detach()) if totals else local
                reg = spike_regulariser(total, t.reg_lambda, t.reg_nu, B)
                loss, shared = loss + reg, shared + reg.item()
        return loss, ce.item(), shared

    def _global_spike_sums(self, run) -> dict | None:
        """Per LIF population, the batch's spike count per neuron summed over ranks (None: one process or no
        regulariser). Every rank calls it, also one with an empty share of the batch (run None)."""
        if self.dist.world == 1 or self.cfg.train.reg_lambda <= 0:
            return None
        lifs = self.model.engine.plan.lifs
        names = [p.name for p in lifs]
        local = [run.spike_counts[p.name].detach().sum(0) if run else torch.zeros(p.size, dtype=self.model.dtype)
                 for p in lifs]
        flat = self.dist.sum(torch.cat([x.cpu().double() for x in local]).tolist())
        out, start = {}, 0
        for n, x in zip(names, local):
            out[n] = torch.tensor(flat[start:start + x.numel()], dtype=x.dtype, device=x.device)
            start += x.numel()
        return out

    def evaluate(self, dataset, batch_size: int | None = None) -> float:
        correct = 0
        with torch.no_grad():
            for events, labels in prefetch(dataset.batches(batch_size or max(64, self.cfg.train.batch_size))):
                events, labels = self.dist.shard(events, labels)
                if len(labels):
                    correct += int((self.model(events).argmax(1).cpu().numpy() == labels).sum())
        return self.dist.sum([correct])[0] / len(dataset)

    # ---- checkpoints --------------------------------------------------------------------------------------
    def _state(self) -> dict:
        return {"epoch": self.epoch, "step": self.step, "best_val": self.best_val, "patience": self.patience,
                "model": self.model.state_dict(), "optim": {k: o.state_dict() for k, o in self.optims.items()},
                "rng": {"seed": self.cfg.seed, "torch": torch.get_rng_state()},
                "structure": self.rewirer.state_dict() if self.rewirer else None, "config": self.cfg.to_dict()}

    def close(self) -> None:
        """Release this process's lock on the run folder (taken by start_run / prepare_run_dir) and leave the
        process group."""
        if self.dist.is_main:
            unlock_run(self.dir)
        self.dist.close()

    def resume(self) -> None:
        """Continue from checkpoints/last.pt: the stored config must be the one the checkpoint ran with (train.epochs
        may grow when the schedule is 'none'); metrics rows past the checkpoint and a torn last line (a crash
        mid-append) are dropped, temporaries of a killed writer removed, each said on the console."""
        state = _on_main(self.dist, lambda: self._reopen())
        try:
            self.model.load_state_dict(state["model"])
            for k, o in self.optims.items():
                o.load_state_dict(state["optim"][k])
        except (KeyError, RuntimeError, ValueError) as e:
            raise RunError(f"checkpoint {self.dir / 'checkpoints' / 'last.pt'} does not match this run's "
                           f"network: {e}") from None
        self.epoch, self.step = state["epoch"], state["step"]
        self.best_val, self.patience = state["best_val"], state["patience"]
        torch.set_rng_state(state["rng"]["torch"])
        if self.rewirer:
            self.rewirer.load_state_dict(state["structure"])
        if self.dist.is_main:
            print(f"resuming {self.dir} at epoch {self.epoch} of {self.cfg.train.epochs}", flush=True)

    def _reopen(self) -> dict:
        last = self.dir / "checkpoints" / "last.pt"
        for tmp in remove_temporaries(self.dir):
            print(f"removed {tmp} (left by a process killed while writing it)", flush=True)
        state = load_checkpoint(last)
        ran = state.get("config")
        if ran is not None:
            diff = differences(ran, self.cfg)
            epochs = diff.pop("train.epochs", None)
            if epochs is not None and self.cfg.train.schedule != "none":
                diff["train.epochs"] = epochs          # the schedule spans the epochs: not the same run
            if diff:
                raise RunError(f"{self.dir / 'config.toml'} differs from the config that {last} ran with, in "
                               f"{', '.join(f'{k} ({a!r} ran, {b!r} now)' for k, (a, b) in diff.items())}; "
                               f"restore those values to resume, or start a new run")
        self._trim_metrics(state["epoch"])
        return state

    def _trim_metrics(self, epoch: int) -> None:
        """metrics.jsonl as of the checkpoint: rows 1..epoch, whole lines only."""
        path = self.dir / "metrics.jsonl"
        if not path.exists():
            return
        lines = path.read_text(errors="replace").splitlines()
        rows, dropped = [], []
        for k, line in enumerate(lines):
            try:
                row = json.loads(line)
            except ValueError:
                if k < len(lines) - 1:
                    raise RunError(f"{path}: line {k + 1} is not JSON ({line[:60]!r}); the file is damaged") from None
                dropped.append("a torn last line (a crash mid-write)")
                continue
            if row.get("epoch", 0) <= epoch:
                rows.append(line)
            else:
                dropped.append(f"the row of epoch {row['epoch']}")
        if dropped:
            write_atomic(path, "".join(r + "\n" for r in rows))
            print(f"{path}: dropped {', '.join(dropped)}; training goes on from the checkpoint of epoch {epoch}",
                  flush=True)

    # ---- loop ---------------------------------------------------------------------------------------------
    def fit(self, stop_after: int | None = None) -> dict:
        """Train to train.epochs (or early stop); `stop_after` ends this call after that epoch (resumable)."""
        t = self.cfg.train
        last = t.epochs if stop_after is None else min(stop_after, t.epochs)
        metrics_path = self.dir / "metrics.jsonl"
        progress = nullcontext() if self.quiet else Progress(
            TextColumn("{task.description}"), BarColumn(), MofNCompleteColumn(), TextColumn("{task.fields[info]}"),
            TimeRemainingColumn())
        counts = self.model.parameter_counts()
        if self.epoch == 0 and self.dist.is_main:
            print("trained parameters: " + ", ".join(f"{n:,} {k}s" for k, n in counts.items() if n), flush=True)
        with progress:
            ep_task = None if self.quiet else progress.add_task("epochs", total=t.epochs, completed=self.epoch, info="")
            while self.epoch < last and self.patience < t.early_stop_patience:
                row = self._train_epoch(progress)
                if not self.dist.is_main:
                    continue
                if ep_task is not None:
                    progress.update(ep_task, advance=1, info=f"val {100 * row['val_acc']:.1f}%")
                else:
                    cost = f"  cost {row['connection_cost']:.4g}" if "connection_cost" in row else ""
                    print(f"epoch {row['epoch']:3d}  loss {row['loss']:.4f}  train {100 * row['train_acc']:.1f}%  "
                          f"val {100 * row['val_acc']:.1f}%{cost}  {row['seconds']:.1f}s", flush=True)
                append_line(metrics_path, json.dumps(_finite_or_null(row)))
                plot_training_curves(metrics_path, self.dir / "plots" / "training.png")
                save_atomic(self._state(), self.dir / "checkpoints" / "last.pt")   # last: resume trims metrics to it
        best = _on_main(self.dist, lambda: load_checkpoint(self.dir / "best.pt"))
        self.model.load_state_dict(best["model"])
        summary = {"best_val_acc": self.best_val, "test_acc": self.evaluate(self.test_set), "epochs": self.epoch,
                   "stopped_early": self.patience >= t.early_stop_patience,
                   "parameters": self.model.parameter_counts(), "train_seconds": None, "world_size": self.dist.world}
        if hasattr(self.val_set, "speakers"):        # who spoke the validation samples (SHD: the split this run used)
            summary["val_speakers"] = sorted({int(x) for x in self.val_set.speakers})
        if self.dist.is_main:
            summary["train_seconds"] = self._train_seconds()
            write_atomic(self.dir / "results.json", json.dumps(summary, indent=2))
        return summary

    def _train_epoch(self, progress) -> dict:
        t = self.cfg.train
        t0 = time.perf_counter()
        order = np.random.default_rng([self.cfg.seed, self.epoch]).permutation(len(self.train_set))
        total_loss, correct, seen, spikes, nan_streak, pop_spikes = 0.0, 0, 0, 0.0, 0, {}
        task = None if self.quiet else progress.add_task(
            f"epoch {self.epoch + 1}", total=self.steps_per_epoch, info="")
        for events, labels_np in prefetch(self.train_set.batches(t.batch_size, order)):
            batch = len(labels_np)
            events, labels_np = self.dist.shard(events, labels_np)
            labels = torch.from_numpy(labels_np).to(self.device)
            self._set_lrs()
            for o in self.optims.values():
                o.zero_grad()
            ce, shared = 0.0, 0.0
            run = self.model.run(events) if len(labels_np) else None
            totals = self._global_spike_sums(run)
            if run is not None:
                loss, ce, shared = self._loss(run, labels, batch, totals)
                loss.backward()
            self.dist.sum_grads(self.model.parameters())
            batch_loss = self.dist.sum([ce])[0] + shared
            grads_ok = all(p.grad is None or all_finite(p.grad) for p in self.model.parameters())
            if not (math.isfinite(batch_loss) and grads_ok):
                nan_streak += 1
                warnings.warn(f"epoch {self.epoch + 1}: non-finite loss or gradient, batch skipped "
                              f"({nan_streak} in a row)")
                if nan_streak >= t.nan_abort_after:
                    raise RunError(f"{nan_streak} consecutive batches with non-finite loss or gradients; "
                                   f"aborting (lower train.lr or check the inputs)")
                self.step += 1
                continue
            nan_streak = 0
            for o in self.optims.values():
                o.step()
            self._check_parameters()
            self._clamp_delays()
            if self.rewirer:
                self.rewirer.after_step(self.step, self.optims["weight"].param_groups[0]["lr"], events, labels_np)
            self.step += 1
            total_loss += batch_loss * batch
            seen += batch
            if run is not None:
                correct += int((run.readouts["output"].argmax(1).cpu().numpy() == labels_np).sum())
                for name, c in run.spike_counts.items():
                    total = float(c.detach().sum())
                    pop_spikes[name] = pop_spikes.get(name, 0.0) + total
                    spikes += total / c.shape[1]
            if task is not None:
                progress.update(task, advance=1, info=f"loss {total_loss / seen:.3f} acc {100 * correct / seen:.1f}%")
        if task is not None:
            progress.remove_task(task)
        names = sorted(pop_spikes)
        correct, spikes, *totals = self.dist.sum([correct, spikes] + [pop_spikes[n] for n in names])
        pop_spikes = dict(zip(names, totals))
        self._warn_silent(pop_spikes)
        self.epoch += 1
        val_acc = self.evaluate(self.val_set)
        if val_acc > self.best_val:
            self.best_val, self.patience = val_acc, 0
            if self.dist.is_main:
                save_atomic({"model": self.model.state_dict(), "epoch": self.epoch, "val_acc": val_acc},
                            self.dir / "best.pt")
        else:
            self.patience += 1
        lrs = {k: o.param_groups[0]["lr"] for k, o in self.optims.items()}
        row = {"epoch": self.epoch, "loss": total_loss / max(seen, 1), "train_acc": correct / max(seen, 1),
               "val_acc": val_acc, "spikes_per_neuron": spikes / max(seen, 1), "lr": lrs,
               "seconds": time.perf_counter() - t0, "parameters": self.model.parameter_counts()}
        with torch.no_grad():
            cost = self.model.connection_cost("distance", self.cfg.space.cost_connections or None)
            positions = {p.name: self.model._param(f"{p.name}.position").detach().cpu().numpy()
                         for p in self.net.populations if p.position is not None}
        if cost is not None:
            row["connection_cost"] = float(cost)     # sum |w| * distance, before space.cost (also under cost_kind l1)
        if positions:
            row["layout_diameter"] = {name: layout_diameter(pos) for name, pos in positions.items()}
        row["delays"] = self._delay_summary()
        if self.rewirer:
            row["structure"] = self.rewirer.epoch_stats()
        return row

    def _delay_summary(self) -> dict:
        """Per delayed connection: mean delay (steps), the shares at 0 and at the maximum, and a histogram in at most
        16 equal bins over [0, max] (a cost can pile delays at a bound or shrink a whole layout)."""
        out = {}
        with torch.no_grad():
            for c in self.net.connections:
                if c.max_delay_steps == 0:
                    continue
                d = c.rounded_delays(self.model.delays(c.name).detach().double()).cpu().numpy().ravel()
                h = delay_histogram(d, c.max_delay_steps)
                counts = np.histogram(d, bins=min(16, c.max_delay_steps + 1), range=(0, c.max_delay_steps + 1))[0]
                out[c.name] = {"mean": float(d.mean()), "share_at_0": h["share_at_0"],
                               "share_at_max": h["share_at_max"], "hist": counts.tolist()}
        return out

    def _train_seconds(self) -> float:
        """Wall time of the training epochs, summed over metrics.jsonl (resumed runs included)."""
        path = self.dir / "metrics.jsonl"
        rows = [json.loads(line) for line in path.read_text().splitlines()] if path.exists() else []
        return round(sum(r.get("seconds") or 0.0 for r in rows), 2)

    def _check_parameters(self):
        """After an update: a non-finite parameter ends the run (the next forward pass would be meaningless)."""
        for name, p in self.model.named_parameters():
            if not all_finite(p.detach()):
                lrs = {k: o.param_groups[0]["lr"] for k, o in self.optims.items()}
                raise RunError(f"epoch {self.epoch + 1}: parameter {name!r} became non-finite after an update "
                               f"(learning rates {lrs}); lower train.lr or check the inputs")

    def _warn_silent(self, pop_spikes: dict):
        """Warn once per population when a hidden layer did not spike during a whole epoch."""
        for name, total in pop_spikes.items():
            if total == 0 and name not in self._silent_warned:
                self._silent_warned.add(name)
                warnings.warn(f"epoch {self.epoch + 1}: hidden population {name!r} did not spike at all; the network "
                              f"cannot learn through it (raise model.w_in or lower model.v_thresh)", stacklevel=2)

    def _clamp_delays(self):
        with torch.no_grad():
            for name, p in self.model.named_parameters():
                if name in self.delay_limits:
                    p.clamp_(0.0, float(self.delay_limits[name]))
