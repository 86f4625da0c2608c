"""Regression metrics (keras/src/metrics/regression_metrics.py): means of per-sample errors,
cosine similarity, and R2Score's summed moments."""

from __future__ import annotations

import math
import warnings
from typing import ClassVar, Literal

from pydantic import Field

from .base import METRICS, Direction, MeanMetric, Metric, State, SumsState, same_rank

EPSILON = 1e-7  # Keras's backend.epsilon()


def _pair(y_true, y_pred):
    return same_rank(y_true.to(y_pred.dtype), y_pred)


@METRICS.register("mean_absolute_error", "mae", "MAE")
class MeanAbsoluteError(MeanMetric):
    """mean(|y_true - y_pred|)."""

    type: Literal["MeanAbsoluteError"] = "MeanAbsoluteError"
    examples: ClassVar[tuple[dict, ...]] = (
        {"args": {}, "y_true": ("normal", (1,)), "y_pred": ("normal", (1,))},
        {"args": {}, "y_true": ("normal", (3, 2)), "y_pred": ("normal", (3, 2))},
    )

    def values(self, y_true, y_pred):
        y_true, y_pred = _pair(y_true, y_pred)
        return (y_true - y_pred).abs().mean(-1)


@METRICS.register("mean_squared_error", "mse", "MSE")
class MeanSquaredError(MeanMetric):
    """mean((y_true - y_pred)^2)."""

    type: Literal["MeanSquaredError"] = "MeanSquaredError"
    examples: ClassVar[tuple[dict, ...]] = (
        {"args": {}, "y_true": ("normal", (4,)), "y_pred": ("normal", (4,))},
        {"args": {}, "y_true": ("normal", (3, 2)), "y_pred": ("normal", (3, 2))},
    )

    def values(self, y_true, y_pred):
        y_true, y_pred = _pair(y_true, y_pred)
        return (y_true - y_pred).square().mean(-1)


@METRICS.register("root_mean_squared_error")
class RootMeanSquaredError(MeanMetric):
    """sqrt of the (weighted) mean squared error over every sample seen."""

    type: Literal["RootMeanSquaredError"] = "RootMeanSquaredError"
    examples: ClassVar[tuple[dict, ...]] = (
        {"args": {}, "y_true": ("normal", (1,)), "y_pred": ("normal", (1,))},
        {"args": {}, "y_true": ("normal", (3, 2)), "y_pred": ("normal", (3, 2))},
    )
    sqrt: ClassVar[bool] = True

    def values(self, y_true, y_pred):
        y_true, y_pred = _pair(y_true, y_pred)
        return (y_pred - y_true).square()


@METRICS.register("mean_absolute_percentage_error", "mape", "MAPE")
class MeanAbsolutePercentageError(MeanMetric):
    """100 * mean(|y_true - y_pred| / max(|y_true|, 1e-7))."""

    type: Literal["MeanAbsolutePercentageError"] = "MeanAbsolutePercentageError"
    examples: ClassVar[tuple[dict, ...]] = (
        {"args": {}, "y_true": ("positive", (1,)), "y_pred": ("normal", (1,))},
        {"args": {}, "y_true": ("normal", (3, 2)), "y_pred": ("normal", (3, 2))},
    )

    def values(self, y_true, y_pred):
        y_true, y_pred = _pair(y_true, y_pred)
        return 100.0 * ((y_true - y_pred) / y_true.abs().clamp_min(EPSILON)).abs().mean(-1)


@METRICS.register("mean_squared_logarithmic_error", "msle", "MSLE")
class MeanSquaredLogarithmicError(MeanMetric):
    """mean((log(max(y_pred, 1e-7) + 1) - log(max(y_true, 1e-7) + 1))^2)."""

    type: Literal["MeanSquaredLogarithmicError"] = "MeanSquaredLogarithmicError"
    examples: ClassVar[tuple[dict, ...]] = (
        {"args": {}, "y_true": ("positive", (1,)), "y_pred": ("positive", (1,))},
        {"args": {}, "y_true": ("positive", (3, 2)), "y_pred": ("normal", (3, 2))},
    )

    def values(self, y_true, y_pred):
        y_true, y_pred = _pair(y_true, y_pred)
        first = (y_pred.clamp_min(EPSILON) + 1.0).log()
        second = (y_true.clamp_min(EPSILON) + 1.0).log()
        return (first - second).square().mean(-1)


@METRICS.register("log_cosh_error")
class LogCoshError(MeanMetric):
    """mean(log(cosh(y_pred - y_true))), computed as x + softplus(-2x) - log 2."""

    default_name: ClassVar[str | None] = "logcosh"
    type: Literal["LogCoshError"] = "LogCoshError"
    examples: ClassVar[tuple[dict, ...]] = (
        {"args": {}, "y_true": ("normal", (1,)), "y_pred": ("normal", (1,))},
        {"args": {}, "y_true": ("normal", (3, 2)), "y_pred": ("normal", (3, 2))},
    )

    def values(self, y_true, y_pred):
        import torch

        y_true, y_pred = _pair(y_true, y_pred)
        x = y_pred - y_true
        return (x + torch.nn.functional.softplus(-2.0 * x) - math.log(2.0)).mean(-1)


def l2_normalize(x, axis: int):
    """Keras's ops.normalize (order 2): x * min(rsqrt(sum(x^2)), 1 / 1e-7)."""
    inv = x.square().sum(axis, keepdim=True).rsqrt().clamp_max(1.0 / EPSILON)
    return x * inv


@METRICS.register("cosine_similarity")
class CosineSimilarity(MeanMetric):
    """The cosine of the angle between y_true and y_pred along `axis`."""

    direction: ClassVar[Direction] = "up"
    type: Literal["CosineSimilarity"] = "CosineSimilarity"
    examples: ClassVar[tuple[dict, ...]] = (
        {"args": {}, "y_true": ("normal", (4,)), "y_pred": ("normal", (4,))},
        {"args": {"axis": 1}, "y_true": ("normal", (3, 2)), "y_pred": ("normal", (3, 2))},
    )
    axis: int = Field(-1, description="The axis (of the batched arrays) the vectors lie along.")

    def values(self, y_true, y_pred):
        y_true, y_pred = _pair(y_true, y_pred)
        return (l2_normalize(y_true, self.axis) * l2_normalize(y_pred, self.axis)).sum(self.axis)


@METRICS.register("r2_score")
class R2Score(Metric):
    """The coefficient of determination 1 - SS_res / SS_tot of each output (column of
    (samples, outputs) data), aggregated over the outputs; adjusted for `num_regressors`
    independent variables when it is not 0."""

    direction: ClassVar[Direction] = "up"
    type: Literal["R2Score"] = "R2Score"
    examples: ClassVar[tuple[dict, ...]] = (
        {"args": {}, "y_true": ("normal", (1,)), "y_pred": ("normal", (1,))},
        {"args": {}, "y_true": ("normal", (3,)), "y_pred": ("normal", (3,))},
        {
            "args": {"class_aggregation": "variance_weighted_average", "num_regressors": 2},
            "y_true": ("normal", (3,)),
            "y_pred": ("normal", (3,)),
        },
        {"args": {"class_aggregation": None}, "y_true": ("normal", ()), "y_pred": ("normal", (1,))},
    )
    class_aggregation: Literal["uniform_average", "variance_weighted_average"] | None = Field(
        "uniform_average",
        description="How the outputs' scores combine: their mean, or weighted by each "
        "output's variance. null (Keras: one score per output) needs a single output here: a "
        "history holds one number per metric.",
    )
    num_regressors: int = Field(
        0, ge=0, description="The number of independent variables, for the adjusted R2 score."
    )

    def build(self) -> State:
        aggregation = self.class_aggregation

        def add(y_pred, y_true, sw):
            y_true, y_pred = _pair(y_true, y_pred)
            if y_pred.ndim != 2 or y_true.ndim != 2:
                raise ValueError(
                    "R2Score expects (samples, outputs) data, got y_true of shape "
                    f"{tuple(y_true.shape)} and y_pred of shape {tuple(y_pred.shape)}"
                )
            if aggregation is None and y_pred.shape[-1] != 1:
                raise ValueError("class_aggregation None gives one score per output; set one")
            w = y_true.new_ones(()) if sw is None else sw.to(y_true.dtype)
            w = (w[:, None] if w.ndim == 1 else w).broadcast_to(y_true.shape)
            weighted = y_true * w
            return {
                "sum": weighted.sum(0),
                "squared_sum": (y_true * weighted).sum(0),
                "residual": ((y_true - y_pred).square() * w).sum(0),
                "count": w.sum(0),
                "samples": y_true.new_full((), float(y_true.numel())),  # a fill, not a copy
            }

        return SumsState(add, self.score)

    def score(self, s: dict) -> float:
        """Keras's R2Score.result on the sums."""
        import torch

        mean = s["sum"] / s["count"]
        total = s["squared_sum"] - s["sum"] * mean
        raw = 1 - s["residual"] / total
        raw = torch.where(torch.isinf(raw), 0.0, raw)
        if self.class_aggregation == "variance_weighted_average":
            score = float((total * raw).sum() / total.sum())
        else:  # uniform_average, or None of a single output
            score = float(raw.mean())
        n, p = float(s["samples"]), self.num_regressors
        if p == 0:
            return score
        if p >= n - 1:  # Keras warns and falls back to the plain score
            warnings.warn("adjusted R2 score: too few samples; the plain score", stacklevel=2)
            return score
        return 1.0 - (1.0 - score) * (n - 1.0) / (n - p - 1.0)
