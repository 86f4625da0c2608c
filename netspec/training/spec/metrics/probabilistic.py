"""Probabilistic and hinge metrics (keras/src/metrics/probabilistic_metrics.py,
hinge_metrics.py): the mean over samples of Keras's loss functions' per-sample values."""

from __future__ import annotations

from typing import ClassVar, Literal

from pydantic import Field

from .base import METRICS, MeanMetric

EPSILON = 1e-7  # Keras's backend.epsilon()


def _from_logits_field():
    return Field(False, description="y_pred holds logits, not probabilities.")


def _label_smoothing_field(towards: str):
    return Field(0.0, ge=0, le=1, description=f"Squeeze the labels towards {towards} by this much.")


def _axis_field():
    return Field(-1, description="The class axis (of the batched arrays).")


@METRICS.register("binary_crossentropy", "bce", "BCE")
class BinaryCrossentropy(MeanMetric):
    """Binary cross-entropy of each element (predictions clipped to [1e-7, 1 - 1e-7]),
    averaged over the last axis."""

    type: Literal["BinaryCrossentropy"] = "BinaryCrossentropy"
    examples: ClassVar[tuple[dict, ...]] = (
        {"args": {}, "y_true": ("binary", (1,)), "y_pred": ("probs", (1,))},
        {
            "args": {"from_logits": True, "label_smoothing": 0.2},
            "y_true": ("binary", (3, 2)),
            "y_pred": ("normal", (3, 2)),
        },
    )
    from_logits: bool = _from_logits_field()
    label_smoothing: float = _label_smoothing_field("0.5")

    def values(self, y_true, y_pred):
        import torch.nn.functional as F

        y_true = y_true.to(y_pred.dtype)
        if self.label_smoothing:
            y_true = y_true * (1.0 - self.label_smoothing) + 0.5 * self.label_smoothing
        if self.from_logits:
            v = F.binary_cross_entropy_with_logits(y_pred, y_true, reduction="none")
        else:
            p = y_pred.clamp(EPSILON, 1.0 - EPSILON)
            v = F.binary_cross_entropy(p, y_true, reduction="none")
        return v.mean(-1)


def _log_probs(y_pred, from_logits: bool, axis: int):
    """Keras's torch backend: log_softmax of logits, else the log of the predictions
    renormalised along `axis` and clipped to [1e-7, 1 - 1e-7]."""
    if from_logits:
        return y_pred.log_softmax(axis)
    p = y_pred / y_pred.sum(axis, keepdim=True)
    return p.clamp(EPSILON, 1.0 - EPSILON).log()


@METRICS.register("categorical_crossentropy")
class CategoricalCrossentropy(MeanMetric):
    """Cross-entropy of one-hot (or probability) labels along `axis`."""

    type: Literal["CategoricalCrossentropy"] = "CategoricalCrossentropy"
    examples: ClassVar[tuple[dict, ...]] = (
        {"args": {}, "y_true": ("onehot", (5,)), "y_pred": ("softmax", (5,))},
        {
            "args": {"from_logits": True, "label_smoothing": 0.1},
            "y_true": ("onehot", (3, 4)),
            "y_pred": ("normal", (3, 4)),
        },
        {"args": {"axis": 1}, "y_true": ("onehot", (4, 3)), "y_pred": ("softmax", (4, 3))},
    )
    from_logits: bool = _from_logits_field()
    label_smoothing: float = _label_smoothing_field("1 / classes")
    axis: int = _axis_field()

    def values(self, y_true, y_pred):
        y_true = y_true.to(y_pred.dtype)
        if self.label_smoothing:  # Keras smooths over the last axis's size, whatever `axis`
            classes = y_true.shape[-1]
            y_true = y_true * (1.0 - self.label_smoothing) + self.label_smoothing / classes
        return -(y_true * _log_probs(y_pred, self.from_logits, self.axis)).sum(self.axis)


@METRICS.register("sparse_categorical_crossentropy")
class SparseCategoricalCrossentropy(MeanMetric):
    """Cross-entropy of integer labels; `ignore_class` labels give 0 (and, when the samples
    are weighted, weigh 0)."""

    type: Literal["SparseCategoricalCrossentropy"] = "SparseCategoricalCrossentropy"
    examples: ClassVar[tuple[dict, ...]] = (
        {"args": {}, "y_true": ("labels", ()), "y_pred": ("softmax", (5,))},
        {"args": {"from_logits": True}, "y_true": ("labels", (3, 1)), "y_pred": ("normal", (3, 4))},
        {"args": {"ignore_class": 1}, "y_true": ("labels", ()), "y_pred": ("softmax", (3,))},
        {"args": {"axis": 1}, "y_true": ("labels", (3,)), "y_pred": ("softmax", (4, 3))},
    )
    from_logits: bool = _from_logits_field()
    ignore_class: int | None = Field(
        None, description="A label to leave out (its values are 0; Keras masks them)."
    )
    axis: int = _axis_field()

    def values(self, y_true, y_pred):
        if y_true.ndim == y_pred.ndim and y_true.shape[self.axis] == 1:
            y_true = y_true.squeeze(self.axis)
        axis = self.axis % y_pred.ndim
        target = y_true.long()
        valid = None
        if self.ignore_class is not None:
            valid = target != self.ignore_class
            target = target.where(valid, 0)
            y_pred = y_pred.where(valid.unsqueeze(axis), 0.0)
        log_p = _log_probs(y_pred, self.from_logits, axis)
        v = -log_p.gather(axis, target.unsqueeze(axis)).squeeze(axis)
        if valid is None:
            return v
        # Keras's mask on the values: weighs the samples only when there are sample weights
        return v.where(valid, 0.0), valid


@METRICS.register("kl_divergence")
class KLDivergence(MeanMetric):
    """sum(y_true * log(y_true / y_pred)) over the last axis, both clipped to [1e-7, 1]."""

    type: Literal["KLDivergence"] = "KLDivergence"
    examples: ClassVar[tuple[dict, ...]] = (
        {"args": {}, "y_true": ("softmax", (4,)), "y_pred": ("softmax", (4,))},
        {"args": {}, "y_true": ("onehot", (3, 4)), "y_pred": ("softmax", (3, 4))},
    )

    def values(self, y_true, y_pred):
        y_true = y_true.to(y_pred.dtype).clamp(EPSILON, 1.0)
        y_pred = y_pred.clamp(EPSILON, 1.0)
        return (y_true * (y_true / y_pred).log()).sum(-1)


@METRICS.register("poisson")
class Poisson(MeanMetric):
    """mean(y_pred - y_true * log(y_pred + 1e-7)) over the last axis."""

    type: Literal["Poisson"] = "Poisson"
    examples: ClassVar[tuple[dict, ...]] = (
        {"args": {}, "y_true": ("positive", (1,)), "y_pred": ("positive", (1,))},
        {"args": {}, "y_true": ("positive", (3, 2)), "y_pred": ("positive", (3, 2))},
    )

    def values(self, y_true, y_pred):
        y_true = y_true.to(y_pred.dtype)
        return (y_pred - y_true * (y_pred + EPSILON).log()).mean(-1)


def _hinge_labels(y_true):
    """Keras's convert_binary_labels_to_hinge: 0/1 labels become -1/1 when every label of the
    batch is 0 or 1 (chosen on the device, no sync)."""
    binary = ((y_true == 0) | (y_true == 1)).all()
    return (2.0 * y_true - 1.0).where(binary, y_true)


@METRICS.register("hinge")
class Hinge(MeanMetric):
    """mean(max(1 - y_true * y_pred, 0)) over the last axis (labels -1/1, or 0/1)."""

    type: Literal["Hinge"] = "Hinge"
    examples: ClassVar[tuple[dict, ...]] = (
        {"args": {}, "y_true": ("binary", (1,)), "y_pred": ("normal", (1,))},
        {"args": {}, "y_true": ("binary", (3, 2)), "y_pred": ("normal", (3, 2))},
        {"args": {}, "y_true": ("normal", (3,)), "y_pred": ("normal", (3,))},
    )

    def values(self, y_true, y_pred):
        y_true = _hinge_labels(y_true.to(y_pred.dtype))
        return (1.0 - y_true * y_pred).clamp_min(0.0).mean(-1)


@METRICS.register("squared_hinge")
class SquaredHinge(MeanMetric):
    """mean(max(1 - y_true * y_pred, 0)^2) over the last axis (labels -1/1, or 0/1)."""

    type: Literal["SquaredHinge"] = "SquaredHinge"
    examples: ClassVar[tuple[dict, ...]] = (
        {"args": {}, "y_true": ("binary", (1,)), "y_pred": ("normal", (1,))},
        {"args": {}, "y_true": ("binary", (3, 2)), "y_pred": ("normal", (3, 2))},
    )

    def values(self, y_true, y_pred):
        y_true = _hinge_labels(y_true.to(y_pred.dtype))
        return (1.0 - y_true * y_pred).clamp_min(0.0).square().mean(-1)


@METRICS.register("categorical_hinge")
class CategoricalHinge(MeanMetric):
    """max(max((1 - y_true) * y_pred) - sum(y_true * y_pred) + 1, 0) over the last axis."""

    type: Literal["CategoricalHinge"] = "CategoricalHinge"
    examples: ClassVar[tuple[dict, ...]] = (
        {"args": {}, "y_true": ("onehot", (4,)), "y_pred": ("normal", (4,))},
        {"args": {}, "y_true": ("onehot", (3, 4)), "y_pred": ("softmax", (3, 4))},
    )

    def values(self, y_true, y_pred):
        y_true = y_true.to(y_pred.dtype)
        pos = (y_true * y_pred).sum(-1)
        neg = ((1.0 - y_true) * y_pred).amax(-1)
        return (neg - pos + 1.0).clamp_min(0.0)
