"""Keras 3 metrics: a name or a `{type: ClassName, ...}` object; `build()` gives a stateful
metric with `update(y_pred, y_true)`, `result() -> float` and `reset()` (torch is imported when
called).

Mean metrics accumulate Keras's per-sample values (total and count, so a batch weighs by its
samples); precision, recall and AUC accumulate Keras's confusion counts (AUC with Keras's
evenly spaced thresholds and its bucketing, so the counts are Keras's exactly). `accuracy` is
resolved by `resolve_accuracy` from the shapes, as Keras 3's compile does.
"""

from __future__ import annotations

import re
from typing import ClassVar, Literal

from pydantic import ConfigDict, Field

from ...registry import Registry
from ...vocab.base import VocabModel, name_or_object, require_type
from .losses import _same_rank  # Keras squeezes or expands y to the same rank

METRICS: Registry[type[Metric]] = Registry("metric")


def resolve_accuracy(y_true_shape, y_pred_shape) -> str:
    """Keras 3's choice for `accuracy`/`acc` (keras/src/trainers/compile_utils.py): binary when
    y_pred's last axis is 1, sparse when y_true has a lower rank or a last axis of 1 (and y_pred's
    is not), categorical otherwise. Keras 3 ignores the loss; so does this."""
    if y_pred_shape[-1] == 1:
        return "BinaryAccuracy"
    if len(y_true_shape) < len(y_pred_shape) or y_true_shape[-1] == 1:
        return "SparseCategoricalAccuracy"
    return "CategoricalAccuracy"


class Metric(VocabModel):
    """Base metric spec: `build()` returns a fresh stateful metric."""

    model_config = ConfigDict(json_schema_extra=require_type())

    # Keras 3's `_direction`: EarlyStopping's mode auto maximises the metrics that go up.
    direction: ClassVar[Literal["up", "down"]] = "down"
    # The registry-wide tests' cases (tests/test_metrics.py compares each with Keras): Keras
    # arguments and the (kind, per-sample shape) of y_true and y_pred, kinds as listed in
    # tests/loss_inputs.py. Every metric needs at least one.
    examples: ClassVar[tuple[dict, ...]] = ()

    name: str | None = Field(
        None,
        pattern=r"^[A-Za-z0-9_]+$",
        description="The name in the history (default: as Keras, the string the metric was "
        "given as, else the class name in snake_case: mean_absolute_error, auc).",
    )

    def display_name(self) -> str:
        """Keras's name: `name`, else its `to_snake_case` of the class name."""
        if self.name is not None:
            return self.name
        words = re.sub(r"(.)([A-Z][a-z]+)", r"\1_\2", self.type)
        return re.sub(r"([a-z])([A-Z])", r"\1_\2", words).lower()

    def build(self) -> State:
        raise NotImplementedError


class State:
    """A stateful metric: `update(y_pred, y_true)`, `result()`, `reset()`."""

    def update(self, y_pred, y_true) -> None:
        raise NotImplementedError

    def result(self) -> float:
        raise NotImplementedError

    def reset(self) -> None:
        raise NotImplementedError

    def sync(self, total) -> None:
        """Replace the state by its sum over the ranks of a data-parallel run (`total`: a list
        of floats to their sums, distributed.Ranks.sum)."""
        raise NotImplementedError


class MeanState(State):
    """Mean of per-sample values over every update (Keras's Mean / MeanMetricWrapper)."""

    def __init__(self, values, sqrt: bool = False):
        self.values = values
        self.sqrt = sqrt
        self.reset()

    def reset(self) -> None:
        self.total = 0.0  # a float64 tensor once updated: summed on the device, no sync per batch
        self.count = 0

    def update(self, y_pred, y_true) -> None:
        import torch

        with torch.no_grad():
            v = self.values(y_true.to(y_pred.device), y_pred.detach())
            self.total = v.double().sum() + self.total
            self.count += v.numel()

    def sync(self, total) -> None:
        self.total, count = total([float(self.total), float(self.count)])
        self.count = int(count)

    def result(self) -> float:
        if not self.count:
            return 0.0
        mean = float(self.total) / self.count
        return mean**0.5 if self.sqrt else mean


class MeanMetric(Metric):
    """Metrics that average a per-sample value."""

    sqrt: ClassVar[bool] = False

    def values(self, y_true, y_pred):
        raise NotImplementedError

    def build(self) -> State:
        return MeanState(self.values, sqrt=type(self).sqrt)


@METRICS.register("binary_accuracy")
class BinaryAccuracy(MeanMetric):
    """How often y_true equals (y_pred > threshold)."""

    direction: ClassVar[Literal["up", "down"]] = "up"

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
        y_true, y_pred = _same_rank(y_true.to(y_pred.dtype), y_pred)
        return (y_true == (y_pred > self.threshold).to(y_true.dtype)).float()


@METRICS.register("categorical_accuracy")
class CategoricalAccuracy(MeanMetric):
    """How often argmax(y_pred) equals argmax(y_true) (one-hot labels)."""

    direction: ClassVar[Literal["up", "down"]] = "up"

    type: Literal["CategoricalAccuracy"] = "CategoricalAccuracy"
    examples: ClassVar[tuple[dict, ...]] = (
        {"args": {}, "y_true": ("onehot", (6,)), "y_pred": ("softmax", (6,))},
        {"args": {}, "y_true": ("onehot", (4, 6)), "y_pred": ("softmax", (4, 6))},
    )

    def values(self, y_true, y_pred):
        return (y_true.argmax(-1) == y_pred.argmax(-1)).float()


@METRICS.register("sparse_categorical_accuracy")
class SparseCategoricalAccuracy(MeanMetric):
    """How often argmax(y_pred) equals the integer label."""

    direction: ClassVar[Literal["up", "down"]] = "up"

    type: Literal["SparseCategoricalAccuracy"] = "SparseCategoricalAccuracy"
    examples: ClassVar[tuple[dict, ...]] = (
        {"args": {}, "y_true": ("labels", ()), "y_pred": ("softmax", (6,))},
        {"args": {}, "y_true": ("labels", (4,)), "y_pred": ("softmax", (4, 6))},
        {"args": {}, "y_true": ("labels", (4, 1)), "y_pred": ("softmax", (4, 6))},
    )

    def values(self, y_true, y_pred):
        if y_true.ndim == y_pred.ndim and y_true.shape[-1] == 1:
            y_true = y_true.squeeze(-1)
        return (y_true.to(y_pred.dtype) == y_pred.argmax(-1).to(y_pred.dtype)).float()


@METRICS.register("top_k_categorical_accuracy")
class TopKCategoricalAccuracy(MeanMetric):
    """How often the label (argmax of one-hot y_true) is among the k highest predictions
    (ties with the k-th value count as hits, as Keras's in_top_k)."""

    direction: ClassVar[Literal["up", "down"]] = "up"

    type: Literal["TopKCategoricalAccuracy"] = "TopKCategoricalAccuracy"
    examples: ClassVar[tuple[dict, ...]] = (
        {"args": {}, "y_true": ("onehot", (6,)), "y_pred": ("softmax", (6,))},
        {"args": {"k": 2}, "y_true": ("onehot", (4, 6)), "y_pred": ("softmax", (4, 6))},
    )
    k: int = Field(5, ge=1, description="How many top predictions count.")

    def values(self, y_true, y_pred):
        import torch

        target = y_true.argmax(-1).reshape(-1, 1)
        pred = y_pred.reshape(-1, y_pred.shape[-1])
        kth = torch.topk(pred, min(self.k, pred.shape[-1]), dim=-1).values[:, -1:]
        return (torch.take_along_dim(pred, target, dim=-1) >= kth).float()


@METRICS.register("mean_absolute_error", "mae", "MAE")
class MeanAbsoluteError(MeanMetric):
    """mean(|y_true - y_pred|)."""

    type: Literal["MeanAbsoluteError"] = "MeanAbsoluteError"
    examples: ClassVar[tuple[dict, ...]] = (
        {"args": {}, "y_true": ("normal", (1,)), "y_pred": ("normal", (1,))},
        {"args": {}, "y_true": ("normal", (3, 2)), "y_pred": ("normal", (3, 2))},
    )

    def values(self, y_true, y_pred):
        y_true, y_pred = _same_rank(y_true.to(y_pred.dtype), y_pred)
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
        y_true, y_pred = _same_rank(y_true.to(y_pred.dtype), y_pred)
        return (y_true - y_pred).square().mean(-1)


@METRICS.register("root_mean_squared_error")
class RootMeanSquaredError(MeanMetric):
    """sqrt of the mean squared error over every element seen."""

    type: Literal["RootMeanSquaredError"] = "RootMeanSquaredError"
    examples: ClassVar[tuple[dict, ...]] = (
        {"args": {}, "y_true": ("normal", (1,)), "y_pred": ("normal", (1,))},
        {"args": {}, "y_true": ("normal", (3, 2)), "y_pred": ("normal", (3, 2))},
    )
    sqrt: ClassVar[bool] = True

    def values(self, y_true, y_pred):
        y_true, y_pred = _same_rank(y_true.to(y_pred.dtype), y_pred)
        return (y_pred - y_true).square()


class ConfusionState(State):
    """True/false positive/negative counts at each threshold (prediction > threshold)."""

    def __init__(self, thresholds: list[float], result, buckets: bool = False):
        self.thresholds = thresholds
        self.buckets = buckets
        self._result = result
        self.reset()

    def reset(self) -> None:
        n = len(self.thresholds)
        self.tp, self.fp, self.tn, self.fn = ([0.0] * n for _ in range(4))

    def update(self, y_pred, y_true) -> None:
        import torch

        with torch.no_grad():
            pred = y_pred.detach().float().reshape(-1)
            true = (y_true.to(pred.device).reshape(-1) != 0).float()
            if self.buckets:  # Keras's optimized path for evenly spaced thresholds
                n = len(self.thresholds)
                index = (torch.ceil(pred.clamp(0.0, 1.0) * float(n - 1)) - 1).clamp_min(0)
                index = index.long()
                tp_b = torch.zeros(n, dtype=torch.float64).index_add_(0, index, true.double())
                fp_b = torch.zeros(n, dtype=torch.float64).index_add_(0, index, 1.0 - true.double())
                tp = tp_b.flip(0).cumsum(0).flip(0)
                fp = fp_b.flip(0).cumsum(0).flip(0)
            else:
                th = torch.tensor(self.thresholds, dtype=torch.float32, device=pred.device)
                above = (pred[None, :] > th[:, None]).double()
                tp = (above * true.double()).sum(1).cpu()
                fp = (above * (1.0 - true.double())).sum(1).cpu()
            positives, negatives = float(true.sum()), float((1.0 - true).sum())
            for i in range(len(self.thresholds)):
                self.tp[i] += float(tp[i])
                self.fp[i] += float(fp[i])
                self.tn[i] += negatives - float(fp[i])
                self.fn[i] += positives - float(tp[i])

    def sync(self, total) -> None:
        n = len(self.thresholds)
        summed = total([*self.tp, *self.fp, *self.tn, *self.fn])
        self.tp, self.fp, self.tn, self.fn = (summed[i * n : (i + 1) * n] for i in range(4))

    def result(self) -> float:
        return self._result(self)


def _div(a: float, b: float) -> float:
    return a / b if b else 0.0


@METRICS.register("precision")
class Precision(Metric):
    """tp / (tp + fp) with predictions above `thresholds` counted as positive."""

    direction: ClassVar[Literal["up", "down"]] = "up"

    type: Literal["Precision"] = "Precision"
    examples: ClassVar[tuple[dict, ...]] = (
        {"args": {}, "y_true": ("binary", (1,)), "y_pred": ("probs", (1,))},
        {"args": {"thresholds": 0.3}, "y_true": ("binary", (2, 5)), "y_pred": ("probs", (2, 5))},
    )
    thresholds: float = Field(0.5, ge=0, le=1, description="The decision threshold.")

    def build(self) -> State:
        return ConfusionState([self.thresholds], lambda s: _div(s.tp[0], s.tp[0] + s.fp[0]))


@METRICS.register("recall")
class Recall(Metric):
    """tp / (tp + fn) with predictions above `thresholds` counted as positive."""

    direction: ClassVar[Literal["up", "down"]] = "up"

    type: Literal["Recall"] = "Recall"
    examples: ClassVar[tuple[dict, ...]] = (
        {"args": {}, "y_true": ("binary", (3,)), "y_pred": ("probs", (3,))},
        {"args": {"thresholds": 0.3}, "y_true": ("binary", (1,)), "y_pred": ("probs", (1,))},
    )
    thresholds: float = Field(0.5, ge=0, le=1, description="The decision threshold.")

    def build(self) -> State:
        return ConfusionState([self.thresholds], lambda s: _div(s.tp[0], s.tp[0] + s.fn[0]))


def _roc_auc(s: ConfusionState) -> float:
    tpr = [_div(tp, tp + fn) for tp, fn in zip(s.tp, s.fn, strict=True)]
    fpr = [_div(fp, fp + tn) for fp, tn in zip(s.fp, s.tn, strict=True)]
    return sum((fpr[i] - fpr[i + 1]) * (tpr[i] + tpr[i + 1]) / 2.0 for i in range(len(tpr) - 1))


@METRICS.register("auc")
class AUC(Metric):
    """Area under the ROC curve, Keras's interpolation over `num_thresholds` evenly spaced
    thresholds (with -1e-7 and 1 + 1e-7 at the ends)."""

    direction: ClassVar[Literal["up", "down"]] = "up"

    type: Literal["AUC"] = "AUC"
    examples: ClassVar[tuple[dict, ...]] = (
        {"args": {}, "y_true": ("binary", (1,)), "y_pred": ("probs", (1,))},
        {"args": {"num_thresholds": 7}, "y_true": ("binary", (2, 5)), "y_pred": ("probs", (2, 5))},
    )
    num_thresholds: int = Field(200, gt=1, description="Number of thresholds.")
    curve: Literal["ROC"] = Field("ROC", description="The curve (only ROC so far).")

    def build(self) -> State:
        n = self.num_thresholds
        inner = [(i + 1) * 1.0 / (n - 1) for i in range(n - 2)]
        thresholds = [0.0 - 1e-7, *inner, 1.0 + 1e-7]
        return ConfusionState(thresholds, _roc_auc, buckets=True)


MetricField = name_or_object(METRICS)
