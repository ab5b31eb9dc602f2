"""`eventprop` command line."""
from __future__ import annotations

import json
import sys
import time
from pathlib import Path

import click
from rich.console import Console
from rich.table import Table

from .pipeline import config as configs
from .pipeline.checkpoints import RunError

console = Console()


def _fail(message: str):
    console.print(f"[bold red]error:[/] {message}")
    sys.exit(2)


def _train(cfg, out: Path, resume: bool, force: bool, quiet: bool | None):
    from .pipeline.trainer import Trainer, prepare_run_dir
    cfg = prepare_run_dir(out, cfg, resume, force)
    trainer = Trainer(cfg, out, quiet=quiet)
    if resume:
        trainer.resume()
    return trainer.fit()


@click.group()
@click.version_option(package_name="eventprop")
def main():
    """EventProp training of spiking networks with learnable delays, and deployment to Loihi 2."""


@main.command()
@click.argument("config_file", required=False, type=click.Path(dir_okay=False, path_type=Path))
@click.option("--preset", help=f"built-in config: {', '.join(configs.presets())}")
@click.option("--out", type=click.Path(file_okay=False, path_type=Path), help="run folder (default runs/<name>)")
@click.option("--epochs", type=int, help="override train.epochs")
@click.option("--seed", type=int, help="override seed")
@click.option("--resume", is_flag=True, help="continue the run in --out from its last checkpoint")
@click.option("--force", is_flag=True, help="replace an existing run folder")
@click.option("--quiet", is_flag=True, default=None, help="one line per epoch instead of progress bars")
def train(config_file, preset, out, epochs, seed, resume, force, quiet):
    """Train from CONFIG_FILE (TOML) or --preset NAME."""
    try:
        if resume and out is None:
            raise RunError("--resume needs --out RUN_FOLDER")
        if resume:
            cfg = None
        elif (config_file is None) == (preset is None):
            raise RunError("give either a CONFIG_FILE or --preset NAME")
        else:
            cfg = configs.load(config_file) if config_file else configs.preset(preset)
        name = preset or (config_file.stem if config_file else None)
        out = out or Path("runs") / name
        if cfg is not None:
            if epochs is not None:
                cfg.train.epochs = epochs
            if seed is not None:
                cfg.seed = seed
        elif epochs is not None or seed is not None:
            # resuming: the stored config rules, except that --epochs may extend the run
            stored = configs.load(out / "config.toml") if (out / "config.toml").exists() else None
            if stored is not None and epochs is not None:
                stored.train.epochs = epochs
                stored.dump(out / "config.toml")
        summary = _train(cfg, out, resume, force, quiet)
    except (RunError, ValueError) as e:
        _fail(str(e))
    console.print(f"run folder: {out}")
    console.print_json(json.dumps(summary))


@main.command()
@click.option("--out", type=click.Path(file_okay=False, path_type=Path), default=Path("runs/demo"),
              show_default=True)
@click.option("--epochs", type=int, default=None, help="override the preset's epoch count")
def demo(out, epochs):
    """The embedded default: Yin-Yang with learned delays next to the same net without delays (CPU)."""
    rows = []
    for name in ("yinyang-delays", "yinyang"):
        cfg = configs.preset(name)
        if epochs is not None:
            cfg.train.epochs = epochs
        console.rule(f"training preset {name}")
        t0 = time.perf_counter()
        try:
            summary = _train(cfg, out / name, resume=False, force=True, quiet=None)
        except (RunError, ValueError) as e:
            _fail(str(e))
        rows.append((name, summary, time.perf_counter() - t0))
    table = Table(title="Yin-Yang, EventProp on CPU")
    for col in ("preset", "epochs", "best val %", "test %", "seconds"):
        table.add_column(col, justify="right")
    for name, s, secs in rows:
        table.add_row(name, str(s["epochs"]), f"{100 * s['best_val_acc']:.1f}", f"{100 * s['test_acc']:.1f}",
                      f"{secs:.0f}")
    console.print(table)
    console.print(f"run folders under {out} (metrics.jsonl, plots/training.png, best.pt)")


if __name__ == "__main__":
    main()
