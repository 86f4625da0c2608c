"""README's "Blocks, nested models and the applications zoo" section, as written: its excerpts
are the files' text, and each command it shows with an output prints that output today."""

from __future__ import annotations

import shlex
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
TITLE = "## Blocks, nested models and the applications zoo"


def section() -> str:
    text = (ROOT / "README.md").read_text()
    return text.split(TITLE, 1)[1].split("\n## ", 1)[0]


def blocks(kind: str) -> list[str]:
    parts = section().split(f"```{kind}\n")[1:]
    return [p.split("```", 1)[0] for p in parts]


def commands() -> list[tuple[str, list[str]]]:
    """(command, its output lines) of each `$ ` line of the console blocks."""
    found: list[tuple[str, list[str]]] = []
    for block in blocks("console"):
        for line in block.splitlines():
            if line.startswith("$ "):
                found.append((line[2:], []))
            else:
                found[-1][1].append(line.rstrip())
    return found


SHOWN = [(c, out) for c, out in commands() if out]


def run(command: str) -> subprocess.CompletedProcess:
    argv = shlex.split(command)
    assert argv[0] == "netspec"
    return subprocess.run([sys.executable, "-m", "netspec", *argv[1:]], cwd=ROOT,
                          capture_output=True, text=True)  # fmt: skip


@pytest.mark.parametrize(("command", "output"), SHOWN, ids=[c for c, _ in SHOWN])
def test_shown_outputs_are_what_the_commands_print(command, output):
    done = run(command)
    printed = [line.rstrip() for line in (done.stdout + done.stderr).splitlines()]
    assert printed == output


def test_the_resnet50_excerpt_is_the_zoo_file():
    text = (ROOT / "specs" / "applications" / "resnet50.yaml").read_text()
    excerpt = blocks("yaml")[0]
    for line in excerpt.splitlines():
        if line.strip() != "...":
            assert line in text.splitlines(), line
    count = sum(
        1 for line in text.splitlines() if line.strip() and not line.lstrip().startswith("#")
    )
    assert f"`specs/applications/resnet50.yaml`, {count} lines" in section()


def test_the_zoo_table_is_current():
    from tests.zoo_table import zoo_table

    assert zoo_table() in section()
