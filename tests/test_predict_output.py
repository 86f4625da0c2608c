"""`netspec predict -o` by the extension: .npz, .npy, .csv and .parquet hold the same
predictions (read back with numpy and pyarrow); an unknown extension, a .npy for several
outputs and a table for outputs of more than one axis are refused before predicting."""

from __future__ import annotations

import numpy as np
import pyarrow.csv as pacsv
import pyarrow.parquet as pq
import pytest
from typer.testing import CliRunner

import netspec
from netspec.cli import app
from netspec.loader import loads
from netspec.training.engine.data import load_data
from netspec.training.engine.loop import predict
from netspec.training.output.runs import save_weights

runner = CliRunner()
ONE = """netspec: 1
input_shape: [4]
layers:
  - {type: Dense, units: 3, activation: softmax}
"""
TWO = """netspec: 1
input_shape: [4]
layers:
  - {type: Dense, units: 3, name: cls}
  - {type: Dense, units: 1, name: reg, inputs: input}
outputs: [cls, reg]
"""
GRID = """netspec: 1
input_shape: [4]
layers:
  - {type: Dense, units: 3, name: cls}
  - {type: Reshape, target_shape: [2, 2], name: grid, inputs: input}
outputs: [cls, grid]
"""


def setup(tmp_path, text: str):
    spec = tmp_path / "s.yaml"
    spec.write_text(text)
    weights = tmp_path / "w.safetensors"
    save_weights(weights, netspec.build(loads(text), seed=0))
    data = tmp_path / "d.npz"
    np.savez(data, x=np.random.default_rng(0).normal(size=(10, 4)).astype("float32"))
    valid = loads(text)
    model = netspec.build(valid, seed=0)
    want = predict(model, valid, load_data(data, valid, labels=False)["train"])
    return [str(spec), "--weights", str(weights), "--data", str(data)], want


def run(args, out):
    result = runner.invoke(app, ["predict", *args, "-o", str(out)])
    return result


def test_every_format_holds_the_predictions(tmp_path):
    args, want = setup(tmp_path, ONE)
    for name in ("p.npz", "p.npy", "p.csv", "p.parquet", "P.CSV"):
        result = run(args, tmp_path / name)
        assert result.exit_code == 0, result.output
        assert result.stdout == f"predictions saved to {tmp_path / name}\n"
    np.testing.assert_array_equal(np.load(tmp_path / "p.npz")["y"], want[0])
    np.testing.assert_array_equal(np.load(tmp_path / "p.npy"), want[0])
    for table in (pacsv.read_csv(tmp_path / "p.csv"), pq.read_table(tmp_path / "p.parquet")):
        assert table.column_names == ["y_0", "y_1", "y_2"]
        got = np.stack([table.column(c).to_numpy() for c in table.column_names], 1)
        np.testing.assert_allclose(got, want[0], rtol=1e-6)


def test_several_outputs_are_columns_of_each(tmp_path):
    args, want = setup(tmp_path, TWO)
    assert run(args, tmp_path / "p.parquet").exit_code == 0
    table = pq.read_table(tmp_path / "p.parquet")
    assert table.column_names == ["y_cls_0", "y_cls_1", "y_cls_2", "y_reg"]
    np.testing.assert_allclose(table.column("y_reg").to_numpy(), want[1][:, 0], rtol=1e-6)
    assert run(args, tmp_path / "p.npz").exit_code == 0
    assert sorted(np.load(tmp_path / "p.npz")) == ["y_cls", "y_reg"]


@pytest.mark.parametrize(
    ("spec", "name", "message"),
    [
        (ONE, "p.txt", "p.txt: unknown output format '.txt'; use one of .npz, .npy, .csv, "
         ".parquet"),
        (ONE, "predictions", "unknown output format 'predictions'"),
        (TWO, "p.npy", "a .npy file holds one array and the model has 2 outputs (y_cls, y_reg)"),
        (GRID, "p.csv",
         "output y_grid has shape (N, 2, 2); a .csv table takes outputs of shape (N,) or "
         "(N, k): write a .npz"),
    ],
)  # fmt: skip
def test_refused_before_predicting(tmp_path, spec, name, message):
    args, _ = setup(tmp_path, spec)
    result = run(args, tmp_path / name)
    assert result.exit_code == 1 and message in result.stderr, result.output
    assert "Traceback" not in result.output and not (tmp_path / name).exists()
    if name.endswith(".txt"):  # before the spec is even read
        result = run(["missing.yaml", *args[1:]], tmp_path / name)
        assert result.exit_code == 1 and message in result.stderr
