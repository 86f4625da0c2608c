"""The applications zoo with weight files written by Keras: `netspec predict` equals Keras's
`predict` for each of Keras's three formats (Keras 3 .weights.h5, Keras 3 .keras, Keras 2 HDF5
.h5), BatchNormalization statistics randomised; `weights: imagenet` on a zoo spec goes through
Keras's URL, cache and hash check."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

os.environ.setdefault("KERAS_BACKEND", "torch")

import h5py
import keras
import numpy as np
import pytest
from keras.src.legacy.saving.legacy_h5_format import save_weights_to_hdf5_group

import netspec
from netspec.keras_weights import imagenet
from tests.test_imagenet_weights import NOTOP, served  # noqa: F401 - a fixture
from tests.zoo import ZOO, keras_app, randomise_batchnorm, relative_difference

ROOT = Path(__file__).resolve().parent.parent
FORMATS = ("weights.h5", "keras", "h5")
# (zoo name, keras factory, small input): the twelve, each at a small input, 5 classes
MODELS = [
    ("resnet50", keras.applications.ResNet50, 32),
    ("resnet101", keras.applications.ResNet101, 32),
    ("resnet50v2", keras.applications.ResNet50V2, 32),
    ("vgg16", keras.applications.VGG16, 32),
    ("vgg19", keras.applications.VGG19, 32),
    ("mobilenet", keras.applications.MobileNet, 32),
    ("mobilenetv2", keras.applications.MobileNetV2, 32),
    ("densenet121", keras.applications.DenseNet121, 32),
    ("efficientnetb0", keras.applications.EfficientNetB0, 32),
    ("inceptionv3", keras.applications.InceptionV3, 75),
    ("xception", keras.applications.Xception, 71),
    ("convnexttiny", keras.applications.ConvNeXtTiny, 32),
]


def write(kmodel: keras.Model, path: Path) -> Path:
    if path.name.endswith(".weights.h5"):
        kmodel.save_weights(path)
    elif path.suffix == ".keras":
        kmodel.save(path)
    else:  # Keras 2 HDF5, the format of Keras's published ImageNet files
        with h5py.File(path, "w") as f:
            save_weights_to_hdf5_group(f, kmodel)
    return path


def predict(spec: Path, weights: Path, x: np.ndarray, tmp: Path) -> np.ndarray:
    np.savez(tmp / "x.npz", x=x)
    out = tmp / f"y_{weights.name}.npz"
    args = ["predict", str(spec), "--weights", str(weights), "--data", str(tmp / "x.npz")]
    done = subprocess.run(
        [sys.executable, "-m", "netspec", *args, "-o", str(out)],
        capture_output=True, text=True, cwd=ROOT,
    )  # fmt: skip
    assert done.returncode == 0, done.stderr
    return np.load(out)["y"]


def check_formats(kmodel: keras.Model, spec: Path, tmp: Path) -> None:
    randomise_batchnorm(kmodel)
    shape = tuple(kmodel.input.shape[1:])
    x = np.random.default_rng(0).uniform(0, 255, (2, *shape)).astype("float32")
    want = kmodel.predict(x, verbose=0)
    assert np.abs(want[0] - want[1]).max() > 1e-5 * np.abs(want).max() > 0  # alive
    for fmt in FORMATS:
        got = predict(spec, write(kmodel, tmp / f"model.{fmt}"), x, tmp)
        assert relative_difference(got, want) <= 1e-5, fmt


@pytest.mark.slow
def test_mobilenetv2_predict_equals_keras_in_every_format(tmp_path):
    """The issue's check, on the zoo spec as it is (224x224, 1000 classes)."""
    kmodel = keras_app(keras.applications.MobileNetV2)
    check_formats(kmodel, ZOO / "mobilenetv2.yaml", tmp_path)


@pytest.mark.slow
@pytest.mark.parametrize(("name", "factory", "size"), MODELS, ids=[m[0] for m in MODELS])
def test_zoo_outputs_equal_keras_from_every_format(tmp_path, name, factory, size):
    """Each zoo model, used as a nested model at a small input (its layers keep their names,
    so Keras's files of the model load by name), loads each of Keras's three formats and
    gives Keras's outputs (in-process: `netspec predict` runs the same load_weights)."""
    import torch

    from netspec.training.output.runs import load_weights

    kmodel = keras_app(factory, input_shape=(size, size, 3), classes=5)
    randomise_batchnorm(kmodel)
    x = np.random.default_rng(0).uniform(0, 255, (2, size, size, 3)).astype("float32")
    want = kmodel.predict(x, verbose=0)
    assert np.abs(want[0] - want[1]).max() > 1e-5 * np.abs(want).max() > 0  # alive
    valid = netspec.loads(
        f"netspec: 1\nlayers:\n  - {{model: {name}, input_shape: [{size}, {size}, 3], "
        "classes: 5}\n"
    )
    model = netspec.build(valid, seed=0).eval()
    for fmt in FORMATS:
        with torch.no_grad():  # a load that missed a weight would keep these zeros (buffers
            for tensor in model.parameters():  # hold constants too: Normalization's given mean)
                tensor.zero_()
        load_weights(model, write(kmodel, tmp_path / f"model.{fmt}"), graph=valid.graph)
        with torch.no_grad():
            got = model(torch.from_numpy(x)).numpy()
        assert relative_difference(got, want) <= 1e-5, fmt


def test_weights_imagenet_fetches_checks_and_refuses_a_mismatch(served, tmp_path):  # noqa: F811
    """A zoo spec's `weights: imagenet` fetches Keras's file by Keras's URL (served here) into
    Keras's cache, checks Keras's hash, and refuses (and removes) a file that does not match."""
    from netspec.training.spec.overrides import load_with_overrides

    sets = ["args.weights=imagenet", "args.include_top=false", "args.input_shape=[32, 32, 3]"]
    valid = load_with_overrides(ZOO / "resnet50.yaml", sets)
    with pytest.raises(
        netspec.NetspecError, match=f"does not match Keras's hash {NOTOP.file_hash}"
    ):
        netspec.build(valid, seed=0)
    assert list((tmp_path / "home" / "models").iterdir()) == []


def test_mobilenet_imagenet_is_refused_without_a_hash(tmp_path, monkeypatch):
    monkeypatch.setenv("KERAS_HOME", str(tmp_path))
    valid = netspec.loads(
        "netspec: 1\nlayers:\n  - {model: mobilenetv2, include_top: false, weights: imagenet}\n"
    )
    with pytest.raises(netspec.NetspecError, match="Keras publishes no hash"):
        netspec.build(valid, seed=0)
    assert imagenet.cache_dir() == tmp_path / "models"
