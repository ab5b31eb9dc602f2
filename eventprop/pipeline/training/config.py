"""Run configuration: TOML <-> typed sections, with errors that name the offending key; built-in presets."""
from __future__ import annotations

import dataclasses
import math
import tomllib
import typing
from dataclasses import dataclass, field
from pathlib import Path

import tomli_w

from ...errors import ConfigError
from ...files import write_atomic

PRESET_DIR = Path(__file__).resolve().parents[2] / "presets"


@dataclass
class DataConfig:
    task: str = "yinyang"               # yinyang | sequence | shd | ssc | spoken-digits
    n_train: int = 5000                 # SHD-layout tasks: 0 = the whole split, N = a fixed random subset of N
    n_val: int = 1000                   # validation samples (SHD: held-out speakers; SSC: its own file)
    n_test: int = 1000                  # test samples (0 with SHD-layout tasks: the whole test file)
    t_early: float = 2.0                # yinyang encoding window (ms)
    t_late: float = 27.0                # yinyang: latest input spike (ms)
    t_bias: float = 0.0                 # yinyang: time of the bias spike (ms)
    duration: float = 30.0              # ms per sample
    n_channels: int = 5                 # sequence task
    gap: float = 5.0                    # sequence task: ms between the input spikes
    root: str = "~/data"                # SHD-layout tasks: folder holding SHD/ or SSC/ (tonic's save_to)
    pool: int = 1                       # sum groups of `pool` neighbouring channels (5: 700 -> 140, as DCLS)
    shift: int = 0                      # augmentation: random channel shift in [-shift, shift] (anchors: 40)
    blend: float = 0.0                  # augmentation: probability of blending with a same-class sample
    stretch: float = 0.0                # augmentation: spike times scaled by a factor in [1 - stretch, 1 + stretch]
    val_speakers: list[int] = field(default_factory=list)   # SHD validation speakers (empty: chosen by val_fraction)
    val_fraction: float = 0.1           # without val_speakers: validate on round(val_fraction x speakers) (>= 1)
    cache: bool = True                  # keep samples in memory after the first read (false: stream every epoch)
    fold: int = -1                      # spoken digits: -1 the fixed split (root/SHD); k: leave-voices-out fold k


@dataclass
class ModelConfig:
    dt: float = 0.1                     # time step (ms)
    hidden: list[int] = field(default_factory=lambda: [100]) # hidden layer sizes
    recurrent: bool = False             # recurrent connections in every hidden layer
    tau_mem: float = 20.0               # membrane time constant (ms)
    tau_syn: float = 5.0                # synaptic time constant (ms)
    v_thresh: float = 1.0               # firing threshold
    slope_floor: float = 0.3            # gradient only: LeakyIntegrateFire.slope_floor (0: exact EventProp)
    readout: str = "max_var"            # max_var | avg_var | sum_var | avg_var_exp_weight
    learn_delays: bool = True           # learn the synaptic delays of feed-forward connections
    readout_delays: bool = False        # hidden -> output synapses get delays too (initialised and learned as the others)
    max_delay_ms: float = 10.0          # largest delay (ms)
    delay_init_ms: list[float] = field(default_factory=lambda: [0.0, 5.0]) # initial delays uniform in [lo, hi] ms
    w_in: list[float] = field(default_factory=lambda: [1.5, 0.8]) # input weights: normal [mean, sd]
    w_hid: list[float] = field(default_factory=lambda: [0.0, 0.1]) # hidden -> hidden (next layer) weights: [mean, sd]
    w_rec: list[float] = field(default_factory=lambda: [0.0, 0.02]) # recurrent weights: [mean, sd]
    w_out: list[float] = field(default_factory=lambda: [0.0, 0.3]) # readout weights: [mean, sd]


@dataclass
class TrainConfig:
    epochs: int = 20                    # training epochs
    batch_size: int = 32                # samples per batch
    lr: float = 3e-3                    # Adam learning rate of the weights
    lr_start: float = 1e-5              # ease-in: the weight learning rate grows geometrically from lr_start to lr
    ease_in_epochs: float = 1.0         # epochs of the ease-in from lr_start to lr
    lr_delay: float = 0.1               # timesteps per unit Adam step (separate optimiser)
    lr_position: float = 1e-3           # Adam learning rate of neuron positions
    schedule: str = "none"              # none | cosine | onecycle
    reg_lambda: float = 0.0             # spike-count regulariser strength (0: off)
    reg_nu: float = 14.0                # target spikes per hidden neuron and sample
    loss_scale: float = 1.0             # readout multiplier before the softmax
    early_stop_patience: int = 10       # epochs without a better validation accuracy
    nan_abort_after: int = 5            # consecutive non-finite batches before the run aborts
    dtype: str = "float32"              # float32 | float64


@dataclass
class SpaceConfig:
    """Neurons in space: the delay of a synapse between two positioned populations is distance / velocity.
    Positions train with their own Adam optimiser (train.lr_position)."""
    dims: int = 0                       # 0: no space; 1..4: coordinates per neuron
    velocity: float = 1.0               # conduction velocity, position units per ms
    populations: list[str] = field(default_factory=lambda: ["input", "hidden", "output"])   # which carry positions
    init: str = "uniform"               # uniform in [0, extent]^dims | gaussian (sd = extent) | layout (file)
    extent: float = 1.0                 # size of the initial layout (box side, or gaussian sd)
    layout: str = ""                    # init = "layout": .npz with a [size, dims] array per population name
    learn_positions: bool = True        # train positions (false: fixed layout)
    free_delays: bool = False           # also learn a free per-synapse delay offset on spatial connections
    cost: float = 0.0                   # connection cost: cost * sum |w_ij| * distance_ij over spatial connections
    cost_kind: str = "distance"         # distance | l1 (the same pressure without distance: the paper's control)
    cost_connections: list[str] = field(default_factory=list)   # where the cost acts (empty: every spatial one)


@dataclass
class StructureConfig:
    """Sparse connections whose connectivity is learned (spec/structure.md): DEEP R removal, RigL reintroduction."""
    connections: list[str] = field(default_factory=lambda: ["in_hid"])   # in_hid, hid0_hid1, hid0_rec, hid_out
    sparsity: float = 0.0               # share of absent synapses (0: dense, no structure learning)
    method: str = "fixed"               # fixed | deep_r | deep_r+rigl
    dale: bool = False                  # one sign per presynaptic neuron
    excitatory: float = 0.8             # share of excitatory presynaptic neurons under Dale's law
    l1: float = 0.0                     # l1 * sum |w| over the structured connections
    period: int = 100                   # RigL: steps between dense backward passes / exchanges
    fraction: float = 0.1               # RigL: share of active synapses exchanged each period
    noise: float = 0.0                  # DEEP R: temperature of the parameter noise (0: off, as the paper)


@dataclass
class RunConfig:
    seed: int = 0
    data: DataConfig = field(default_factory=DataConfig)
    model: ModelConfig = field(default_factory=ModelConfig)
    train: TrainConfig = field(default_factory=TrainConfig)
    space: SpaceConfig = field(default_factory=SpaceConfig)
    structure: StructureConfig = field(default_factory=StructureConfig)

    def to_dict(self) -> dict:
        return dataclasses.asdict(self)

    def dump(self, path: Path) -> None:
        write_atomic(path, tomli_w.dumps(self.to_dict()))


def _flat(data: dict, prefix: str = "") -> dict:
    out = {}
    for k, v in data.items():
        out.update(_flat(v, f"{prefix}{k}.") if isinstance(v, dict) else {prefix + k: v})
    return out


def differences(a: RunConfig | dict, b: RunConfig | dict) -> dict[str, tuple]:
    """Dotted key -> (value in a, value in b) for every key whose values differ."""
    fa, fb = (_flat(x if isinstance(x, dict) else x.to_dict()) for x in (a, b))
    return {k: (fa.get(k), fb.get(k)) for k in sorted(set(fa) | set(fb)) if fa.get(k) != fb.get(k)}


CHOICES = {"data.task": ("yinyang", "sequence", "shd", "ssc", "spoken-digits"), "train.schedule": ("none", "cosine", "onecycle"),
           "train.dtype": ("float32", "float64"), "space.init": ("uniform", "gaussian", "layout"),
           "structure.method": ("fixed", "deep_r", "deep_r+rigl"), "space.cost_kind": ("distance", "l1"),
           "model.readout": ("avg_var_exp_weight", "avg_var", "sum_var", "max_var")}


def _check_value(key: str, value, annotation):
    origin = typing.get_origin(annotation)
    if origin is list:
        (inner,) = typing.get_args(annotation)
        if not isinstance(value, list):
            raise ConfigError(f"config key {key!r}: expected a list, got {type(value).__name__} {value!r}")
        return [_check_value(f"{key}[{i}]", v, inner) for i, v in enumerate(value)]
    if annotation is float:
        if isinstance(value, bool) or not isinstance(value, (int, float)):
            raise ConfigError(f"config key {key!r}: expected a number, got {type(value).__name__} {value!r}")
        if not math.isfinite(value):
            raise ConfigError(f"config key {key!r}: expected a finite number, got {value!r}")
        return float(value)
    if annotation is int:
        if isinstance(value, bool) or not isinstance(value, int):
            raise ConfigError(f"config key {key!r}: expected an integer, got {type(value).__name__} {value!r}")
        return value
    if annotation is bool and not isinstance(value, bool):
        raise ConfigError(f"config key {key!r}: expected true/false, got {type(value).__name__} {value!r}")
    if annotation is str and not isinstance(value, str):
        raise ConfigError(f"config key {key!r}: expected a string, got {type(value).__name__} {value!r}")
    if key in CHOICES and value not in CHOICES[key]:
        raise ConfigError(f"config key {key!r}: must be one of {CHOICES[key]}, got {value!r}")
    return value


def _build(cls, data: dict, prefix: str):
    if not isinstance(data, dict):
        raise ConfigError(f"config section {prefix.rstrip('.')!r} must be a table")
    hints = typing.get_type_hints(cls)
    names = {f.name for f in dataclasses.fields(cls)}
    unknown = sorted(set(data) - names)
    if unknown:
        raise ConfigError(f"unknown config key {prefix + unknown[0]!r} (known in this section: {sorted(names)})")
    kwargs = {}
    for name, value in data.items():
        hint = hints[name]
        if dataclasses.is_dataclass(hint):
            kwargs[name] = _build(hint, value, f"{prefix}{name}.")
        else:
            kwargs[name] = _check_value(prefix + name, value, hint)
    return cls(**kwargs)


SYNTHETIC = ("yinyang", "sequence")      # tasks whose sets are generated: every split needs a size
RANGES = [  # (what the value must be, test, keys)
    ("> 0", lambda v: v > 0, ("model.dt", "model.tau_mem", "model.tau_syn", "model.v_thresh", "train.lr",
                              "train.lr_start", "train.loss_scale", "data.duration")),
    (">= 0", lambda v: v >= 0, ("model.slope_floor", "model.max_delay_ms", "train.ease_in_epochs", "train.lr_delay",
                                "train.lr_position", "train.reg_lambda", "train.reg_nu", "data.n_train", "data.n_val",
                                "data.n_test", "data.shift")),
    (">= -1", lambda v: v >= -1, ("data.fold",)),
    (">= 1", lambda v: v >= 1, ("train.epochs", "train.batch_size", "train.early_stop_patience",
                                "train.nan_abort_after", "data.pool")),
    ("in [0, 1]", lambda v: 0 <= v <= 1, ("data.blend",)),
    ("in [0, 1)", lambda v: 0 <= v < 1, ("data.stretch",)),
    ("in (0, 1)", lambda v: 0 < v < 1, ("data.val_fraction",)),
    ("in 0..4", lambda v: 0 <= v <= 4, ("space.dims",)),
    ("> 0", lambda v: v > 0, ("space.velocity", "space.extent")),
    (">= 0", lambda v: v >= 0, ("space.cost", "structure.l1", "structure.noise")),
    ("in [0, 1)", lambda v: 0 <= v < 1, ("structure.sparsity", "structure.fraction")),
    ("in [0, 1]", lambda v: 0 <= v <= 1, ("structure.excitatory",)),
    (">= 1", lambda v: v >= 1, ("structure.period",)),
]
SPACE_GROUPS = ("input", "hidden", "output")


def check_ranges(cfg: RunConfig) -> None:
    """Value ranges and consistency, checked when a config is loaded (before any folder or kernel exists)."""
    for what, ok, keys in RANGES:
        for key in keys:
            section, name = key.split(".")
            value = getattr(getattr(cfg, section), name)
            if not ok(value):
                raise ConfigError(f"config key {key!r}: must be {what}, got {value!r}")
    m, d = cfg.model, cfg.data
    if not 0 <= cfg.seed < 2 ** 32:
        raise ConfigError(f"config key 'seed': must be an integer in [0, 2^32), got {cfg.seed}")
    if any(h < 1 for h in m.hidden) or not m.hidden:
        raise ConfigError(f"config key 'model.hidden': expected a list of positive layer sizes, got {m.hidden}")
    steps = math.ceil(d.duration / m.dt - 1e-9)
    if steps < 2:
        raise ConfigError(f"config keys 'data.duration' and 'model.dt': a trial of {d.duration:g} ms at dt = "
                          f"{m.dt:g} ms holds {steps} time step(s); it needs at least 2 (lower model.dt)")
    if m.max_delay_ms > d.duration:
        raise ConfigError(f"config key 'model.max_delay_ms': {m.max_delay_ms:g} ms is longer than the trial "
                          f"(data.duration = {d.duration:g} ms); such delays never arrive within it")
    if m.learn_delays and m.max_delay_ms / m.dt < 1:
        raise ConfigError(f"config key 'model.learn_delays': delays cannot be learned when model.max_delay_ms = "
                          f"{m.max_delay_ms:g} allows no delay step (dt = {m.dt:g} ms); raise model.max_delay_ms "
                          f"or set model.learn_delays = false")
    _check_task(cfg)
    if len(m.delay_init_ms) != 2 or not 0 <= m.delay_init_ms[0] <= m.delay_init_ms[1] <= m.max_delay_ms:
        raise ConfigError(f"config key 'model.delay_init_ms': expected [low, high] with 0 <= low <= high <= "
                          f"model.max_delay_ms = {m.max_delay_ms}, got {m.delay_init_ms}")
    for key in ("w_in", "w_hid", "w_rec", "w_out"):
        pair = getattr(m, key)
        if len(pair) != 2 or pair[1] < 0:
            raise ConfigError(f"config key 'model.{key}': expected [mean, sd] with sd >= 0, got {pair}")
    if d.task in SYNTHETIC:
        for key in ("n_train", "n_val", "n_test"):
            if getattr(d, key) < 1:
                raise ConfigError(f"config key 'data.{key}': task {d.task!r} generates its sets, so each needs a "
                                  f"size >= 1, got {getattr(d, key)}")
    _check_space(cfg)
    _check_structure(cfg)


def _check_task(cfg: RunConfig) -> None:
    """The tasks' own parameters: every synthetic input spike inside the trial; folds only for the spoken digits."""
    d = cfg.data
    if d.fold != -1 and d.task != "spoken-digits":
        raise ConfigError(f"config key 'data.fold': leave-voices-out folds exist for the spoken digits only, got "
                          f"{d.fold} with data.task = {d.task!r}")
    if d.task == "yinyang":
        if not 0 <= d.t_early < d.t_late < d.duration or not 0 <= d.t_bias < d.duration:
            raise ConfigError(f"config keys 'data.t_early', 'data.t_late', 'data.t_bias': need 0 <= t_early < "
                              f"t_late < data.duration and 0 <= t_bias < data.duration, got {d.t_early:g}, "
                              f"{d.t_late:g}, {d.t_bias:g} (duration {d.duration:g} ms)")
    if d.task == "sequence":
        if d.n_channels < 2:
            raise ConfigError(f"config key 'data.n_channels': the sequence task needs >= 2 channels, got "
                              f"{d.n_channels}")
        if d.gap <= 0:
            raise ConfigError(f"config key 'data.gap': must be > 0 ms, got {d.gap:g}")
        last = 2.0 + d.gap * (d.n_channels - 1)        # datasets/sequence.py: first spike at 2 ms
        if last >= d.duration:
            raise ConfigError(f"config key 'data.gap': the last of {d.n_channels} input spikes {d.gap:g} ms apart "
                              f"comes at {last:g} ms, outside the {d.duration:g} ms trial (data.duration)")


def connection_names(m: ModelConfig) -> list[str]:
    """The reference architecture's connection names (models/architectures.py)."""
    names = ["in_hid"] + [f"hid{k - 1}_hid{k}" for k in range(1, len(m.hidden))]
    if m.recurrent:
        names += [f"hid{k}_rec" for k in range(len(m.hidden))]
    return names + ["hid_out"]


def spatial_connections(cfg: RunConfig) -> list[str]:
    """The reference architecture's connections whose two ends carry positions."""
    placed = set(cfg.space.populations) if cfg.space.dims else set()
    ends = {"in_hid": ("input", "hidden"), "hid_out": ("hidden", "output")}
    return [c for c in connection_names(cfg.model) if set(ends.get(c, ("hidden", "hidden"))) <= placed]


def _changed(section, default) -> list[str]:
    return [f.name for f in dataclasses.fields(section) if getattr(section, f.name) != getattr(default, f.name)]


def _check_structure(cfg: RunConfig) -> None:
    st = cfg.structure
    if st.sparsity == 0:
        changed = [k for k in _changed(st, StructureConfig()) if k != "connections"]
        if changed:
            raise ConfigError(f"config key 'structure.{changed[0]}' is set but structure.sparsity = 0 (dense); set "
                              f"structure.sparsity to the share of absent synapses, e.g. 0.875")
        return
    known = connection_names(cfg.model)
    bad = [c for c in st.connections if c not in known]
    if bad or not st.connections or len(set(st.connections)) != len(st.connections):
        raise ConfigError(f"config key 'structure.connections': expected distinct names from {known}, "
                          f"got {st.connections}")


def _check_space(cfg: RunConfig) -> None:
    sp, m = cfg.space, cfg.model
    if sp.dims == 0:
        changed = _changed(sp, SpaceConfig())
        if changed:
            raise ConfigError(f"config key 'space.{changed[0]}' is set but space.dims = 0 (no space); set space.dims "
                              f"to 1..4 to place neurons in space")
        return
    bad = [p for p in sp.populations if p not in SPACE_GROUPS]
    if bad or len(set(sp.populations)) != len(sp.populations):
        raise ConfigError(f"config key 'space.populations': expected distinct names from {SPACE_GROUPS}, "
                          f"got {sp.populations}")
    placed = set(sp.populations)
    if not ({"input", "hidden"} <= placed or {"hidden", "output"} <= placed or
            ("hidden" in placed and (m.recurrent or len(m.hidden) > 1))):
        raise ConfigError(f"config key 'space.populations': {sp.populations} places no connection in space (both "
                          f"ends of a connection need positions)")
    spatial = spatial_connections(cfg)
    bad = [c for c in sp.cost_connections if c not in spatial]
    if bad or len(set(sp.cost_connections)) != len(sp.cost_connections):
        raise ConfigError(f"config key 'space.cost_connections': expected distinct spatial connections from "
                          f"{spatial}, got {sp.cost_connections}")
    if m.max_delay_ms <= 0:
        raise ConfigError("config key 'model.max_delay_ms': spatial delays need a delay range > 0, got "
                          f"{m.max_delay_ms}")
    if (sp.init == "layout") != bool(sp.layout):
        raise ConfigError("config key 'space.layout': give a layout file exactly when space.init = 'layout' "
                          f"(init {sp.init!r}, layout {sp.layout!r})")
    if sp.init == "layout" and not Path(sp.layout).expanduser().is_file():
        raise ConfigError(f"config key 'space.layout': file {sp.layout!r} does not exist")
    if sp.init == "uniform" and sp.extent * math.sqrt(sp.dims) / sp.velocity > m.max_delay_ms:
        raise ConfigError(f"config key 'space.velocity': the initial box's diagonal (extent * sqrt(dims) = "
                          f"{sp.extent * math.sqrt(sp.dims):.3g}) at velocity {sp.velocity:g} needs delays up to "
                          f"{sp.extent * math.sqrt(sp.dims) / sp.velocity:.3g} ms > model.max_delay_ms = "
                          f"{m.max_delay_ms:g}; raise space.velocity or model.max_delay_ms")


def from_dict(data: dict) -> RunConfig:
    cfg = _build(RunConfig, data, "")
    check_ranges(cfg)
    return cfg


def load(path: str | Path) -> RunConfig:
    path = Path(path)
    try:
        data = tomllib.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise ConfigError(f"config file {path} does not exist") from None
    except UnicodeDecodeError:
        raise ConfigError(f"config file {path} is not a text file (not UTF-8); a config is TOML text") from None
    except OSError as e:
        raise ConfigError(f"cannot read config file {path}: {e.strerror}") from None
    except tomllib.TOMLDecodeError as e:
        raise ConfigError(f"config file {path} is not valid TOML: {e}") from None
    return from_dict(data)


def presets() -> list[str]:
    return sorted(p.stem for p in PRESET_DIR.glob("*.toml"))


def preset(name: str) -> RunConfig:
    path = PRESET_DIR / f"{name}.toml"
    if not path.exists():
        raise ConfigError(f"unknown preset {name!r}; available: {', '.join(presets())}")
    return load(path)


def schema() -> list[dict]:
    """Every config key: section, key, type, default, allowed range and the comment beside its field (the source
    of the generated reference page)."""
    import inspect
    ranges = {key: what for what, _, keys in RANGES for key in keys}
    type_name = lambda hint: hint.__name__ if isinstance(hint, type) else str(hint)  # noqa: E731
    out = [{"section": "", "key": "seed", "type": "int", "default": 0, "range": "in [0, 2^32)",
            "help": "initialisation, data order and augmentation"}]
    for f in dataclasses.fields(RunConfig):
        if f.name == "seed":
            continue
        cls, comments = f.default_factory, {}
        for line in inspect.getsource(cls).splitlines():
            name, sep, rest = line.strip().partition(":")
            if sep and name.isidentifier() and "#" in rest:
                comments[name] = rest.split("#", 1)[1].strip()
        default, hints = cls(), typing.get_type_hints(cls)
        for g in dataclasses.fields(cls):
            out.append({"section": f.name, "key": g.name, "type": type_name(hints[g.name]),
                        "default": getattr(default, g.name), "range": ranges.get(f"{f.name}.{g.name}", ""),
                        "help": comments.get(g.name, "")})
    return out
