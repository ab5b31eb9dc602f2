"""KernelPlan: everything the kernel emitters need to know about a Network, derived once.

Populations get integer indices; incoming connections of a population that share a synaptic time constant are
merged into one synapse *group* (one input current, one delay ring buffer, one adjoint G = dL/d inSyn). All discrete-time
constants (alpha, beta, IScale, the adjoint's coupling c) are computed here so that every emitter uses the same numbers.
"""
from __future__ import annotations

import math
from dataclasses import dataclass, field

from ....errors import ModelError
from ....models import Network
from ....models.neurons import Equations


@dataclass
class PopPlan:
    index: int
    name: str
    kind: str                 # "input" | "lif" (stateful, spiking) | "li" (stateful readout)
    size: int
    eq: Equations | None = None                        # the model's discrete equations (stateful populations)
    groups: list[int] = field(default_factory=list)    # synapse groups feeding this population
    outgoing: list[int] = field(default_factory=list)  # connections leaving it

    @property
    def alpha(self) -> float:
        return self.eq.alpha

    def __repr__(self) -> str:
        return repr((self.index, self.name, self.kind, self.size, self.eq and self.eq.signature(), self.groups,
                     self.outgoing))

    @property
    def has_state(self) -> bool:
        return self.kind != "input"


@dataclass
class GroupPlan:
    index: int
    target: int               # population index
    tau_s: float
    beta: float               # exp(-dt / tau_s)
    iscale: float             # (tau_s / dt) (1 - beta): inSyn -> interval-average current
    c: float                  # (1 - alpha) IScale: dU_t / d inSyn_t (the adjoint's coupling G <- c Lambda_U + beta G)
    max_delay: int            # the longest delay (steps) of its connections
    pow2: bool = False        # round ring and history lengths up to powers of two (rows wrapped by a mask)
    paired: bool = False      # G and D histories in one [hist_len, N, 2] array (one cache line per arrival read)
    conns: list[int] = field(default_factory=list)

    def hist(self, which: str, row: str, col: str) -> str:
        """Element of the G ("G") or D ("D") history of this group at (row, neuron col)."""
        if self.paired:
            return f"hist_{self.index}[{row}, {col}, {'GD'.index(which)}]"
        return f"hist{which}_{self.index}[{row}, {col}]"

    def ring_row(self, step: str) -> str:
        """Ring row of a step expression (once per step: modulo, which LLVM compiles well for constant lengths)."""
        return f"({step}) % {self.ring_len}"

    def hist_row(self, step: str) -> str:
        """History row of a step expression (as ring_row)."""
        return f"({step}) % {self.hist_len}"

    def event_row(self, expr: str, length: int) -> str:
        """Row of a synapse event (run per event in the fan-out loops, where a modulo's branch mispredicts): a mask
        when the lengths are powers of two, else modulo. `expr` must be non-negative."""
        return f"({expr}) & {length - 1}" if self.pow2 else f"({expr}) % {length}"

    def _length(self, n: int) -> int:
        return 1 << (n - 1).bit_length() if self.pow2 else n

    @property
    def ring_len(self) -> int:
        """Delay ring rows: arrivals at t + 1 .. t + 1 + max_delay, row t is read at step t."""
        return self._length(self.max_delay + 1)

    @property
    def hist_len(self) -> int:
        """Adjoint history length: G and D are read at arrival steps t + 1 .. t + 1 + max_delay, G also at t + 2."""
        return self._length(self.max_delay + 3)


@dataclass
class ConnPlan:
    index: int
    name: str
    source: int
    target: int
    group: int
    sparse: bool
    max_delay: int
    n_pre: int
    n_post: int
    delay_grad: bool          # dL/dd is needed (learned delays, or delays derived from positions)

    @property
    def delayed(self) -> bool:
        return self.max_delay > 0


@dataclass
class KernelPlan:
    dt: float
    pops: list[PopPlan]
    groups: list[GroupPlan]
    conns: list[ConnPlan]

    @property
    def inputs(self) -> list[PopPlan]:
        return [p for p in self.pops if p.kind == "input"]

    @property
    def lifs(self) -> list[PopPlan]:
        return [p for p in self.pops if p.kind == "lif"]

    @property
    def outputs(self) -> list[PopPlan]:
        return [p for p in self.pops if p.kind == "li"]

    @property
    def stateful(self) -> list[PopPlan]:
        return [p for p in self.pops if p.has_state]

    def signature(self) -> str:
        """Text that fully determines the generated code (used for the cache key)."""
        return repr((self.dt, self.pops, self.groups, self.conns))


def make_plan(net: Network, pow2: bool = False, paired: bool = False) -> KernelPlan:
    """pow2: ring and history lengths rounded up to powers of two (the CPU emitter wraps indices with a mask);
    paired: G and D histories side by side in one array (GroupPlan.hist)."""
    net.validate()
    dt = net.dt
    pops: list[PopPlan] = []
    for i, p in enumerate(net.populations):
        if not p.model.has_state:
            pops.append(PopPlan(i, p.name, "input", p.size))
            continue
        eq = p.model.equations(dt)
        if not isinstance(eq, Equations):
            raise ModelError(f"population {p.name!r}: {type(p.model).__name__}.equations() must return Equations")
        pops.append(PopPlan(i, p.name, "lif" if eq.spiking else "li", p.size, eq))
    index = {p.name: i for i, p in enumerate(net.populations)}
    groups: list[GroupPlan] = []
    conns: list[ConnPlan] = []
    for ci, c in enumerate(net.connections):
        src, tgt = index[c.source.name], index[c.target.name]
        tau_s = float(c.synapse.tau)
        group = next((g for g in groups if g.target == tgt and g.tau_s == tau_s), None)
        if group is None:
            beta = math.exp(-dt / tau_s)
            iscale = tau_s / dt * (1.0 - beta)
            group = GroupPlan(len(groups), tgt, tau_s, beta, iscale, (1.0 - pops[tgt].alpha) * iscale, 0, pow2,
                              paired)
            groups.append(group)
            pops[tgt].groups.append(group.index)
        group.conns.append(ci)
        group.max_delay = max(group.max_delay, c.max_delay_steps)
        pops[src].outgoing.append(ci)
        conns.append(ConnPlan(ci, c.name, src, tgt, group.index, c.sparse, c.max_delay_steps,
                              c.source.size, c.target.size, c.max_delay_steps > 0 and (c.learn_delays or c.spatial)))
    return KernelPlan(dt, pops, groups, conns)
