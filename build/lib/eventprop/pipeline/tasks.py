"""From a RunConfig to (train, validation, test) datasets and the network to train."""
from __future__ import annotations

from ..datasets import sequences, yinyang_splits
from ..models.architectures import delay_network
from .config import RunConfig


def make_datasets(cfg: RunConfig):
    d = cfg.data
    if d.task == "yinyang":
        return yinyang_splits(cfg.seed, d.n_train, d.n_val, d.n_test, t_early=d.t_early, t_late=d.t_late,
                              t_bias=d.t_bias, duration=d.duration)
    if d.task == "sequence":
        return tuple(sequences(n, cfg.seed * 3 + k, n_channels=d.n_channels, gap=d.gap, duration=d.duration)
                     for k, n in enumerate((d.n_train, d.n_val, d.n_test)))
    raise ValueError(f"config key 'data.task': unknown task {d.task!r}")


def make_network(cfg: RunConfig, n_inputs: int, n_classes: int):
    m = cfg.model
    if len(m.delay_init_ms) != 2:
        raise ValueError(f"config key 'model.delay_init_ms': expected [low, high], got {m.delay_init_ms}")
    for key in ("w_in", "w_hid", "w_rec", "w_out"):
        if len(getattr(m, key)) != 2:
            raise ValueError(f"config key 'model.{key}': expected [mean, sd], got {getattr(m, key)}")
    if not m.hidden or any(h <= 0 for h in m.hidden):
        raise ValueError(f"config key 'model.hidden': expected a list of positive layer sizes, got {m.hidden}")
    return delay_network(n_inputs, n_classes, m.dt, m.hidden, tau_mem=m.tau_mem, tau_syn=m.tau_syn,
                         v_thresh=m.v_thresh, readout=m.readout, recurrent=m.recurrent, learn_delays=m.learn_delays,
                         max_delay_ms=m.max_delay_ms, delay_init_ms=tuple(m.delay_init_ms), w_in=tuple(m.w_in),
                         w_hid=tuple(m.w_hid), w_rec=tuple(m.w_rec), w_out=tuple(m.w_out))
