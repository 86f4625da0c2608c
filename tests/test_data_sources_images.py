"""An image folder as `--data` (netspec.training.sources.images) against Keras's own
image_dataset_from_directory steps: the file index, labels, class names and seeded shuffle
(keras.src.utils.dataset_utils.index_directory), the validation split
(get_training_or_validation_split) and the pixels (image_dataset_utils._load_image_grain:
Pillow, then keras.ops.image.resize). The public function itself needs TensorFlow or grain,
neither installed here; these are the functions it calls."""

from __future__ import annotations

import os
import re

os.environ["KERAS_BACKEND"] = "torch"

from pathlib import Path

import numpy as np
import pytest
from keras.src.utils import dataset_utils
from keras.src.utils import image_dataset_utils as kimages
from PIL import Image

from netspec.errors import NetspecError
from netspec.loader import loads
from netspec.training.engine.data import load_data
from netspec.training.sources.images import index_directory, load_image, resize

COLORS = {"blue": 2, "green": 1, "red": 0}  # the channel each class's images are bright in


def make_image_folder(root: Path, per_class: int = 6, seed: int = 0) -> Path:
    """Subfolders red/green/blue of PNGs of varied sizes and modes (RGB, L, RGBA, P), one
    nested folder, and files Keras skips (a .txt, a hidden folder)."""
    rng = np.random.RandomState(seed)
    for name, channel in COLORS.items():
        for i in range(per_class):
            folder = root / name / ("nested" if i % 5 == 4 else "")
            folder.mkdir(parents=True, exist_ok=True)
            h, w = rng.randint(20, 48, size=2)
            pixels = rng.randint(0, 90, size=(h, w, 3))
            pixels[..., channel] += 150
            mode = ("RGB", "L", "RGBA", "P", "RGB")[i % 5] if per_class < 50 else "RGB"
            Image.fromarray(pixels.astype("uint8")).convert(mode).save(folder / f"{i:03d}.png")
    (root / "red" / "notes.txt").write_text("not an image")
    (root / ".hidden").mkdir(exist_ok=True)
    return root


def spec(data: str = "", shape=(32, 32, 3), loss: str = "sparse_categorical_crossentropy",
         units: int = 3):  # fmt: skip
    return loads(
        f"""
netspec: 1
input_shape: {list(shape)}
layers:
  - {{type: Flatten}}
  - {{type: Dense, units: {units}, activation: softmax}}
compile: {{optimizer: adam, loss: {loss}}}
train: {{seed: 3}}
{data}
"""
    )


@pytest.mark.parametrize("seed", [0, 1337])
@pytest.mark.parametrize("class_names", [None, ["red", "blue"]])
def test_the_index_and_the_split_are_keras(tmp_path, seed, class_names):
    root = make_image_folder(tmp_path / "images")
    want = dataset_utils.index_directory(
        str(root), "inferred", formats=kimages.ALLOWLIST_FORMATS, class_names=class_names,
        shuffle=True, seed=seed, verbose=False,
    )  # fmt: skip
    paths, labels, classes = index_directory(root, class_names, True, seed)
    assert paths == want[0] and classes == want[2]
    np.testing.assert_array_equal(labels, want[1])
    assert labels.dtype == np.int32
    # the split: Keras's "training" and "validation" subsets, by membership and order
    names = "" if class_names is None else f", class_names: {class_names}"
    valid = spec(f"data: {{validation_split: 0.3, seed: {seed}{names}}}")
    got = load_data(root, valid)
    for subset, split in (("training", "train"), ("validation", "val")):
        keras_paths, keras_labels = dataset_utils.get_training_or_validation_split(
            want[0], want[1], 0.3, subset
        )
        np.testing.assert_array_equal(got[split].y[0], keras_labels)
        first = np.asarray(kimages._load_image_grain(keras_paths[0], (32, 32), 3, "bilinear",
                                                     "channels_last"))  # fmt: skip
        np.testing.assert_allclose(got[split].x[0][0], first, atol=1e-3)


@pytest.mark.parametrize("interpolation", ["bilinear", "nearest"])
@pytest.mark.parametrize(("mode", "channels"), [("grayscale", 1), ("rgb", 3), ("rgba", 4)])
def test_pixels_are_keras(tmp_path, interpolation, mode, channels):
    root = make_image_folder(tmp_path / "images", per_class=5)
    paths, _, _ = index_directory(root, None, False, 0)
    for size in [(16, 16), (9, 30), (50, 7)]:
        for path in paths:
            want = kimages._load_image_grain(path, size, channels, interpolation, "channels_last")
            got = resize(load_image(path, mode, root), size, interpolation)
            assert got.shape == (*size, channels) and got.dtype == np.float32
            np.testing.assert_allclose(got, np.asarray(want), atol=1e-3)


def test_label_modes_and_defaults_from_the_input(tmp_path):
    root = make_image_folder(tmp_path / "images", per_class=4)
    found = load_data(root, spec())["train"]  # image_size and color_mode: the input's
    assert found.x[0].shape == (12, 32, 32, 3) and found.x[0].dtype == np.float32
    assert sorted(np.bincount(found.y[0])) == [4, 4, 4]
    gray = spec("data: {image_size: [8, 10]}", shape=(8, 10, 1))
    assert load_data(root, gray)["train"].x[0].shape == (12, 8, 10, 1)
    onehot = spec("data: {label_mode: categorical}", loss="categorical_crossentropy")
    y = load_data(root, onehot)["train"].y[0]
    assert y.dtype == np.float32 and y.shape == (12, 3) and (y.sum(axis=1) == 1).all()
    first = spec("data_format: channels_first", shape=(3, 32, 32))
    assert load_data(root, first)["train"].x[0].shape == (12, 3, 32, 32)
    binary = spec("data: {label_mode: binary, class_names: [red, blue]}",
                  loss="binary_crossentropy", units=1)  # fmt: skip
    y = load_data(root, binary)["train"].y[0]
    assert y.shape == (8, 1) and y.dtype == np.float32 and set(y[:, 0]) == {0.0, 1.0}


@pytest.mark.parametrize(
    ("data", "message"),
    [
        ("data: {label_mode: binary}", "binary needs exactly 2 classes; found 3"),
        ("data: {class_names: [red, purple]}", "no subfolder 'purple' (subfolders: blue"),
        ("data: {label_mode: categorical}", "y (data.label_mode categorical) has shape (12, 3)"),
        ("data: {validation_split: 0.01}", "leaves no images on one side"),
        ("data: {target: label}", "data.target names a table's columns; an image folder's labels"),
    ],
)
def test_image_folder_errors(tmp_path, data, message):
    root = make_image_folder(tmp_path / "images", per_class=4)
    with pytest.raises(NetspecError, match=re.escape(message)):
        load_data(root, spec(data))


def test_a_folder_without_images_and_an_input_of_another_rank(tmp_path):
    (tmp_path / "empty" / "a").mkdir(parents=True)
    with pytest.raises(NetspecError, match="no images"):
        load_data(tmp_path / "empty", spec())
    root = make_image_folder(tmp_path / "images", per_class=2)
    with pytest.raises(NetspecError, match=r"of shape \(height, width, channels\)"):
        load_data(root, spec(shape=(12,)))
