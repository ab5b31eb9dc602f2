"""Training on top of the engine: run configs and presets, datasets and networks from a config (tasks.py), the
Trainer, structure learning (DEEP R / RigL), data-parallel collectives, checkpoints and run folders."""
