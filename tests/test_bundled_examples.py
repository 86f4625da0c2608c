"""The bundled examples train to their documented quality through the real CLI: the digits CNN
reaches 95% test accuracy (README's quick start), the MLP regressor and the LSTM forecaster
explain most of their test targets' variance."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
from typer.testing import CliRunner

from netspec.cli import app

pytestmark = pytest.mark.slow  # trains each example to its quality
ROOT = Path(__file__).resolve().parent.parent
runner = CliRunner()

# example -> (data, metric, bound): accuracy at least, or mse at most a fraction of var(y_test)
EXAMPLES = {
    "digits_cnn": ("digits", "accuracy", 0.95),
    "diabetes_mlp": ("diabetes", "r2", 0.4),
    "series_lstm": ("series", "r2", 0.85),
}


@pytest.mark.parametrize("name", sorted(EXAMPLES))
def test_example_trains_to_its_quality(name, tmp_path):
    data_name, metric, bound = EXAMPLES[name]
    spec, data = ROOT / f"specs/{name}.yaml", ROOT / f"specs/data/{data_name}.npz"
    run = tmp_path / "run"
    result = runner.invoke(app, ["train", str(spec), "--data", str(data), "--out", str(run), "-q"])
    assert result.exit_code == 0, result.output
    weights = str(run / "weights.safetensors")
    args = ["evaluate", str(spec), "--weights", weights, "--data", str(data), "--json"]
    result = runner.invoke(app, args)
    assert result.exit_code == 0, result.output
    scores = json.loads(result.stdout)
    if metric == "accuracy":
        assert scores["accuracy"] >= bound
    else:
        r2 = 1.0 - scores["loss"] / float(np.load(data)["y_test"].var())
        assert r2 >= bound, scores
