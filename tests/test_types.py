"""The spec side type-checks: mypy, configured in pyproject.toml ([tool.mypy]: netspec/ without
netspec/torch/, the pydantic plugin), runs clean."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent


@pytest.mark.slow
def test_mypy_runs_clean() -> None:
    result = subprocess.run(
        [sys.executable, "-m", "mypy", "--no-color-output"],
        cwd=ROOT,
        capture_output=True,
        text=True,
        check=False,
    )
    output = (result.stdout + result.stderr).strip()
    assert result.returncode == 0, f"mypy found problems:\n{output}"
    assert "Success: no issues found" in output, output  # and it checked the package
