"""`eventprop` command line."""
from __future__ import annotations

import json
import os
import sys
import time
import warnings
from contextlib import nullcontext
from pathlib import Path

import click
from rich.console import Console
from rich.markup import escape
from rich.table import Table

from .errors import EventpropError, RunError
from .pipeline.training import config as configs

console = Console()


def _fail(message: str):
    console.print(f"[bold red]error:[/] {escape(message)}", soft_wrap=True)
    sys.exit(2)


def _train(cfg, out: Path, resume: bool, force: bool, quiet: bool | None, device: str = "cpu",
           dist_timeout: float = 300.0):
    from .pipeline.training.trainer import start_run
    trainer = start_run(cfg, out, resume, force, quiet=quiet, device=device, dist_timeout=dist_timeout)
    try:
        summary = trainer.fit()
        trainer.dist.finish()
        return summary
    except KeyboardInterrupt:
        if trainer.dist.is_main:
            console.print(f"[yellow]interrupted[/] after epoch {trainer.epoch} of {trainer.cfg.train.epochs}; "
                          f"continue with: eventprop train --resume --out {escape(str(out))}", soft_wrap=True)
        sys.exit(130)
    finally:
        trainer.close()


def _show_warning(message, category, filename, lineno, file=None, line=None):
    console.print(f"[yellow]warning:[/] {escape(str(message))}", soft_wrap=True)


@click.group()
@click.version_option(package_name="eventprop")
def main():
    """EventProp training of spiking networks with learnable delays, and deployment to Loihi 2."""
    warnings.showwarning = _show_warning      # eventprop's warnings read like its other messages


@main.command()
@click.argument("config_file", required=False, type=click.Path(dir_okay=False, path_type=Path))
@click.option("--preset", help=f"built-in config: {', '.join(configs.presets())}")
@click.option("--out", type=click.Path(file_okay=False, path_type=Path), help="run folder (default runs/<name>)")
@click.option("--epochs", type=int, help="override train.epochs")
@click.option("--seed", type=int, help="override seed")
@click.option("--resume", is_flag=True, help="continue the run in --out from its last checkpoint")
@click.option("--force", is_flag=True, help="replace an existing run folder")
@click.option("--quiet", is_flag=True, default=None, help="one line per epoch instead of progress bars")
@click.option("--device", type=click.Choice(["cpu", "cuda"]), default="cpu", show_default=True,
              help="cuda: generated numba-cuda kernels on an NVIDIA GPU")
@click.option("--dist-timeout", type=float, default=300.0, show_default=True,
              help="under torchrun: seconds a rank waits for the others before the run stops with an error")
def train(config_file, preset, out, epochs, seed, resume, force, quiet, device, dist_timeout):
    """Train from CONFIG_FILE (TOML) or --preset NAME. Data-parallel on several processes or machines when started
    by torchrun: `torchrun --nproc-per-node N -m eventprop train ...` (gloo on CPUs, NCCL with --device cuda)."""
    try:
        if resume and out is None:
            raise RunError("--resume needs --out RUN_FOLDER")
        if resume and force:
            raise RunError("--resume continues a run and --force replaces it: give one of them")
        if config_file is not None and preset is not None:
            raise RunError("give either a CONFIG_FILE or --preset NAME, not both")
        if not resume and config_file is None and preset is None:
            raise RunError("give either a CONFIG_FILE or --preset NAME")
        cfg = configs.load(config_file) if config_file else configs.preset(preset) if preset else None
        out = out or Path("runs") / (preset or config_file.stem)
        if cfg is not None:
            if epochs is not None:
                cfg.train.epochs = epochs
            if seed is not None:
                cfg.seed = seed
            configs.check_ranges(cfg)        # the overrides too (--seed -1, --epochs 0)
        if not resume:
            summary = _train(cfg, out, resume, force, quiet, device, dist_timeout)
        else:
            summary = _resume(cfg, out, epochs, seed, quiet, device, dist_timeout)
    except EventpropError as e:
        _fail(str(e))
    if summary.get("world_size", 1) > 1 and int(os.environ.get("RANK", "0")) > 0:
        return
    console.print(f"run folder: {out}")
    console.print_json(json.dumps(summary))


def _resume(cfg, out: Path, epochs, seed, quiet, device, dist_timeout):
    """--resume: the run folder is locked before its config is read or --epochs written into it."""
    from .pipeline.training.folders import run_locked
    if seed is not None:
        raise RunError("--seed cannot change a resumed run (its seed is part of the stored config and of the "
                       "checkpointed random state); start a new run instead")
    if not (out / "config.toml").exists():
        raise RunError(f"cannot resume: {out} holds no run (no config.toml)")
    main_rank = os.environ.get("RANK", "0") == "0"         # under torchrun: rank 0 owns the run folder
    with run_locked(out, "eventprop train --resume") if main_rank else nullcontext():
        stored = configs.load(out / "config.toml")
        if epochs is not None and epochs != stored.train.epochs:
            if stored.train.schedule != "none":
                raise RunError(f"--epochs {epochs}: this run's {stored.train.schedule!r} learning-rate schedule "
                               f"spans its {stored.train.epochs} epochs, so a longer run would not be the same as "
                               f"an uninterrupted {epochs}-epoch run; start a new run with --epochs {epochs}")
            stored.train.epochs = epochs
            if main_rank:
                stored.dump(out / "config.toml")
        return _train(cfg, out, True, False, quiet, device, dist_timeout)


def _deploy_table(name: str, rep: dict) -> Table:
    table = Table(title=f"{name}: float vs Loihi 2 fixed point ({rep['samples']} test samples)")
    for col in ("float %", "emulator %", "lava %", "drop (pt)", "synaptic ops", "spikes", "energy uJ*"):
        table.add_column(col, justify="right")
    lava = f"{100 * rep['lava_acc']:.1f}" if "lava_acc" in rep else "-"
    ops = rep["ops"]["totals"]
    table.add_row(f"{100 * rep['float_acc']:.1f}", f"{100 * rep['emulator_acc']:.1f}", lava,
                  f"{100 * (rep['float_acc'] - rep['fixed_acc']):.2f}", f"{ops['synaptic_ops']:.0f}",
                  f"{ops['spikes']:.0f}", f"{rep['ops']['energy_uj_per_sample']:.3f}")
    table.caption = f"* per sample, {rep['ops']['energy_model']}"
    return table


def _parity_table(name: str, rep: dict) -> Table:
    table = Table(title=f"{name}: spike-by-spike parity ({rep['samples']} test samples)")
    for col in ("comparison", "spike-exact samples", "spikes in common", "first divergence (sample, layer, neuron, step)"):
        table.add_column(col)
    rows = [("float_vs_emulator", "float vs emulator"), ("emulator_vs_lava", "emulator vs Lava fixed_pt")]
    if "emulator_vs_netx" in rep:
        rows.append(("emulator_vs_netx", f"emulator vs lava-dl netx (file says netx_compatible = "
                                         f"{rep['emulator_vs_netx']['file_says_netx_compatible']})"))
    for key, label in rows:
        r, d = rep[key], rep[key].get("first_divergence")
        where = r.get("refused") or ("-" if d is None else f"{d['sample']}, {d['layer']}, {d['neuron']}, {d['step']}")
        common = f"{100 * r['spike_agreement']:.1f} %" if "spike_agreement" in r else "-"
        table.add_row(label, f"{100 * r['exact_samples']:.0f} %", common, escape(where))
    acc, tm = rep["accuracy"], rep["float_vs_emulator"]["timing"]
    table.caption = (f"accuracy float {100 * acc['float']:.1f} %, emulator {100 * acc['emulator']:.1f} %, "
                     f"Lava {100 * acc['lava']:.1f} %. Float vs fixed point: {100 * tm['paired']:.1f} % of spikes "
                     f"pair up neuron by neuron, {100 * tm['within_1_step']:.1f} % of those within one step "
                     f"(mean offset {tm['mean_offset_steps']:+.2f} steps). Float vs emulator is not meant to be "
                     f"spike-exact (8-bit weights and 12-bit decays shift spikes by a step or so); the emulator vs "
                     f"Lava row is the exactness check and must read 100 %")
    return table


@main.command()
@click.argument("run", type=click.Path(path_type=Path))
@click.option("--target", type=click.Choice(["emulator", "lava-sim", "loihi2"]), default="emulator",
              show_default=True, help="where the fixed-point network runs")
@click.option("--samples", type=int, help="test samples (default: all for the emulator, 100 for Lava)")
@click.option("--long-delays", "long_delays", type=click.Choice(["error", "clip", "relay"]), default="error",
              show_default=True, help="delays above 62 steps: refuse, clamp, or realise with relay neurons")
@click.option("--percentile", type=float, default=99.0, show_default=True, help="weight-scale percentile")
@click.option("--timeout", type=float, default=600.0, show_default=True, help="seconds before a Lava run is killed")
def deploy(run, target, samples, long_delays, percentile, timeout):
    """Quantise RUN's network, write RUN/loihi/model.h5, report float vs fixed-point accuracy."""
    from .workflows import deploy as run_deploy
    try:
        rep = run_deploy(run, target, samples, long_delays, percentile, timeout)
    except EventpropError as e:
        _fail(str(e))
    console.print(_deploy_table(str(run), rep))
    if rep["unfinished_training"]:
        console.print(f"[yellow]note:[/] the run's training is unfinished ({rep['unfinished_training']}): this is "
                      f"its best checkpoint so far", soft_wrap=True)
    console.print(f"wrote {run / 'loihi' / 'model.h5'} and {run / 'loihi' / 'deploy.json'}")
    for note in rep["netx_notes"]:
        console.print(f"[yellow]model.h5 and lava-dl netx:[/] {escape(note)}", soft_wrap=True)


@main.command()
@click.argument("run", type=click.Path(path_type=Path))
@click.option("--samples", type=int, help="test samples to compare (default: 20, or all when fewer)")
@click.option("--timeout", type=float, default=600.0, show_default=True, help="seconds before a Lava run is killed")
@click.option("--netx", is_flag=True, help="also run RUN/loihi/model.h5 through lava-dl's own netx.hdf5.Network "
              "(one fresh network per sample) and compare it with the emulator")
def parity(run, samples, timeout, netx):
    """Float vs emulator vs Lava fixed_pt, spike for spike; exit code 1 if the emulator and Lava (or netx) disagree."""
    from .workflows import parity_check
    try:
        rep = parity_check(run, samples, timeout, netx=netx)
    except EventpropError as e:
        _fail(str(e))
    console.print(_parity_table(str(run), rep))
    if not rep["ok"]:
        console.print("[bold red]the emulator and Lava" + (" or netx" if netx else "") + " disagree[/] (see "
                      "RUN/loihi/parity.json)")
        sys.exit(1)


@main.command("bench")
@click.argument("run", type=click.Path(path_type=Path))
@click.option("--samples", type=int, help="test samples for the counts (default: 100, or all when fewer)")
@click.option("--lava-samples", type=int, default=2, show_default=True, help="samples timed on Lava (0: skip)")
@click.option("--timeout", type=float, default=600.0, show_default=True, help="seconds before a Lava run is killed")
def bench_cmd(run, samples, lava_samples, timeout):
    """Latency, synaptic ops, spikes and energy per sample of RUN's deployed network (table + plots/energy.png)."""
    from .workflows import bench
    try:
        rep = bench(run, samples, lava_samples, timeout)
    except EventpropError as e:
        _fail(str(e))
    table = Table(title=f"per sample: {rep['samples']} test samples, {rep['steps_per_sample']} steps "
                        f"({rep['model_time_ms']:g} ms)")
    for col in ("layer", "spikes", "synaptic ops", "neuron updates"):
        table.add_column(col, justify="right")
    for name, layer in rep["ops"]["layers"].items():
        table.add_row(name, f"{layer['spikes']:.1f}", f"{layer['synaptic_ops']:.0f}", f"{layer['neuron_updates']:.0f}")
    console.print(table)
    lava = f", Lava fixed_pt {rep['lava_ms_per_step']:.2f} ms/step" if "lava_ms_per_step" in rep else ""
    nb = rep["neurobench"]
    notes = [f"energy {rep['ops']['energy_uj_per_sample']:.3f} uJ/sample ({rep['ops']['energy_model']})",
             f"emulator {rep['emulator_ms_per_sample_batch1']:.2f} ms/sample at batch 1, "
             f"{rep['emulator_ms_per_sample_batched']:.3f} batched{lava}",
             f"NeuroBench (float net): footprint {nb['footprint_bytes']:,} B, connection sparsity "
             f"{nb['connection_sparsity']:.3f}, activation sparsity {nb['activation_sparsity']:.4f}, Effective_ACs "
             f"{nb['synaptic_operations']['Effective_ACs']:.0f}, Dense {nb['synaptic_operations']['Dense']:.3g} "
             f"per sample"]
    plat = Table(title="per sample, side by side (Loihi 2: no chip here; its energy estimated from op counts)")
    for col in ("platform", "batch 1 ms", "batched ms", "energy uJ", "energy"):
        plat.add_column(col, justify="right")
    plat.add_row("Loihi 2", "-", "-", f"{rep['ops']['energy_uj_per_sample']:.3f}", "estimated")
    plat.add_row("emulator (CPU)", f"{rep['emulator_ms_per_sample_batch1']:.2f}",
                 f"{rep['emulator_ms_per_sample_batched']:.3f}", "-", "-")
    for h in rep["host"]:
        energy = "-" if h["energy_uj_per_sample"] is None else f"{h['energy_uj_per_sample']:.1f}"
        kind, _, why = h["energy"].partition(":")
        plat.add_row(f"float ({h['device']})", f"{h['ms_per_sample_batch1']:.2f}",
                     f"{h['ms_per_sample_batched']:.3f}", energy, kind)
        if why:
            notes.append(f"float model ({h['device']}) energy {kind}:{why}")
    for note in notes:
        console.print(escape(note), soft_wrap=True)
    console.print(plat)
    console.print(f"wrote {run / 'loihi' / 'bench.json'}, {run / 'plots' / 'energy.png'} and "
                  f"{run / 'plots' / 'platforms.png'}")


def _fmt(x, spec=".3f"):
    return "-" if x is None else format(x, spec)


def _analysis_table(name: str, rep: dict) -> Table:
    table = Table(title=f"{name}: what emerged (initial -> trained)")
    table.add_column("measure")
    table.add_column("initial", justify="right")
    table.add_column("trained", justify="right")
    g0, g1 = rep["graph"]["initial"], rep["graph"]["trained"]
    for key, label in (("clustering", "clustering C"), ("path_length", "path length L"),
                       ("sigma", "small-world sigma"), ("omega", "small-world omega"), ("modularity", "modularity Q")):
        table.add_row(label, _fmt(g0[key]), _fmt(g1[key]))
    for conn, loc in rep["locality"]["trained"].items():
        start = rep["locality"]["initial"][conn]
        table.add_row(f"{conn}: Spearman(|w|, distance)", _fmt(start["spearman_w_distance"]),
                      _fmt(loc["spearman_w_distance"]))
        if loc["knn_weight_share"] is not None:
            table.add_row(f"{conn}: |w| share from {loc['k']} nearest (chance {loc['knn_chance']:.2f})",
                          _fmt(start["knn_weight_share"]), _fmt(loc["knn_weight_share"]))
    sat = rep.get("space_as_time", {})
    if "recurrent" in sat:
        r = sat["recurrent"]
        c, q = r["clustering"], r["modularity"]
        table.add_row(f"{r['connection']}: clustering / weight-shuffled (the paper's ratio)", "",
                      f"{_fmt(c['clustering'])} / {_fmt(c['null'])} = {_fmt(c['ratio'], '.2f')}")
        table.add_row(f"{r['connection']}: directed modularity Q (weight / row shuffles)", "",
                      f"{q['q']:.3f} ({q['q_weight_shuffle']:.3f} / {q['q_row_shuffle']:.3f})")
        if "wiring_efficiency" in r:
            table.add_row(f"{r['connection']}: wiring efficiency, all / {r['active_neurons']} active", "",
                          f"{_fmt(r['wiring_efficiency'])} / {_fmt(r['wiring_efficiency_active'])}")
    if sat.get("channel_map", {}).get("mantel"):
        m = sat["channel_map"]["mantel"]
        table.add_row("channel distance vs preferred-position distance (Mantel r, p)", "", f"{m['r']:.3f} ({m['p_value']:.2g})")
    sp = rep["specialisation"]
    table.add_row("hidden0 active neurons / selectivity", "",
                  f"{sp['active_neurons']}/{sp['neurons']} / {_fmt(sp['mean_selectivity'], '.2f')}")
    for key, label in (("moran_preference", "Moran's I class preference (p)"),
                       ("moran_selectivity", "Moran's I selectivity (p)")):
        if key in sp:
            table.add_row(label, "", f"{sp[key]['I']:.3f} ({sp[key]['p_value']:.3g})")
    if "community_class_ami" in sp:
        table.add_row("communities vs class preference (AMI)", "", _fmt(sp["community_class_ami"]))
    for conn, rf in rep["receptive_fields"].items():
        table.add_row(f"{conn}: median max Moran's I of {rf['fields']} {rf['target']} fields ({rf['marks']})",
                      _fmt(rf["median_initial"]),
                      _fmt(rf["median_trained"]))
        table.add_row(f"{conn}: Mann-Whitney trained vs initial", "",
                      f"U = {rf['mann_whitney_u']:.0f}, p = {rf['p_value']:.2g}")
        table.add_row(f"{conn}: vs fill-preserving null (median {rf['median_null']:.3f})", "",
                      f"U = {rf['null_mann_whitney_u']:.0f}, p = {rf['null_p_value']:.2g}")
        h0, h1 = rf["delay_histogram"]["initial"], rf["delay_histogram"]["trained"]
        table.add_row(f"{conn}: delays at the bounds 0 / max", f"{h0['share_at_0']:.2f} / {h0['share_at_max']:.2f}",
                      f"{h1['share_at_0']:.2f} / {h1['share_at_max']:.2f}")
    table.caption = f"graph: {g1['scope']}, strongest {100 * g1['density']:g} % of |w|"
    return table


@main.command()
@click.argument("run", type=click.Path(path_type=Path))
@click.option("--density", type=float, default=0.1, show_default=True, help="share of strongest |w| kept as edges")
@click.option("--permutations", type=int, default=999, show_default=True, help="label shuffles for Moran's I p-values")
@click.option("--k", type=int, default=8, show_default=True, help="nearest neighbours (locality, Moran weights)")
@click.option("--seed", type=int, default=0, show_default=True, help="seed of the random references and shuffles")
@click.option("--rf-fields", type=int, default=32, show_default=True, help="receptive fields per delayed connection")
@click.option("--rf-permutations", type=int, default=200, show_default=True,
              help="random row orders per receptive field (the paper: 2000)")
@click.option("--rf-target", type=click.Choice(["hidden", "output"]), default="hidden", show_default=True,
              help="fields of the connection's own targets, or of the output neurons (hidden fields summed through "
                   "hid_out's weights, the Frontiers 2024 paper's)")
@click.option("--rf-marks", type=click.Choice(["weight", "sign"]), default="weight", show_default=True,
              help="what a synapse places at its delay: its weight, or its sign (the paper's)")
def analyze(run, density, permutations, k, seed, rf_fields, rf_permutations, rf_target, rf_marks):
    """Layouts, small-world and modularity, locality, class specialisation and receptive fields (Moran's I, trained
    vs initial) of RUN's trained network."""
    from .analyze import analyze as run_analysis
    try:
        with console.status("analysing (reference graphs, test-set spike counts, receptive-field permutations)"):
            rep = run_analysis(run, density, permutations, k, seed, rf_fields=rf_fields,
                               rf_permutations=rf_permutations, rf_target=rf_target, rf_marks=rf_marks)
    except EventpropError as e:
        _fail(str(e))
    console.print(_analysis_table(str(run), rep))
    console.print(f"wrote {run / 'analysis' / 'network.json'}" +
                  (f" and {run / 'plots'}/layout_*.png" if (run / "plots" / "layout_trained.png").exists() else ""))


@main.command("export-nir")
@click.argument("run", type=click.Path(path_type=Path))
@click.argument("out", type=click.Path(dir_okay=False, path_type=Path))
@click.option("--for", "consumer", type=click.Choice(["snntorch", "norse"]),
              help="write the graph for that consumer's NIR importer (its discrete reading of CubaLIF; layered "
                   "networks without delays; recurrent ones for norse only)")
def export_nir(run, out, consumer):
    """Write RUN's trained network as a NIR graph (per-synapse delays expanded into Linear -> Delay -> Linear)."""
    from .interop.nir_io import export_run
    try:
        sizes = export_run(run, out, consumer)
    except EventpropError as e:
        _fail(str(e))
    table = Table(title=f"{out}: NIR graph of {run}")
    for col in ("connection", "nodes", "delay channels", "matrix entries"):
        table.add_column(col, justify="right")
    for name, s in sizes.items():
        table.add_row(name, str(s["nodes"]), f"{s['channels']:,}", f"{s['entries']:,}")
    console.print(table)


@main.command("import-mlgenn")
@click.argument("checkpoint_dir", type=click.Path(file_okay=False, path_type=Path))
@click.option("--config", "config_file", required=True, type=click.Path(dir_okay=False, path_type=Path),
              help="eventprop config describing the same network (and its dataset)")
@click.option("--epoch", type=int, required=True, help="checkpoint epoch (file prefix <epoch>-)")
@click.option("--out", type=click.Path(file_okay=False, path_type=Path), required=True, help="run folder to create")
@click.option("--map", "mapping", multiple=True, help="OURS=THEIRS connection name, e.g. in_hid=Conn_Pop0_Pop1")
@click.option("--force", is_flag=True, help="replace an existing run folder")
def import_mlgenn(checkpoint_dir, config_file, epoch, out, mapping, force):
    """Turn an mlGeNN checkpoint (<epoch>-<connection>-g.npy / -d.npy) into a run folder for deploy/parity/bench."""
    from .interop.mlgenn_checkpoints import import_checkpoint
    try:
        names = {}
        for item in mapping:
            ours, sep, theirs = item.partition("=")
            if not sep or not ours or not theirs:
                raise RunError(f"--map expects OURS=THEIRS, got {item!r}")
            names[ours] = theirs
        summary = import_checkpoint(checkpoint_dir, configs.load(config_file), epoch, out, names, force)
    except EventpropError as e:
        _fail(str(e))
    console.print_json(json.dumps(summary))
    console.print(f"run folder: {out} (next: eventprop deploy {out})")


@main.group()
def data():
    """Prepare and inspect datasets (SHD/SSC via tonic, offline spoken digits)."""


@data.command()
@click.argument("name", type=click.Choice(["shd", "ssc"]))
@click.option("--root", type=click.Path(file_okay=False, path_type=Path), default=Path("~/data"), show_default=True,
              help="folder to download into (tonic's save_to)")
def fetch(name, root):
    """Download SHD or SSC with tonic's downloader (needs internet)."""
    import tonic
    root = root.expanduser()
    splits = {"shd": [dict(train=True), dict(train=False)],
              "ssc": [dict(split="train"), dict(split="valid"), dict(split="test")]}[name]
    cls = tonic.datasets.SHD if name == "shd" else tonic.datasets.SSC
    folder = root / cls.__name__
    existed = folder.exists()
    try:
        for kw in splits:
            cls(save_to=str(root), **kw)
    except OSError as e:   # URLError, socket timeouts and HTTP errors are all OSErrors
        if not existed and folder.is_dir() and not any(folder.iterdir()):
            folder.rmdir()                       # the empty folder tonic made before the download failed
        _fail(f"could not download {name.upper()} from {cls.base_url} ({e}); are you offline? Copy the .h5 files "
              f"to {folder} instead")
    console.print(f"{name.upper()} is in {root / cls.__name__}")


@data.command("spoken-digits")
@click.option("--out", type=click.Path(file_okay=False, path_type=Path), default=Path("data/spoken-digits"),
              show_default=True)
@click.option("--channels", type=click.IntRange(1, 2048), default=140, show_default=True, help="cochlea channels")
@click.option("--speeds", default="130,165,200", show_default=True, help="espeak-ng words per minute")
@click.option("--pitches", default="35,50,65", show_default=True, help="espeak-ng pitches (0-99)")
@click.option("--frontend", type=click.Choice(["logmel", "lauscher"]), default="logmel", show_default=True,
              help="cochlea model: fast log-mel + integrate-and-fire, or lauscher (SHD's own; ~1 s per utterance)")
@click.option("--voices", "voice_set", type=click.Choice(["default", "extended"]), default="default",
              show_default=True, help="default: espeak-ng's 11 variants; extended: 26 more espeak-ng variants and "
              "flite's and festival's voices (English; each engine when installed)")
@click.option("--folds", type=click.IntRange(0, 64), default=0, show_default=True,
              help="also write K leave-voices-out splits under OUT/folds/fold-k (config data.fold = k); 0: none")
def spoken_digits(out, channels, speeds, pitches, frontend, voice_set, folds):
    """Speak 0-9 in English and German (espeak-ng; English also flite and festival with --voices extended), encode
    to spikes, write the SHD layout under OUT/SHD/ (test voices never heard in training) and OUT/folds/."""
    from .datasets.spoken_digits import SpeechError, generate
    try:
        speed_list, pitch_list = ([int(v) for v in arg.split(",")] for arg in (speeds, pitches))
    except ValueError:
        _fail("--speeds and --pitches take comma-separated integers")
    if not all(80 <= v <= 450 for v in speed_list) or not all(0 <= v <= 99 for v in pitch_list):
        _fail(f"--speeds must lie in 80..450 words per minute and --pitches in 0..99 (espeak-ng's ranges), got "
              f"{speeds} and {pitches}")
    try:
        summary = generate(out, channels, speed_list, pitch_list, frontend=frontend, voice_set=voice_set,
                           folds=folds)
    except (SpeechError, ValueError) as e:
        _fail(str(e))
    for note in summary["notes"]:
        console.print(f"[yellow]note:[/] {escape(note)}", soft_wrap=True)
    console.print(f"wrote {summary['train']} train / {summary['test']} test utterances to {out / 'SHD'} in "
                  f"{summary['seconds']:.0f} s ({summary['seconds_per_1000']:.0f} s per 1000; "
                  f"{summary['spikes_per_sample']:.0f} spikes per utterance); use data.root = \"{out}\". The empty "
                  f"shd_*.h5.zip files beside them tell tonic's SHD reader that the set is present: keep them")
    if folds:
        console.print(f"{summary['voices']} voices in {folds} leave-voices-out folds under {out / 'folds'}: train "
                      f"fold k with data.root = \"{out}\" and data.fold = k")


@data.command()
@click.argument("file", type=click.Path(dir_okay=False, path_type=Path))
def inspect(file):
    """Summarise an SHD-layout HDF5 file (samples, classes, speakers, channels, spikes per sample)."""
    from .datasets.hsd import describe
    try:
        info = describe(file)
    except EventpropError as e:
        _fail(str(e))
    console.print_json(json.dumps(info))


@main.command()
@click.option("--out", type=click.Path(file_okay=False, path_type=Path), default=Path("runs/demo"),
              show_default=True)
@click.option("--epochs", type=int, default=None, help="override the preset's epoch count")
def demo(out, epochs):
    """The embedded default: Yin-Yang with learned delays next to the same net without delays (CPU), then
    deployment of the delay network to Loihi 2 fixed point and a spike-by-spike parity check against Lava."""
    rows = []
    for name in ("yinyang-delays", "yinyang"):
        cfg = configs.preset(name)
        if epochs is not None:
            cfg.train.epochs = epochs
        console.rule(f"training preset {name}")
        t0 = time.perf_counter()
        try:
            if (out / name).exists():
                from .pipeline.training.folders import check_new_run_dir
                check_new_run_dir(out / name, force=True)       # refuses anything but an earlier run folder
                console.print(f"replacing the earlier demo run in {out / name}")
            summary = _train(cfg, out / name, resume=False, force=True, quiet=None)
        except EventpropError as e:
            _fail(str(e))
        rows.append((name, summary, time.perf_counter() - t0))
    table = Table(title="Yin-Yang, EventProp on CPU")
    for col in ("preset", "epochs", "best val %", "test %", "seconds"):
        table.add_column(col, justify="right")
    for name, s, secs in rows:
        table.add_row(name, str(s["epochs"]), f"{100 * s['best_val_acc']:.1f}", f"{100 * s['test_acc']:.1f}",
                      f"{secs:.0f}")
    console.print(table)
    from .workflows import deploy as run_deploy, parity_check
    run = out / "yinyang-delays"
    console.rule("deploying yinyang-delays to Loihi 2 fixed point (delays > 62 steps via relay neurons)")
    try:
        console.print(_deploy_table(str(run), run_deploy(run, long_delay_mode="relay")))
        console.rule("parity: float vs emulator vs Lava fixed_pt")
        rep = parity_check(run, samples=10)
    except EventpropError as e:
        _fail(str(e))
    console.print(_parity_table(str(run), rep))
    console.print(f"run folders under {out} (metrics.jsonl, plots/training.png, best.pt, loihi/)")
    if not rep["ok"]:
        sys.exit(1)


if __name__ == "__main__":
    main()
