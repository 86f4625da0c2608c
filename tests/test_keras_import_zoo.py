"""`netspec import` of `keras.applications` models (weights=None, small inputs, BatchNormalization
statistics randomised as tests/zoo.py does): the spec validates, has Keras's parameter count,
and `netspec predict` with the imported weights gives Keras's output within 1e-5 (relative).

What the imports gave (Keras 3, torch backend; spec lines as written, Keras layers as
len(model.layers); difference: tests/zoo.py's relative_difference on a batch of 2):

    model             Keras layers  spec lines  difference
    ResNet50                   177         171     1.1e-06
    ResNet50V2                 192         212     9.5e-07
    VGG16                       23          84     6.7e-08
    MobileNet                   91         103     3.1e-07
    MobileNetV2                156         223     5.1e-07
    MobileNetV3Small           164         304     7.0e-08
    DenseNet121                429          43     7.4e-07
    InceptionV3 (75x75)        313         681     1.6e-06
    Xception (71x71)           134         187     1.1e-07
    EfficientNetB0             240         720     5.4e-07
    EfficientNetV2B0           273         819     6.5e-07
    ConvNeXtTiny               135         106     5.9e-07
"""

from __future__ import annotations

import os

os.environ.setdefault("KERAS_BACKEND", "torch")

import keras  # noqa: E402
import numpy as np  # noqa: E402
import pytest  # noqa: E402
import yaml  # noqa: E402
from keras import layers  # noqa: E402
from typer.testing import CliRunner  # noqa: E402

import netspec  # noqa: E402
from netspec.cli import app  # noqa: E402
from netspec.compiler import param_counts  # noqa: E402
from netspec.keras_import import import_model  # noqa: E402
from tests.zoo import keras_app, randomise_batchnorm, relative_difference  # noqa: E402

runner = CliRunner()
apps = keras.applications
SMALL = {"input_shape": (32, 32, 3), "classes": 10}
MODELS = {
    "ResNet50": (apps.ResNet50, SMALL),
    "ResNet50V2": (apps.ResNet50V2, SMALL),
    "VGG16": (apps.VGG16, SMALL),
    "MobileNet": (apps.MobileNet, SMALL),
    "MobileNetV2": (apps.MobileNetV2, SMALL),
    "MobileNetV3Small": (apps.MobileNetV3Small, SMALL),
    "DenseNet121": (apps.DenseNet121, SMALL),
    "InceptionV3": (apps.InceptionV3, {**SMALL, "input_shape": (75, 75, 3)}),  # its minimum
    "Xception": (apps.Xception, {**SMALL, "input_shape": (71, 71, 3)}),  # its minimum
    "EfficientNetB0": (apps.EfficientNetB0, SMALL),
    "EfficientNetV2B0": (apps.EfficientNetV2B0, SMALL),
    "ConvNeXtTiny": (apps.ConvNeXtTiny, SMALL),
}


def predict(tmp_path, spec, weights, x: np.ndarray) -> np.ndarray:
    """`netspec predict SPEC --weights WEIGHTS` on `x`, through the CLI."""
    np.savez(tmp_path / "x.npz", x=x)
    out = tmp_path / "y.npz"
    result = runner.invoke(app, ["predict", str(spec), "--weights", str(weights),
                                 "--data", str(tmp_path / "x.npz"), "-o", str(out),
                                 "--device", "cpu"])  # fmt: skip
    assert result.exit_code == 0, result.output
    return np.load(out)["y"]


def import_and_compare(tmp_path, kmodel: keras.Model) -> float:
    """Import the saved `kmodel`; its spec's parameter count and predictions against Keras's.
    Returns the relative difference of the outputs, asserted <= 1e-5."""
    kmodel.save(tmp_path / "model.keras")
    result = import_model(tmp_path / "model.keras", tmp_path / "spec.yaml")
    assert result.weights is not None
    assert result.lines == result.spec.read_text().count("\n")
    valid = netspec.load(result.spec)
    assert sum(t + f for t, f in param_counts(valid.graph).values()) == kmodel.count_params()
    shape = tuple(kmodel.input.shape[1:])
    x = np.random.default_rng(0).uniform(0, 255, (2, *shape)).astype("float32")
    want = np.asarray(kmodel.predict(x, verbose=0))
    flat = want.reshape(2, -1)  # a dead or input-blind network would pass any mapping
    assert np.abs(flat[0] - flat[1]).max() > 1e-5 * np.abs(flat).max() > 0, "dead outputs"
    got = predict(tmp_path, result.spec, result.weights, x)
    assert got.shape == want.shape
    diff = relative_difference(got, want)
    assert diff <= 1e-5, diff
    return diff


@pytest.mark.slow
@pytest.mark.parametrize("name", sorted(MODELS))
def test_application_imports(tmp_path, name):
    factory, kwargs = MODELS[name]
    kmodel = keras_app(factory, **kwargs)
    randomise_batchnorm(kmodel)
    import_and_compare(tmp_path, kmodel)


def test_one_sided_padding(tmp_path):
    """Keras's `((0, 1), (0, 1))` (MobileNet's and EfficientNet's stride-2 padding) is not
    netspec's `(0, 1)` (height 0, width 1 on both sides); `((3, 3), (3, 3))` is `3`."""
    keras.utils.set_random_seed(0)
    inp = keras.Input((9, 8, 2))
    x = layers.ZeroPadding2D(((0, 1), (0, 1)), name="one_sided")(inp)
    x = layers.ZeroPadding2D(((3, 3), (3, 3)), name="even")(x)
    x = layers.Conv2D(3, 3, strides=2, name="conv")(x)
    x = layers.Cropping2D(((1, 0), (1, 0)), name="crop")(x)
    kmodel = keras.Model(
        inp, layers.ZeroPadding1D((2, 0), name="pad1d")(layers.Reshape((-1, 3))(x))
    )
    import_and_compare(tmp_path, kmodel)
    written = {
        e.get("name"): e for e in yaml.safe_load((tmp_path / "spec.yaml").read_text())["layers"]
    }
    assert written["one_sided"]["padding"] == [[0, 1], [0, 1]]
    assert written["even"]["padding"] == 3
    assert written["crop"]["cropping"] == [[1, 0], [1, 0]]
    assert written["pad1d"]["padding"] == [2, 0]
