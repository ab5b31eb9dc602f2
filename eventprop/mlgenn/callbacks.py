"""mlGeNN's callbacks: the Callback protocol (set_params, on_train/test/epoch/batch_begin/end, get_data), Checkpoint,
BatchProgressBar ("batch_progress_bar"), SpikeRecorder and VarRecorder. eventprop runs a whole trial per kernel call,
so recorders take each batch's result at its end (same data as mlGeNN's per-timestep pulls); per-timestep hooks
(on_timestep_begin / on_timestep_end) are refused."""
from __future__ import annotations

import numpy as np

from .errors import unsupported
from .network import underlying
from .serialisers import Numpy


class Callback:
    """Base class of mlGeNN callbacks: define any of the hook methods."""


class Checkpoint(Callback):
    """Every `epoch_interval` epochs: compiled_network.save((epoch,), serialiser): `<epoch>-<connection>-g.npy`
    (weights, flattened pre-major) and `-d.npy` (learned delays), read by Network.load and `eventprop
    import-mlgenn`."""

    def __init__(self, serialiser="numpy", epoch_interval: int = 1):
        self.serialiser = Numpy() if serialiser == "numpy" else serialiser
        self.epoch_interval = epoch_interval

    def set_params(self, compiled_network, **kwargs):
        self._compiled = compiled_network

    def on_epoch_end(self, epoch: int, metrics):
        if epoch % self.epoch_interval == 0:
            self._compiled.save((epoch,), self.serialiser)


class BatchProgressBar(Callback):
    """A progress bar over the batches of each epoch (or of an evaluation), with the accuracy so far."""

    def set_params(self, num_batches: int, **kwargs):
        self._total, self._progress, self._task = num_batches, None, None

    def _start(self, what: str):
        from rich.progress import Progress
        if self._progress is None:
            self._progress = Progress(transient=True)
            self._progress.start()
        self._task = self._progress.add_task(what, total=self._total)

    def _stop(self, metrics):
        if self._progress is not None:
            self._progress.stop()
            self._progress = None
        print(", ".join(f"accuracy {100 * m.result:.2f} %" for m in metrics.values()))

    def on_train_begin(self):
        self._start("training")

    def on_test_begin(self):
        self._start("evaluating")

    def on_epoch_begin(self, epoch: int):
        self._progress.reset(self._task, description=f"epoch {epoch}")

    def on_batch_end(self, batch: int, metrics):
        acc = ", ".join(f"{100 * m.result:.1f} %" for m in metrics.values())
        self._progress.update(self._task, advance=1, description=f"batch {batch + 1}/{self._total} ({acc})")

    def on_train_end(self, metrics):
        self._stop(metrics)

    def on_test_end(self, metrics):
        self._stop(metrics)


def _example_mask(example_filter, batch: int, batch_size: int) -> np.ndarray:
    """Which examples of batch `batch` to record: mlGeNN's example_filter (None, an index, indices or a mask)."""
    if example_filter is None:
        return np.ones(batch_size, bool)
    f = np.asarray(example_filter)
    if f.dtype == bool:
        full = f
    elif np.issubdtype(f.dtype, np.integer):
        full = np.zeros(int(f.max(initial=-1)) + 1, bool)
        full[np.atleast_1d(f)] = True
    else:
        raise unsupported(f"example_filter {example_filter!r}", "an index, a list of indices or a boolean mask")
    out = np.zeros(batch_size, bool)
    part = full[batch * batch_size:(batch + 1) * batch_size]
    out[:len(part)] = part
    return out


def _neuron_mask(neuron_filter, size: int) -> np.ndarray:
    if neuron_filter is None:
        return np.ones(size, bool)
    mask = np.zeros(size, bool)
    mask[np.asarray(neuron_filter)] = True
    return mask


class OptimiserParamSchedule(Callback):
    """At each epoch's start, every optimiser's `param_name` = func(epoch, current value) (mlGeNN's)."""

    def __init__(self, param_name: str, func):
        self.param_name, self.func = param_name, func

    def set_params(self, compiled_network, **kwargs):
        if self.param_name != "alpha":
            raise unsupported(f"OptimiserParamSchedule({self.param_name!r})", "Adam's alpha only")
        self._optimisers = [o for o, _ in compiled_network.optimisers]

    def on_epoch_begin(self, epoch: int):
        for o in self._optimisers:
            setattr(o, self.param_name, self.func(epoch, getattr(o, self.param_name)))


class SpikeRecorder(Callback):
    """Spikes of a population (record_spikes=True): data[key] = ([times ms per example], [neuron ids per example]),
    or with record_counts, [spike counts per example]."""

    def __init__(self, pop, key=None, example_filter=None, neuron_filter=None, record_counts: bool = False):
        pop = underlying(pop)
        if not getattr(pop, "record_spikes", False):
            raise unsupported(f"SpikeRecorder on population {pop.name!r} without record_spikes=True",
                              "as in mlGeNN, create it with Population(..., record_spikes=True)")
        self.pop, self.key, self._examples, self._record_counts = pop, key, example_filter, record_counts
        self._neurons = _neuron_mask(neuron_filter, pop.size)

    def set_params(self, data, compiled_network, **kwargs):
        self._batch_size = compiled_network.batch_size
        data[self.key] = [] if self._record_counts else ([], [])
        self._data = data[self.key]

    def on_batch_begin(self, batch: int):
        self._mask = _example_mask(self._examples, batch, self._batch_size)

    def record(self, compiled, run, spike_trains):
        name = compiled.pop_name(self.pop)
        if self._record_counts:                      # the batch's run counted them already
            counts = run.spike_counts[name].detach().cpu().numpy().astype(np.int64)
            self._data.extend(c[self._neurons] for c, keep in zip(counts, self._mask) if keep)
            return
        for b, (steps, ids) in enumerate(spike_trains()[name]):
            if self._mask[b]:
                keep = self._neurons[ids]
                self._data[0].append(steps[keep] * compiled.dt)
                self._data[1].append(ids[keep])

    def get_data(self):
        return self.key, self._data


class VarRecorder(Callback):
    """A variable over time: data[key] = [array [timesteps, neurons] per example]. eventprop's kernels keep the
    readout's V ("v") of LeakyIntegrate populations; other variables are refused by name."""

    def __init__(self, pop, var: str | None = None, key=None, example_filter=None, neuron_filter=None,
                 genn_var: str | None = None):
        from .neurons import LeakyIntegrate
        pop, name = underlying(pop), var or genn_var
        if name not in ("v", "V") or not isinstance(pop.neuron, LeakyIntegrate):
            raise unsupported(f"VarRecorder({pop.name!r}, {name!r})", "eventprop records v of LeakyIntegrate "
                              "(readout) populations only")
        self.pop, self.key, self._examples = pop, key, example_filter
        self._neurons = _neuron_mask(neuron_filter, pop.size)

    def set_params(self, data, compiled_network, **kwargs):
        self._batch_size = compiled_network.batch_size
        data[self.key] = []
        self._data = data[self.key]

    def on_batch_begin(self, batch: int):
        self._mask = _example_mask(self._examples, batch, self._batch_size)

    def record(self, compiled, run, spike_trains):
        volts = run.voltages[compiled.pop_name(self.pop)].detach().cpu().numpy()
        self._data.extend(v[:, self._neurons] for b, v in enumerate(volts) if self._mask[b])

    def get_data(self):
        return self.key, self._data


NAMED = {"batch_progress_bar": BatchProgressBar, "checkpoint": Checkpoint}
HOOKS = ("on_test_begin", "on_test_end", "on_train_begin", "on_train_end", "on_epoch_begin", "on_epoch_end",
         "on_batch_begin", "on_batch_end")


class CallbackList:
    """mlGeNN's callback handling: strings name default callbacks, set_params once, hooks in order, data by key."""

    def __init__(self, callbacks, **params):
        self._callbacks = []
        for c in callbacks:
            if isinstance(c, str):
                if c not in NAMED:
                    raise unsupported(f"callback {c!r}", f"named callbacks: {sorted(NAMED)}")
                c = NAMED[c]()
            for hook in ("on_timestep_begin", "on_timestep_end"):
                if hasattr(c, hook):
                    raise unsupported(f"{type(c).__name__}.{hook}", "eventprop runs a whole trial per kernel call")
            self._callbacks.append(c)
        self._data = {}
        for c in self._callbacks:
            if hasattr(c, "set_params"):
                c.set_params(data=self._data, **params)

    def __getattr__(self, hook):
        if hook not in HOOKS:
            raise AttributeError(hook)
        return lambda *args: [getattr(c, hook)(*args) for c in self._callbacks if hasattr(c, hook)]

    def recorded(self, compiled, batch_events, run):
        """Hand a finished batch to the recorders; spike times (a second, gradient-free pass of the batch) are
        computed once, and only when a recorder asks for them."""
        trains = {}

        def spike_trains() -> dict:
            if not trains:
                trains.update(compiled.module.spike_trains(batch_events))
            return trains
        for c in self._callbacks:
            if hasattr(c, "record"):
                c.record(compiled, run, spike_trains)

    def get_data(self) -> dict:
        out = {}
        for i, c in enumerate(self._callbacks):
            if hasattr(c, "get_data"):
                key, data = c.get_data()
                key = i if key is None else key
                if key in out:
                    raise unsupported(f"two callbacks record under the key {key!r}")
                out[key] = data
        return out
