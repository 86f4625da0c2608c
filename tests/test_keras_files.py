"""Weight files written by Keras (Keras 3 .weights.h5, .keras, Keras 2 HDF5: weights only and a
full model) loaded into netspec models through the CLI, against Keras's own predictions."""

from __future__ import annotations

import os
from pathlib import Path

os.environ.setdefault("KERAS_BACKEND", "torch")

import h5py
import keras
import numpy as np
import pytest
import yaml
from keras_oracle import keras_model
from typer.testing import CliRunner

import netspec
from netspec.cli import app
from netspec.keras_weights import read_keras_file
from netspec.keras_weights.order import keras_layer_order

ROOT = Path(__file__).resolve().parent.parent
runner = CliRunner()
FORMATS = ("weights.h5", "keras", "legacy_full", "legacy_weights")


def run(*args):
    return runner.invoke(app, [str(a) for a in args])


def spec_of(input_shape, layers, **extra) -> dict:
    return {"netspec": 1, "name": "m", "input_shape": input_shape, "layers": layers, **extra}


MODELS = {
    "dense": spec_of(
        [6], [{"type": "Dense", "units": 5, "activation": "tanh"}, {"type": "Dense", "units": 2}]
    ),
    "conv_bn": spec_of(
        [8, 8, 3],
        [
            {"type": "Conv2D", "filters": 4, "kernel_size": 3},
            {"type": "BatchNormalization"},
            {"type": "Conv2D", "filters": 2, "kernel_size": 1, "use_bias": False},
            {"type": "BatchNormalization", "center": False},
            {"type": "GlobalAveragePooling2D"},
        ],
    ),
    "depthwise_separable": spec_of(
        [7, 7, 3],
        [
            {"type": "DepthwiseConv2D", "kernel_size": 3, "depth_multiplier": 2},
            {"type": "SeparableConv2D", "filters": 5, "kernel_size": 3, "padding": "same"},
            {"type": "Flatten"},
        ],
    ),
    "lstm": spec_of(
        [5, 3],
        [{"type": "LSTM", "units": 4, "return_sequences": True}, {"type": "LSTM", "units": 2}],
    ),
    "bidirectional_attention": spec_of(
        [5, 3],
        [
            {
                "type": "Bidirectional",
                "layer": {"type": "GRU", "units": 2, "return_sequences": True},
            },
            {
                "type": "MultiHeadAttention",
                "num_heads": 2,
                "key_dim": 3,
                "inputs": ["bidirectional", "bidirectional"],
            },
        ],
    ),
}


def resnet() -> dict:
    return yaml.safe_load((ROOT / "specs" / "resnet_blocks.yaml").read_text())


def randomize(model: keras.Model, seed: int = 0) -> None:
    """Random weights everywhere (BatchNormalization's moving statistics too)."""
    rng = np.random.default_rng(seed)
    for layer in model.layers:
        values = []
        for w in layer.weights:
            low = 0.5 if "variance" in w.path else -1.0
            values.append(rng.uniform(low, 1.5, size=tuple(w.shape)).astype("float32"))
        layer.set_weights(values)


def write(model: keras.Model, fmt: str, folder: Path) -> Path:
    from keras.src.legacy.saving.legacy_h5_format import save_weights_to_hdf5_group

    if fmt == "weights.h5":
        model.save_weights(path := folder / "m.weights.h5")
    elif fmt == "keras":
        model.save(path := folder / "m.keras")
    elif fmt == "legacy_full":
        model.save(path := folder / "m.h5")
    else:
        with h5py.File(path := folder / "legacy_weights.h5", "w") as f:
            save_weights_to_hdf5_group(f, model)
    return path


def predict_with(spec: dict, weights: Path, folder: Path, x: np.ndarray, *extra) -> np.ndarray:
    (folder / "spec.yaml").write_text(yaml.safe_dump(spec))
    np.savez(folder / "x.npz", x=x)
    done = run("predict", folder / "spec.yaml", "--weights", weights, "--data", folder / "x.npz",
               "-o", folder / "y.npz", "--device", "cpu", *extra)  # fmt: skip
    assert done.exit_code == 0, done.output
    return np.load(folder / "y.npz")["y"]


def assert_close(got: np.ndarray, want: np.ndarray) -> None:
    scale = np.maximum(np.abs(want), 1e-3)
    assert np.max(np.abs(got - want) / scale) <= 1e-5 or np.allclose(
        got, want, rtol=1e-5, atol=1e-6
    )


def attention_keras() -> keras.Model:
    """MODELS["bidirectional_attention"] in Keras itself (the oracle wraps MultiHeadAttention)."""
    x = keras.Input((5, 3))
    h = keras.layers.Bidirectional(
        keras.layers.GRU(2, return_sequences=True), name="bidirectional"
    )(x)
    return keras.Model(x, keras.layers.MultiHeadAttention(2, 3, name="multi_head_attention")(h, h))


def keras_of(name: str) -> keras.Model:
    if name == "bidirectional_attention":
        return attention_keras()
    return keras_model(resnet() if name == "resnet" else MODELS[name])


def check_model(spec: dict, kmodel: keras.Model, fmt: str, folder: Path, seed: int = 0):
    randomize(kmodel, seed)
    path = write(kmodel, fmt, folder)
    x = np.random.default_rng(1).normal(size=(4, *kmodel.input_shape[1:])).astype("float32")
    want = keras.ops.convert_to_numpy(kmodel(x, training=False))
    assert_close(predict_with(spec, path, folder, x), want)


@pytest.mark.slow
@pytest.mark.parametrize("fmt", FORMATS)
@pytest.mark.parametrize("name", [*MODELS, "resnet"])
def test_keras_file_predicts_as_keras(name, fmt, tmp_path):
    spec = resnet() if name == "resnet" else MODELS[name]
    check_model(spec, keras_of(name), fmt, tmp_path)


def nested_keras(kind: str) -> keras.Model:
    """Dense -> a nested Sequential or Functional (Dense, BatchNormalization) -> Dense."""
    if kind == "sequential":
        inner = keras.Sequential(
            [keras.Input((4,)), keras.layers.Dense(3, name="in_dense"),
             keras.layers.BatchNormalization(name="in_bn")], name="sub")  # fmt: skip
    else:
        i = keras.Input((4,))
        o = keras.layers.BatchNormalization(name="in_bn")(keras.layers.Dense(3, name="in_dense")(i))
        inner = keras.Model(i, o, name="sub")
    x = keras.Input((6,))
    y = keras.layers.Dense(2, name="head")(inner(keras.layers.Dense(4, name="stem")(x)))
    return keras.Model(x, y)


NESTED_FLAT = spec_of(
    [6],
    [
        {"type": "Dense", "units": 4, "name": "stem"},
        {"type": "Dense", "units": 3, "name": "in_dense"},
        {"type": "BatchNormalization", "name": "in_bn"},
        {"type": "Dense", "units": 2, "name": "head"},
    ],
)


@pytest.mark.slow
@pytest.mark.parametrize("fmt", FORMATS)
@pytest.mark.parametrize("kind", ["sequential", "functional"])
def test_nested_keras_model_loads_into_its_flat_layers(kind, fmt, tmp_path):
    check_model(NESTED_FLAT, nested_keras(kind), fmt, tmp_path)


def strip_names(path: Path) -> None:
    """A Keras 3 .weights.h5 as Keras before 3.10 wrote it: no `name` attribute on the groups."""
    with h5py.File(path, "r+") as f:
        f.visititems(lambda _, obj: obj.attrs.__delitem__("name") if "name" in obj.attrs else None)


@pytest.mark.slow
@pytest.mark.parametrize("name", ["resnet", "conv_bn", "lstm", "bidirectional_attention"])
def test_unnamed_weights_h5_is_matched_by_keras_order(name, tmp_path):
    spec = resnet() if name == "resnet" else MODELS[name]
    kmodel = keras_of(name)
    randomize(kmodel)
    kmodel.save_weights(path := tmp_path / "m.weights.h5")
    named = {k: v for k, v in read_keras_file(path).items() if v}
    strip_names(path)
    with pytest.raises(netspec.NetspecError, match="does not name its layers"):
        read_keras_file(path)
    order = keras_layer_order(netspec.from_data(spec).graph)
    unnamed = {k: v for k, v in read_keras_file(path, order=order).items() if v}
    assert list(named) == list(unnamed)
    for key in named:
        for a, b in zip(named[key], unnamed[key], strict=True):
            np.testing.assert_array_equal(a, b)
    x = np.random.default_rng(1).normal(size=(2, *kmodel.input_shape[1:])).astype("float32")
    want = keras.ops.convert_to_numpy(kmodel(x, training=False))
    assert_close(predict_with(spec, path, tmp_path, x), want)


BRANCHY = {
    "resnet": resnet(),
    "two_outputs": {
        "netspec": 1, "name": "two", "inputs": {"a": {"shape": [4]}, "b": {"shape": [3]}},
        "layers": [
            {"type": "Dense", "units": 2, "inputs": "b", "name": "db"},
            {"type": "Dense", "units": 2, "inputs": "a", "name": "da"},
            {"type": "Dense", "units": 2, "inputs": "da", "name": "da2"},
            {"type": "Add", "inputs": ["da2", "db"], "name": "add"},
            {"type": "Dense", "units": 1, "inputs": "db", "name": "side"},
        ],
        "outputs": ["add", "side"],
    },
}  # fmt: skip


@pytest.mark.parametrize("name", list(BRANCHY))
def test_keras_layer_order_is_keras_model_layers(name):
    spec = BRANCHY[name]
    valid = netspec.from_data(spec)
    kmodel = keras_model(spec)
    assert keras_layer_order(valid.graph) == [(k.name, type(k).__name__) for k in kmodel.layers]


@pytest.fixture(scope="module")
def dense_file(tmp_path_factory) -> Path:
    """MODELS["dense"] (layers dense, dense_1) saved by Keras as .weights.h5."""
    kmodel = keras_model(MODELS["dense"])
    randomize(kmodel)
    kmodel.save_weights(path := tmp_path_factory.mktemp("dense") / "m.weights.h5")
    return path


def cli_error(spec: dict, weights: Path, folder: Path, *extra) -> str:
    (folder / "spec.yaml").write_text(yaml.safe_dump(spec))
    np.savez(folder / "x.npz", x=np.zeros((2, 6), "float32"))
    done = run("predict", folder / "spec.yaml", "--weights", weights, "--data", folder / "x.npz",
               "-o", folder / "y.npz", "--device", "cpu", *extra)  # fmt: skip
    assert done.exit_code == 1, done.output
    assert "Traceback" not in done.output
    return done.output


DENSE = MODELS["dense"]["layers"]
BAD_SPECS = {
    "missing": (
        [*DENSE, {"type": "Dense", "units": 3}],
        ["layer 'dense_2': not in the file (it holds kernel (2, 3), bias (3,))"],
    ),
    "misshaped": (
        [{"type": "Dense", "units": 4}, {"type": "Dense", "units": 2}],
        [
            "layer 'dense', weight 'kernel': expected shape (6, 4) (Keras layout), found (6, 5)",
            "layer 'dense', weight 'bias': expected shape (4,) (Keras layout), found (5,)",
            "layer 'dense_1', weight 'kernel': expected shape (4, 2) (Keras layout), found (5, 2)",
        ],
    ),
    "count": (
        [{"type": "Dense", "units": 5, "use_bias": False}, DENSE[1]],
        ["layer 'dense': the file has 2 weights (6, 5), (5,), the model's layer 1 (kernel (6, 5))"],
    ),
}


@pytest.mark.parametrize("case", list(BAD_SPECS))
def test_mismatching_weights_are_all_reported(case, dense_file, tmp_path):
    layers, messages = BAD_SPECS[case]
    out = cli_error(spec_of([6], layers), dense_file, tmp_path)
    assert out.startswith(f"{dense_file}: weights do not match the model:")
    for message in messages:
        assert message in out


def test_extra_layers_need_the_option(dense_file, tmp_path):
    spec = spec_of([6], [DENSE[0]])  # the file's dense_1 is not in this model
    out = cli_error(spec, dense_file, tmp_path)
    assert "layers in the file but not in the model: dense_1" in out
    x = np.random.default_rng(0).normal(size=(2, 6)).astype("float32")
    got = predict_with(spec, dense_file, tmp_path, x, "--allow-extra-weights")
    kernel, bias = read_keras_file(dense_file)["dense"]
    np.testing.assert_allclose(got, np.tanh(x @ kernel + bias), rtol=1e-5, atol=1e-6)


def test_broken_files_are_refused_cleanly(dense_file, tmp_path):
    spec = spec_of([6], DENSE)
    data = dense_file.read_bytes()
    cases = {
        "truncated.weights.h5": (data[: len(data) // 2], "cannot read Keras weights"),
        "text.h5": (b"not weights at all\n", "not a weights file"),
        "empty.keras": (b"", "not a weights file"),
        "truncated.keras": (b"PK\x03\x04" + b"\0" * 40, "cannot read Keras weights"),
    }
    for name, (content, message) in cases.items():
        (path := tmp_path / name).write_bytes(content)
        assert message in cli_error(spec, path, tmp_path), name
    assert "no such weights file" in cli_error(spec, tmp_path / "absent.h5", tmp_path)
    with h5py.File(path := tmp_path / "other.h5", "w") as f:
        f["data"] = np.zeros(3)
    assert "an HDF5 file that holds no Keras weights" in cli_error(spec, path, tmp_path)


def test_load_into_a_subset_of_layers(dense_file):
    import torch

    from netspec.torch.keras_files import load_keras_file

    model = netspec.build(netspec.from_data(MODELS["dense"]), seed=0)
    before = model.layers["dense_1"].kernel.detach().clone()
    assert load_keras_file(model, dense_file, layers=["dense"], allow_extra=True) == ["dense"]
    kernel, _ = read_keras_file(dense_file)["dense"]
    torch.testing.assert_close(model.layers["dense"].kernel.detach(), torch.tensor(kernel).T)
    torch.testing.assert_close(model.layers["dense_1"].kernel.detach(), before)
    with pytest.raises(netspec.NetspecError, match="layers in the file but not in the model"):
        load_keras_file(model, dense_file, layers=["dense"])
    with pytest.raises(netspec.NetspecError, match="the model has no layer 'nope'"):
        load_keras_file(model, dense_file, layers=["nope"])


def test_build_with_keras_weights(dense_file, tmp_path):
    (spec := tmp_path / "spec.yaml").write_text(yaml.safe_dump(MODELS["dense"]))
    done = run("build", spec, "--weights", dense_file, "--device", "cpu")
    assert done.exit_code == 0, done.output
    assert f"weights loaded from {dense_file}" in done.output
    (spec := tmp_path / "small.yaml").write_text(yaml.safe_dump(spec_of([6], [DENSE[0]])))
    done = run("build", spec, "--weights", dense_file, "--device", "cpu")
    assert done.exit_code == 1 and "dense_1" in done.output
    assert run("build", spec, "--weights", dense_file, "--allow-extra-weights").exit_code == 0


@pytest.mark.slow
def test_train_init_weights(dense_file, tmp_path):
    spec = {**MODELS["dense"], "compile": {"optimizer": "sgd", "loss": "mse"},
            "train": {"epochs": 1, "batch_size": 4}}  # fmt: skip
    (path := tmp_path / "spec.yaml").write_text(yaml.safe_dump(spec))
    rng = np.random.default_rng(0)
    np.savez(data := tmp_path / "d.npz", x=rng.normal(size=(8, 6)), y=rng.normal(size=(8, 2)))
    args = ["train", path, "--data", data, "--device", "cpu", "-q", "--learning-rate", "1e-30"]
    done = run(*args, "--init-weights", dense_file, "--out", tmp_path / "run")
    assert done.exit_code == 0, done.output
    from safetensors.numpy import load_file

    trained = load_file(tmp_path / "run" / "weights.safetensors")
    kernel, _ = read_keras_file(dense_file)["dense_1"]
    np.testing.assert_allclose(trained["layers.dense_1.kernel"], kernel.T, rtol=1e-6)
    done = run("train", "--resume", tmp_path / "run", "--init-weights", dense_file)
    assert done.exit_code == 1
    assert "--init-weights and --resume" in done.output
    layers = [DENSE[0], {**DENSE[1], "name": "head"}]
    (bad := tmp_path / "bad.yaml").write_text(yaml.safe_dump({**spec, "layers": layers}))
    done = run("train", bad, "--data", data, "--init-weights", dense_file, "--out", tmp_path / "r2")
    assert done.exit_code == 1 and "layer 'head': not in the file" in done.output
    assert not (tmp_path / "r2").exists()


def readme_commands() -> list[list[str]]:
    """The commands of README's "Keras weight files" block."""
    text = (ROOT / "README.md").read_text()
    section = text.split("## Keras weight files", 1)[1].split("\n## ", 1)[0]
    block = section.split("```console", 1)[1].split("```", 1)[0]
    return [line.removeprefix("$ ").split() for line in block.strip().splitlines()]


@pytest.mark.slow
def test_readme_keras_weight_files_commands(tmp_path, monkeypatch):
    from keras.src.legacy.saving.legacy_h5_format import save_weights_to_hdf5_group

    monkeypatch.chdir(tmp_path)
    (tmp_path / "specs").symlink_to(ROOT / "specs")
    resnet_model = keras_model(resnet())
    randomize(resnet_model)
    resnet_model.save_weights("resnet_blocks.weights.h5")
    resnet_model.save("resnet_blocks.keras")
    digits = keras_model(yaml.safe_load((ROOT / "specs" / "digits_cnn.yaml").read_text()))
    with h5py.File("digits_cnn.h5", "w") as f:
        save_weights_to_hdf5_group(f, digits)
    x = np.random.default_rng(0).normal(size=(3, 32, 32, 3)).astype("float32")
    np.savez("images.npz", x=x)
    commands = readme_commands()
    assert [c[:2] for c in commands] == [["netspec", "build"], ["netspec", "predict"],
                                         ["netspec", "train"]]  # fmt: skip
    for command in commands:
        done = run(*command[1:], "--device", "cpu")
        assert done.exit_code == 0, (command, done.output)
    want = keras.ops.convert_to_numpy(resnet_model(x, training=False))
    assert_close(np.load("predictions.npz")["y"], want)


def test_format_by_content_and_chunked_legacy_attributes(tmp_path):
    """A file's format is its content's, whatever its name; Keras 2 splits a long attribute
    into `layer_names0`, `layer_names1`, ... (HDF5's 64 KiB limit), read as one."""
    kmodel = keras_model(MODELS["dense"])
    randomize(kmodel)
    legacy = write(kmodel, "legacy_weights", tmp_path)
    want = read_keras_file(legacy)
    with h5py.File(legacy, "r+") as f:
        names = f.attrs["layer_names"]
        del f.attrs["layer_names"]
        f.attrs["layer_names0"], f.attrs["layer_names1"] = names[:1], names[1:]
    (tmp_path / "legacy.safetensors").write_bytes(legacy.read_bytes())
    for path in (legacy, tmp_path / "legacy.safetensors"):
        got = read_keras_file(path)
        assert list(got) == list(want) and all(
            np.array_equal(a, b) for k in want for a, b in zip(got[k], want[k], strict=True)
        )
    x = np.random.default_rng(0).normal(size=(2, 6)).astype("float32")
    out = predict_with(MODELS["dense"], tmp_path / "legacy.safetensors", tmp_path, x)
    assert_close(out, keras.ops.convert_to_numpy(kmodel(x)))


@pytest.mark.slow
@pytest.mark.parametrize("kind", ["sequential", "functional"])
def test_unnamed_keras_archive_is_matched_by_its_config(kind, tmp_path):
    """A .keras archive of an older Keras 3 (no name attributes): its config.json names the
    groups, nested models included."""
    import zipfile

    kmodel = nested_keras(kind)
    randomize(kmodel)
    kmodel.save(path := tmp_path / "m.keras")
    named = read_keras_file(path)
    with zipfile.ZipFile(path) as zf:
        members = {name: zf.read(name) for name in zf.namelist()}
    (weights := tmp_path / "w.h5").write_bytes(members["model.weights.h5"])
    strip_names(weights)
    members["model.weights.h5"] = weights.read_bytes()
    with zipfile.ZipFile(old := tmp_path / "old.keras", "w") as zf:
        for name, data in members.items():
            zf.writestr(name, data)
    unnamed = read_keras_file(old)
    assert {k: len(v) for k, v in named.items() if v} == {
        k: len(v) for k, v in unnamed.items() if v
    }
    x = np.random.default_rng(1).normal(size=(2, 6)).astype("float32")
    assert_close(predict_with(NESTED_FLAT, old, tmp_path, x), keras.ops.convert_to_numpy(kmodel(x)))
