"""y_true / y_pred arrays of the kinds that the `examples` of losses and metrics name.

An example gives `y_true` and `y_pred` as (kind, per-sample shape); the arrays get a batch axis
in front. Kinds:

* normal: standard normal; positive: |normal| + 0.1 (for logs);
* probs: uniform in [0.02, 0.98]; binary: 0.0 or 1.0;
* softmax: a probability distribution along `axis`; onehot: a one-hot label along `axis`;
* labels: integer classes (int64) in [0, classes), classes = y_pred's size along `axis`.

`axis` is the example's `args["axis"]` (default -1), an axis of the batched array as in Keras.
"""

from __future__ import annotations

import numpy as np


def _softmax(x: np.ndarray, axis: int) -> np.ndarray:
    e = np.exp(x - x.max(axis, keepdims=True))
    return e / e.sum(axis, keepdims=True)


def _onehot(rng: np.random.Generator, shape: tuple[int, ...], axis: int) -> np.ndarray:
    classes = shape[axis]
    moved = np.moveaxis(np.empty(shape), axis, -1).shape
    labels = rng.integers(0, classes, size=moved[:-1])
    return np.moveaxis(np.eye(classes)[labels], -1, axis)


def array(
    rng: np.random.Generator, kind: str, shape: tuple[int, ...], axis: int, classes: int
) -> np.ndarray:
    """One batched array (`shape` has the batch axis) of `kind`: float32, int64 for labels."""
    if kind == "labels":
        return rng.integers(0, classes, size=shape)
    makers = {
        "normal": lambda: rng.normal(size=shape),
        "positive": lambda: np.abs(rng.normal(size=shape)) + 0.1,
        "probs": lambda: rng.uniform(0.02, 0.98, size=shape),
        "binary": lambda: rng.integers(0, 2, size=shape).astype(float),
        "softmax": lambda: _softmax(2 * rng.normal(size=shape), axis),
        "onehot": lambda: _onehot(rng, shape, axis),
    }
    return makers[kind]().astype("float32")


def pair(example: dict, batch: int, seed: int) -> tuple[np.ndarray, np.ndarray]:
    """(y_true, y_pred) of `example` for a batch of `batch` samples."""
    rng = np.random.default_rng(seed)
    axis = example["args"].get("axis", -1)
    (pred_kind, pred_shape), (true_kind, true_shape) = example["y_pred"], example["y_true"]
    pred_shape, true_shape = (batch, *pred_shape), (batch, *true_shape)
    y_pred = array(rng, pred_kind, pred_shape, axis, 0)
    y_true = array(rng, true_kind, true_shape, axis, pred_shape[axis])
    return y_true, y_pred
