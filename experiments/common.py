"""Shared by the experiment scripts: resumable runs and mean +- sd tables."""
from __future__ import annotations

import json
from pathlib import Path

import numpy as np

from eventprop.analyze import analyze
from eventprop.pipeline.training import config as configs
from eventprop.pipeline.training.trainer import start_run

ROOT = Path(__file__).resolve().parent.parent
RUNS = ROOT / "runs" / "experiments"


def run(cfg, out: Path, seed: int, epochs: int | None, analysis: dict | None = None) -> dict:
    """Train (unless out/results.json exists; an interrupted run is resumed from its checkpoint) and, with
    `analysis` (keyword arguments of eventprop.analyze), analyse (unless done); returns results.json with the
    analysis report under "analysis"."""
    cfg = configs.from_dict(cfg.to_dict())
    cfg.seed = seed
    if epochs is not None:
        cfg.train.epochs = epochs
    diff = configs.differences(configs.load(out / "config.toml"), cfg) if (out / "config.toml").exists() else {}
    if diff:
        raise SystemExit(f"{out} was trained with another config ({diff}); move it away to train this one")
    if not (out / "results.json").exists():
        print(f"--- {out.relative_to(RUNS)}", flush=True)
        resume = (out / "checkpoints" / "last.pt").exists()
        trainer = start_run(None if resume else cfg, out, resume=resume, force=not resume, quiet=True)
        try:
            trainer.fit()
        finally:
            trainer.close()
    res = {**json.loads((out / "results.json").read_text()), "seed": seed}
    if analysis is not None:
        if not (out / "analysis" / "network.json").exists():
            analyze(out, **analysis)
        res["analysis"] = json.loads((out / "analysis" / "network.json").read_text())
    return res


def save_results(name: str, rows, text: str) -> None:
    """experiments/results/NAME.json (the rows) and NAME.md (the table text); the text is printed too. Without rows
    (no finished runs here) the stored results are left as they are."""
    out = ROOT / "experiments" / "results" / name
    if not rows or not any(rows.values() if isinstance(rows, dict) else rows):
        print(f"no finished runs: {out}.md and .json left as they were")
        return
    out.with_suffix(".json").write_text(json.dumps(rows, indent=2, default=str))
    out.with_suffix(".md").write_text(text + "\n")
    print(text)


def paired(a, b) -> str:
    """Mean difference a - b in points, with the paired t-test and Wilcoxon signed-rank p-values."""
    from scipy.stats import ttest_rel, wilcoxon
    d = 100 * (np.asarray(a, dtype=float) - np.asarray(b, dtype=float))
    if d.size < 2:
        return f"{d.mean():+.1f}" if d.size else "-"
    if not np.any(d != 0):
        return "+0.0 (identical in every seed)"
    if np.all(d == d[0]):
        return f"{d[0]:+.1f} in every pair (no test)"
    return (f"{d.mean():+.1f} +- {d.std(ddof=1):.1f} (t p = {ttest_rel(a, b).pvalue:.2g}, "
            f"W p = {wilcoxon(a, b).pvalue:.2g})")


def mean_sd(values, scale: float = 1.0) -> str:
    v = np.array([x for x in values if x is not None], dtype=float) * scale
    if not v.size:
        return "-"
    return f"{v.mean():.3g} +- {v.std(ddof=1):.2g}" if v.size > 1 else f"{v[0]:.3g}"


def params_cell(p: dict) -> str:
    return f"{sum(p.values()):,} ({p['weight']:,} w, {p['delay']:,} d, {p['position']:,} p)"


def markdown(header: list[str], rows: list[list[str]]) -> str:
    return "\n".join(["| " + " | ".join(header) + " |", "|---" * len(header) + "|"] +
                     ["| " + " | ".join(r) + " |" for r in rows])
