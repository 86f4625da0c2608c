"""Hinge losses (binary and categorical)."""

from __future__ import annotations

from typing import ClassVar, Literal

from .base import LOSSES, Loss


def _hinge_labels(y_true):
    """Keras: labels that are all 0 or 1 become -1 or 1; others are kept."""
    if bool(((y_true == 0) | (y_true == 1)).all()):
        return 2.0 * y_true - 1.0
    return y_true


@LOSSES.register("hinge")
class Hinge(Loss):
    """mean(max(1 - y_true * y_pred, 0)) over the last axis (0/1 labels become -1/1)."""

    type: Literal["Hinge"] = "Hinge"
    examples: ClassVar[tuple[dict, ...]] = (
        {"args": {}, "y_true": ("normal", (5,)), "y_pred": ("normal", (5,))},
        {"args": {}, "y_true": ("binary", (3,)), "y_pred": ("normal", (3,))},
    )

    def values(self, y_true, y_pred, stable=False, logits=None):
        return (1.0 - _hinge_labels(y_true) * y_pred).clamp_min(0.0).mean(-1)


@LOSSES.register("squared_hinge")
class SquaredHinge(Loss):
    """mean(max(1 - y_true * y_pred, 0)^2) over the last axis (0/1 labels become -1/1)."""

    type: Literal["SquaredHinge"] = "SquaredHinge"
    examples: ClassVar[tuple[dict, ...]] = (
        {"args": {}, "y_true": ("normal", (5,)), "y_pred": ("normal", (5,))},
        {"args": {}, "y_true": ("binary", (3,)), "y_pred": ("normal", (3,))},
    )

    def values(self, y_true, y_pred, stable=False, logits=None):
        return (1.0 - _hinge_labels(y_true) * y_pred).clamp_min(0.0).square().mean(-1)


@LOSSES.register("categorical_hinge")
class CategoricalHinge(Loss):
    """max(neg - pos + 1, 0): pos = sum(y_true * y_pred), neg = max((1 - y_true) * y_pred),
    both over the last axis."""

    type: Literal["CategoricalHinge"] = "CategoricalHinge"
    examples: ClassVar[tuple[dict, ...]] = (
        {"args": {}, "y_true": ("onehot", (5,)), "y_pred": ("normal", (5,))},
        {"args": {}, "y_true": ("onehot", (3, 4)), "y_pred": ("normal", (3, 4))},
        {
            "args": {"reduction": "sum"},
            "y_true": ("onehot", (5,)),
            "y_pred": ("normal", (5,)),
            "sample_weight": ("positive", ()),
        },
    )

    def values(self, y_true, y_pred, stable=False, logits=None):
        pos = (y_true * y_pred).sum(-1)
        neg = ((1.0 - y_true) * y_pred).amax(-1)
        return (neg - pos + 1.0).clamp_min(0.0)
