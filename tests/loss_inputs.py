"""y_true / y_pred arrays of the kinds that the `examples` of losses and metrics name.

An example gives `y_true` and `y_pred` as (kind, per-sample shape); the arrays get a batch axis
in front. Kinds:

* normal: standard normal; positive: |normal| + 0.1 (for logs);
* probs: uniform in [0.02, 0.98]; binary: 0.0 or 1.0;
* softmax: a probability distribution along `axis`; onehot: a one-hot label along `axis`;
* labels: integer classes (int64) in [0, classes), classes = y_pred's size along `axis`;
* void_labels: labels with about a third set to -1 (an `ignore_class`);
* binary_labels: integer classes 0 or 1 (int64), so that a batch repeats labels;
* unit: normal scaled to unit L2 norm along `axis` (embeddings);
* ctc_labels: CTC targets (int64): each row 1 to n labels in [1, classes), then 0s (Keras's
  blank and padding).

An example may also give `sample_weight` as (kind, per-sample shape) (`weights`).

`axis` is the example's `args["axis"]` (default -1, also when it is a list or null), an axis of
the batched array as in Keras.
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


def _unit(x: np.ndarray, axis: int) -> np.ndarray:
    return x / np.sqrt((x * x).sum(axis, keepdims=True))


def _void(rng: np.random.Generator, shape: tuple[int, ...], classes: int) -> np.ndarray:
    labels = rng.integers(0, classes, size=shape)
    return np.where(rng.uniform(size=shape) < 1 / 3, -1, labels)


def _ctc(rng: np.random.Generator, shape: tuple[int, ...], classes: int) -> np.ndarray:
    labels = rng.integers(1, classes, size=shape)
    lengths = rng.integers(1, shape[-1] + 1, size=shape[:-1])
    return np.where(np.arange(shape[-1]) < lengths[..., None], labels, 0)


_INTEGER = {
    "labels": lambda rng, shape, classes: rng.integers(0, classes, size=shape),
    "void_labels": _void,
    "binary_labels": lambda rng, shape, classes: rng.integers(0, 2, size=shape),
    "ctc_labels": _ctc,
}


def array(
    rng: np.random.Generator, kind: str, shape: tuple[int, ...], axis: int, classes: int
) -> np.ndarray:
    """One batched array (`shape` has the batch axis) of `kind`: float32, int64 for labels."""
    if kind in _INTEGER:
        return _INTEGER[kind](rng, shape, classes)
    makers = {
        "normal": lambda: rng.normal(size=shape),
        "positive": lambda: np.abs(rng.normal(size=shape)) + 0.1,
        "probs": lambda: rng.uniform(0.02, 0.98, size=shape),
        "binary": lambda: rng.integers(0, 2, size=shape).astype(float),
        "softmax": lambda: _softmax(2 * rng.normal(size=shape), axis),
        "onehot": lambda: _onehot(rng, shape, axis),
        "unit": lambda: _unit(rng.normal(size=shape), axis),
    }
    return makers[kind]().astype("float32")


def pair(example: dict, batch: int, seed: int) -> tuple[np.ndarray, np.ndarray]:
    """(y_true, y_pred) of `example` for a batch of `batch` samples."""
    rng = np.random.default_rng(seed)
    axis = example["args"].get("axis", -1)
    axis = axis if isinstance(axis, int) else -1  # Dice's axes: arrays along the last one
    (pred_kind, pred_shape), (true_kind, true_shape) = example["y_pred"], example["y_true"]
    pred_shape, true_shape = (batch, *pred_shape), (batch, *true_shape)
    y_pred = array(rng, pred_kind, pred_shape, axis, 0)
    y_true = array(rng, true_kind, true_shape, axis, pred_shape[axis])
    return y_true, y_pred


def weights(example: dict, batch: int, seed: int) -> np.ndarray | None:
    """The example's `sample_weight` array (float32) for a batch of `batch`, or None."""
    if "sample_weight" not in example:
        return None
    kind, shape = example["sample_weight"]
    return array(np.random.default_rng(seed + 1000), kind, (batch, *shape), -1, 0)
