"""The zoo's EfficientNetB0-B7, InceptionV3 and ConvNeXt specs (specs/applications/) against
keras.applications: parameter counts, layer names and output shapes at Keras's defaults and
headless with pooling, and outputs with Keras's weights copied in.

ConvNeXt's stem and downsampling layers are Keras `Sequential` sub-models
(`convnext_tiny_stem`, `convnext_tiny_downsampling_block_0`, ...); netspec's graph is flat, so
Keras's model is compared with its Sequential layers replaced by the layers inside them (whose
names netspec's layers carry): `flat_layers` below."""

from __future__ import annotations

import math

import keras
import numpy as np
import pytest
import torch

import netspec
from netspec.compiler import param_counts
from netspec.torch.weights import load_keras_weights
from tests.zoo import (
    ZOO,
    assert_same_outputs,
    keras_app,
    randomise_batchnorm,
    relative_difference,
    zoo_spec,
)

APPS = keras.applications
# EfficientNet's ZeroPadding2D (imagenet_utils.correct_pad) depends on each size's parity:
# 65 x 72 has odd and even sizes at the stride-2 blocks (65, 33, 17, 9, 5 and 72, 36, 18, 9, 5)
ODD_EVEN = [65, 72, 3]
# spec name -> (Keras factory, a small input Keras allows)
MODELS = {
    **{f"efficientnetb{k}": (getattr(APPS, f"EfficientNetB{k}"), ODD_EVEN) for k in range(8)},
    "inceptionv3": (APPS.InceptionV3, [75, 75, 3]),
    "convnexttiny": (APPS.ConvNeXtTiny, [32, 32, 3]),
    "convnextsmall": (APPS.ConvNeXtSmall, [32, 32, 3]),
    "convnextbase": (APPS.ConvNeXtBase, [32, 32, 3]),
    "convnextlarge": (APPS.ConvNeXtLarge, [32, 32, 3]),
}
NAMES = [n for n in MODELS if (ZOO / f"{n}.yaml").exists()]


def flat_layers(model: keras.Model) -> list[keras.layers.Layer]:
    """`model.layers` with each nested Sequential (or Functional) replaced by its layers,
    recursively: the layers whose names and weights netspec's flat graph has."""
    out = []
    for layer in model.layers:
        if isinstance(layer, keras.Model):
            out.extend(flat_layers(layer))
        else:
            out.append(layer)
    return out


def flat_names(model: keras.Model) -> set[str]:
    """The names of every layer and operation (ConvNeXt's `inputs + x` is an unnamed Keras
    `add` operation, a netspec Add layer), nested Sequential layers flattened, inputs left out."""
    names = set()
    ops = model.layers if isinstance(model, keras.Sequential) else model.operations
    for op in ops:
        if isinstance(op, keras.Model):
            names |= flat_names(op)
        elif not isinstance(op, keras.layers.InputLayer):
            names.add(op.name)
    return names


def _size(weights) -> int:
    return sum(math.prod(w.shape) for w in weights)


def assert_same_flat_counts(valid, kmodel: keras.Model) -> None:
    """tests.zoo.assert_same_counts over `flat_layers`: totals, each weight-holding layer's
    name and (trainable, non-trainable) count, and the output shape."""
    counts = param_counts(valid.graph)
    ours = {n: c for n, c in counts.items() if sum(c)}
    theirs = {
        layer.name: (_size(layer.trainable_weights), _size(layer.non_trainable_weights))
        for layer in flat_layers(kmodel)
        if layer.weights
    }
    assert ours == theirs
    assert set(valid.graph.by_name) == flat_names(kmodel)
    assert sum(t for t, _ in counts.values()) == _size(kmodel.trainable_weights)
    assert sum(f for _, f in counts.values()) == _size(kmodel.non_trainable_weights)
    assert (None, *valid.graph.output_shapes()[0]) == tuple(kmodel.output.shape)


def assert_same_flat_outputs(valid, kmodel: keras.Model, seed: int = 0) -> float:
    """tests.zoo.assert_same_outputs with the weights of `flat_layers` copied in."""
    x = np.random.default_rng(seed).uniform(0, 255, (2, *kmodel.input.shape[1:]))
    x = x.astype("float32")
    expected = np.asarray(kmodel.predict(x, verbose=0))
    model = netspec.build(valid, seed=0)
    weights = {layer.name: layer.get_weights() for layer in flat_layers(kmodel) if layer.weights}
    load_keras_weights(model, weights)
    model.eval()
    with torch.no_grad():
        got = model(torch.from_numpy(x)).numpy()
    flat = expected.reshape(len(x), -1)
    assert np.abs(flat[0] - flat[1]).max() > 1e-3 * np.abs(flat).max() > 0, "dead outputs"
    diff = relative_difference(got, expected)
    assert diff <= 1e-5, diff
    return diff


def randomise_weights(kmodel: keras.Model, seed: int = 1) -> None:
    """The weights Keras initialises to constants drawn at random (so that a wrong mapping
    shows): LayerScale's gammas (1e-6, which would hide each block's branch) and biases near 0,
    LayerNormalization's gamma near 1 and beta near 0; kernels keep Keras's initialisation."""
    rng = np.random.default_rng(seed)
    for layer in flat_layers(kmodel):
        for w in layer.weights:
            if len(w.shape) != 1:
                continue
            near_one = isinstance(layer, keras.layers.LayerNormalization) and "gamma" in w.path
            value = rng.uniform(0.5, 1.5, w.shape) if near_one else rng.normal(0, 0.1, w.shape)
            w.assign(value.astype("float32"))


@pytest.mark.slow
@pytest.mark.parametrize("name", NAMES)
def test_default_counts(name: str) -> None:
    factory, _ = MODELS[name]
    assert_same_flat_counts(zoo_spec(name), keras_app(factory))


@pytest.mark.slow
@pytest.mark.parametrize("pooling", ["avg", "max"])
@pytest.mark.parametrize("name", NAMES)
def test_headless_counts(name: str, pooling: str) -> None:
    factory, shape = MODELS[name]
    args = {"include_top": False, "pooling": pooling, "input_shape": shape}
    assert_same_flat_counts(zoo_spec(name, **args), keras_app(factory, **args))


@pytest.mark.slow
@pytest.mark.parametrize("name", NAMES)
def test_outputs(name: str) -> None:
    factory, shape = MODELS[name]
    # logits: a softmax over 7 random classes is almost the same for any input
    args = {"input_shape": shape, "classes": 7, "classifier_activation": None}
    kmodel = keras_app(factory, **args)
    if name.startswith("convnext"):
        randomise_weights(kmodel)
        assert_same_flat_outputs(zoo_spec(name, **args), kmodel)
    else:
        randomise_batchnorm(kmodel)
        assert_same_outputs(zoo_spec(name, **args), kmodel)
