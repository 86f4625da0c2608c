"""`--data` beyond .npz: CSV and Parquet tables (pyarrow) with the spec's `data:` section or
--target/--features/--sample-weight, a directory of .npy shards read lazily (ShardedArray),
evaluate/predict given a run folder, and README's "Training on CSV, Parquet and image folders"
commands (image folders against Keras: test_data_sources_images.py)."""

from __future__ import annotations

import json
import re
import shlex
from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq
import pytest
from helpers import assert_located
from test_data_sources_images import make_image_folder
from typer.testing import CliRunner

import netspec
from netspec.cli import app
from netspec.errors import NetspecError
from netspec.loader import loads
from netspec.training.engine.data import holdout, load_data
from netspec.training.engine.loop import fit
from netspec.training.sources import ShardedArray

ROOT = Path(__file__).parent.parent
runner = CliRunner()


def cli(*args):
    return runner.invoke(app, [str(a) for a in args])


def spec_text(data: str = "", loss: str = "sparse_categorical_crossentropy", units: int = 3,
              inputs: int = 3) -> str:  # fmt: skip
    return f"""netspec: 1
input_shape: [{inputs}]
layers:
  - {{type: Dense, units: {units}, activation: softmax}}
compile: {{optimizer: {{type: Adam, learning_rate: 0.05}}, loss: {loss}, metrics: [accuracy]}}
train: {{epochs: 2, batch_size: 8, seed: 0}}
{data}
"""


def frame(n: int = 40) -> dict[str, np.ndarray]:
    rng = np.random.default_rng(0)
    a, b, c = rng.normal(size=(3, n))
    return {"a": a, "label": (a > 0).astype("int64") + (b > 1), "b": b, "w": rng.uniform(size=n),
            "c": c, "flag": a > c}  # fmt: skip


@pytest.fixture(params=["csv", "parquet"])
def table(request, tmp_path):
    columns = frame()
    path = tmp_path / f"t.{request.param}"
    t = pa.table(columns)
    if request.param == "csv":
        from pyarrow import csv

        csv.write_csv(t, path)
    else:
        pq.write_table(t, path)
    return path, columns


def test_columns_by_the_data_section(table):
    path, columns = table
    got = load_data(path, loads(spec_text("data: {target: label, features: [c, a, b]}")))
    np.testing.assert_allclose(got["train"].x[0], np.stack([columns[k] for k in "cab"], 1))
    np.testing.assert_array_equal(got["train"].y[0], columns["label"])
    assert got["train"].y[0].dtype == np.int64 and got["train"].sw == []
    # default features: every other column, in the file's order (a boolean reads as 0/1)
    weighted = loads(spec_text("data: {target: label, sample_weight: w}", inputs=4))
    split = load_data(path, weighted)["train"]
    want = np.stack([columns["a"], columns["b"], columns["c"], columns["flag"]], 1)
    np.testing.assert_allclose(split.x[0], want)
    np.testing.assert_allclose(split.sw[0], columns["w"])
    # several targets: one (N, k) label array
    two = loads(spec_text("data: {target: [a, c], features: [b]}", "mse", 2, 1))
    np.testing.assert_allclose(load_data(path, two)["train"].y[0], np.stack([columns["a"],
                               columns["c"]], 1))  # fmt: skip
    # predict: the features only, no target column needed
    no_label = path.with_name("nolabel" + path.suffix)
    _write(no_label, {k: v for k, v in columns.items() if k in "abc"})
    got = load_data(no_label, loads(spec_text("data: {target: label}")), labels=False)
    assert got["train"].y == [] and got["train"].x[0].shape == (40, 3)


def _write(path: Path, columns: dict | str) -> None:
    if isinstance(columns, str):
        path.write_text(columns)
    elif path.suffix == ".csv":
        from pyarrow import csv

        csv.write_csv(pa.table(columns), path)
    else:
        pq.write_table(pa.table(columns), path)


@pytest.mark.parametrize(
    ("columns", "data", "message"),
    [
        ({"a": ["x", "y"], "label": [0, 1]}, "{target: label}",
         "column 'a' holds string values; netspec reads numbers only"),
        ({"a": [1.0, None, 2.0], "label": [0, 1, 1]}, "{target: label}",
         "column 'a' has 1 empty cells (the first in data row 2)"),
        ({"a": [1.0, 2.0], "label": [0, 1]}, "{features: [a]}", "which column is the target?"),
        ({"a": [1.0, 2.0], "label": [0, 1]}, "{target: lable}",
         "data.target: no column 'lable' (columns: a, label)"),
        ({"a": [1.0, 2.0], "label": [0.0, 1.5]}, "{target: label}",
         "y (column 'label') has dtype float64; compile.loss SparseCategoricalCrossentropy "
         "expects integer labels"),
        ({"a": [1.0, 2.0], "label": [0, 3]}, "{target: label}", "holds class labels from 0 to 3"),
        ({"a": [1.0, 2.0], "b": [1, 2], "label": [0, 1]}, "{target: label}",
         "x (columns 'a', 'b') has shape (2, 2); input 'input' expects (N, 1)"),
        ("a,label\n1.5,0\ninf,1\n", "{target: label}", "x (column 'a') has NaN or inf at row 1"),
    ],
)  # fmt: skip
def test_table_errors_name_the_column(tmp_path, columns, data, message):
    path = tmp_path / "t.csv"
    _write(path, columns)
    with pytest.raises(NetspecError, match=re.escape(message)):
        load_data(path, loads(spec_text(f"data: {data}", inputs=1)))


def test_a_table_needs_one_input_and_an_unreadable_one_is_an_error(tmp_path):
    two = """netspec: 1
inputs: {a: {shape: [1]}, b: {shape: [1]}}
layers:
  - {type: Concatenate, inputs: [a, b]}
"""
    path = tmp_path / "t.parquet"
    path.write_text("not parquet")
    with pytest.raises(NetspecError, match="a table feeds a model with one input"):
        load_data(path, loads(two), labels=False)
    with pytest.raises(NetspecError, match="t.parquet: cannot read the table"):
        load_data(path, loads(spec_text("data: {target: y}")))
    csv = tmp_path / "t.csv"
    _write(csv, "a,y\n1,0\n")
    with pytest.raises(NetspecError, match="data.validation_split is an image folder's option"):
        load_data(csv, loads(spec_text("data: {target: y, validation_split: 0.2}", inputs=1)))
    with pytest.raises(NetspecError, match=r"over the memory budget of 5 B .*as .npy shards"):
        load_data(csv, loads(spec_text("data: {target: y}", inputs=1)), max_bytes=5)
    with pytest.raises(NetspecError, match="no such data file"):
        load_data(tmp_path / "missing.csv", loads(spec_text("data: {target: y}")))


@pytest.mark.parametrize(
    ("data", "path", "message"),
    [
        ("data: {target: []}", "data.target", "at least 1 item"),
        ("data: {image_size: [32]}", "data.image_size", "at least 2 items"),
        ("data: {label_mode: sparse}", "data.label_mode", "should be 'int', 'categorical'"),
        ("data: {validation_split: 1.5}", "data.validation_split", "less than 1"),
        ("data: {targte: y}", "data.targte", "unknown key 'targte'"),
    ],
)
def test_the_data_section_is_validated_with_located_errors(data, path, message):
    assert_located(spec_text(data), path, data.split(":")[1].strip(" {"), message)


# --------------------------------------------------------------------------- shards


def shards(folder: Path, arrays: dict[str, np.ndarray], sizes: list[int]) -> Path:
    folder.mkdir()
    for key, a in arrays.items():
        bounds = np.cumsum([0, *sizes])
        for i, (lo, hi) in enumerate(zip(bounds[:-1], bounds[1:], strict=True)):
            np.save(folder / f"{key}.{i:03d}.npy", a[lo:hi])
    return folder


def test_a_sharded_array_reads_as_the_concatenation(tmp_path):
    rng = np.random.default_rng(0)
    whole = rng.normal(size=(50, 3, 2)).astype("float32")
    folder = shards(tmp_path / "d", {"x": whole}, [7, 20, 1, 22])
    sharded = ShardedArray([np.load(p, mmap_mode="r") for p in sorted(folder.glob("x.*"))])
    assert len(sharded) == 50 and sharded.shape == whole.shape and sharded.dtype == whole.dtype
    for index in [rng.permutation(50), np.array([49, 0, 7, 7, 27]), whole[:, 0, 0] > 0, [3]]:
        np.testing.assert_array_equal(sharded[index], whole[index])
    view = sharded[5:40]
    assert isinstance(view, ShardedArray) and view.nbytes == whole[5:40].nbytes
    np.testing.assert_array_equal(np.asarray(view), whole[5:40])
    np.testing.assert_array_equal(view[10:12][np.array([1, -1])], whole[[16, 16]])
    np.testing.assert_array_equal(view[-1], whole[39])
    np.testing.assert_array_equal(sharded[::7], whole[::7])
    with pytest.raises(IndexError):
        view[np.array([35])]


@pytest.mark.slow  # trains twice
def test_shards_train_as_the_same_arrays_in_memory(tmp_path):
    rng = np.random.default_rng(1)
    x = rng.normal(size=(60, 3)).astype("float32")
    y = (x[:, 0] > 0).astype("int64")
    np.savez(tmp_path / "d.npz", x=x, y=y)
    folder = shards(tmp_path / "d", {"x": x, "y": y}, [25, 25, 10])
    spec = loads(spec_text().replace("seed: 0}", "seed: 0, validation_split: 0.25}"))
    data = load_data(folder, spec)
    assert isinstance(data["train"].x[0], ShardedArray)
    train, val = holdout(data["train"], 0.25)
    assert isinstance(train.x[0], ShardedArray) and len(val) == 15  # the holdout reads nothing
    histories = []
    for source in (tmp_path / "d.npz", folder):
        model = netspec.build(spec, seed=0)
        histories.append(fit(model, spec, load_data(source, spec)))
    assert histories[0] == pytest.approx(histories[1], rel=1e-6)


def test_shard_errors(tmp_path):
    spec = loads(spec_text())
    folder = shards(tmp_path / "d", {"x": np.zeros((6, 3))}, [3, 3])
    np.save(folder / "x.002.npy", np.zeros((2, 4)))
    with pytest.raises(NetspecError, match=r"x.002.npy has shape \(2, 4\) of float64; the "):
        load_data(folder, spec, labels=False)
    (folder / "x.002.npy").unlink()
    np.save(folder / "x.npy", np.zeros((2, 3)))
    with pytest.raises(NetspecError, match=r"has both x.npy and shards x.N.npy"):
        load_data(folder, spec, labels=False)
    (folder / "x.npy").unlink()
    bad = np.zeros((4, 3))
    bad[2, 1] = np.nan
    np.save(folder / "x.002.npy", bad)  # rows 6 to 9 of the whole
    with pytest.raises(NetspecError, match="x has NaN or inf at row 8"):
        load_data(folder, spec, labels=False)


# ---------------------------------------------------------------- a table, from the CLI


@pytest.mark.slow  # trains
def test_cli_options_set_the_data_section_and_run_folders_evaluate(tmp_path):
    path = tmp_path / "t.csv"
    _write(path, frame(64))
    spec = tmp_path / "s.yaml"
    spec.write_text(spec_text(inputs=2))
    run = tmp_path / "run"
    result = cli("train", spec, "--data", path, "--target", "label", "--features", "a, b",
                 "--sample-weight", "w", "--out", run, "-q")  # fmt: skip
    assert result.exit_code == 0, result.output
    recorded = loads((run / "spec.yaml").read_text()).spec.data
    assert (recorded.target, recorded.features, recorded.sample_weight) == (
        "label",
        ["a", "b"],
        "w",
    )
    # a run folder: its spec, its data, its last weights (no monitor: no best.safetensors)
    direct = cli("evaluate", spec, "--weights", run / "weights.safetensors", "--data", path,
                 "--target", "label", "--features", "a,b", "--sample-weight", "w",
                 "--json")  # fmt: skip
    for args in ([], ["--weights", "last"], ["--data", path]):
        result = cli("evaluate", run, *args, "--json")
        assert result.exit_code == 0, result.output
        assert json.loads(result.stdout) == json.loads(direct.stdout)
    result = cli("evaluate", run, "--weights", "best")
    assert result.exit_code == 1 and "no best.safetensors" in result.stderr
    result = cli("evaluate", spec, "--weights", "best", "--data", path)
    assert result.exit_code == 1 and "--weights FILE is needed with a spec file" in result.stderr
    result = cli("evaluate", tmp_path, "--data", path)
    assert result.exit_code == 1 and "not a run folder (no spec.yaml)" in result.stderr
    (run / "weights.safetensors").rename(run / "best.safetensors")  # best, when there is one
    result = cli("evaluate", run, "--json")
    assert result.exit_code == 0 and json.loads(result.stdout) == json.loads(direct.stdout)
    result = cli("evaluate", run, "--weights", "last")
    assert result.exit_code == 1 and "no weights.safetensors: the run has not finished" in (
        result.stderr
    )


# ------------------------------------------------------------------------------ README

TITLE = "## Training on CSV, Parquet and image folders"


def section() -> str:
    text = (ROOT / "README.md").read_text()
    return text.split(TITLE, 1)[1].split("\n## ", 1)[0]


@pytest.mark.slow  # trains twice
def test_readme_commands_train(tmp_path, monkeypatch):
    """The section's commands, in a folder with the specs and an image folder of 300 PNGs."""
    (tmp_path / "specs").symlink_to(ROOT / "specs")
    block = section().split("```console\n")[1].split("```", 1)[0]
    commands = [line[2:] for line in block.splitlines() if line.startswith("$ ")]
    assert len(commands) == 2
    make_image_folder(tmp_path / "images", per_class=100)
    monkeypatch.chdir(tmp_path)
    for command in commands:
        argv = shlex.split(command)
        assert argv[0] == "netspec" and argv[1] == "train"
        result = cli(*argv[1:], "-q")
        assert result.exit_code == 0, result.output
        out = argv[argv.index("--out") + 1]
        assert result.stdout.endswith(f"run saved to {out}\n")
        history = json.loads((tmp_path / out / "history.json").read_text())
        assert history["val_accuracy"][-1] >= 0.9, history
