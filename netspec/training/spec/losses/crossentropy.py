"""Cross-entropy losses (binary, categorical, sparse), with the stable forms after the model's
own sigmoid/softmax (see the package docstring)."""

from __future__ import annotations

from typing import ClassVar, Literal

from pydantic import Field

from .base import EPSILON, LOSSES, Loss


@LOSSES.register("binary_crossentropy", "bce", "BCE")
class BinaryCrossentropy(Loss):
    """Binary cross-entropy, mean over `axis`."""

    type: Literal["BinaryCrossentropy"] = "BinaryCrossentropy"
    examples: ClassVar[tuple[dict, ...]] = (
        {"args": {}, "y_true": ("binary", (5,)), "y_pred": ("probs", (5,))},
        {
            "args": {"from_logits": True, "label_smoothing": 0.2},
            "y_true": ("binary", (3, 6)),
            "y_pred": ("normal", (3, 6)),
        },
        {"args": {"label_smoothing": 0.2}, "y_true": ("binary", (1,)), "y_pred": ("probs", (1,))},
        {"args": {"axis": 1}, "y_true": ("binary", (3, 6)), "y_pred": ("probs", (3, 6))},
    )
    from_logits: bool = Field(False, description="Whether y_pred holds logits.")
    label_smoothing: float = Field(
        0.0, ge=0, le=1, description="Squeeze the labels towards 0.5 by this amount."
    )
    axis: int = Field(-1, description="The axis the mean is taken over.")
    stable_after: ClassVar[str | None] = "sigmoid"

    def values(self, y_true, y_pred, stable=False, logits=None):
        import torch.nn.functional as F

        if self.label_smoothing:
            y_true = y_true * (1.0 - self.label_smoothing) + 0.5 * self.label_smoothing
        if self.from_logits:
            out = F.binary_cross_entropy_with_logits(y_pred, y_true, reduction="none")
        elif logits is not None:
            out = F.binary_cross_entropy_with_logits(logits, y_true, reduction="none")
        elif stable:
            out = F.binary_cross_entropy(y_pred, y_true, reduction="none")
        else:
            p = y_pred.clamp(EPSILON, 1.0 - EPSILON)
            out = F.binary_cross_entropy(p, y_true, reduction="none")
        return out.mean(self.axis)


def _log_probs(y_pred, from_logits, stable, logits, axis):
    import torch

    if from_logits:
        return torch.log_softmax(y_pred, dim=axis)
    if logits is not None:
        return torch.log_softmax(logits, dim=axis)
    if stable and axis in (-1, y_pred.ndim - 1):
        # the last axis's softmax sums to 1: Keras's division by the sum changes the values by
        # rounding only, and the gradient not at all (the softmax's Jacobian maps the constant
        # term it adds to 0), so the stable form leaves it out
        return torch.log(y_pred.clamp_min(torch.finfo(y_pred.dtype).tiny))
    p = y_pred / y_pred.sum(dim=axis, keepdim=True)
    if stable:
        return torch.log(p.clamp_min(torch.finfo(p.dtype).tiny))
    return torch.log(p.clamp(EPSILON, 1.0 - EPSILON))


@LOSSES.register("categorical_crossentropy")
class CategoricalCrossentropy(Loss):
    """Cross-entropy against one-hot (or soft) labels along `axis`."""

    type: Literal["CategoricalCrossentropy"] = "CategoricalCrossentropy"
    examples: ClassVar[tuple[dict, ...]] = (
        {"args": {}, "y_true": ("onehot", (5,)), "y_pred": ("softmax", (5,))},
        {
            "args": {"from_logits": True, "label_smoothing": 0.1},
            "y_true": ("onehot", (3, 6)),
            "y_pred": ("normal", (3, 6)),
        },
        {"args": {"axis": 1}, "y_true": ("onehot", (6, 3)), "y_pred": ("softmax", (6, 3))},
    )
    from_logits: bool = Field(False, description="Whether y_pred holds logits.")
    label_smoothing: float = Field(
        0.0,
        ge=0,
        le=1,
        description="Mix the labels with the uniform distribution by this amount.",
    )
    axis: int = Field(-1, description="The class axis.")
    stable_after: ClassVar[str | None] = "softmax"

    def values(self, y_true, y_pred, stable=False, logits=None):
        if self.label_smoothing:
            n = y_true.shape[-1]
            y_true = y_true * (1.0 - self.label_smoothing) + self.label_smoothing / n
        log_prob = _log_probs(y_pred, self.from_logits, stable, logits, self.axis)
        return -(y_true * log_prob).sum(self.axis)


@LOSSES.register("sparse_categorical_crossentropy")
class SparseCategoricalCrossentropy(Loss):
    """Cross-entropy against integer class labels (the class axis is `axis`); labels equal to
    `ignore_class` give 0 and are masked out of the reduction (Keras's mask: the batch mean is
    over the other labels)."""

    type: Literal["SparseCategoricalCrossentropy"] = "SparseCategoricalCrossentropy"
    examples: ClassVar[tuple[dict, ...]] = (
        {"args": {}, "y_true": ("labels", ()), "y_pred": ("softmax", (5,))},
        {"args": {"from_logits": True}, "y_true": ("labels", (3,)), "y_pred": ("normal", (3, 6))},
        {"args": {}, "y_true": ("labels", (1,)), "y_pred": ("softmax", (5,))},
        {"args": {"axis": 1}, "y_true": ("labels", (3,)), "y_pred": ("softmax", (6, 3))},
        {
            "args": {"ignore_class": -1},
            "y_true": ("void_labels", (3,)),
            "y_pred": ("softmax", (3, 4)),
        },
        {
            "args": {"ignore_class": 2, "from_logits": True, "reduction": "sum"},
            "y_true": ("labels", (6,)),
            "y_pred": ("normal", (6, 4)),
        },
        {
            "args": {"ignore_class": -1, "reduction": "mean_with_sample_weight"},
            "y_true": ("void_labels", (3,)),
            "y_pred": ("softmax", (3, 4)),
            "sample_weight": ("positive", (3,)),
        },
        {
            "args": {"ignore_class": -1, "reduction": None},
            "y_true": ("void_labels", ()),
            "y_pred": ("softmax", (4,)),
            "sample_weight": ("positive", ()),
        },
    )
    from_logits: bool = Field(False, description="Whether y_pred holds logits.")
    ignore_class: int | None = Field(
        None, description="A label (say -1 or 255, a 'void' class) left out of the loss."
    )
    axis: int = Field(-1, description="The class axis of y_pred.")
    stable_after: ClassVar[str | None] = "softmax"
    sparse: ClassVar[bool] = True
    label_kind: ClassVar[str] = "classes"

    def values(self, y_true, y_pred, stable=False, logits=None):
        return self.masked_values(y_true, y_pred, stable, logits)[0]

    def mean(self, y_true, y_pred, stable=False, logits=None):
        import torch

        if self.ignore_class is not None or y_pred.ndim != 2 or self.axis not in (-1, 1):
            return None
        if y_true.ndim == 2 and y_true.shape[1] == 1:
            y_true = y_true.squeeze(1)
        log_prob = _log_probs(y_pred, self.from_logits, stable, logits, self.axis)
        return torch.nn.functional.nll_loss(log_prob, y_true.long())  # the mean: one kernel

    def masked_values(self, y_true, y_pred, stable=False, logits=None):
        import torch

        y_true = y_true.long()
        if y_true.ndim == y_pred.ndim and y_true.shape[self.axis] == 1:
            y_true = y_true.squeeze(self.axis)
        valid = None
        if self.ignore_class is not None:
            # Keras: ignored labels read class 0, their values become 0 and are masked
            valid = y_true != self.ignore_class
            y_true = torch.where(valid, y_true, 0)
        log_prob = _log_probs(y_pred, self.from_logits, stable, logits, self.axis)
        if log_prob.ndim == 2 and self.axis in (-1, 1):  # (batch, classes): one kernel
            picked = torch.nn.functional.nll_loss(log_prob, y_true, reduction="none")
        else:
            log_prob = log_prob.movedim(self.axis, -1)
            picked = -torch.take_along_dim(log_prob, y_true.unsqueeze(-1), dim=-1).squeeze(-1)
        if valid is None:
            return picked, None
        return torch.where(valid, picked, 0.0), valid
