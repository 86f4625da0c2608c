"""Regression losses: squared, absolute, percentage, logarithmic, Huber and log-cosh errors."""

from __future__ import annotations

from typing import ClassVar, Literal

from pydantic import Field

from .base import EPSILON, LOSSES, Loss


@LOSSES.register("mean_squared_error", "mse", "MSE")
class MeanSquaredError(Loss):
    """mean((y_true - y_pred)^2) over the last axis."""

    type: Literal["MeanSquaredError"] = "MeanSquaredError"
    examples: ClassVar[tuple[dict, ...]] = (
        {"args": {}, "y_true": ("normal", (5,)), "y_pred": ("normal", (5,))},
        {"args": {}, "y_true": ("normal", (3, 6)), "y_pred": ("normal", (3, 6))},
        {"args": {}, "y_true": ("normal", ()), "y_pred": ("normal", (1,))},  # ranks matched
    )

    def values(self, y_true, y_pred, stable=False, logits=None):
        return (y_true - y_pred).square().mean(-1)

    def mean(self, y_true, y_pred, stable=False, logits=None):
        import torch

        if y_true.shape != y_pred.shape:  # broadcasting: the values' own mean
            return None
        # the mean of equal-sized per-sample means is the mean of all: one kernel
        return torch.nn.functional.mse_loss(y_pred, y_true)


@LOSSES.register("mean_absolute_error", "mae", "MAE")
class MeanAbsoluteError(Loss):
    """mean(|y_true - y_pred|) over the last axis."""

    type: Literal["MeanAbsoluteError"] = "MeanAbsoluteError"
    examples: ClassVar[tuple[dict, ...]] = (
        {"args": {}, "y_true": ("normal", (5,)), "y_pred": ("normal", (5,))},
        {"args": {}, "y_true": ("normal", (3, 6)), "y_pred": ("normal", (3, 6))},
    )

    def values(self, y_true, y_pred, stable=False, logits=None):
        return (y_true - y_pred).abs().mean(-1)

    def mean(self, y_true, y_pred, stable=False, logits=None):
        import torch

        if y_true.shape != y_pred.shape:
            return None
        return torch.nn.functional.l1_loss(y_pred, y_true)  # as MeanSquaredError.mean


@LOSSES.register("mean_absolute_percentage_error", "mape", "MAPE")
class MeanAbsolutePercentageError(Loss):
    """100 * mean(|y_true - y_pred| / max(|y_true|, 1e-7)) over the last axis."""

    type: Literal["MeanAbsolutePercentageError"] = "MeanAbsolutePercentageError"
    examples: ClassVar[tuple[dict, ...]] = (
        {"args": {}, "y_true": ("normal", (5,)), "y_pred": ("normal", (5,))},
    )

    def values(self, y_true, y_pred, stable=False, logits=None):
        diff = ((y_true - y_pred) / y_true.abs().clamp_min(EPSILON)).abs()
        return 100.0 * diff.mean(-1)


@LOSSES.register("mean_squared_logarithmic_error", "msle", "MSLE")
class MeanSquaredLogarithmicError(Loss):
    """mean((log(max(y_pred, 1e-7) + 1) - log(max(y_true, 1e-7) + 1))^2) over the last axis."""

    type: Literal["MeanSquaredLogarithmicError"] = "MeanSquaredLogarithmicError"
    examples: ClassVar[tuple[dict, ...]] = (
        {"args": {}, "y_true": ("positive", (5,)), "y_pred": ("positive", (5,))},
    )

    def values(self, y_true, y_pred, stable=False, logits=None):
        import torch

        first = torch.log(y_pred.clamp_min(EPSILON) + 1.0)
        second = torch.log(y_true.clamp_min(EPSILON) + 1.0)
        return (first - second).square().mean(-1)


@LOSSES.register("huber")
class Huber(Loss):
    """Quadratic for |error| <= delta, linear beyond; mean over the last axis."""

    type: Literal["Huber"] = "Huber"
    examples: ClassVar[tuple[dict, ...]] = (
        {"args": {}, "y_true": ("normal", (5,)), "y_pred": ("normal", (5,))},
        {"args": {"delta": 0.3}, "y_true": ("normal", (3, 6)), "y_pred": ("normal", (3, 6))},
    )
    delta: float = Field(1.0, gt=0, description="The point where the loss turns linear.")

    def values(self, y_true, y_pred, stable=False, logits=None):
        import torch

        error = y_pred - y_true
        abs_error = error.abs()
        quadratic = 0.5 * error.square()
        linear = self.delta * abs_error - 0.5 * self.delta**2
        return torch.where(abs_error <= self.delta, quadratic, linear).mean(-1)


@LOSSES.register("log_cosh")
class LogCosh(Loss):
    """mean(log(cosh(y_pred - y_true))) over the last axis, computed as Keras (softplus form)."""

    type: Literal["LogCosh"] = "LogCosh"
    examples: ClassVar[tuple[dict, ...]] = (
        {"args": {}, "y_true": ("normal", (5,)), "y_pred": ("normal", (5,))},
    )

    def values(self, y_true, y_pred, stable=False, logits=None):
        import math

        import torch

        x = y_pred - y_true
        return (x + torch.nn.functional.softplus(-2.0 * x) - math.log(2.0)).mean(-1)
