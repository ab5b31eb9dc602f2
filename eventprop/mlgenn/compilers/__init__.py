"""mlGeNN's EventPropCompiler / InferenceCompiler on eventprop's engine."""
from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
import torch

from ... import models
from ...models.events import SpikeEvents
from ...pipeline.engine.module import compile as compile_network
from ...pipeline.training.trainer import spike_regulariser
from ..callbacks import CallbackList
from ..errors import unsupported
from ..network import underlying
from ..neurons import LeakyIntegrate, LeakyIntegrateFire, SpikeInput
from ..optimisers import Adam
from ..serialisers import resolve
from ..utils.data import to_lists


@dataclass
class Metric:
    """mlGeNN's SparseCategoricalAccuracy: `.result` is the accuracy."""
    correct: int = 0
    total: int = 0

    @property
    def result(self) -> float:
        return self.correct / max(self.total, 1)


def _build(network, dt: float, delay_learn_conns) -> tuple[models.Network, dict]:
    """eventprop Network from the recorded mlGeNN one; returns it and {mlGeNN connection: eventprop name}."""
    learn = {id(c) for c in delay_learn_conns}
    net, made, names = models.Network(dt=dt), {}, {}
    with net:
        for k, pop in enumerate(network.populations):
            n = pop.neuron
            if isinstance(n, SpikeInput):
                model = models.SpikeInput()
            elif isinstance(n, LeakyIntegrateFire) and n.tau_refrac:
                model = models.RefractoryLIF(v_thresh=n.v_thresh, tau_mem=n.tau_mem, tau_refrac=n.tau_refrac)
            elif isinstance(n, LeakyIntegrateFire):
                model = models.LeakyIntegrateFire(v_thresh=n.v_thresh, tau_mem=n.tau_mem)
            elif isinstance(n, LeakyIntegrate):
                model = models.LeakyIntegrate(tau_mem=n.tau_mem, readout=n.readout)
            else:
                raise unsupported(f"neuron model {type(n).__name__}")
            made[id(pop)] = models.Population(model, pop.size, name=f"p{k}")
        for k, c in enumerate(network.connections):
            conn = c.connectivity
            max_delay = c.max_delay_steps
            if max_delay is None:
                bounds = models.initialisers.value_bounds(conn.delay)
                if bounds is None:
                    raise unsupported(f"Connection {c.name!r}: delays without max_delay_steps",
                                      "set max_delay_steps, as mlGeNN asks too")
                max_delay = int(math.ceil(bounds[1]))
            if conn.p is None:
                desc = models.Dense(weight=conn.weight, delay=conn.delay)
            elif getattr(conn, "indices", None) is not None:          # loaded from a checkpoint
                desc = models.Sparse(*conn.indices, weight=conn.weight, delay=conn.delay)
            else:
                desc = models.FixedProbability(conn.p, weight=conn.weight, delay=conn.delay)
            names[c] = f"c{k}"
            models.Connection(made[id(c.source)], made[id(c.target)], desc, models.Exponential(c.synapse.tau),
                              max_delay_steps=int(max_delay), learn_delays=id(c) in learn, name=f"c{k}")
    return net, names


class _Var:
    """GeNN's view of a connection variable as mlGeNN scripts use it: `view` (flattened pre-major, sharing memory
    with the trained tensor on the CPU), pull_from_device / push_to_device."""

    def __init__(self, tensor: torch.Tensor):
        self._tensor = tensor
        self.view = tensor.detach().cpu().numpy().reshape(-1)

    @property
    def values(self):
        return self.view

    def pull_from_device(self):
        self.view[...] = self._tensor.detach().cpu().numpy().reshape(-1)

    def push_to_device(self):
        with torch.no_grad():
            self._tensor.copy_(torch.as_tensor(self.view.reshape(self._tensor.shape)))


class _SynapseGroup:
    def __init__(self, holder):
        self.vars = {"g": _Var(holder.weight)}
        if isinstance(getattr(holder, "delay", None), torch.nn.Parameter):
            self.vars["d"] = _Var(holder.delay)


class CompiledNetwork:
    """`optimisers`: [(mlGeNN Adam, torch optimiser)] (a script may set their alpha); `connection_populations`:
    {Connection: object with vars["g"] / vars["d"]} as GeNN's synapse groups."""

    def __init__(self, network, module, names, dt: float, n_steps: int, batch_size: int, optimisers=(),
                 reg=(0.0, 0.0), seed: int = 0):
        self.network, self.module, self.names, self.seed = network, module, names, seed
        self.dt, self.n_steps, self.batch_size = dt, n_steps, batch_size
        self.optimisers, self.reg = list(optimisers), reg
        self._pop_name = {id(p): f"p{k}" for k, p in enumerate(network.populations)}
        self.connection_populations = {c: _SynapseGroup(getattr(module, names[c])) for c in network.connections}

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        return False

    def pop_name(self, pop) -> str:
        return self._pop_name[id(pop)]

    # ---- mlGeNN's checkpoint API ----------------------------------------------------------------------------
    def save(self, keys=(), serialiser="numpy"):
        """`<keys>-<connection>-g.npy` (weights) and `-d.npy` (learned delays), flattened pre-major: mlGeNN's
        layout, read by Network.load and `eventprop import-mlgenn`."""
        ser = resolve(serialiser)
        for conn, group in self.connection_populations.items():
            for var_name, var in group.vars.items():
                var.pull_from_device()
                ser.serialise(tuple(keys) + (conn.name, var_name), var.view)

    def save_connectivity(self, keys=(), serialiser="numpy"):
        """`<keys>-<connection>-pre_ind.npy` / `-post_ind.npy` of every sparse connection (as mlGeNN)."""
        ser = resolve(serialiser)
        for conn in self.network.connections:
            holder = getattr(self.module, self.names[conn])
            if hasattr(holder, "pre_ind"):
                ser.serialise(tuple(keys) + (conn.name, "pre_ind"), holder.pre_ind.cpu().numpy())
                ser.serialise(tuple(keys) + (conn.name, "post_ind"), holder.post_ind.cpu().numpy())

    # ---- running --------------------------------------------------------------------------------------------
    def _batches(self, x, y, order):
        (in_pop, samples), = x.items()
        labels = np.asarray(next(iter(y.values())))
        in_pop = underlying(in_pop)
        for start in range(0, len(order), self.batch_size):
            idx = order[start:start + self.batch_size]
            lists = [to_lists(samples[i]) for i in idx]
            events = SpikeEvents.from_lists(lists, in_pop.size, self.n_steps * self.dt)
            yield {self._pop_name[id(in_pop)]: events}, labels[idx]

    def _check(self, x, y):
        if len(x) != 1 or len(y) != 1:
            raise unsupported("several input or output populations in train/evaluate")

    def _callbacks(self, callbacks, n: int, num_epochs: int = 1) -> CallbackList:
        return CallbackList(callbacks, compiled_network=self, num_batches=math.ceil(n / self.batch_size),
                            num_epochs=num_epochs)

    def evaluate(self, x: dict, y: dict, callbacks=("batch_progress_bar",)):
        """({output population: Metric}, callback data) on x, as mlGeNN's evaluate."""
        self._check(x, y)
        n = len(next(iter(y.values())))
        cbs = self._callbacks(callbacks, n)
        metric = Metric()
        out_pop = next(iter(y))                      # metrics are keyed by what the script passed (layer or pop)
        out_name = self.pop_name(underlying(out_pop))
        cbs.on_test_begin()
        with torch.no_grad():
            for b, (batch, labels) in enumerate(self._batches(x, y, np.arange(n))):
                cbs.on_batch_begin(b)
                run = self.module.run(batch)
                pred = run.readouts[out_name].argmax(1).numpy()
                metric.correct += int((pred == labels).sum())
                metric.total += len(labels)
                cbs.recorded(self, batch, run)
                cbs.on_batch_end(b, {out_pop: metric})
        cbs.on_test_end({out_pop: metric})
        return {out_pop: metric}, cbs.get_data()

    def train(self, x: dict, y: dict, num_epochs: int, start_epoch: int = 0, shuffle: bool = True,
              callbacks=("batch_progress_bar",), validation_callbacks=("batch_progress_bar",),
              validation_x=None, validation_y=None, metrics="sparse_categorical_accuracy",
              validation_split: float = 0.0):
        """(train metrics, callback data), or with validation data (train metrics, validation metrics, train
        callback data, validation callback data), as mlGeNN's train."""
        self._check(x, y)
        if metrics != "sparse_categorical_accuracy":
            raise unsupported(f"metrics {metrics!r}", "sparse_categorical_accuracy only")
        if validation_split:
            raise unsupported("validation_split", "pass validation_x / validation_y")
        n = len(next(iter(y.values())))
        cbs = self._callbacks(callbacks, n, num_epochs)
        lam, nu = self.reg
        out_pop = next(iter(y))                      # metrics are keyed by what the script passed (layer or pop)
        out_name = self.pop_name(underlying(out_pop))
        metric, val, val_data = Metric(), None, None
        cbs.on_train_begin()
        for epoch in range(start_epoch, start_epoch + num_epochs):
            metric = Metric()
            cbs.on_epoch_begin(epoch)
            order = np.random.default_rng([self.seed, epoch]).permutation(n) if shuffle else np.arange(n)
            for b, (batch, labels) in enumerate(self._batches(x, y, order)):
                cbs.on_batch_begin(b)
                for _, opt in self.optimisers:
                    opt.zero_grad()
                run = self.module.run(batch)
                readout = run.readouts[out_name]
                target = torch.from_numpy(labels.astype(np.int64))
                loss = torch.nn.functional.cross_entropy(readout, target)
                if lam > 0:
                    for counts in run.spike_counts.values():
                        loss = loss + spike_regulariser(counts.sum(0), lam, nu, len(labels))
                loss.backward()
                for _, opt in self.optimisers:
                    opt.step()
                with torch.no_grad():
                    for c in self.module.net.connections:
                        if c.learn_delays:
                            getattr(self.module, c.name).delay.clamp_(0, c.max_delay_steps)
                metric.correct += int((readout.detach().argmax(1).numpy() == labels).sum())
                metric.total += len(labels)
                cbs.recorded(self, batch, run)
                cbs.on_batch_end(b, {out_pop: metric})
            cbs.on_epoch_end(epoch, {out_pop: metric})
            if validation_x is not None:
                val, val_data = self.evaluate(validation_x, validation_y, validation_callbacks)
        cbs.on_train_end({out_pop: metric})
        if validation_x is not None:
            return {out_pop: metric}, val, cbs.get_data(), val_data
        return {out_pop: metric}, cbs.get_data()


class EventPropCompiler:
    def __init__(self, example_timesteps: int, losses="sparse_categorical_crossentropy", optimiser="adam",
                 reg_lambda_upper: float = 0.0, reg_lambda_lower: float = 0.0, reg_nu_upper: float = 0.0,
                 max_spikes: int = 500, strict_buffer_checking: bool = False, per_timestep_loss: bool = False,
                 dt: float = 1.0, batch_size: int = 1, rng_seed: int = 0, kernel_profiling: bool = False,
                 communicator=None, delay_optimiser=None, delay_learn_conns=(), **genn_kwargs):
        if losses != "sparse_categorical_crossentropy" and not (isinstance(losses, dict) and set(losses.values())
                                                                  == {"sparse_categorical_crossentropy"}):
            raise unsupported(f"losses {losses!r}", "sparse_categorical_crossentropy only")
        if per_timestep_loss:
            raise unsupported("per_timestep_loss=True")
        if reg_lambda_upper != reg_lambda_lower:
            raise unsupported("reg_lambda_upper != reg_lambda_lower", "eventprop's regulariser is symmetric")
        if communicator is not None:
            raise unsupported("communicator", "use torchrun with `eventprop train` for data parallelism")
        if kernel_profiling:
            raise unsupported("kernel_profiling=True (GeNN's kernel timers, compiled_net.genn_model)",
                              "time eventprop's kernels with benchmarks/engine.py")
        if genn_kwargs:
            raise unsupported(f"GeNN options {sorted(genn_kwargs)}")
        self.example_timesteps, self.dt, self.batch_size, self.seed = example_timesteps, dt, batch_size, rng_seed
        self.optimiser = Adam() if optimiser == "adam" else optimiser
        self.delay_optimiser = delay_optimiser or self.optimiser
        self.delay_learn_conns, self.reg = list(delay_learn_conns), (reg_lambda_upper, reg_nu_upper)
        for opt in (self.optimiser, self.delay_optimiser):
            if not isinstance(opt, Adam):
                raise unsupported(f"optimiser {opt!r}", "Adam only")

    def compile(self, network, name: str | None = None) -> CompiledNetwork:
        net, names = _build(network, self.dt, self.delay_learn_conns)
        module = compile_network(net, seed=self.seed)
        params = dict(module.named_parameters())
        weights = [p for n, p in params.items() if n.endswith(".weight")]
        delays = [p for n, p in params.items() if n.endswith(".delay")]
        optimisers = [(self.optimiser, self.optimiser.make(weights))]
        if delays:
            optimisers.append((self.delay_optimiser, self.delay_optimiser.make(delays)))
        return CompiledNetwork(network, module, names, self.dt, self.example_timesteps, self.batch_size, optimisers,
                               self.reg, self.seed)


class InferenceCompiler:
    """mlGeNN's InferenceCompiler. eventprop starts every sample from rest, as mlGeNN does with
    reset_in_syn_between_batches=True (with False, mlGeNN carries synaptic input from one batch into the next)."""

    def __init__(self, evaluate_timesteps: int, dt: float = 1.0, batch_size: int = 1, rng_seed: int = 0,
                 reset_time_between_batches: bool = True, reset_vars_between_batches: bool = True,
                 reset_in_syn_between_batches: bool = False, kernel_profiling: bool = False, **genn_kwargs):
        if kernel_profiling:
            raise unsupported("kernel_profiling=True (GeNN's kernel timers, compiled_net.genn_model)")
        if not reset_vars_between_batches:
            raise unsupported("reset_vars_between_batches=False", "eventprop starts every sample from rest")
        if genn_kwargs:
            raise unsupported(f"GeNN options {sorted(genn_kwargs)}")
        self.timesteps, self.dt, self.batch_size, self.seed = evaluate_timesteps, dt, batch_size, rng_seed

    def compile(self, network, name: str | None = None) -> CompiledNetwork:
        net, names = _build(network, self.dt, ())
        return CompiledNetwork(network, compile_network(net, seed=self.seed), names, self.dt, self.timesteps,
                               self.batch_size, seed=self.seed)
