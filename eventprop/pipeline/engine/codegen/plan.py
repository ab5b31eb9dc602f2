"""KernelPlan: everything the kernel emitters need to know about a Network, derived once.

Populations get integer indices; incoming connections of a population that share a synaptic time constant are
merged into one synapse *group* (one input current, one delay ring buffer, one adjoint G = dL/d inSyn). All discrete-time
constants (alpha, beta, IScale, the adjoint's coupling c) are computed here so that every emitter uses the same numbers.
"""
from __future__ import annotations

import math
from dataclasses import dataclass, field

from ....models import LeakyIntegrate, LeakyIntegrateFire, Network, SpikeInput


@dataclass
class PopPlan:
    index: int
    name: str
    kind: str                 # "input" | "lif" | "li"
    size: int
    tau_m: float = 0.0
    alpha: float = 0.0        # exp(-dt / tau_m)
    theta: float = 0.0        # LIF threshold
    slope_floor: float = 0.0  # LIF: lower bound of tau_m dV/dt at a crossing in the backward pass, in units of theta
    groups: list[int] = field(default_factory=list)    # synapse groups feeding this population
    outgoing: list[int] = field(default_factory=list)  # connections leaving it

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
    ring_len: int             # max delay of its connections + 1
    conns: list[int] = field(default_factory=list)

    @property
    def hist_len(self) -> int:
        """Adjoint history length: G and D are read at arrival steps t + 1 .. t + ring_len, G also at t + 2."""
        return self.ring_len + 2


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


def make_plan(net: Network) -> KernelPlan:
    net.validate()
    dt = net.dt
    pops: list[PopPlan] = []
    for i, p in enumerate(net.populations):
        m = p.model
        if isinstance(m, SpikeInput):
            pops.append(PopPlan(i, p.name, "input", p.size))
        elif isinstance(m, (LeakyIntegrateFire, LeakyIntegrate)):
            kind = "lif" if isinstance(m, LeakyIntegrateFire) else "li"
            pops.append(PopPlan(i, p.name, kind, p.size, tau_m=float(m.tau_mem), alpha=math.exp(-dt / m.tau_mem),
                                theta=float(getattr(m, "v_thresh", 0.0)),
                                slope_floor=float(getattr(m, "slope_floor", 0.0))))
        else:
            raise ValueError(f"Population {p.name!r}: neuron model {type(m).__name__} is not supported by the engine")
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
            group = GroupPlan(len(groups), tgt, tau_s, beta, iscale, (1.0 - pops[tgt].alpha) * iscale, 1)
            groups.append(group)
            pops[tgt].groups.append(group.index)
        group.conns.append(ci)
        group.ring_len = max(group.ring_len, c.max_delay_steps + 1)
        pops[src].outgoing.append(ci)
        conns.append(ConnPlan(ci, c.name, src, tgt, group.index, c.sparse, c.max_delay_steps,
                              c.source.size, c.target.size, c.max_delay_steps > 0 and (c.learn_delays or c.spatial)))
    return KernelPlan(dt, pops, groups, conns)
