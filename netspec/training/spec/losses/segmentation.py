"""Image segmentation losses: Dice and Tversky (over `axis`, all axes by default: then the
batch gives one value)."""

from __future__ import annotations

from typing import ClassVar, Literal

from pydantic import Field

from .base import EPSILON, LOSSES, Loss

_AXIS = "The axes summed over (an axis or a list); null: all of them, the batch included."


def _sum(x, axis):
    return x.sum() if axis is None else x.sum(dim=axis if isinstance(axis, int) else tuple(axis))


_EXAMPLES: tuple[dict, ...] = (
    {"args": {}, "y_true": ("binary", (5,)), "y_pred": ("probs", (5,))},
    {"args": {"axis": [1, 2]}, "y_true": ("binary", (3, 4)), "y_pred": ("probs", (3, 4))},
    {"args": {"axis": -1}, "y_true": ("binary", (3, 4)), "y_pred": ("probs", (3, 4))},
    {
        "args": {"axis": [1, 2], "reduction": "mean_with_sample_weight"},
        "y_true": ("binary", (3, 4)),
        "y_pred": ("probs", (3, 4)),
        "sample_weight": ("positive", ()),
    },
    {
        "args": {"reduction": "sum"},
        "y_true": ("binary", (3,)),
        "y_pred": ("probs", (3,)),
        "sample_weight": ("positive", ()),
    },
)


@LOSSES.register("dice")
class Dice(Loss):
    """1 - 2 * sum(y_true * y_pred) / (sum(y_true) + sum(y_pred) + 1e-7), sums over `axis`."""

    type: Literal["Dice"] = "Dice"
    examples: ClassVar[tuple[dict, ...]] = _EXAMPLES
    axis: int | list[int] | None = Field(None, description=_AXIS)

    def values(self, y_true, y_pred, stable=False, logits=None):
        intersection = _sum(y_true * y_pred, self.axis)
        total = _sum(y_true, self.axis) + _sum(y_pred, self.axis) + EPSILON
        return 1.0 - 2.0 * intersection / total


@LOSSES.register("tversky")
class Tversky(Loss):
    """1 - TP / (TP + alpha * FP + beta * FN + 1e-7), soft counts summed over `axis`."""

    type: Literal["Tversky"] = "Tversky"
    examples: ClassVar[tuple[dict, ...]] = (
        *_EXAMPLES,
        {
            "args": {"alpha": 0.7, "beta": 0.3},
            "y_true": ("binary", (5,)),
            "y_pred": ("probs", (5,)),
        },
    )
    alpha: float = Field(0.5, description="The weight of false positives.")
    beta: float = Field(0.5, description="The weight of false negatives.")
    axis: int | list[int] | None = Field(None, description=_AXIS)

    def values(self, y_true, y_pred, stable=False, logits=None):
        intersection = _sum(y_true * y_pred, self.axis)
        # Keras's names: fp = sum((1 - y_pred) * y_true), fn = sum(y_pred * (1 - y_true))
        fp = _sum((1.0 - y_pred) * y_true, self.axis)
        fn = _sum(y_pred * (1.0 - y_true), self.axis)
        denominator = intersection + fp * self.alpha + fn * self.beta + EPSILON
        return 1.0 - intersection / denominator
