"""Intersection-over-union metrics (keras/src/metrics/iou_metrics.py): a confusion matrix of
class ids summed over updates; IoU = tp / (tp + fp + fn) per class, averaged over the target
classes that occur.

Keras keeps the matrix in integers: sample weights are truncated to integers (Keras warns about
float weights), as there.
"""

from __future__ import annotations

from typing import ClassVar, Literal

from pydantic import Field, model_validator

from .base import METRICS, Direction, Metric, State, SumsState

EPSILON = 1e-7  # Keras's backend.epsilon()


def confusion_matrix(y_true, y_pred, sample_weight, num_classes: int, ignore_class: int | None):
    """Keras's _IoUBase.update_state: the (num_classes, num_classes) matrix of (true, pred)
    counts, leaving out ids outside [0, num_classes) and `ignore_class` labels."""
    import torch

    true, pred = y_true.reshape(-1).long(), y_pred.reshape(-1).long()
    if sample_weight is None:
        w = torch.ones_like(true)
    else:  # Keras's int matrix: weights truncated; beyond Keras, a per-sample weight covers
        # every label of its sample
        w = sample_weight.long()
        if 0 < w.ndim <= y_true.ndim:
            w = w.reshape(*w.shape, *[1] * (y_true.ndim - w.ndim)).broadcast_to(y_true.shape)
        w = w.reshape(-1).broadcast_to(true.shape)
    keep = (true >= 0) & (true < num_classes) & (pred >= 0) & (pred < num_classes)
    if ignore_class is not None:
        keep = keep & (true != ignore_class)
    true, pred, w = true.where(keep, 0), pred.where(keep, 0), w.where(keep, 0)
    cm = torch.zeros(num_classes * num_classes, dtype=torch.long, device=true.device)
    return cm.index_add_(0, true * num_classes + pred, w).reshape(num_classes, num_classes)


class IoUBase(Metric):
    """The IoU family's result: `ids` gives the (true, predicted) class ids of a batch."""

    direction: ClassVar[Direction] = "up"

    def classes(self) -> int:
        return 2

    def ignored(self) -> int | None:
        return None

    def targets(self) -> list[int]:
        raise NotImplementedError

    def ids(self, y_pred, y_true):
        raise NotImplementedError

    def build(self) -> State:
        n, ignore = self.classes(), self.ignored()

        def add(y_pred, y_true, sw):
            y_true, y_pred = self.ids(y_pred, y_true)
            return {"cm": confusion_matrix(y_true, y_pred, sw, n, ignore)}

        return SumsState(add, self.iou, {"cm": (n, n)})

    def iou(self, s: dict):
        """Keras's IoU.result on the summed matrix."""
        import torch

        cm = s["cm"]
        tp = cm.diagonal()
        denominator = cm.sum(0) + cm.sum(1) - tp
        targets = torch.tensor(self.targets(), device=cm.device)
        tp, denominator = tp[targets].float(), denominator[targets].float()
        valid = denominator > 1e-9
        iou = torch.where(valid, tp / (denominator + EPSILON), 0.0)
        return iou.sum() / (valid.float().sum() + EPSILON)


class IoUMetric(IoUBase):
    """IoU of `num_classes` classes."""

    num_classes: int = Field(ge=1, description="The number of classes.")
    ignore_class: int | None = Field(
        None, description="A label left out of the counts (a void or background class)."
    )
    sparse_y_pred: bool = Field(
        True, description="y_pred holds class ids; false: scores, argmax taken along `axis`."
    )
    axis: int = Field(-1, description="The class axis of non-sparse y_true / y_pred.")

    def classes(self) -> int:
        return self.num_classes

    def ignored(self) -> int | None:
        return self.ignore_class

    def targets(self) -> list[int]:
        return list(range(self.num_classes))

    def sparse_labels(self) -> bool:
        return True

    def ids(self, y_pred, y_true):
        """The (true, predicted) class ids."""
        if not self.sparse_labels():
            y_true = y_true.argmax(self.axis)
        if not self.sparse_y_pred:
            y_pred = y_pred.argmax(self.axis)
        return y_true, y_pred


def _target_class_ids_field():
    return Field(min_length=1, description="The classes whose IoUs are averaged.")


class TargetedIoU(IoUMetric):
    target_class_ids: list[int] = _target_class_ids_field()

    @model_validator(mode="after")
    def _targets_in_range(self) -> TargetedIoU:
        if max(self.target_class_ids) >= self.num_classes:
            raise ValueError(
                f"target class id {max(self.target_class_ids)} is out of range "
                f"[0, {self.num_classes})"
            )
        return self

    def targets(self) -> list[int]:
        return self.target_class_ids


@METRICS.register("io_u")
class IoU(TargetedIoU):
    """The mean IoU of the `target_class_ids` classes (those that occur)."""

    type: Literal["IoU"] = "IoU"
    examples: ClassVar[tuple[dict, ...]] = (
        {
            "args": {"num_classes": 3, "target_class_ids": [0, 2]},
            "y_true": ("labels", ()),
            "y_pred": ("labels", ()),
            "classes": 3,
        },
        {
            "args": {"num_classes": 4, "target_class_ids": [1], "ignore_class": 0},
            "y_true": ("labels", (3,)),
            "y_pred": ("labels", (3,)),
            "classes": 4,
        },
        {
            "args": {
                "num_classes": 3,
                "target_class_ids": [0, 1, 2],
                "sparse_y_true": False,
                "sparse_y_pred": False,
            },
            "y_true": ("onehot", (3,)),
            "y_pred": ("softmax", (3,)),
        },
    )
    sparse_y_true: bool = Field(
        True, description="y_true holds class ids; false: one-hot, argmax taken along `axis`."
    )

    def sparse_labels(self) -> bool:
        return self.sparse_y_true


@METRICS.register("mean_io_u")
class MeanIoU(IoUMetric):
    """The mean IoU over every class that occurs."""

    type: Literal["MeanIoU"] = "MeanIoU"
    examples: ClassVar[tuple[dict, ...]] = (
        {
            "args": {"num_classes": 3},
            "y_true": ("labels", (2,)),
            "y_pred": ("labels", (2,)),
            "classes": 3,
        },
        {
            "args": {"num_classes": 4, "sparse_y_pred": False, "ignore_class": 2},
            "y_true": ("labels", ()),
            "y_pred": ("softmax", (4,)),
        },
    )
    sparse_y_true: bool = Field(
        True, description="y_true holds class ids; false: one-hot, argmax taken along `axis`."
    )

    def sparse_labels(self) -> bool:
        return self.sparse_y_true


@METRICS.register("binary_io_u")
class BinaryIoU(IoUBase):
    """IoU of binary labels against (y_pred >= threshold), averaged over `target_class_ids`
    (0, 1 or both)."""

    type: Literal["BinaryIoU"] = "BinaryIoU"
    examples: ClassVar[tuple[dict, ...]] = (
        {"args": {}, "y_true": ("binary", (1,)), "y_pred": ("probs", (1,))},
        {
            "args": {"target_class_ids": [1], "threshold": 0.3},
            "y_true": ("binary", (4,)),
            "y_pred": ("probs", (4,)),
        },
    )
    target_class_ids: list[Literal[0, 1]] = Field(
        [0, 1], min_length=1, description="The classes (0, 1) whose IoUs are averaged."
    )
    threshold: float = Field(0.5, description="A prediction at or above it is class 1.")

    def targets(self) -> list[int]:
        return list(self.target_class_ids)

    def ids(self, y_pred, y_true):
        return y_true.long(), (y_pred.float() >= self.threshold).long()


@METRICS.register("one_hot_io_u")
class OneHotIoU(TargetedIoU):
    """IoU (as `IoU`) of one-hot labels: argmax along `axis`."""

    type: Literal["OneHotIoU"] = "OneHotIoU"
    examples: ClassVar[tuple[dict, ...]] = (
        {
            "args": {"num_classes": 3, "target_class_ids": [0, 2]},
            "y_true": ("onehot", (3,)),
            "y_pred": ("softmax", (3,)),
        },
        {
            "args": {"num_classes": 4, "target_class_ids": [1, 3], "ignore_class": 0},
            "y_true": ("onehot", (2, 4)),
            "y_pred": ("softmax", (2, 4)),
        },
    )
    sparse_y_pred: bool = Field(
        False, description="y_pred holds class ids; false: scores, argmax taken along `axis`."
    )

    def sparse_labels(self) -> bool:
        return False


@METRICS.register("one_hot_mean_io_u")
class OneHotMeanIoU(IoUMetric):
    """The mean IoU (as `MeanIoU`) of one-hot labels: argmax along `axis`."""

    type: Literal["OneHotMeanIoU"] = "OneHotMeanIoU"
    examples: ClassVar[tuple[dict, ...]] = (
        {"args": {"num_classes": 3}, "y_true": ("onehot", (3,)), "y_pred": ("softmax", (3,))},
        {
            "args": {"num_classes": 4, "sparse_y_pred": True},
            "y_true": ("onehot", (4,)),
            "y_pred": ("labels", ()),
            "classes": 4,
        },
    )
    sparse_y_pred: bool = Field(
        False, description="y_pred holds class ids; false: scores, argmax taken along `axis`."
    )

    def sparse_labels(self) -> bool:
        return False
