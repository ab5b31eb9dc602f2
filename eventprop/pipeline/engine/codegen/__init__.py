"""Kernel generation: plan (what the network needs) -> emitter (source for a backend) -> cache (compiled module)."""
from .plan import KernelPlan, make_plan

__all__ = ["KernelPlan", "make_plan"]
