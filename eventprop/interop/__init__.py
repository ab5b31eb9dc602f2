"""Interop with the field: mlGeNN checkpoints in, NIR out and in, NeuroBench metrics."""
