"""README's "Importing Keras models" section, as written: its Python code saved the bundled
model, each command it shows prints what it shows, the spec it shows is what the import
writes, and the predictions equal Keras's."""

from __future__ import annotations

import os
import shlex
import shutil
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

ROOT = Path(__file__).resolve().parent.parent
TITLE = "## Importing Keras models"
MODEL = ROOT / "specs" / "keras" / "text_classifier.keras"


def section() -> str:
    text = (ROOT / "README.md").read_text()
    return text.split(TITLE, 1)[1].split("\n## ", 1)[0]


def block(kind: str) -> str:
    return section().split(f"```{kind}\n")[1].split("```", 1)[0]


def commands() -> list[tuple[str, list[str]]]:
    found: list[tuple[str, list[str]]] = []
    for line in block("console").splitlines():
        if line.startswith("$ "):
            found.append((line[2:], []))
        else:
            found[-1][1].append(line.rstrip())
    return found


@pytest.fixture(scope="module")
def ran(tmp_path_factory) -> Path:
    """The section's commands, run in a fresh folder holding specs/keras."""
    where = tmp_path_factory.mktemp("readme_import")
    shutil.copytree(ROOT / "specs" / "keras", where / "specs" / "keras")
    for command, output in commands():
        argv = shlex.split(command)
        assert argv[0] == "netspec"
        done = subprocess.run([sys.executable, "-m", "netspec", *argv[1:]], cwd=where,
                              capture_output=True, text=True)  # fmt: skip
        assert done.returncode == 0, done.stderr
        assert [x.rstrip() for x in (done.stdout + done.stderr).splitlines()] == output
    return where


def test_the_shown_spec_is_what_import_writes(ran):
    assert (ran / "text_classifier.yaml").read_text() == block("yaml")


def test_the_predictions_equal_keras(ran):
    os.environ.setdefault("KERAS_BACKEND", "torch")
    import keras

    x = np.load(ROOT / "specs" / "keras" / "text_classifier_x.npz")["x"]
    want = keras.saving.load_model(MODEL).predict(x, verbose=0)
    got = np.load(ran / "predictions.npz")["y"]
    assert np.abs(got - want).max() <= 1e-6
    assert (x == 0).any()  # the padding mask is exercised


def test_the_python_code_saved_the_bundled_model(tmp_path):
    """The README's Keras code, run, saves a model that imports to the shown spec."""
    env = {**os.environ, "KERAS_BACKEND": "torch"}
    subprocess.run([sys.executable, "-c", block("python")], cwd=tmp_path, env=env, check=True,
                   capture_output=True)  # fmt: skip
    from netspec.keras_import import import_model

    import_model(tmp_path / "text_classifier.keras", tmp_path / "text_classifier.yaml")
    assert (tmp_path / "text_classifier.yaml").read_text() == block("yaml")
