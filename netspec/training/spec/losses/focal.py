"""Focal and generalized cross-entropy losses (Keras computes them on clipped probabilities,
from_logits included, so they have no stable form)."""

from __future__ import annotations

from typing import ClassVar, Literal

from pydantic import Field

from .base import EPSILON, LOSSES, Loss


@LOSSES.register("binary_focal_crossentropy")
class BinaryFocalCrossentropy(Loss):
    """Binary cross-entropy times (1 - p_t)^gamma (p_t: the probability of the true label),
    optionally times alpha (label 1) or 1 - alpha (label 0); mean over `axis`."""

    type: Literal["BinaryFocalCrossentropy"] = "BinaryFocalCrossentropy"
    examples: ClassVar[tuple[dict, ...]] = (
        {"args": {}, "y_true": ("binary", (5,)), "y_pred": ("probs", (5,))},
        {
            "args": {"apply_class_balancing": True, "alpha": 0.4, "gamma": 1.5},
            "y_true": ("binary", (3, 6)),
            "y_pred": ("probs", (3, 6)),
        },
        {
            "args": {"from_logits": True, "label_smoothing": 0.2, "gamma": 0.0},
            "y_true": ("binary", (3, 6)),
            "y_pred": ("normal", (3, 6)),
        },
        {
            "args": {"axis": 1, "reduction": "sum"},
            "y_true": ("binary", (3, 6)),
            "y_pred": ("probs", (3, 6)),
            "sample_weight": ("positive", (6,)),  # the values are (batch, 6)
        },
    )
    apply_class_balancing: bool = Field(
        False, description="Weight label-1 terms by alpha and label-0 terms by 1 - alpha."
    )
    alpha: float = Field(0.25, ge=0, le=1, description="The class balancing weight.")
    gamma: float = Field(2.0, ge=0, description="The focusing exponent.")
    from_logits: bool = Field(False, description="Whether y_pred holds logits.")
    label_smoothing: float = Field(
        0.0, ge=0, le=1, description="Squeeze the labels towards 0.5 by this amount."
    )
    axis: int = Field(-1, description="The axis the mean is taken over.")

    def values(self, y_true, y_pred, stable=False, logits=None):
        import torch
        import torch.nn.functional as F

        if self.label_smoothing:
            y_true = y_true * (1.0 - self.label_smoothing) + 0.5 * self.label_smoothing
        if self.from_logits:
            y_pred = torch.sigmoid(y_pred)
        p = y_pred.clamp(EPSILON, 1.0 - EPSILON)
        bce = F.binary_cross_entropy(p, y_true, reduction="none")
        p_t = y_true * y_pred + (1.0 - y_true) * (1.0 - y_pred)  # Keras: unclipped
        out = (1.0 - p_t).pow(self.gamma) * bce
        if self.apply_class_balancing:
            out = (y_true * self.alpha + (1.0 - y_true) * (1.0 - self.alpha)) * out
        return out.mean(self.axis)


@LOSSES.register("categorical_focal_crossentropy")
class CategoricalFocalCrossentropy(Loss):
    """sum(-alpha * (1 - p)^gamma * y_true * log(p)) along `axis`, p the renormalised, clipped
    probabilities (alpha: one weight, or one per class along the last axis)."""

    type: Literal["CategoricalFocalCrossentropy"] = "CategoricalFocalCrossentropy"
    examples: ClassVar[tuple[dict, ...]] = (
        {"args": {}, "y_true": ("onehot", (5,)), "y_pred": ("softmax", (5,))},
        {
            "args": {"from_logits": True, "label_smoothing": 0.1, "gamma": 1.0, "alpha": 0.5},
            "y_true": ("onehot", (3, 6)),
            "y_pred": ("normal", (3, 6)),
        },
        {
            "args": {"alpha": [0.1, 0.2, 0.3, 0.4]},
            "y_true": ("onehot", (4,)),
            "y_pred": ("softmax", (4,)),
        },
        {"args": {"axis": 1}, "y_true": ("onehot", (6, 3)), "y_pred": ("softmax", (6, 3))},
        {
            "args": {"reduction": "mean_with_sample_weight"},
            "y_true": ("onehot", (5,)),
            "y_pred": ("softmax", (5,)),
            "sample_weight": ("positive", ()),
        },
    )
    alpha: float | list[float] = Field(
        0.25, description="The weight of every class, or one weight per class."
    )
    gamma: float = Field(2.0, ge=0, description="The focusing exponent.")
    from_logits: bool = Field(False, description="Whether y_pred holds logits.")
    label_smoothing: float = Field(
        0.0,
        ge=0,
        le=1,
        description="Mix the labels with the uniform distribution by this amount.",
    )
    axis: int = Field(-1, description="The class axis.")

    def values(self, y_true, y_pred, stable=False, logits=None):
        import torch

        if self.label_smoothing:
            n = y_true.shape[-1]  # Keras counts the classes on the last axis
            y_true = y_true * (1.0 - self.label_smoothing) + self.label_smoothing / n
        if self.from_logits:
            y_pred = torch.softmax(y_pred, dim=self.axis)
        p = y_pred / y_pred.sum(dim=self.axis, keepdim=True)
        p = p.clamp(EPSILON, 1.0 - EPSILON)
        # one weight per class broadcasts along the last axis, as in Keras
        alpha = self.alpha
        weight = (
            torch.tensor(alpha, dtype=p.dtype, device=p.device)
            if isinstance(alpha, list)
            else alpha
        )
        out = (1.0 - p).pow(self.gamma) * weight * (-y_true * torch.log(p))
        return out.sum(self.axis)


@LOSSES.register()
class CategoricalGeneralizedCrossEntropy(Loss):
    """(1 - p^q) / q, p the predicted probability of the integer label (y_pred's last axis
    holds the classes). Keras's `keras.losses.get` knows no string for it: only the class name
    is accepted here."""

    type: Literal["CategoricalGeneralizedCrossEntropy"] = "CategoricalGeneralizedCrossEntropy"
    examples: ClassVar[tuple[dict, ...]] = (
        {"args": {}, "y_true": ("labels", ()), "y_pred": ("softmax", (5,))},
        {"args": {"q": 0.2}, "y_true": ("labels", (3,)), "y_pred": ("softmax", (3, 4))},
        {
            "args": {"q": 0.9, "reduction": "none"},
            "y_true": ("labels", ()),
            "y_pred": ("softmax", (6,)),
            "sample_weight": ("positive", ()),
        },
    )
    q: float = Field(
        0.5, gt=0, lt=1, description="Noise parameter: near 0 cross-entropy, near 1 MAE."
    )
    sparse: ClassVar[bool] = True
    label_kind: ClassVar[str] = "classes"

    def values(self, y_true, y_pred, stable=False, logits=None):
        import torch

        index = y_true.long().unsqueeze(-1)
        p = torch.take_along_dim(y_pred, index, dim=-1).squeeze(-1)
        return (1.0 - p.pow(self.q)) / self.q
