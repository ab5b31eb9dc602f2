"""The documentation site builds with warnings as errors, and its reference pages are generated from the code: every
click command and option is on the CLI page, every config key on the config page."""
from __future__ import annotations

import html
import re
import subprocess
import sys
from pathlib import Path

import click
import pytest

from eventprop.cli import main
from eventprop.pipeline.training.config import schema

ROOT = Path(__file__).resolve().parents[1]
pytest.importorskip("mkdocs")


@pytest.fixture(scope="module")
def site(tmp_path_factory):
    out = tmp_path_factory.mktemp("site")
    r = subprocess.run([sys.executable, "-m", "mkdocs", "build", "--strict", "--site-dir", str(out)], cwd=ROOT,
                       capture_output=True, text=True, timeout=300)
    assert r.returncode == 0, r.stdout + r.stderr
    return out


def _text(page: Path) -> str:
    return html.unescape(re.sub(r"\s+", " ", re.sub(r"<[^>]+>", " ", page.read_text())))


def test_cli_page_lists_every_command_and_option(site):
    text = _text(site / "reference" / "cli" / "index.html")
    ctx = click.Context(main)
    commands = [(name, cmd) for name, cmd in main.commands.items()]
    for group in [c for _, c in commands if isinstance(c, click.Group)]:
        commands += [(f"{group.name} {n}", c) for n, c in group.commands.items()]
    assert len(commands) > 10
    for name, cmd in commands:
        assert f"eventprop {name}" in text, name
        for param in cmd.get_params(ctx):
            for opt in getattr(param, "opts", []):
                if opt.startswith("--") and opt != "--help":
                    assert opt in text, f"{name} {opt}"


def test_config_page_lists_every_key_with_default_and_range(site):
    text = _text(site / "reference" / "config" / "index.html")
    for row in schema():
        assert f"{row['key']} " in text, row
        if row["help"]:
            assert row["help"].replace("`", "").split(" (")[0][:30] in text, row
    assert "[structure]" in text and "in [0, 1)" in text


def test_every_tutorial_script_is_on_a_page():
    scripts = {p.name for p in (ROOT / "docs" / "tutorials").glob("*.py") if not p.name.startswith("_")}
    shown = set()
    for page in (ROOT / "docs" / "tutorials").glob("*.md"):
        shown |= set(re.findall(r'--8<-- "([^"]+\.py)"', page.read_text()))
    assert scripts and scripts <= shown, scripts - shown
