"""Accuracy metrics (keras/src/metrics/accuracy_metrics.py): the mean over samples of how often
a prediction is right. `accuracy`/`acc` as a name is resolved by `resolve_accuracy` from the
shapes (as Keras's compile does); `{type: Accuracy}` is Keras's exact-equality class."""

from __future__ import annotations

from typing import ClassVar, Literal

from pydantic import Field

from .base import METRICS, Direction, MeanMetric, same_rank


class AccuracyMetric(MeanMetric):
    direction: ClassVar[Direction] = "up"


@METRICS.register()
class Accuracy(AccuracyMetric):
    """How often y_pred equals y_true exactly (for predicted labels, not probabilities). The
    name `accuracy` (or `acc`) in `metrics` is not this class: it picks binary, categorical or
    sparse categorical accuracy from the shapes, as Keras's compile does."""

    type: Literal["Accuracy"] = "Accuracy"
    examples: ClassVar[tuple[dict, ...]] = (
        {"args": {}, "y_true": ("labels", (1,)), "y_pred": ("labels", (1,)), "classes": 3},
        {"args": {}, "y_true": ("binary", (4,)), "y_pred": ("binary", (4,))},
    )

    def values(self, y_true, y_pred):
        y_true, y_pred = same_rank(y_true.to(y_pred.dtype), y_pred)
        return (y_true == y_pred).float()


@METRICS.register("binary_accuracy")
class BinaryAccuracy(AccuracyMetric):
    """How often y_true equals (y_pred > threshold)."""

    type: Literal["BinaryAccuracy"] = "BinaryAccuracy"
    examples: ClassVar[tuple[dict, ...]] = (
        {"args": {}, "y_true": ("binary", (1,)), "y_pred": ("probs", (1,))},
        {
            "args": {"threshold": 0.7, "name": "acc_70"},
            "y_true": ("binary", (2, 5)),
            "y_pred": ("probs", (2, 5)),
        },
        {"args": {}, "y_true": ("binary", ()), "y_pred": ("probs", (1,))},  # ranks matched
    )
    threshold: float = Field(0.5, description="A prediction above it counts as 1.")

    def values(self, y_true, y_pred):
        y_true, y_pred = same_rank(y_true.to(y_pred.dtype), y_pred)
        return (y_true == (y_pred > self.threshold).to(y_true.dtype)).float()


@METRICS.register("categorical_accuracy")
class CategoricalAccuracy(AccuracyMetric):
    """How often argmax(y_pred) equals argmax(y_true) (one-hot labels)."""

    type: Literal["CategoricalAccuracy"] = "CategoricalAccuracy"
    examples: ClassVar[tuple[dict, ...]] = (
        {"args": {}, "y_true": ("onehot", (6,)), "y_pred": ("softmax", (6,))},
        {"args": {}, "y_true": ("onehot", (4, 6)), "y_pred": ("softmax", (4, 6))},
    )

    def values(self, y_true, y_pred):
        return y_true.argmax(-1) == y_pred.argmax(-1)


@METRICS.register("sparse_categorical_accuracy")
class SparseCategoricalAccuracy(AccuracyMetric):
    """How often argmax(y_pred) equals the integer label."""

    type: Literal["SparseCategoricalAccuracy"] = "SparseCategoricalAccuracy"
    examples: ClassVar[tuple[dict, ...]] = (
        {"args": {}, "y_true": ("labels", ()), "y_pred": ("softmax", (6,))},
        {"args": {}, "y_true": ("labels", (4,)), "y_pred": ("softmax", (4, 6))},
        {"args": {}, "y_true": ("labels", (4, 1)), "y_pred": ("softmax", (4, 6))},
    )

    def values(self, y_true, y_pred):
        if y_true.ndim == y_pred.ndim and y_true.shape[-1] == 1:
            y_true = y_true.squeeze(-1)
        if not y_true.is_floating_point():  # integer labels: compared as integers (Keras
            return y_true == y_pred.argmax(-1)  # casts both to floats: the same below 2**24)
        return y_true.to(y_pred.dtype) == y_pred.argmax(-1).to(y_pred.dtype)


def _in_top_k(target, y_pred, k: int):
    """Keras's in_top_k on the torch backend: the target's prediction is at least the k-th
    highest (ties with the k-th value count as hits); one value per target label."""
    import torch

    pred = y_pred.reshape(-1, y_pred.shape[-1])
    kth = torch.topk(pred, min(k, pred.shape[-1]), dim=-1).values[:, -1:]
    hit = torch.take_along_dim(pred, target.reshape(-1, 1).long(), dim=-1) >= kth
    return hit.float().reshape(target.shape)


@METRICS.register("top_k_categorical_accuracy")
class TopKCategoricalAccuracy(AccuracyMetric):
    """How often the label (argmax of one-hot y_true) is among the k highest predictions."""

    type: Literal["TopKCategoricalAccuracy"] = "TopKCategoricalAccuracy"
    examples: ClassVar[tuple[dict, ...]] = (
        {"args": {}, "y_true": ("onehot", (6,)), "y_pred": ("softmax", (6,))},
        {"args": {"k": 2}, "y_true": ("onehot", (4, 6)), "y_pred": ("softmax", (4, 6))},
    )
    k: int = Field(5, ge=1, description="How many top predictions count.")

    def values(self, y_true, y_pred):
        return _in_top_k(y_true.argmax(-1), y_pred, self.k)


@METRICS.register("sparse_top_k_categorical_accuracy")
class SparseTopKCategoricalAccuracy(AccuracyMetric):
    """How often the integer label is among the k highest predictions (or, with
    `from_sorted_ids`, among the first k class ids of y_pred)."""

    type: Literal["SparseTopKCategoricalAccuracy"] = "SparseTopKCategoricalAccuracy"
    examples: ClassVar[tuple[dict, ...]] = (
        {"args": {}, "y_true": ("labels", ()), "y_pred": ("softmax", (6,))},
        {"args": {"k": 2}, "y_true": ("labels", (4,)), "y_pred": ("softmax", (4, 6))},
        {"args": {"k": 1}, "y_true": ("labels", (1,)), "y_pred": ("softmax", (3,))},
        {
            "args": {"k": 2, "from_sorted_ids": True},
            "y_true": ("labels", ()),
            "y_pred": ("labels", (4,)),
            "classes": 5,
        },
    )
    k: int = Field(5, ge=1, description="How many top predictions count.")
    from_sorted_ids: bool = Field(
        False,
        description="y_pred holds class ids sorted by score (the top ones first), not scores.",
    )

    def values(self, y_true, y_pred):
        target = y_true.reshape(-1) if y_true.ndim > 1 else y_true
        if not self.from_sorted_ids:
            return _in_top_k(target, y_pred, self.k).reshape(y_true.shape)
        ids = y_pred.reshape(-1, y_pred.shape[-1])[:, : self.k]
        hit = (target.reshape(-1, 1).to(ids.dtype) == ids).any(1)
        return hit.float().reshape(y_true.shape)
