"""Kernel argument names shared by the emitters and the engines (one place defines them)."""
from __future__ import annotations

from .model_logic import SPIKE_FLOATS
from .plan import KernelPlan


def input_args(plan: KernelPlan) -> list[str]:
    args = ["n_steps"]
    for p in plan.inputs:
        args += [f"in_step_{p.index}", f"in_id_{p.index}", f"in_n_{p.index}"]
    return args


def param_args(plan: KernelPlan) -> list[str]:
    args = []
    for c in plan.conns:
        args.append(f"w_{c.index}")
        if c.delayed:
            args.append(f"d_{c.index}")
        if c.sparse:
            args += [f"row_{c.index}", f"post_{c.index}"]
    return args


def record_args(plan: KernelPlan) -> list[str]:
    args = []
    for p in plan.lifs:
        args += [f"spk_step_{p.index}", f"spk_id_{p.index}", *(f"spk_{x}_{p.index}" for x in SPIKE_FLOATS),
                 f"spk_n_{p.index}"]
    return args


def grad_args(plan: KernelPlan) -> list[str]:
    """Incoming loss gradients (readout voltages, spike counts), then the outgoing parameter gradients."""
    out = [f"gv_{p.index}" for p in plan.outputs] + [f"gc_{p.index}" for p in plan.lifs]
    for c in plan.conns:
        out.append(f"gw_{c.index}")
        if c.delay_grad:
            out.append(f"gd_{c.index}")
    return out
