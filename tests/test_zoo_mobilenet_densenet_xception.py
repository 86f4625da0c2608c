"""The zoo's MobileNet, MobileNetV2, DenseNet121/169/201 and Xception specs
(specs/applications/) against keras.applications: parameter counts, layer names and output
shapes at Keras's defaults and headless with pooling, and logits with Keras's weights; MobileNet's
width (`alpha`, `depth_multiplier`) and MobileNetV2's `alpha` and odd input sizes (correct_pad)."""

from __future__ import annotations

import keras
import pytest

from tests.zoo import (
    assert_same_counts,
    assert_same_outputs,
    keras_app,
    randomise_batchnorm,
    zoo_spec,
)

APPS = keras.applications
# spec name -> (Keras function, a small input shape Keras allows)
MODELS = {
    "mobilenet": (APPS.MobileNet, [64, 64, 3]),
    "mobilenetv2": (APPS.MobileNetV2, [64, 64, 3]),
    "densenet121": (APPS.DenseNet121, [32, 32, 3]),
    "densenet169": (APPS.DenseNet169, [32, 32, 3]),
    "densenet201": (APPS.DenseNet201, [32, 32, 3]),
    "xception": (APPS.Xception, [71, 71, 3]),
}
# (spec, its arguments) beyond the defaults: widths, and sizes whose padding differs
VARIANTS = [
    ("mobilenet", {"alpha": 0.25, "input_shape": [64, 64, 3]}),
    ("mobilenet", {"alpha": 0.75, "depth_multiplier": 2, "input_shape": [65, 79, 3]}),
    ("mobilenetv2", {"alpha": 0.35, "input_shape": [75, 75, 3]}),
    ("mobilenetv2", {"alpha": 0.1, "input_shape": [32, 32, 3]}),
    ("mobilenetv2", {"alpha": 1.3, "input_shape": [67, 90, 3]}),
    (
        "mobilenetv2",
        {"alpha": 1.4, "include_top": False, "pooling": "max", "input_shape": [96, 96, 3]},
    ),
]


@pytest.mark.slow
@pytest.mark.parametrize("name", list(MODELS))
def test_default_counts(name: str) -> None:
    factory, _ = MODELS[name]
    assert_same_counts(zoo_spec(name), keras_app(factory))


@pytest.mark.slow
@pytest.mark.parametrize("pooling", ["avg", "max"])
@pytest.mark.parametrize("name", list(MODELS))
def test_headless_counts(name: str, pooling: str) -> None:
    factory, shape = MODELS[name]
    args = {"include_top": False, "pooling": pooling, "input_shape": shape}
    assert_same_counts(zoo_spec(name, **args), keras_app(factory, **args))


@pytest.mark.slow
@pytest.mark.parametrize("name", list(MODELS))
def test_outputs(name: str) -> None:
    factory, shape = MODELS[name]
    args = {"input_shape": shape, "classes": 7, "classifier_activation": None}
    kmodel = keras_app(factory, **args)
    randomise_batchnorm(kmodel)
    print(f"{name}: max relative difference", assert_same_outputs(zoo_spec(name, **args), kmodel))


@pytest.mark.slow
@pytest.mark.parametrize(("name", "args"), VARIANTS)
def test_variants(name: str, args: dict) -> None:
    factory, _ = MODELS[name]
    args = {"classes": 5, "classifier_activation": None, **args}
    kmodel = keras_app(factory, **args)
    assert_same_counts(zoo_spec(name, **args), kmodel)
    randomise_batchnorm(kmodel)
    diff = assert_same_outputs(zoo_spec(name, **args), kmodel)
    print(f"{name} {args}: max relative difference", diff)
