"""The ResNet (V1 and V2) and VGG specs of the applications zoo against keras.applications:
parameter counts, weight-holding layer names and output shapes at Keras's defaults and as
feature extractors (include_top=false with pooling), and outputs with Keras's weights."""

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
MODELS = {
    "resnet50": APPS.ResNet50,
    "resnet101": APPS.ResNet101,
    "resnet152": APPS.ResNet152,
    "resnet50v2": APPS.ResNet50V2,
    "resnet101v2": APPS.ResNet101V2,
    "resnet152v2": APPS.ResNet152V2,
    "vgg16": APPS.VGG16,
    "vgg19": APPS.VGG19,
}


def _models(quick: tuple[str, ...] = ()) -> list:
    """Every model; those not in `quick` marked slow (over ~5 s here; the quick tier keeps the
    flagship and the cheap VGG feature extractors, about 3.5 s and 1.3 s each)."""
    return [
        pytest.param(name, marks=() if name in quick else pytest.mark.slow, id=name)
        for name in MODELS
    ]


@pytest.mark.parametrize("name", _models(quick=("resnet50",)))
def test_defaults_match_keras(name: str) -> None:
    kmodel = keras_app(MODELS[name])
    valid = zoo_spec(name)
    assert valid.spec.name == kmodel.name
    assert_same_counts(valid, kmodel)


FEATURES = [("avg", [64, 64, 3]), ("max", [96, 80, 3]), (None, [32, 32, 3])]


@pytest.mark.parametrize(("pooling", "shape"), FEATURES)
@pytest.mark.parametrize("name", _models(quick=("resnet50", "vgg16", "vgg19")))
def test_feature_extractor_matches_keras(name: str, pooling: str | None, shape: list) -> None:
    kmodel = keras_app(MODELS[name], include_top=False, pooling=pooling, input_shape=tuple(shape))
    valid = zoo_spec(name, include_top=False, pooling=pooling, input_shape=shape)
    assert_same_counts(valid, kmodel)


@pytest.mark.parametrize("name", _models())
def test_outputs_match_keras(name: str) -> None:
    args = {"input_shape": [64, 64, 3], "classes": 7, "classifier_activation": None}
    kmodel = keras_app(MODELS[name], **{**args, "input_shape": (64, 64, 3)})
    randomise_batchnorm(kmodel)
    valid = zoo_spec(name, **args)
    assert_same_counts(valid, kmodel)
    assert_same_outputs(valid, kmodel)


@pytest.mark.parametrize("name", ["resnet50v2", "vgg16"])
@pytest.mark.slow
def test_default_softmax_top(name: str) -> None:
    """Keras's default top (softmax over `classes`), at a small input."""
    kmodel = keras_app(MODELS[name], input_shape=(32, 32, 3), classes=3)
    valid = zoo_spec(name, input_shape=[32, 32, 3], classes=3)
    assert_same_outputs(valid, kmodel, batch=1)
