"""A training process killed (SIGKILL) at every write point of its run folder, then resumed:
every file left under its final name is whole, and `--resume` ends with the uninterrupted run's
weights, best weights and history, bit for bit (CPU, seeded).

The kill is the hook of netspec/training/output/atomic.py: NETSPEC_TEST_KILL_AT=NAME:WHEN:N makes
the process SIGKILL itself just before (or after) the N-th rename onto NAME. The full matrix
(an MLP, a channels_last CNN, an LSTM; each file, before and after its rename, at the first
and the last epoch) is `slow`; a few representative cases run always.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import numpy as np
import pytest
import torch
import yaml
from safetensors.torch import load_file

pytestmark = pytest.mark.slow  # training processes killed and resumed
ROOT = Path(__file__).resolve().parent.parent
EPOCHS = 3

HEAD = """netspec: 1
name: NAME
INPUT
layers:
LAYERS
compile:
  optimizer: {type: Adam, learning_rate: 0.01}
  loss: sparse_categorical_crossentropy
  metrics: [accuracy]
train:
  epochs: 3
  batch_size: 8
  seed: 0
  validation_split: 0.25
  checkpoint: {every: 1, monitor: val_loss}
"""
MODELS = {
    "mlp": (
        "input_shape: [4]",
        """  - {type: Dense, units: 8, activation: relu}
  - {type: Dropout, rate: 0.2, seed: 3}
  - {type: Dense, units: 3, activation: softmax}""",
        (4,),
    ),
    "cnn": (
        "data_format: channels_last\ninput_shape: [6, 6, 1]",
        """  - {type: Conv2D, filters: 4, kernel_size: [3, 3], padding: same, activation: relu}
  - {type: MaxPooling2D, pool_size: [2, 2]}
  - {type: Flatten}
  - {type: Dense, units: 3, activation: softmax}""",
        (6, 6, 1),
    ),
    "lstm": (
        "input_shape: [5, 2]",
        """  - {type: LSTM, units: 6}
  - {type: Dense, units: 3, activation: softmax}""",
        (5, 2),
    ),
}

# (file, N-th rename) for a 3-epoch run with a checkpoint every epoch; each before and after
FINAL_INFO = 2  # run.json's renames: at the start, then `final_epoch` once all is written
POINTS = [
    ("run.json", 1), ("run.json", FINAL_INFO), ("spec.yaml", 1), ("best.safetensors", 1),
    ("history.json", 1), ("history.json", EPOCHS), ("history.csv", 1), ("history.csv", EPOCHS),
    ("checkpoint.safetensors", 1), ("checkpoint.safetensors", 2),
    ("checkpoint.safetensors", EPOCHS), ("checkpoint.json", 1), ("checkpoint.json", EPOCHS),
    ("weights.safetensors", 1), ("curves.png", 1),
]  # fmt: skip
CASES = [f"{name}:{when}:{n}" for name, n in POINTS for when in ("before", "after")]
REPRESENTATIVE = [
    "checkpoint.safetensors:before:1",  # nothing to resume from: trained again from epoch 0
    "spec.yaml:before:1",  # spec.yaml restored from run.json
    "checkpoint.safetensors:after:2",  # continued from epoch 2
    "weights.safetensors:before:1",  # finished, final files missing: written from the checkpoint
    "run.json:after:2",  # complete: --resume refuses, as for any finished run
]


def _env(kill: str | None = None) -> dict[str, str]:
    # one thread: the same float reductions in every process (and 2 cores shared)
    env = {**os.environ, "OMP_NUM_THREADS": "1", "PYTHONUNBUFFERED": "1"}
    env.pop("NETSPEC_TEST_KILL_AT", None)
    if kill is not None:
        env["NETSPEC_TEST_KILL_AT"] = kill
    return env


def cli(*args: str, kill: str | None = None) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, str(ROOT / "cli.py"), *args], env=_env(kill), capture_output=True,
        text=True, timeout=600,
    )  # fmt: skip


def make_model(folder: Path, name: str) -> tuple[Path, Path]:
    """(spec, data) of the model `name` in `folder`: 32 samples, 3 classes."""
    inputs, layers, shape = MODELS[name]
    spec = folder / f"{name}.yaml"
    text = HEAD.replace("NAME", name).replace("INPUT", inputs).replace("LAYERS", layers)
    spec.write_text(text)
    rng = np.random.default_rng(5)
    x = rng.normal(size=(32, *shape)).astype("float32")
    flat = x.reshape(32, -1)
    y = (flat[:, 0] > 0).astype("int64") + (flat[:, 1] > 0.5).astype("int64")
    data = folder / f"{name}.npz"
    np.savez(data, x=x, y=y)
    return spec, data


@pytest.fixture(scope="module")
def reference(tmp_path_factory):
    """name -> (spec, data, uninterrupted run folder), trained on first use."""
    folder = tmp_path_factory.mktemp("reference")
    made: dict[str, tuple[Path, Path, Path]] = {}

    def get(name: str):
        if name not in made:
            spec, data = make_model(folder, name)
            run = folder / f"{name}-whole"
            done = cli("train", str(spec), "--data", str(data), "--out", str(run), "-q")
            assert done.returncode == 0, done.stderr
            made[name] = (spec, data, run)
        return made[name]

    return get


def check_whole(run: Path) -> None:
    """Every file under a final name loads (a temp file may be left: the next use removes it)."""
    for f in run.iterdir():
        if f.name.startswith("."):
            continue
        if f.suffix == ".json":
            json.loads(f.read_text())
        elif f.suffix == ".safetensors":
            load_file(str(f))
        elif f.suffix == ".yaml":
            yaml.safe_load(f.read_text())
        elif f.suffix == ".png":
            assert f.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
            assert f.read_bytes()[-8:] == b"IEND\xaeB`\x82"  # not truncated
        elif f.suffix == ".csv":
            assert f.read_text().endswith("\n")


def same_tensors(a: Path, b: Path) -> None:
    wa, wb = load_file(str(a)), load_file(str(b))
    assert wa.keys() == wb.keys(), (a, b)
    for key in wa:
        assert torch.equal(wa[key], wb[key]), f"{b}: {key} differs"


def kill_and_resume(tmp: Path, spec: Path, data: Path, whole: Path, kill: str) -> None:
    run = tmp / kill.replace(":", "-")
    killed = cli("train", str(spec), "--data", str(data), "--out", str(run), "-q", kill=kill)
    assert killed.returncode == -9, f"{kill}: not killed: {killed.returncode} {killed.stderr}"
    check_whole(run)
    resumed = cli("train", "--resume", str(run), "-q")
    if kill == "run.json:before:1":  # nothing recorded yet: the folder is trained into anew
        assert resumed.returncode == 1 and "holds no run to resume" in resumed.stderr
        resumed = cli("train", str(spec), "--data", str(data), "--out", str(run), "-q")
    if kill == f"run.json:after:{FINAL_INFO}":  # killed once all was written: nothing to do
        assert resumed.returncode == 1 and f"finished after {EPOCHS} epochs" in resumed.stderr
        resumed = subprocess.CompletedProcess(resumed.args, 0, "", "")
    assert resumed.returncode == 0, f"{kill}: {resumed.stderr}"
    assert "Traceback" not in resumed.stderr
    assert not [f.name for f in run.iterdir() if f.name.endswith(".tmp")], kill
    for name in ("weights.safetensors", "best.safetensors"):
        same_tensors(whole / name, run / name)
    for name in ("history.json", "history.csv"):
        assert (run / name).read_text() == (whole / name).read_text(), f"{kill}: {name}"
    assert (run / "curves.png").is_file()
    assert json.loads((run / "run.json").read_text())["final_epoch"] == EPOCHS
    again = cli("train", "--resume", str(run), "-q")  # finished: refused, nothing changed
    assert again.returncode == 1 and f"finished after {EPOCHS} epochs" in again.stderr


@pytest.mark.parametrize("kill", REPRESENTATIVE)
def test_a_killed_mlp_resumes_exactly(tmp_path, reference, kill):
    kill_and_resume(tmp_path, *reference("mlp"), kill)


@pytest.mark.slow
@pytest.mark.parametrize("model", sorted(MODELS))
def test_kill_matrix(tmp_path, reference, model):
    """Every write point of `model`'s run (three at a time): all failures listed together."""
    spec, data, whole = reference(model)
    failures = []

    def one(kill: str) -> None:
        try:
            kill_and_resume(tmp_path, spec, data, whole, kill)
        except AssertionError as exc:
            failures.append(f"{kill}: {str(exc).splitlines()[0]}")

    with ThreadPoolExecutor(3) as pool:
        list(pool.map(one, CASES))
    assert not failures, "\n".join(sorted(failures))
