"""Small helpers shared by the test files."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from netspec.errors import SpecError
from netspec.loader import loads


def errors_of(text: str) -> list:
    """The diagnostics of a spec that must be refused (file name `spec.yaml`)."""
    with pytest.raises(SpecError) as info:
        loads(text, "spec.yaml")
    return info.value.diagnostics


def line_of(text: str, needle: str) -> int:
    """The 1-based number of the first line of `text` that contains `needle`."""
    return next(i for i, line in enumerate(text.splitlines(), 1) if needle in line)


def assert_located(text: str, path: str, needle: str, message: str):
    """`text` is refused with exactly one error, at `path`, on the first line that holds
    `needle`, whose message contains `message`; returns that diagnostic."""
    diagnostics = errors_of(text)
    assert [d.path for d in diagnostics] == [path], diagnostics
    d = diagnostics[0]
    assert message in d.message, d.message
    assert d.line == line_of(text, needle)
    return d


def python_output(code: str) -> str:
    """The stdout (stripped) of `code` run by a fresh interpreter in the repository root: for
    what a process imports, which this test process cannot show. Fails on a non-zero exit."""
    import subprocess
    import sys
    from pathlib import Path

    root = Path(__file__).resolve().parent.parent
    done = subprocess.run(
        [sys.executable, "-c", code], cwd=root, capture_output=True, text=True, timeout=120
    )
    assert done.returncode == 0, done.stdout + done.stderr
    return done.stdout.strip()


TINY_CLASSIFIER = """netspec: 1
name: tiny
input_shape: [4]
layers:
  - {{type: Dense, units: 2, activation: softmax}}
compile: {{optimizer: adam, loss: sparse_categorical_crossentropy}}
train: {train}
"""


def tiny_run_files(
    tmp_path: Path, features: int = 4, train: str = "{seed: 0}"
) -> tuple[Path, Path]:
    """(s.yaml, d.npz): a 2-class Dense spec named `tiny` (its `train:` section given) and 16
    samples of `features` features (the spec takes 4) with labels 0/1."""
    rng = np.random.default_rng(0)
    np.savez(tmp_path / "d.npz", x=rng.normal(size=(16, features)).astype("float32"),
             y=rng.integers(0, 2, size=16))  # fmt: skip
    (tmp_path / "s.yaml").write_text(TINY_CLASSIFIER.format(train=train))
    return tmp_path / "s.yaml", tmp_path / "d.npz"
