"""ruff (lint, including the ban on module-level torch imports outside netspec/torch)."""

import subprocess
import sys
from pathlib import Path

import pytest
from helpers import python_output

ROOT = Path(__file__).resolve().parent.parent


def test_ruff_check_is_clean():
    result = subprocess.run(
        [sys.executable, "-m", "ruff", "check", "."],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert result.returncode == 0, result.stdout + result.stderr


def test_ruff_format_is_clean():
    result = subprocess.run(
        [sys.executable, "-m", "ruff", "format", "--check", "."],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert result.returncode == 0, result.stdout + result.stderr


@pytest.mark.slow  # a fresh interpreter
def test_spec_side_modules_do_not_import_torch():
    code = (
        "import sys, netspec, netspec.loader, netspec.summary, netspec.schema, "
        "netspec.catalog, cli\n"
        "netspec.loads(open('specs/mnist_mlp.yaml').read())\n"
        "print('torch' in sys.modules)"
    )
    assert python_output(code) == "False"
