"""The fixed-point network: what Loihi 2 (and our emulator, and the Lava builder) run.

Populations carry Lava's LIF constants (du, dv, vth: one value per population); projections are synapse lists in
CSR order (sorted by presynaptic neuron) with 8-bit integer weights and integer delays in timesteps. A spike of
neuron i at step t adds w to the target's input at step t + 1 + d (Lava's Dense/DelayDense timing).
"""
from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

LOIHI_MAX_DELAY = 62          # netx clamps at 62; Loihi 2 holds 6 bits
VTH_MAX = (1 << 17) - 1       # vth is an unsigned 17-bit register (2^17 wraps to 0: fires at once, seen on chip)
READOUT_VTH = VTH_MAX         # readouts (LI) must never spike: the largest threshold the register holds; v then
                              # has to pass VTH_MAX << 6 = 2^23 - 64, i.e. the last 63 LSB below its saturation
READOUT_VTH_FOREIGN = 1 << 16  # netx files from other tools (ml_genn_netx) mark readouts with this threshold
UV_LIMIT = 1 << 23            # u and v are 24-bit signed
ACT_SHIFT = 6                 # activation and threshold are MSB-aligned by 6 bits


@dataclass
class FxPopulation:
    name: str
    kind: str                 # input | lif | readout | relay
    size: int
    du: int = 0               # Lava LIF du (= netx iDecay - 1)
    dv: int = 0               # Lava LIF dv (= netx vDecay)
    vth: int = 0              # vThMant; spike when v > vth << 6
    scale: float = 1.0        # float value of one weight LSB; V = v * scale / 64
    readout: str = ""         # readout reduction (readout populations)
    tau_mem: float = 0.0      # float constants, kept for reports and the HDF5 metadata
    tau_syn: float = 0.0
    v_thresh: float = 0.0


@dataclass
class FxProjection:
    name: str
    source: str
    target: str
    pre: np.ndarray           # [S] int, sorted
    post: np.ndarray          # [S] int
    weight: np.ndarray        # [S] int, in [-128, 127]
    delay: np.ndarray         # [S] int >= 0
    dense: bool = True        # described as dense (written as a full matrix)

    def matrix(self, n_pre: int, n_post: int, values: np.ndarray | None = None) -> np.ndarray:
        """[N_post, N_pre] matrix of `values` (default: weights), Lava/netx orientation."""
        out = np.zeros((n_post, n_pre), dtype=np.int64)
        out[self.post, self.pre] = self.weight if values is None else values
        return out


@dataclass
class FxNetwork:
    dt: float
    populations: list[FxPopulation]
    projections: list[FxProjection]
    meta: dict = field(default_factory=dict)

    def population(self, name: str) -> FxPopulation:
        for p in self.populations:
            if p.name == name:
                return p
        raise KeyError(f"fixed-point network has no population {name!r}")

    @property
    def inputs(self) -> list[FxPopulation]:
        return [p for p in self.populations if p.kind == "input"]

    @property
    def readouts(self) -> list[FxPopulation]:
        return [p for p in self.populations if p.kind == "readout"]

    def incoming(self, name: str) -> list[FxProjection]:
        return [j for j in self.projections if j.target == name]

    def layout(self) -> tuple[list[FxPopulation], dict[str, int]]:
        """Global neuron order shared by the emulator and the Lava runner: inputs, LIF and relay populations,
        readouts; and each population's offset in it."""
        order = self.inputs + [p for p in self.populations if p.kind in ("lif", "relay")] + self.readouts
        offsets, off = {}, 0
        for p in order:
            offsets[p.name], off = off, off + p.size
        return order, offsets

    @property
    def max_delay(self) -> int:
        return max((int(j.delay.max()) for j in self.projections if j.delay.size), default=0)


@dataclass
class FxResult:
    """What a fixed-point run produced (emulator or Lava): per-sample spike lists sorted by (step, neuron in
    emulator order), readout voltages (integer v and float V = v * scale / 64), spike counts per population."""
    spike_steps: list[np.ndarray]                # [B] arrays of steps (sorted by step, then global id)
    spike_pops: list[np.ndarray]                 # population index into fx.populations
    spike_ids: list[np.ndarray]                  # neuron index within the population
    v: dict[str, np.ndarray]                     # readout -> [B, T, N] int
    voltages: dict[str, np.ndarray]              # readout -> [B, T, N] float (v * scale / 64)
    spike_counts: dict[str, np.ndarray]          # spiking population -> [B, N]
    input_counts: dict[str, np.ndarray] = field(default_factory=dict)   # input population -> [B, N]
