"""The memory budget counts one batch's activations besides the parameters (issue 10): a
parameter-free layer that asks for terabytes is refused before anything is allocated."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from typer.testing import CliRunner

import netspec
from netspec.cli import app
from netspec.compiler import activation_elements, check_budget, memory_need
from netspec.errors import BudgetError
from netspec.loader import load, loads

ROOT = Path(__file__).resolve().parent.parent
runner = CliRunner()

OUTER = """netspec: 1
name: outer
input_shape: [100000]
layers:
  - {type: Lambda, expression: "expand_dims(x, 2) * expand_dims(x, 1)"}
  - {type: GlobalAveragePooling1D}
  - {type: Dense, units: 1}
compile: {optimizer: adam, loss: mse}
train: {epochs: 1, batch_size: 32}
"""

UPSAMPLED = """netspec: 1
name: up
input_shape: [4, 4, 1]
layers:
  - {type: UpSampling2D, size: 100000}
  - {type: GlobalAveragePooling2D}
compile: {optimizer: adam, loss: mse}
"""


def test_parameter_free_layers_that_ask_for_terabytes_are_refused_by_build():
    # 10^10 floats per sample (37.3 GiB) for the outer product; 1.6 * 10^11 for UpSampling2D
    with pytest.raises(BudgetError) as info:
        netspec.build(loads(OUTER), max_memory=2**30)
    assert str(info.value) == (
        "model 'outer' needs about 37.3 GiB for one batch of 1 (activations 37.3 GiB, "
        "parameters 390.6 KiB), over the memory budget of 1.0 GiB; raise it with --max-memory "
        "(build(max_memory=...))"
    )
    with pytest.raises(
        BudgetError,
        match=r"needs about 596.0 GiB for one batch of 1 "
        r"\(activations 596.0 GiB, parameters 0 B\)",
    ):
        netspec.build(loads(UPSAMPLED), max_memory=2**30)


def test_train_counts_a_batch_of_train_batch_size_before_reading_the_data(tmp_path):
    spec = tmp_path / "outer.yaml"
    spec.write_text(OUTER)
    missing = tmp_path / "never-read.npz"  # the budget is checked first
    result = runner.invoke(
        app,
        [
            "train",
            str(spec),
            "--data",
            str(missing),
            "--max-memory",
            "64GiB",
            "--out",
            str(tmp_path / "run"),
        ],
    )
    assert result.exit_code == 1, result.output
    assert result.stderr == (
        "model 'outer' needs about 2.3 TiB for one batch of 32 (activations 2.3 TiB, "
        "parameters 1.5 MiB), over the memory budget of 64.0 GiB; raise it with --max-memory "
        "or lower train.batch_size\n"
    )
    assert not (tmp_path / "run").exists()


def test_training_factors_and_batch_size():
    graph = loads("netspec: 1\ninput_shape: [10]\nlayers:\n  - {type: Dense, units: 5}").graph
    assert activation_elements(graph) == (15, False)
    assert memory_need(graph, 1) == (15 * 4 + 55 * 4, 15 * 4, 55 * 4)
    # training: activations kept for backward and their gradients (x2); parameters with their
    # gradients and Adam's two moments (x4)
    assert memory_need(graph, 8, training=True) == (15 * 4 * 8 * 2 + 55 * 16, 960, 880)
    assert check_budget(graph, 5000, 8, training=True) == 960 + 880
    with pytest.raises(BudgetError, match="for one batch of 64 .* lower train.batch_size"):
        check_budget(graph, 5000, 64, training=True)


def test_variable_dimensions_are_counted_once_and_said_so():
    spec = loads("netspec: 1\ninput_shape: [null, 3]\nlayers:\n  - {type: LSTM, units: 4}")
    assert activation_elements(spec.graph) == (3 + 4, True)
    with pytest.raises(BudgetError, match="; variable dimensions counted as 1\\), over"):
        check_budget(spec.graph, 10, 1)


def test_a_training_batch_fits_a_small_budget_for_every_bundled_spec():
    for path in sorted((ROOT / "specs").glob("*.yaml")):
        spec = load(path)
        batch = spec.train.batch_size if spec.train is not None else 32
        need = check_budget(spec.graph, 2**30, batch, training=True)
        assert need < 2**30, path
    result = runner.invoke(app, ["build", str(ROOT / "specs" / "mnist_cnn.yaml")])
    assert result.exit_code == 0, result.output


@pytest.mark.slow  # a training run
def test_train_with_max_memory_large_enough_trains(tmp_path):
    spec = tmp_path / "s.yaml"
    spec.write_text(
        "netspec: 1\ninput_shape: [4]\nlayers:\n  - {type: Dense, units: 1}\n"
        "compile: {optimizer: adam, loss: mse}\ntrain: {epochs: 1, batch_size: 8}\n"
    )
    np.savez(tmp_path / "d.npz", x=np.zeros((16, 4), "float32"), y=np.zeros((16, 1), "float32"))
    args = ["train", str(spec), "--data", str(tmp_path / "d.npz"), "--out", str(tmp_path / "r")]
    result = runner.invoke(app, [*args, "--max-memory", "100"])
    assert result.exit_code == 1 and "over the memory budget of 100 B" in result.stderr
    result = runner.invoke(app, [*args, "--max-memory", "1MiB"])
    assert result.exit_code == 0, result.output


def test_a_padded_copy_of_the_input_is_counted():
    """Causal (and same) padding copies the input with (k - 1) * dilation zeros: a dilation of
    2^31-1 asked torch for 206 GB in a forward pass (the fuzzer's long run, seed 1)."""
    from netspec.compiler import activation_elements
    from netspec.errors import BudgetError

    text = (
        "netspec: 1\ninput_shape: [6, 4]\nlayers:\n"
        "  - {type: Conv1D, filters: 2, kernel_size: 3, padding: causal, dilation_rate: DIL}\n"
    )
    small = netspec.loads(text.replace("DIL", "2")).graph
    # input 24 + output 12 + the padded copy (6 + 2 * 2) * 4
    assert activation_elements(small) == (24 + 12 + 40, False)
    huge = netspec.loads(text.replace("DIL", "2147483647"))
    with pytest.raises(BudgetError, match="activations 64.0 GiB"):
        netspec.build(huge, max_memory=2**30)
