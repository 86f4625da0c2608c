"""Every generated file (netspec/layers/_index.py, schemas/netspec.schema.json, docs/reference.md)
is current, and `python -m netspec.generate [--check]` writes them and names the stale ones."""

import subprocess
import sys
from pathlib import Path

import pytest

from netspec.generate import COMMAND, GENERATED

ROOT = Path(__file__).resolve().parent.parent


def generate(*args: str) -> subprocess.CompletedProcess:
    """`python -m netspec.generate ARGS` in a fresh process (no layer a test registered)."""
    return subprocess.run(
        [sys.executable, "-m", "netspec.generate", *args],
        cwd=ROOT, capture_output=True, text=True, timeout=300,
    )  # fmt: skip


@pytest.mark.slow  # fresh interpreters
def test_every_generated_file_is_current(tmp_path):
    """One run writes every generated file under a scratch root: each equals the committed one,
    and `--check` there passes, then names (only) a file that goes stale."""
    written = generate("--root", str(tmp_path))
    assert written.returncode == 0, written.stderr
    stale = [
        item.path
        for item in GENERATED
        if (tmp_path / item.path).read_text(encoding="utf-8")
        != (ROOT / item.path).read_text(encoding="utf-8")
    ]
    assert not stale, f"stale: {', '.join(stale)}; run `{COMMAND}`"
    assert generate("--check", "--root", str(tmp_path)).returncode == 0
    schema = tmp_path / "schemas" / "netspec.schema.json"
    schema.write_text(schema.read_text() + " ")
    checked = generate("--check", "--root", str(tmp_path))
    assert checked.returncode == 1
    assert checked.stderr == f"schemas/netspec.schema.json is stale: run `{COMMAND}`\n"
    assert schema.read_text().endswith("\n ")  # --check writes nothing


def test_the_generated_texts_name_the_command():
    """The files that can hold a comment say they are generated, and by what."""
    for path in ("netspec/layers/_index.py", "docs/reference.md"):
        head = (ROOT / path).read_text(encoding="utf-8")[:400]
        assert "do not edit" in head and COMMAND in head, path
