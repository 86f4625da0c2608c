"""Inputs declared float16, bfloat16 or float64 reach every layer as float32, as Keras's layers
autocast floating inputs to their float32 compute dtype; integers stay integers in layers that
only move values (the fuzzer found Dense, Conv1D and MultiHeadAttention failing on float64)."""

import os

import pytest
import torch

import netspec

os.environ.setdefault("KERAS_BACKEND", "torch")

LAYERS = [
    "{type: Dense, units: 3}",
    "{type: Conv1D, filters: 2, kernel_size: 1}",
    "{type: Reshape, target_shape: [12]}",
    "{type: Flatten}",
    "{type: LayerNormalization}",
]


def spec(dtype: str, layer: str) -> str:
    return f"netspec: 1\ninputs:\n  a: {{shape: [4, 3], dtype: {dtype}}}\nlayers:\n  - {layer}\n"


@pytest.mark.parametrize("dtype", ["float16", "bfloat16", "float64"])
@pytest.mark.parametrize("layer", LAYERS)
def test_floating_inputs_are_float32_in_every_layer_as_keras(dtype, layer):
    import keras

    model = netspec.build(netspec.loads(spec(dtype, layer)), seed=0)
    out = model(torch.ones(2, 4, 3, dtype=getattr(torch, dtype)))
    graph = netspec.loads(spec(dtype, layer))

    assert out.dtype == torch.float32
    assert graph.graph.nodes[-1].dtype == "float32"
    inp = keras.Input((4, 3), dtype=dtype)
    assert str(keras.Model(inp, _keras_layer(keras, layer)(inp)).outputs[0].dtype) == "float32"


def _keras_layer(keras, layer: str):
    return {
        "Dense": lambda: keras.layers.Dense(3),
        "Conv1D": lambda: keras.layers.Conv1D(2, 1),
        "Reshape": lambda: keras.layers.Reshape((12,)),
        "Flatten": lambda: keras.layers.Flatten(),
        "LayerNormalization": lambda: keras.layers.LayerNormalization(),
    }[layer.split("type: ")[1].split(",")[0].rstrip("}")]()


def test_integer_inputs_stay_integers_in_layers_that_move_values():

    graph = netspec.loads(spec("int32", "{type: Reshape, target_shape: [12]}")).graph
    assert graph.nodes[-1].dtype == "int32"
