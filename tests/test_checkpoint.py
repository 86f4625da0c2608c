"""The checkpoint: a resume of a convolutional model is bit-equal to the uninterrupted run, every
crafted or damaged checkpoint is one clear error before any of it is used (never a traceback,
never a segfault), checkpoint.json follows the file's header, and the fused optimizer resumes
the state of the per-tensor one (tiny models, CPU)."""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
import torch
from safetensors import safe_open
from safetensors.torch import load_file, save_file

from netspec.compiler import build
from netspec.errors import NetspecError
from netspec.loader import loads
from netspec.training.engine.checkpoint import read_checkpoint, restore, save_checkpoint
from netspec.training.engine.session import train

ROOT = Path(__file__).resolve().parent.parent
QUIET = {"echo": lambda line: None}

# Conv2D kernels (and so Adam's moments) are kept in channels-last memory format
CNN = """netspec: 1
name: tiny_cnn
data_format: channels_last
input_shape: [6, 6, 1]
layers:
  - {type: Conv2D, filters: 4, kernel_size: [3, 3], padding: same, activation: relu}
  - {type: MaxPooling2D, pool_size: [2, 2]}
  - {type: Conv2D, filters: 4, kernel_size: [3, 3], padding: same, activation: relu}
  - {type: Flatten}
  - {type: Dense, units: 3, activation: softmax}
compile: {optimizer: {type: Adam, learning_rate: 0.01}, loss: sparse_categorical_crossentropy}
train: {epochs: 4, batch_size: 16, seed: 0}
"""

MLP = """netspec: 1
name: tiny_mlp
input_shape: [4]
layers:
  - {type: Dense, name: hidden, units: 5, activation: relu}
  - {type: Dropout, name: drop, rate: 0.1, seed: 7}
  - {type: Dense, name: out, units: 3, activation: softmax}
compile: {optimizer: {type: Adam, learning_rate: 0.01}, loss: sparse_categorical_crossentropy}
train: {epochs: 3, batch_size: 16, seed: 0}
"""


@pytest.fixture()
def images(tmp_path):
    rng = np.random.default_rng(1)
    x = rng.normal(size=(64, 6, 6, 1)).astype("float32")
    path = tmp_path / "images.npz"
    np.savez(path, x=x, y=(x[:, 0, 0, 0] > 0).astype("int64"))
    return path


@pytest.fixture(scope="module")
def mlp_run(tmp_path_factory):
    """A run of MLP stopped after 2 of its 3 epochs (copied by each test that damages it)."""
    folder = tmp_path_factory.mktemp("mlp")
    rng = np.random.default_rng(1)
    x = rng.normal(size=(48, 4)).astype("float32")
    np.savez(folder / "d.npz", x=x, y=(x[:, 0] > 0).astype("int64"))
    (folder / "mlp.yaml").write_text(MLP)
    run, _ = train(folder / "mlp.yaml", folder / "d.npz", out=folder / "run",
                   overrides=["train.epochs=2"], **QUIET)  # fmt: skip
    return run


@pytest.mark.slow  # three training runs
def test_a_cnn_resumes_bit_equal(tmp_path, images):
    """Adam's moments of a channels-last kernel come back in the kernel's memory layout: the
    fused kernel walks both as flat memory (the resume was 0.088 off on digits_cnn)."""
    spec = tmp_path / "cnn.yaml"
    spec.write_text(CNN)
    whole, history = train(spec, images, out=tmp_path / "whole", **QUIET)
    part, _ = train(spec, images, out=tmp_path / "part", overrides=["train.epochs=2"], **QUIET)
    _, resumed = train(None, None, resume=part, overrides=["train.epochs=4"], **QUIET)
    assert resumed == history
    a, b = (
        load_file(str(whole / "weights.safetensors")),
        load_file(str(part / "weights.safetensors")),
    )
    assert a.keys() == b.keys()
    for key in a:
        assert torch.equal(a[key], b[key]), key


def _damaged(run: Path, tmp_path: Path, change) -> Path:
    """A copy of `run` whose checkpoint is `change(tensors, meta)`'s (meta: the header's JSON
    text, as a dict where it parses)."""
    copy = tmp_path / "damaged"
    shutil.copytree(run, copy)
    with safe_open(str(run / "checkpoint.safetensors"), framework="pt") as f:
        meta = json.loads(f.metadata()["netspec"])
    tensors = load_file(str(run / "checkpoint.safetensors"))
    text = change(tensors, meta)
    text = json.dumps(meta) if text is None else text
    save_file(tensors, str(copy / "checkpoint.safetensors"), metadata={"netspec": text})
    return copy


def _set(path: str, value):
    def change(tensors, meta):
        *parents, last = path.split(".")
        target = meta
        for part in parents:
            target = target[part]
        if value is KeyError:
            del target[last]
        else:
            target[last] = value

    return change


def _tensor(key: str, value):
    def change(tensors, meta):
        if value is None:
            del tensors[key]
        else:
            tensors[key] = value(tensors.get(key))

    return change


CASES = {
    "moment-transposed": (
        _tensor("optimizer.0.exp_avg", lambda t: t.T.contiguous()),
        "optimizer.0.exp_avg has shape (4, 5); parameter 0 (hidden.kernel) has (5, 4)",
    ),
    "moment-dtype": (
        _tensor("optimizer.1.exp_avg_sq", lambda t: t.double()),
        "optimizer.1.exp_avg_sq has dtype torch.float64; parameter 1 (hidden.bias) has",
    ),
    "moment-missing": (_tensor("optimizer.2.exp_avg", None), "optimizer.2.exp_avg is missing"),
    "moment-unknown": (
        _tensor("optimizer.2.velocity", lambda t: torch.zeros(3, 5)),
        "optimizer.2.velocity is not a state of this optimizer",
    ),
    "step-shape": (
        _tensor("optimizer.0.step", lambda t: torch.zeros(5)),
        "optimizer.0.step has shape (5,); the optimizer's step has ()",
    ),
    "huge-index": (
        _tensor("optimizer.99999999999999999999.exp_avg", lambda t: torch.zeros(1)),
        "optimizer.99999999999999999999.exp_avg: parameter 99999999999999999999 does not exist",
    ),
    "bad-index": (
        _tensor("optimizer.x.exp_avg", lambda t: torch.zeros(1)),
        "unexpected tensor optimizer.x.exp_avg",
    ),
    "weight-shape": (
        _tensor("model.layers.out.bias", lambda t: torch.zeros(4)),
        "model.layers.out.bias has shape (4,); the model's layers.out.bias has (3,)",
    ),
    "weight-missing": (_tensor("model.layers.out.bias", None), "model.layers.out.bias is missing"),
    "weight-extra": (
        _tensor("model.layers.extra.kernel", lambda t: torch.zeros(1)),
        "model.layers.extra.kernel is not a weight of this model",
    ),
    "stranger": (_tensor("junk", lambda t: torch.zeros(1)), "unexpected tensor junk"),
    "rng-size": (
        _tensor("rng.torch", lambda t: t[:10].clone()),
        "rng.torch has shape (10,); torch's RNG state has",
    ),
    "rng-missing": (_tensor("rng.torch", None), "rng.torch is missing"),
    "rng-dtype": (
        _tensor("rng.module.layers.drop@cpu", lambda t: t.float()),
        "rng.module.layers.drop@cpu has dtype torch.float32",
    ),
    "rng-device": (
        _tensor("rng.module.layers.drop@nowhere", lambda t: torch.zeros(4, dtype=torch.uint8)),
        "rng.module.layers.drop@nowhere: 'nowhere' is not a device",
    ),
    "rng-layer": (
        _tensor("rng.module.layers.out@cpu", lambda t: torch.zeros(4, dtype=torch.uint8)),
        "rng.module.layers.out@cpu: this model has no seeded layer layers.out",
    ),
    "not-json": (lambda t, m: "{epoch: 2", "its metadata is not JSON"),
    "not-object": (lambda t, m: "[1, 2]", "its metadata is not a JSON object"),
    "missing-field": (_set("finished", KeyError), "metadata field finished is missing"),
    "epoch-text": (_set("epoch", "2"), "metadata field epoch: Input should be a valid integer"),
    "epoch-negative": (_set("epoch", -1), "metadata field epoch: Input should be greater than"),
    "epoch-float": (_set("step", 2.5), "metadata field step: Input should be a valid integer"),
    "finished-text": (_set("finished", "yes"), "metadata field finished: Input should be a valid"),
    "history": (_set("history", {"loss": ["a"]}), "metadata field history.loss.0"),
    "history-list": (_set("history", [1]), "metadata field history: Input should be a valid"),
    "shuffle-rng": (_set("shuffle_rng", {"bit_generator": "MT19937"}), "not a numpy PCG64 state"),
    "shuffle-huge": (
        _set("shuffle_rng.state.state", 2**200),
        "metadata field shuffle_rng: Value error, not a numpy PCG64 state",
    ),
    "lr-count": (_set("optimizer.lr", [0.1, 0.1]), "optimizer.lr has 2 rates; the optimizer has 1"),
    "lr-text": (_set("optimizer.lr", ["fast"]), "metadata field optimizer.lr.0"),
    "optimizer-missing": (_set("optimizer", KeyError), "metadata field optimizer is missing"),
    "scalars-index": (
        _set("optimizer.scalars", {"7": {"x": 1.0}}),
        "optimizer.scalars.7: no such parameter (4 trainable)",
    ),
    "callback-state": (
        _set("early_stopping", {"best": 0.5, "wait": -1, "best_epoch": 0, "stopped_epoch": 0}),
        "metadata field early_stopping.wait",
    ),
    "info-type": (_set("info", {"data": 3}), "metadata field info.data"),
}


@pytest.mark.slow  # the run it damages is trained with the plot helper process
@pytest.mark.parametrize("case", sorted(CASES))
def test_a_damaged_checkpoint_is_one_clear_error(tmp_path, mlp_run, case):
    change, message = CASES[case]
    run = _damaged(mlp_run, tmp_path, change)
    with pytest.raises(NetspecError) as info:
        train(None, None, resume=run, overrides=["train.epochs=3"], **QUIET)
    text = str(info.value)
    assert text.startswith(f"{run / 'checkpoint.safetensors'}: not a ")
    assert message in text and "\n" not in text, text


@pytest.mark.slow  # the run it damages is trained with the plot helper process
def test_a_checkpoint_without_metadata(tmp_path, mlp_run):
    copy = tmp_path / "bare"
    shutil.copytree(mlp_run, copy)
    save_file(
        load_file(str(mlp_run / "checkpoint.safetensors")), str(copy / "checkpoint.safetensors")
    )
    with pytest.raises(NetspecError, match="not a netspec checkpoint: no 'netspec' metadata"):
        read_checkpoint(copy)


@pytest.mark.slow  # a fresh interpreter
def test_moments_too_small_are_refused_not_a_segfault(tmp_path, mlp_run):
    """Moments smaller than their parameter made the fused Adam write out of bounds (a
    segfault): run in a child process, so that a regression cannot take pytest down."""
    run = _damaged(mlp_run, tmp_path, _tensor("optimizer.0.exp_avg", lambda t: torch.zeros(1)))
    done = subprocess.run(
        [sys.executable, str(ROOT / "cli.py"), "train", "--resume", str(run), "--epochs", "3",
         "-q"], capture_output=True, text=True, timeout=300,
    )  # fmt: skip
    assert done.returncode == 1, (done.returncode, done.stderr)
    lines = done.stderr.strip().splitlines()
    assert len(lines) == 1 and "optimizer.0.exp_avg has shape (1,)" in lines[0], done.stderr


@pytest.mark.slow  # a resumed training run
def test_checkpoint_json_follows_the_header(tmp_path, mlp_run):
    """A kill between the two writes leaves checkpoint.json of the checkpoint before: the
    header is the truth, and the readable copy is rewritten when read."""
    copy = tmp_path / "run"
    shutil.copytree(mlp_run, copy)
    (copy / "checkpoint.json").write_text('{"epoch": 1}')
    _, meta = read_checkpoint(copy)
    assert meta["epoch"] == 2
    assert json.loads((copy / "checkpoint.json").read_text()) == meta
    (copy / "checkpoint.json").unlink()
    read_checkpoint(copy)
    assert json.loads((copy / "checkpoint.json").read_text()) == meta
    _, history = train(None, None, resume=copy, overrides=["train.epochs=3"], **QUIET)
    assert len(history["loss"]) == 3


def test_the_fused_optimizer_resumes_a_per_tensor_state(tmp_path):
    """A run saved by torch's per-tensor Adam (netspec's optimizer before it was fused) loads
    into the fused one, which then steps as the per-tensor one does."""
    spec = loads(CNN, "cnn.yaml")
    x = torch.randn(8, 6, 6, 1, generator=torch.Generator().manual_seed(0))
    y = torch.arange(8) % 3

    def steps(model, optimizer, n):
        for _ in range(n):
            optimizer.zero_grad()
            torch.nn.functional.nll_loss(torch.log(model(x)), y).backward()
            optimizer.step()

    old_model = build(spec, seed=0)
    old = torch.optim.Adam(old_model.parameters(), lr=0.01, eps=1e-7, foreach=False, fused=False)
    steps(old_model, old, 2)
    meta = {"epoch": 1, "step": 2, "finished": False, "history": {},
            "shuffle_rng": np.random.default_rng(0).bit_generator.state}  # fmt: skip
    save_checkpoint(tmp_path, old_model, old, meta)
    tensors, meta = read_checkpoint(tmp_path)
    model = build(spec, seed=1)
    fused = spec.compile.optimizer.make(list(model.parameters()))
    assert fused.defaults.get("fused")
    restore(tensors, meta, model, fused)
    steps(old_model, old, 3)
    steps(model, fused, 3)
    for (key, a), b in zip(
        old_model.state_dict().items(), model.state_dict().values(), strict=True
    ):
        torch.testing.assert_close(a, b, rtol=1e-5, atol=1e-6, msg=key)
