"""`netspec import` against real Keras models: the spec validates, writes no defaults, has
Keras's parameter count, and `netspec predict` with the imported weights gives Keras's output."""

from __future__ import annotations

import os

os.environ.setdefault("KERAS_BACKEND", "torch")

import keras
import numpy as np
import pytest
import yaml
from keras import layers
from keras.src.legacy.saving import legacy_h5_format
from typer.testing import CliRunner

import netspec
from netspec.cli import app
from netspec.compiler import param_counts
from netspec.layers import LAYERS

runner = CliRunner()


def mlp():
    return keras.Sequential([
        keras.Input((12,)),
        layers.Dense(32, activation="relu", kernel_initializer="he_normal",
                     kernel_regularizer=keras.regularizers.L2(1e-4),
                     kernel_constraint=keras.constraints.MaxNorm(3.0)),
        layers.Dropout(0.2),
        layers.Dense(16, activation="tanh", bias_regularizer=keras.regularizers.L1(1e-3),
                     bias_constraint=keras.constraints.NonNeg()),
        layers.Dense(4, activation="softmax", name="probabilities"),
    ])  # fmt: skip


def resnet():
    x = inp = keras.Input((16, 16, 3), name="image")
    x = layers.Conv2D(8, 3, padding="same", activation="relu", name="stem")(x)
    for i, filters in enumerate((8, 16)):
        y = layers.Conv2D(filters, 3, strides=1 + i, padding="same", use_bias=False)(x)
        y = layers.BatchNormalization()(y)
        y = layers.Activation("relu")(y)
        y = layers.Conv2D(filters, 3, padding="same", use_bias=False)(y)
        y = layers.BatchNormalization()(y)
        if i:
            x = layers.Conv2D(filters, 1, strides=2, use_bias=False, name="projection")(x)
        x = layers.Activation("relu")(layers.Add()([y, x]))
    x = layers.GlobalAveragePooling2D()(x)
    return keras.Model(inp, layers.Dense(10, activation="softmax")(x))


def conv1d():
    return keras.Sequential([
        keras.Input((40, 3)),
        layers.Conv1D(16, 5, activation="relu"),
        layers.MaxPooling1D(2),
        layers.Conv1D(32, 3, padding="same", activation="relu"),
        layers.GlobalMaxPooling1D(),
        layers.Dense(5, activation="softmax"),
    ])  # fmt: skip


def unet():
    inp = keras.Input((16, 16, 1))
    c1 = layers.Conv2D(8, 3, padding="same", activation="relu")(inp)
    p1 = layers.MaxPooling2D()(c1)
    c2 = layers.Conv2D(16, 3, padding="same", activation="relu")(p1)
    p2 = layers.MaxPooling2D()(c2)
    b = layers.Conv2D(32, 3, padding="same", activation="relu")(p2)
    u2 = layers.Conv2DTranspose(16, 2, strides=2, padding="same")(b)
    c3 = layers.Conv2D(16, 3, padding="same", activation="relu")(layers.Concatenate()([u2, c2]))
    u1 = layers.Conv2DTranspose(8, 2, strides=2, padding="same")(c3)
    c4 = layers.Conv2D(8, 3, padding="same", activation="relu")(layers.Concatenate()([u1, c1]))
    return keras.Model(inp, layers.Conv2D(1, 1, activation="sigmoid")(c4))


def lstm():
    return keras.Sequential([
        keras.Input((10, 4)),
        layers.LSTM(16, return_sequences=True),
        layers.LSTM(8),
        layers.Dense(1),
    ])  # fmt: skip


def ops():
    """keras.ops nodes of functional code: `+`, `*` and `-` by numbers, `/`, slicing,
    ops.concatenate: imported as Add, Lambda expressions and Concatenate."""
    inputs = keras.Input((6, 4))
    a = layers.Dense(4)(inputs)
    x = a + inputs
    x = 2.0 * x - 1.0
    x = x / 3.0
    x = keras.ops.concatenate([x[:, 1:3, ...], a[:, ::2]], axis=1)
    x = x[..., -1]
    return keras.Model(inputs, layers.Dense(2)(x))


def nested():
    """Nested Sequential models (as Keras users build encoders and heads): blocks."""
    encoder = keras.Sequential([layers.Dense(16, activation="relu"), layers.Dense(8)],
                               name="encoder")  # fmt: skip
    head = keras.Sequential([layers.Dense(8, activation="relu"), layers.Dense(3)], name="head")
    inputs = keras.Input((12,), name="features")
    return keras.Model(inputs, head(encoder(inputs)))


def siamese():
    """One encoder (a nested model) and one Dense called on two inputs: Shared entries."""
    encoder = keras.Sequential([layers.Dense(16, activation="relu"), layers.Dense(8)],
                               name="encoder")  # fmt: skip
    left, right = keras.Input((12,), name="left"), keras.Input((12,), name="right")
    project = layers.Dense(4, name="project")
    x = layers.Subtract()([project(encoder(left)), project(encoder(right))])
    return keras.Model([left, right], layers.Dense(1, activation="sigmoid")(x))


def transformer():
    """Three identical encoder blocks over a padding mask (Embedding mask_zero): one block
    used with `repeat: 3`, and Keras's masks (MultiHeadAttention reads them when it runs)."""
    inputs = keras.Input((10,), dtype="int32")
    x = layers.Embedding(50, 16, mask_zero=True)(inputs)
    for _ in range(3):
        a = layers.MultiHeadAttention(2, 8)(x, x)
        x = layers.LayerNormalization()(layers.Add()([x, a]))
        f = layers.Dense(16)(layers.Dense(32, activation="relu")(x))
        x = layers.LayerNormalization()(layers.Add()([x, f]))
    x = layers.GlobalAveragePooling1D()(x)
    return keras.Model(inputs, layers.Dense(2)(x))


def named_blocks():
    """Residual blocks named as keras.applications names them (`stage2_block3_1_conv`): one
    block, used with names counting up."""
    x = inputs = keras.Input((8, 8, 4))
    for i in range(1, 4):
        name = f"stage2_block{i}"
        y = layers.Conv2D(4, 3, padding="same", name=f"{name}_1_conv")(x)
        y = layers.BatchNormalization(name=f"{name}_1_bn")(y)
        y = layers.Activation("relu", name=f"{name}_1_relu")(y)
        y = layers.Conv2D(4, 3, padding="same", name=f"{name}_2_conv")(y)
        x = layers.Activation("relu", name=f"{name}_out")(layers.Add(name=f"{name}_add")([x, y]))
    return keras.Model(inputs, layers.GlobalAveragePooling2D(name="pool")(x))


def two_tower():
    """A nested Functional model with two inputs (a block with `inputs: [a, b]`) and a nested
    Sequential beside it."""
    a, b = keras.Input((6,), name="a"), keras.Input((6,), name="b")
    h = layers.Concatenate()([layers.Dense(8, activation="relu")(a), layers.Dense(8)(b)])
    fuse = keras.Model([a, b], layers.Dense(4)(h), name="fuse")
    deep = keras.Sequential([keras.Input((4,)), layers.Dense(4, activation="relu"),
                             layers.Dense(4)], name="deep")  # fmt: skip
    user, item = keras.Input((6,), name="user"), keras.Input((6,), name="item")
    x = fuse([layers.Dense(6)(user), item])
    return keras.Model([user, item], layers.Dense(1)(layers.Add()([x, deep(x)])))


def channels_first():
    keras.config.set_image_data_format("channels_first")
    try:
        return keras.Sequential([
            keras.Input((3, 12, 12)),
            layers.Conv2D(4, 3, activation="relu"),
            layers.MaxPooling2D(),
            layers.BatchNormalization(axis=1),
            layers.Flatten(),
            layers.Dense(2),
        ])  # fmt: skip
    finally:
        keras.config.set_image_data_format("channels_last")


MODELS = {"mlp": mlp, "resnet": resnet, "conv1d": conv1d, "unet": unet, "lstm": lstm, "ops": ops,
          "nested": nested, "siamese": siamese, "transformer": transformer,
          "named_blocks": named_blocks, "channels_first": channels_first,
          "two_tower": two_tower}  # fmt: skip
H5 = set(MODELS)  # Keras 2's format, as Keras 3's legacy saver writes it
JSON = set(MODELS)
# What each spec must show: the structure the importer writes.
EXPECTED = {
    "nested": ["blocks:", "- {block: encoder, name: encoder}", "- {block: head, name: head}"],
    "siamese": ["{type: Shared, ", "layer: project}"],
    "transformer": ["- {block: block, repeat: 3}", "- {type: Embedding, input_dim: 50"],
    "named_blocks": ['{block: stage2_block, name: "stage2_block${i}", repeat: 3}'],
    "channels_first": ["data_format: channels_first", "- {type: BatchNormalization, axis: 1}"],
    "two_tower": ["    inputs: [a, b]", "- {block: fuse, name: fuse, inputs: [dense", ", item]}"],
}


def import_cli(*args: str) -> None:
    result = runner.invoke(app, ["import", *args])
    assert result.exit_code == 0, result.output


def check_spec(path, keras_model) -> netspec.ValidSpec:
    valid = netspec.load(path)
    assert sum(t + f for t, f in param_counts(valid.graph).values()) == keras_model.count_params()
    data = yaml.safe_load(path.read_text())
    entries = data["layers"] + [e for b in (data.get("blocks") or {}).values() for e in b["layers"]]
    for entry in entries:
        if "type" not in entry:
            continue
        fields = LAYERS.get(entry["type"]).model_fields
        for key, value in entry.items():
            if key not in ("type", "name", "inputs", "as"):
                assert value != fields[key].default, (entry, key)
    return valid


def import_and_predict(tmp_path, keras_model, source, x) -> float:
    spec = tmp_path / f"{source.suffix[1:]}.yaml"
    import_cli(str(source), "-o", str(spec))
    check_spec(spec, keras_model)
    arrays = {f"x_{k}": v for k, v in x.items()} if isinstance(x, dict) else {"x": x}
    np.savez(tmp_path / "x.npz", **arrays)
    out = tmp_path / "y.npz"
    weights = spec.with_suffix(".safetensors")
    result = runner.invoke(app, ["predict", str(spec), "--weights", str(weights),
                                 "--data", str(tmp_path / "x.npz"), "-o", str(out),
                                 "--device", "cpu"])  # fmt: skip
    assert result.exit_code == 0, result.output
    got, want = np.load(out)["y"], keras_model.predict(x, verbose=0)
    return float(np.abs(got - want).max() / np.abs(want).max())


def sample(model):
    """A batch for the model's inputs: token ids (a fifth of them padding) or normal values."""
    rng = np.random.default_rng(0)
    xs = {}
    for t in model.inputs:
        shape = (4, *t.shape[1:])
        is_int = "int" in str(t.dtype)
        value = rng.integers(0, 5, size=shape) if is_int else rng.normal(size=shape)
        xs[t.name] = value.astype(str(t.dtype))
    return next(iter(xs.values())) if len(xs) == 1 else xs


@pytest.mark.parametrize("kind", sorted(MODELS))
def test_import_matches_keras(tmp_path, kind):
    keras.utils.set_random_seed(0)
    model = MODELS[kind]()
    x = sample(model)
    model.save(tmp_path / "model.keras")
    assert import_and_predict(tmp_path, model, tmp_path / "model.keras", x) <= 1e-5
    text = (tmp_path / "keras.yaml").read_text()
    for expected in EXPECTED.get(kind, []):
        assert expected in text, (expected, text)
    if kind in H5:
        legacy_h5_format.save_model_to_hdf5(model, tmp_path / "model.h5")
        assert import_and_predict(tmp_path, model, tmp_path / "model.h5", x) <= 1e-5
    if kind in JSON:
        (tmp_path / "model.json").write_text(model.to_json())
        import_cli(str(tmp_path / "model.json"), "-o", str(tmp_path / "json.yaml"))
        check_spec(tmp_path / "json.yaml", model)
        assert not (tmp_path / "json.safetensors").exists()


@keras.saving.register_keras_serializable(package="mine")
class Twice(layers.Layer):
    def call(self, x):
        return 2 * x


def test_unsupported_model_gives_every_reason(tmp_path):
    inp = keras.Input((4,))
    x = layers.Dense(3)(inp)
    x = Twice(name="twice")(x)
    x = layers.Lambda(lambda t: t + 1, name="plus_one")(x)
    keras.Model(inp, x).save(tmp_path / "bad.keras")
    result = runner.invoke(app, ["import", str(tmp_path / "bad.keras"), "-o",
                                 str(tmp_path / "bad.yaml")])  # fmt: skip
    assert result.exit_code == 1
    text = result.output
    assert "bad.keras: layer 'twice' (Twice): custom class 'mine>Twice'" in text
    assert "bad.keras: layer 'plus_one' (Lambda): a Lambda holding Python bytecode" in text
    assert not (tmp_path / "bad.yaml").exists()
    assert not (tmp_path / "bad.safetensors").exists()


def test_partial_writes_placeholders_that_fail_validation(tmp_path):
    inp = keras.Input((4,))
    x = layers.Dense(3)(inp)
    x = Twice(name="twice")(x)
    keras.Model(inp, layers.Dense(2)(x)).save(tmp_path / "bad.keras")
    spec = tmp_path / "bad.yaml"
    result = runner.invoke(app, ["import", str(tmp_path / "bad.keras"), "-o", str(spec),
                                 "--partial"])  # fmt: skip
    assert result.exit_code == 1
    assert f"partial spec written to {spec}" in result.output
    text = spec.read_text()
    assert "  # TODO netspec import: custom class 'mine>Twice' (not Keras's)\n" in text
    assert "  - {type: NOT_IMPORTED_Twice, name: twice}\n" in text
    assert not (tmp_path / "bad.safetensors").exists()
    result = runner.invoke(app, ["validate", str(spec)])
    assert result.exit_code == 1
    assert "layers[1].type: unknown layer type 'NOT_IMPORTED_Twice'" in result.output
