"""`netspec import` of layers beyond the basics, against real Keras: recurrent layers and their
wrappers (nested layer configs), masks, attention with call arguments, normalization and
dropout layers, float32-rounded arguments, pooling strides, and a plugin's layer importing a
user's Keras class. Each model: the spec validates, writes no defaults, has Keras's parameter
count, and `netspec predict` with the imported weights gives Keras's output."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

os.environ.setdefault("KERAS_BACKEND", "torch")

from typing import Literal

import keras
import numpy as np
import pytest
import yaml
from keras import layers
from keras.src.legacy.saving import legacy_h5_format
from pydantic import Field
from typer.testing import CliRunner

import netspec
from netspec.cli import app
from netspec.compiler import param_counts
from netspec.keras_import import import_model
from netspec.keras_import.translate import call_arguments, imports_keras_class, layer_entry
from netspec.layers import LAYERS, Layer, Weight, register_layer
from netspec.layers.rnn import CELLS
from netspec.vocab import InitializerField

runner = CliRunner()


def stacked_lstm():
    return keras.Sequential([
        keras.Input((6, 3)),
        layers.LSTM(8, return_sequences=True, recurrent_dropout=0.1),
        layers.LSTM(4, unit_forget_bias=False),
        layers.Dense(1),
    ])  # fmt: skip


def bidirectional_masked():
    inp = keras.Input((7,), dtype="int32")
    x = layers.Embedding(20, 6, mask_zero=True)(inp)
    x = layers.Bidirectional(layers.LSTM(5, return_sequences=True))(x)
    x = layers.Bidirectional(layers.GRU(3), merge_mode="sum")(x)
    return keras.Model(inp, layers.Dense(2)(x))


def gru():
    return keras.Sequential([
        keras.Input((5, 3)),
        layers.GRU(6, return_sequences=True, reset_after=False),
        layers.GRU(4, go_backwards=True, activation="relu"),
        layers.Dense(2, activation="softmax"),
    ])  # fmt: skip


def conv1d_time_distributed():
    return keras.Sequential([
        keras.Input((12, 4)),
        layers.Conv1D(6, 3, padding="causal", dilation_rate=2, activation="relu"),
        layers.MaxPooling1D(2),
        layers.AveragePooling1D(2, strides=1, padding="same"),
        layers.TimeDistributed(layers.Dense(5, activation="tanh", use_bias=False)),
        layers.RNN(layers.GRUCell(4, reset_after=False)),
        layers.Dense(1),
    ])  # fmt: skip


def vae_decoder():
    return keras.Sequential([
        keras.Input((3,)),
        layers.Dense(4 * 4 * 6, activation="relu"),
        layers.Reshape((4, 4, 6)),
        layers.Conv2DTranspose(8, 3, strides=2, padding="same", activation="relu"),
        layers.Conv2DTranspose(4, 3, strides=2, padding="same", activation="relu"),
        layers.Conv2D(1, 3, padding="same", activation="sigmoid"),
    ])  # fmt: skip


def normalizations():
    return keras.Sequential([
        keras.Input((8, 8, 3)),
        layers.Conv2D(8, 3, kernel_regularizer=keras.regularizers.L2(1e-4)),
        layers.LayerNormalization(axis=[1, 2, 3], epsilon=1e-5),
        layers.GroupNormalization(groups=4),
        layers.SpatialDropout2D(0.2),
        layers.MaxPooling2D(),
        layers.AveragePooling2D(pool_size=3, strides=1),
        layers.Flatten(),
        layers.Dropout(0.3),
        layers.Dense(3, bias_regularizer=keras.regularizers.L1L2(l1=1e-5, l2=3e-4)),
    ])  # fmt: skip


def causal_attention():
    inp = keras.Input((6,), dtype="int32")
    x = layers.Embedding(20, 8)(inp)
    x = layers.MultiHeadAttention(2, 4)(x, x, use_causal_mask=True)
    x = layers.LayerNormalization()(x)
    x = layers.Attention(use_scale=True)([x, x], use_causal_mask=True)
    x = layers.GlobalAveragePooling1D()(x)
    return keras.Model(inp, layers.Dense(2)(x))


MODELS = {
    "stacked_lstm": stacked_lstm,
    "bidirectional_masked": bidirectional_masked,
    "gru": gru,
    "conv1d_time_distributed": conv1d_time_distributed,
    "vae_decoder": vae_decoder,
    "normalizations": normalizations,
    "causal_attention": causal_attention,
}
H5 = {"stacked_lstm", "gru", "vae_decoder", "normalizations"}


def sample(model: keras.Model) -> np.ndarray:
    """Four inputs: int tokens with zero padding at the end for an int input, else normal."""
    shape = (4, *model.input_shape[1:])
    rng = np.random.default_rng(0)
    if model.inputs[0].dtype != "int32":
        return rng.normal(size=shape).astype("float32")
    tokens = rng.integers(1, 20, size=shape).astype("int32")
    for row, length in enumerate((shape[1], 5, 3, 1)):
        tokens[row, length:] = 0
    return tokens


def no_defaults(entry: dict, fields: dict) -> None:
    """No argument of `entry` (nested layers and cells too) equals netspec's default."""
    for key, value in entry.items():
        if key in ("type", "name", "inputs"):
            continue
        assert value != fields[key].default, (entry, key)
        for inner in value if isinstance(value, list) else [value]:
            if isinstance(inner, dict) and "type" in inner and key in ("layer", "cell", "cells"):
                registry = CELLS if inner["type"] in CELLS else LAYERS
                no_defaults(inner, registry.get(inner["type"]).model_fields)
            if key == "backward_layer":
                no_defaults(inner, LAYERS.get(inner["type"]).model_fields)


def import_and_predict(tmp_path, model: keras.Model, source, x: np.ndarray) -> dict:
    """The spec imported from `source`, checked; returns its data."""
    spec = tmp_path / f"{source.suffix[1:]}.yaml"
    res = import_model(source, spec)
    valid = netspec.load(spec)
    assert sum(t + f for t, f in param_counts(valid.graph).values()) == model.count_params()
    data = yaml.safe_load(spec.read_text())
    for entry in data["layers"]:
        no_defaults(entry, LAYERS.get(entry["type"]).model_fields)
    np.savez(tmp_path / "x.npz", x=x)
    out = tmp_path / "y.npz"
    result = runner.invoke(app, ["predict", str(spec), "--weights", str(res.weights),
                                 "--data", str(tmp_path / "x.npz"), "-o", str(out),
                                 "--device", "cpu"])  # fmt: skip
    assert result.exit_code == 0, result.output
    got, want = np.load(out)["y"], model.predict(x, verbose=0)
    assert np.linalg.norm(got - want) / np.linalg.norm(want) <= 1e-5
    return data


@pytest.mark.parametrize("kind", sorted(MODELS))
def test_import_matches_keras(tmp_path, kind):
    keras.utils.set_random_seed(0)
    model = MODELS[kind]()
    x = sample(model)
    model.save(tmp_path / "model.keras")
    data = import_and_predict(tmp_path, model, tmp_path / "model.keras", x)
    if kind in H5:
        legacy_h5_format.save_model_to_hdf5(model, tmp_path / "model.h5")
        assert import_and_predict(tmp_path, model, tmp_path / "model.h5", x) == data


def entries(kind: str, tmp_path) -> list[dict]:
    keras.utils.set_random_seed(0)
    MODELS[kind]().save(tmp_path / "model.keras")
    import_model(tmp_path / "model.keras", tmp_path / "m.yaml")
    return yaml.safe_load((tmp_path / "m.yaml").read_text())["layers"]


def test_written_arguments_are_those_people_write(tmp_path):
    """Pooling strides equal to pool_size left out, float32 values written short, nested
    layers and cells as netspec entries without names or defaults."""
    norm = entries("normalizations", tmp_path)
    assert norm[0]["kernel_regularizer"] == {"type": "L2", "l2": 1e-4}
    assert norm[1] == {"type": "LayerNormalization", "axis": [1, 2, 3], "epsilon": 1e-5}
    assert norm[4] == {"type": "MaxPooling2D"}
    assert norm[5] == {"type": "AveragePooling2D", "pool_size": 3, "strides": 1}
    assert norm[-1]["bias_regularizer"] == {"type": "L1L2", "l1": 1e-5, "l2": 3e-4}
    conv = entries("conv1d_time_distributed", tmp_path)
    assert conv[3]["layer"] == {"type": "Dense", "units": 5, "activation": "tanh",
                                "use_bias": False}  # fmt: skip
    assert conv[4]["cell"] == {"type": "GRUCell", "units": 4, "reset_after": False}


def test_bidirectional_keeps_a_backward_layer_of_its_own():
    keras.utils.set_random_seed(0)
    forward = layers.LSTM(3, return_sequences=True)
    backward = layers.GRU(3, return_sequences=True, go_backwards=True)
    config = layers.Bidirectional(forward, backward_layer=backward).get_config()
    reasons: list[str] = []
    entry = layer_entry("Bidirectional", config, reasons)
    assert reasons == []
    assert entry == {
        "type": "Bidirectional",
        "layer": {"type": "LSTM", "units": 3, "return_sequences": True},
        "backward_layer": {"type": "GRU", "units": 3, "return_sequences": True,
                           "go_backwards": True},
    }  # fmt: skip
    own = layer_entry("Bidirectional", layers.Bidirectional(forward).get_config(), reasons)
    assert reasons == [] and "backward_layer" not in own


def test_call_arguments():
    """What Keras 3 serializes as call kwargs (inbound_nodes[k]["kwargs"])."""
    inp = keras.Input((4, 3))
    x = layers.MultiHeadAttention(1, 2)(inp, inp, use_causal_mask=True)
    x = layers.AdditiveAttention()([x, x], use_causal_mask=False, return_attention_scores=False)
    nodes = {
        layer["class_name"]: layer["inbound_nodes"][0]["kwargs"]
        for layer in yaml.safe_load(keras.Model(inp, x).to_json())["config"]["layers"][1:]
    }
    reasons: list[str] = []
    mha = call_arguments("MultiHeadAttention", nodes["MultiHeadAttention"], reasons)
    assert mha == {"use_causal_mask": True}
    assert call_arguments("AdditiveAttention", nodes["AdditiveAttention"], reasons) == {}
    gqa = {"use_causal_mask": True, "return_attention_scores": True}
    assert call_arguments("GroupQueryAttention", gqa, reasons) == gqa
    assert reasons == []
    tensor = {"class_name": "__keras_tensor__", "config": {"keras_history": ["x", 0, 0]}}
    assert call_arguments("LSTM", {"initial_state": [tensor, tensor]}, reasons) == {}
    assert call_arguments("Dense", {"use_causal_mask": True}, reasons) == {}
    assert call_arguments("MultiHeadAttention", {"attention_mask": tensor}, reasons) == {}
    assert len(reasons) == 3
    assert "netspec's recurrent layers start from zero states" in reasons[0]
    assert "'use_causal_mask' (True) of Dense has no netspec equivalent" in reasons[1]
    assert "'attention_mask' is not supported" in reasons[2]


def test_causal_attention_writes_the_call_argument(tmp_path):
    written = entries("causal_attention", tmp_path)
    del written[1]["inputs"]  # [embedding, embedding], its name numbered by earlier models
    assert written[1] == {"type": "MultiHeadAttention", "num_heads": 2, "key_dim": 4,
                          "use_causal_mask": True}  # fmt: skip
    assert written[3]["use_causal_mask"] is True


def test_float32_dtype_policy_only():
    config = layers.Dense(2, dtype="mixed_float16").get_config()
    reasons: list[str] = []
    layer_entry("Dense", config, reasons)
    assert reasons == [
        "dtype policy 'mixed_float16' is not supported (netspec computes in float32)"
    ]


# A plugin's layer and the user's Keras class it imports. The plugin registers itself in a
# process of its own (`__main__` below), leaving this process's catalogue as it is for the
# tests that go through every layer type.
class ScaledByFactor(Layer):
    """Multiplies its input by `factor` and a learned per-feature scale."""

    type: Literal["ScaledByFactor"] = "ScaledByFactor"
    factor: float = Field(1.0, description="Fixed factor.")
    scale_initializer: InitializerField = Field("ones", validate_default=True)

    keras_parity = False

    def weights(self, shapes, ctx):
        return [Weight("scale", (shapes[0][-1],), self.scale_initializer)]

    def build(self, shapes, ctx):
        return scaled_module(self.graph_weights(shapes, ctx), ctx, self.factor)


def scaled_module(weights, ctx, factor):
    import torch

    from netspec.torch.weights import create_weight

    class Module(torch.nn.Module):
        def __init__(self):
            super().__init__()
            create_weight(self, weights[0], ctx)

        def forward(self, x):
            return x * factor * self.scale

    return Module()


@keras.saving.register_keras_serializable(package="mine")
class Scaled(layers.Layer):
    def __init__(self, factor=1.0, scale_initializer="ones", **kwargs):
        super().__init__(**kwargs)
        self.factor = factor
        self.scale_initializer = keras.initializers.get(scale_initializer)

    def build(self, input_shape):
        self.scale = self.add_weight(
            shape=(input_shape[-1],), initializer=self.scale_initializer, name="scale"
        )

    def call(self, x):
        return x * self.factor * self.scale

    def get_config(self):
        init = keras.initializers.serialize(self.scale_initializer)
        return {**super().get_config(), "factor": self.factor, "scale_initializer": init}


def plugin_import(tmp_path: Path) -> None:
    """Register the plugin (as load_plugins does for an installed one), then import a model
    holding the user's class."""
    imports_keras_class("mine>Scaled")(register_layer(ScaledByFactor))
    keras.utils.set_random_seed(0)
    model = keras.Sequential([
        keras.Input((5,)),
        layers.Dense(4),
        Scaled(0.3, scale_initializer="random_normal", name="per_feature"),
        layers.Dense(2),
    ])  # fmt: skip
    model.save(tmp_path / "model.keras")
    x = np.random.default_rng(0).normal(size=(3, 5)).astype("float32")
    data = import_and_predict(tmp_path, model, tmp_path / "model.keras", x)
    assert data["layers"][1] == {"type": "ScaledByFactor", "name": "per_feature", "factor": 0.3,
                                 "scale_initializer": "random_normal"}  # fmt: skip


@pytest.mark.slow  # a fresh interpreter
def test_plugin_layer_imports_a_custom_keras_class(tmp_path):
    root = Path(__file__).resolve().parent.parent
    env = {**os.environ, "PYTHONPATH": os.pathsep.join([str(root), str(root / "tests")])}
    result = subprocess.run([sys.executable, __file__, str(tmp_path)], env=env, cwd=root,
                            capture_output=True, text=True, timeout=300)  # fmt: skip
    assert result.returncode == 0, result.stdout + result.stderr
    assert (tmp_path / "keras.safetensors").exists()


def test_float32_values_are_written_short():
    """Keras stores float32 arguments as their float64 value (`l2: 9.999999747378752e-05`);
    the importer writes the shortest decimal of the same float32."""
    config = layers.Dense(2, kernel_regularizer=keras.regularizers.L2(1e-4)).get_config()
    config["kernel_regularizer"]["config"]["l2"] = float(np.float32(1e-4))
    config["kernel_constraint"] = keras.constraints.serialize(keras.constraints.MaxNorm(0.7))
    config["kernel_constraint"]["config"]["max_value"] = float(np.float32(0.7))
    reasons: list[str] = []
    entry = layer_entry("Dense", config, reasons)
    assert reasons == []
    assert entry["kernel_regularizer"] == {"type": "L2", "l2": 1e-4}
    assert entry["kernel_constraint"] == {"type": "MaxNorm", "max_value": 0.7}
    rate = layers.Dropout(float(np.float32(0.1))).get_config()
    assert layer_entry("Dropout", rate, reasons) == {"type": "Dropout", "rate": 0.1}


def test_keras2_configs():
    """Layer configs as Keras 2 (tf.keras 2.15) writes them in a full-model .h5: dtype as a
    string, batch_input_shape on the first layer, LSTM's implementation and time_major,
    initializers without a module, float32-rounded regularizers, LayerNormalization's axis
    as a list."""
    lstm = {
        "name": "lstm", "trainable": True, "dtype": "float32", "batch_input_shape": [None, 6, 3],
        "return_sequences": True, "return_state": False, "go_backwards": False,
        "stateful": False, "unroll": False, "time_major": False, "units": 8,
        "activation": "tanh", "recurrent_activation": "sigmoid", "use_bias": True,
        "kernel_initializer": {"class_name": "GlorotUniform", "config": {"seed": None}},
        "recurrent_initializer": {"class_name": "Orthogonal",
                                  "config": {"gain": 1.0, "seed": None}},
        "bias_initializer": {"class_name": "Zeros", "config": {}}, "unit_forget_bias": True,
        "kernel_regularizer": {"class_name": "L2", "config": {"l2": 9.999999747378752e-05}},
        "recurrent_regularizer": None, "bias_regularizer": None, "activity_regularizer": None,
        "kernel_constraint": None, "recurrent_constraint": None, "bias_constraint": None,
        "dropout": 0.0, "recurrent_dropout": 0.0, "implementation": 2,
    }  # fmt: skip
    reasons: list[str] = []
    assert layer_entry("LSTM", lstm, reasons) == {
        "type": "LSTM", "return_sequences": True, "units": 8,
        "kernel_regularizer": {"type": "L2", "l2": 1e-4},
    }  # fmt: skip
    norm = {"name": "layer_normalization", "trainable": True, "dtype": "float32", "axis": [2],
            "epsilon": 0.001, "center": True, "scale": True}  # fmt: skip
    assert layer_entry("LayerNormalization", norm, reasons) == {
        "type": "LayerNormalization",
        "axis": 2,
    }
    build = {"input_shape": [None, 6, 8]}  # the rank makes axis 2 the last one: the default
    assert layer_entry("LayerNormalization", norm, reasons, build) == {"type": "LayerNormalization"}
    assert reasons == []


if __name__ == "__main__":
    plugin_import(Path(sys.argv[1]))
