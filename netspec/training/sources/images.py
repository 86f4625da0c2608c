"""An image folder, one subfolder per class, as Keras's `image_dataset_from_directory` reads
it (no torch import): the same file list, labels, class names, shuffle, validation split,
colour conversion and resizing, read with Pillow into float32 arrays in memory.

Keras's steps (keras.src.utils.dataset_utils.index_directory and image_dataset_utils):
classes are the subfolders, sorted by name (or `class_names`, in its order); each one's
.bmp/.gif/.jpeg/.jpg/.png files are found walking it (folders sorted, then names); the paths
and their labels are shuffled with `numpy.random.RandomState(seed)`; validation_split keeps
the last int(split * n) for validation. Images are converted to L, RGB or RGBA (grayscale,
rgb, rgba) and resized as `keras.ops.image.resize` does (bilinear: half-pixel centres, no
antialiasing; nearest: torch's nearest-exact).
"""

from __future__ import annotations

import os
from pathlib import Path

import numpy as np

from ...errors import NetspecError

FORMATS = (".bmp", ".gif", ".jpeg", ".jpg", ".png")  # Keras's ALLOWLIST_FORMATS
_CHANNELS = {"grayscale": 1, "rgb": 3, "rgba": 4}
_MODES = {1: "grayscale", 3: "rgb", 4: "rgba"}


def is_image_folder(path: Path) -> bool:
    """A directory with subfolders and no .npy file."""
    return path.is_dir() and not any(path.glob("*.npy")) and any(p.is_dir() for p in path.iterdir())


def index_directory(path: Path, class_names: list[str] | None, shuffle: bool, seed: int):
    """(paths, int32 labels, class names) as Keras's index_directory lists them."""
    subdirs = [d for d in sorted(os.listdir(path)) if (path / d).is_dir() and d[0] != "."]
    if class_names is not None:
        unknown = [c for c in class_names if c not in subdirs]
        if unknown:
            raise NetspecError(
                f"{path}: data.class_names: no subfolder {', '.join(map(repr, unknown))} "
                f"(subfolders: {', '.join(subdirs)})"
            )
        subdirs = list(class_names)
    paths: list[str] = []
    labels: list[int] = []
    for label, name in enumerate(subdirs):
        for root, _, files in sorted(os.walk(path / name), key=lambda w: w[0]):
            found = [f for f in sorted(files) if f.lower().endswith(FORMATS)]
            paths += [os.path.join(root, f) for f in found]
            labels += [label] * len(found)
    labels_a = np.array(labels, dtype="int32")
    if shuffle:  # Keras shuffles both with a fresh RandomState(seed) each
        np.random.RandomState(seed).shuffle(paths)
        np.random.RandomState(seed).shuffle(labels_a)
    return paths, labels_a, subdirs


def read_image_folder(path: Path, section, input_shape, channels_first: bool, labels: bool,
                      budget: int, train_seed: int | None) -> dict[str, np.ndarray]:  # fmt: skip
    """`x`, `y` (and `x_val`, `y_val` with data.validation_split) of the image folder."""
    from ..spec.data_section import DataSpec

    section = section or DataSpec()
    size, mode = _size_and_mode(path, section, input_shape, channels_first)
    seed = section.seed if section.seed is not None else (train_seed or 0)
    paths, ints, classes = index_directory(path, section.class_names, section.shuffle, seed)
    if not paths:
        raise NetspecError(
            f"{path}: no images ({', '.join(FORMATS)}) in its subfolders "
            f"({', '.join(classes) or 'none'})"
        )
    if section.label_mode == "binary" and len(classes) != 2:
        raise NetspecError(
            f"{path}: data.label_mode binary needs exactly 2 classes; found {len(classes)} "
            f"({', '.join(classes)})"
        )
    need = len(paths) * size[0] * size[1] * _CHANNELS[mode] * 4
    if need > budget:
        from ...compiler import human_bytes

        raise NetspecError(
            f"{path}: {len(paths)} images of {size[0]}x{size[1]} need {human_bytes(need)}, "
            f"over the memory budget of {human_bytes(budget)}"
        )
    x = _load_all(paths, size, mode, section.interpolation, path)
    if channels_first:
        x = np.ascontiguousarray(x.transpose(0, 3, 1, 2))
    y = _labels(ints, section.label_mode, len(classes))
    if not section.validation_split:
        return {"x": x, "y": y} if labels else {"x": x}
    n_val = int(section.validation_split * len(paths))  # Keras's get_training_or_validation_split
    if n_val == 0 or n_val == len(paths):
        raise NetspecError(
            f"{path}: data.validation_split {section.validation_split} of {len(paths)} images "
            "leaves no images on one side"
        )
    cut = len(paths) - n_val
    out = {"x": x[:cut], "x_val": x[cut:]}
    if labels:
        out.update(y=y[:cut], y_val=y[cut:])
    return out


def _size_and_mode(path: Path, section, input_shape, channels_first: bool):
    """image_size and color_mode: the section's, else the model input's (H, W, C)."""
    dims = list(input_shape or ())
    if len(dims) != 3:
        raise NetspecError(
            f"{path}: an image folder feeds a model input of shape (height, width, channels); "
            f"this one is {tuple(dims)}"
        )
    h, w, c = (dims[1], dims[2], dims[0]) if channels_first else dims
    size = section.image_size or [h, w]
    if size[0] is None or size[1] is None:
        raise NetspecError(f"{path}: the model input has no fixed size: set data.image_size")
    mode = section.color_mode or _MODES.get(c)
    if mode is None:
        raise NetspecError(
            f"{path}: the model input has {c} channels; images have 1, 3 or 4 (set data.color_mode)"
        )
    return (int(size[0]), int(size[1])), mode


def _labels(ints: np.ndarray, label_mode: str, classes: int) -> np.ndarray:
    if label_mode == "categorical":
        return np.eye(classes, dtype="float32")[ints]
    if label_mode == "binary":
        return ints.astype("float32")[:, None]
    return ints


def _load_all(paths: list[str], size, mode: str, method: str, where: Path) -> np.ndarray:
    """The images decoded by a few threads (Pillow releases the GIL while decoding)."""
    from concurrent.futures import ThreadPoolExecutor

    out = np.empty((len(paths), *size, _CHANNELS[mode]), dtype="float32")

    def one(i: int) -> None:
        out[i] = resize(load_image(paths[i], mode, where), size, method)

    with ThreadPoolExecutor(max_workers=min(8, os.cpu_count() or 1)) as pool:
        list(pool.map(one, range(len(paths))))
    return out


def load_image(path: str, mode: str, where: Path) -> np.ndarray:
    """(H, W, C) float32 pixels, converted as Keras's _load_image_grain does."""
    from PIL import Image, UnidentifiedImageError

    try:
        with Image.open(path) as opened:
            img: Image.Image = opened
            if mode == "grayscale" and img.mode not in ("L", "I;16", "I"):
                img = img.convert("L")
            elif mode == "rgb" and img.mode != "RGB":
                img = img.convert("RGB")
            elif mode == "rgba" and img.mode != "RGBA":
                img = img.convert("RGBA")
            a = np.array(img, dtype="float32")
    except (OSError, UnidentifiedImageError, ValueError) as exc:
        raise NetspecError(f"{where}: {path}: cannot read the image: {exc}") from None
    return a[:, :, None] if a.ndim == 2 else a


def resize(a: np.ndarray, size, method: str) -> np.ndarray:
    """`a` (H, W, C) resized to `size` as keras.ops.image.resize (torch's interpolate with
    align_corners=False and no antialiasing; nearest: nearest-exact)."""
    for axis, n in enumerate(size):
        if a.shape[axis] != n:
            a = _resize_axis(a, axis, n, method)
    return a


def _resize_axis(a: np.ndarray, axis: int, n: int, method: str) -> np.ndarray:
    size = a.shape[axis]
    scale = np.float32(size / n)
    dst = np.arange(n, dtype="float32")
    if method == "nearest":
        src = np.minimum(np.floor((dst + 0.5) * scale).astype(int), size - 1)
        return np.take(a, src, axis=axis)
    src = np.maximum((dst + 0.5) * scale - 0.5, 0)
    low = np.floor(src).astype(int)
    high = np.minimum(low + 1, size - 1)
    frac = (src - low).astype("float32")
    shape = [1] * a.ndim
    shape[axis] = n
    frac = frac.reshape(shape)
    return np.take(a, low, axis=axis) * (1 - frac) + np.take(a, high, axis=axis) * frac
