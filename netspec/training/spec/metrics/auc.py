"""AUC and the "X at Y" metrics (SensitivityAtSpecificity, SpecificityAtSensitivity,
PrecisionAtRecall, RecallAtPrecision): Keras's confusion counts over many thresholds
(keras/src/metrics/confusion_metrics.py), summed over updates, and Keras's formulas on them.

Evenly spaced thresholds take Keras's bucketing path, so the counts are Keras's exactly.
"""

from __future__ import annotations

from typing import Annotated, ClassVar, Literal

from pydantic import Field, model_validator

from .base import METRICS, Direction, Metric, State, SumsState
from .confusion import _div, confusion_counts, count_shapes

EPSILON = 1e-7  # Keras's backend.epsilon(): AUC's outer thresholds are -eps and 1 + eps


def _evenly(thresholds: list[float]) -> bool:
    """Keras's is_evenly_distributed_thresholds (numpy allclose, atol epsilon)."""
    n = len(thresholds)
    if n < 3:
        return False
    even = [i / (n - 1) for i in range(n)]
    return all(abs(t - e) <= EPSILON + 1e-5 * abs(e) for t, e in zip(thresholds, even, strict=True))


def _interpolate_pr_auc(s: dict):
    """Keras's interpolate_pr_auc (Davis & Goadrich 2006): per-threshold-interval increments."""
    import torch

    tp, fp, fn = s["tp"], s["fp"], s["fn"]
    dtp = tp[:-1] - tp[1:]
    p = tp + fp
    dp = p[:-1] - p[1:]
    slope = _div(dtp, dp.clamp_min(0))
    intercept = tp[1:] - slope * p[1:]
    both = (p[:-1] > 0) & (p[1:] > 0)
    ratio = torch.where(both, _div(p[:-1], p[1:].clamp_min(0)), torch.ones_like(p[1:]))
    return _div(slope * (dtp + intercept * torch.log(ratio)), (tp[1:] + fn[1:]).clamp_min(0))


def _curve(s: dict, curve: str):
    """The (x, y) points of the curve at each threshold."""
    import torch

    tp, fp, tn, fn = s["tp"], s["fp"], s["tn"], s["fn"]
    recall = _div(tp, tp + fn)
    if curve == "ROC":
        return _div(fp, fp + tn), recall
    if curve == "PR":
        return recall, _div(tp, tp + fp)
    scale = _div(tp + fn, tn + fp)  # PRGAIN
    recall_gain = torch.where(tp == 0, 0.0, 1.0 - scale * _div(fn, tp)).clamp_min(0.0)
    precision_gain = torch.where(tp == 0, 1.0, 1.0 - scale * _div(fp, tp))
    return recall_gain, precision_gain


@METRICS.register("auc")
class AUC(Metric):
    """Area under the ROC or precision-recall curve, Keras's Riemann sum over `num_thresholds`
    thresholds (evenly spaced, with -1e-7 and 1 + 1e-7 at the ends, unless `thresholds`)."""

    direction: ClassVar[Direction] = "up"

    type: Literal["AUC"] = "AUC"
    examples: ClassVar[tuple[dict, ...]] = (
        {"args": {}, "y_true": ("binary", (1,)), "y_pred": ("probs", (1,))},
        {"args": {"num_thresholds": 7}, "y_true": ("binary", (2, 5)), "y_pred": ("probs", (2, 5))},
        {"args": {"curve": "PR"}, "y_true": ("binary", (3,)), "y_pred": ("probs", (3,))},
        {
            "args": {"curve": "PR", "summation_method": "majoring"},
            "y_true": ("binary", (3,)),
            "y_pred": ("probs", (3,)),
        },
        {
            "args": {"summation_method": "minoring", "thresholds": [0.1, 0.35, 0.5, 0.9]},
            "y_true": ("binary", (3,)),
            "y_pred": ("probs", (3,)),
        },
        {"args": {"curve": "PRGAIN"}, "y_true": ("binary", (3,)), "y_pred": ("probs", (3,))},
        {
            "args": {"multi_label": True, "num_labels": 3},
            "y_true": ("binary", (3,)),
            "y_pred": ("probs", (3,)),
        },
        {
            "args": {"multi_label": True, "curve": "PR", "label_weights": [1.0, 0.0, 2.0]},
            "y_true": ("binary", (3,)),
            "y_pred": ("probs", (3,)),
        },
        {
            "args": {"label_weights": [0.5, 1.0, 2.0], "from_logits": True},
            "y_true": ("binary", (3,)),
            "y_pred": ("normal", (3,)),
        },
    )
    num_thresholds: int = Field(
        200, gt=1, description="Number of thresholds (when `thresholds` is not given)."
    )
    curve: Literal["ROC", "PR", "PRGAIN", "roc", "pr", "prgain"] = Field(
        "ROC",
        description="ROC (true against false positive rate), PR (precision against recall) or "
        "PRGAIN (precision gain against recall gain).",
    )
    summation_method: Literal[
        "interpolation", "majoring", "minoring", "Interpolation", "Majoring", "Minoring"
    ] = Field(
        "interpolation",
        description="interpolation: mid-point sums (for PR, interpolating the counts); "
        "minoring/majoring: the lower/upper of each interval's ends.",
    )
    thresholds: list[Annotated[float, Field(ge=0, le=1)]] | None = Field(
        None,
        description="Thresholds in [0, 1] to use instead of `num_thresholds` evenly spaced "
        "ones (-1e-7 and 1 + 1e-7 are added at the ends).",
    )
    multi_label: bool = Field(
        False,
        description="Treat each label (column of a (samples, labels) y_pred) separately and "
        "average their AUCs; else flatten every label into one curve.",
    )
    num_labels: int | None = Field(
        None, ge=1, description="The number of labels with `multi_label` (else from the data)."
    )
    label_weights: list[float] | None = Field(
        None,
        description="Non-negative weight of each label: in the counts of a flattened curve, "
        "or in the average of the per-label AUCs with `multi_label`.",
    )
    from_logits: bool = Field(False, description="Apply a sigmoid to the predictions first.")

    @model_validator(mode="after")
    def _num_labels_with_multi_label(self) -> AUC:
        if self.num_labels is not None and not self.multi_label:
            raise ValueError("num_labels is needed only when multi_label is true (Keras)")
        return self

    def all_thresholds(self) -> tuple[list[float], bool]:
        """Keras's thresholds and whether they take the bucketing path."""
        if self.thresholds is not None:
            inner = sorted(self.thresholds)
            evenly = _evenly([0.0, *inner, 1.0])
        else:
            n = self.num_thresholds
            inner, evenly = [(i + 1) * 1.0 / (n - 1) for i in range(n - 2)], True
        return [0.0 - EPSILON, *inner, 1.0 + EPSILON], evenly

    def build(self) -> State:
        import torch

        thresholds, evenly = self.all_thresholds()
        multi, weights, logits = self.multi_label, self.label_weights, self.from_logits

        def add(y_pred, y_true, sw):
            if multi and y_pred.ndim != 2:
                raise ValueError(f"multi_label needs y_pred of rank 2, got {y_pred.ndim}")
            if logits:
                y_pred = torch.sigmoid(y_pred)
            lw = None if multi else weights
            return confusion_counts(
                y_pred, y_true, sw, thresholds, evenly=evenly, multi_label=multi, label_weights=lw
            )

        labels = (self.num_labels,) if multi else ()
        known = not multi or self.num_labels is not None
        return SumsState(add, self.area, count_shapes(len(thresholds), *labels) if known else None)

    def area(self, s: dict):
        """Keras's AUC.result on the summed counts."""
        import torch

        curve, method = self.curve.upper(), self.summation_method.lower()
        if curve == "PR" and method == "interpolation":
            terms = _interpolate_pr_auc(s)
        else:
            x, y = _curve(s, curve)
            if method == "interpolation":
                heights = (y[:-1] + y[1:]) / 2.0
            elif method == "minoring":
                heights = torch.minimum(y[:-1], y[1:])
            else:
                heights = torch.maximum(y[:-1], y[1:])
            terms = (x[:-1] - x[1:]) * heights
        if not self.multi_label:
            return terms.sum()
        by_label = terms.sum(0)
        if self.label_weights is None:
            return by_label.mean()
        lw = torch.tensor(self.label_weights, dtype=by_label.dtype, device=by_label.device)
        return _div((by_label * lw).sum(), lw.sum())


class AtMetric(Metric):
    """Keras's SensitivitySpecificityBase: the best of one rate among the thresholds where
    another reaches `value` (0 if none does), over `num_thresholds` evenly spaced thresholds."""

    direction: ClassVar[Direction] = "up"
    # (the constrained rate, the maximised one): each is "tpr" (sensitivity, recall), "tnr"
    # (specificity) or "ppv" (precision)
    rates: ClassVar[tuple[str, str]] = ("tnr", "tpr")

    num_thresholds: int = Field(
        200, ge=1, description="Number of evenly spaced thresholds in [0, 1] (1: just 0.5)."
    )
    class_id: int | None = Field(
        None, ge=0, description="Count only this class (an index of y_pred's last axis)."
    )

    def value(self) -> float:
        raise NotImplementedError

    def build(self) -> State:
        n = self.num_thresholds
        if n == 1:
            thresholds, evenly = [0.5], False
        else:
            thresholds = [0.0, *((i + 1) * 1.0 / (n - 1) for i in range(n - 2)), 1.0]
            evenly = True
        class_id = self.class_id

        def add(y_pred, y_true, sw):
            return confusion_counts(
                y_pred, y_true, sw, thresholds, evenly=evenly, class_id=class_id
            )

        return SumsState(add, self.best, count_shapes(len(thresholds)))

    def best(self, s: dict):
        import torch

        tp, fp, tn, fn = s["tp"], s["fp"], s["tn"], s["fn"]
        rate = {"tpr": _div(tp, tp + fn), "tnr": _div(tn, tn + fp), "ppv": _div(tp, tp + fp)}
        constrained, dependent = (rate[r] for r in type(self).rates)
        feasible = constrained >= self.value()
        return torch.where(feasible, dependent, 0.0).max().clamp_min(0.0)


def _at_examples(arg: str, value: float) -> tuple[dict, ...]:
    return (
        {"args": {arg: value}, "y_true": ("binary", (1,)), "y_pred": ("probs", (1,))},
        {
            "args": {arg: 0.8, "num_thresholds": 9},
            "y_true": ("binary", (2, 3)),
            "y_pred": ("probs", (2, 3)),
        },
        {
            "args": {arg: value, "num_thresholds": 1},
            "y_true": ("binary", (3,)),
            "y_pred": ("probs", (3,)),
        },
        {
            "args": {arg: 0.3, "class_id": 1},
            "y_true": ("onehot", (4,)),
            "y_pred": ("softmax", (4,)),
        },
    )


def _rate(description: str):
    return Field(ge=0, le=1, description=description)


@METRICS.register("sensitivity_at_specificity")
class SensitivityAtSpecificity(AtMetric):
    """The best sensitivity (recall) at a specificity of at least `specificity`."""

    type: Literal["SensitivityAtSpecificity"] = "SensitivityAtSpecificity"
    examples: ClassVar[tuple[dict, ...]] = _at_examples("specificity", 0.5)
    specificity: float = _rate("The specificity to reach, in [0, 1].")

    def value(self) -> float:
        return self.specificity


@METRICS.register("specificity_at_sensitivity")
class SpecificityAtSensitivity(AtMetric):
    """The best specificity at a sensitivity (recall) of at least `sensitivity`."""

    rates: ClassVar[tuple[str, str]] = ("tpr", "tnr")
    type: Literal["SpecificityAtSensitivity"] = "SpecificityAtSensitivity"
    examples: ClassVar[tuple[dict, ...]] = _at_examples("sensitivity", 0.5)
    sensitivity: float = _rate("The sensitivity to reach, in [0, 1].")

    def value(self) -> float:
        return self.sensitivity


@METRICS.register("precision_at_recall")
class PrecisionAtRecall(AtMetric):
    """The best precision at a recall of at least `recall`."""

    rates: ClassVar[tuple[str, str]] = ("tpr", "ppv")
    type: Literal["PrecisionAtRecall"] = "PrecisionAtRecall"
    examples: ClassVar[tuple[dict, ...]] = _at_examples("recall", 0.5)
    recall: float = _rate("The recall to reach, in [0, 1].")

    def value(self) -> float:
        return self.recall


@METRICS.register("recall_at_precision")
class RecallAtPrecision(AtMetric):
    """The best recall at a precision of at least `precision`."""

    rates: ClassVar[tuple[str, str]] = ("ppv", "tpr")
    type: Literal["RecallAtPrecision"] = "RecallAtPrecision"
    examples: ClassVar[tuple[dict, ...]] = _at_examples("precision", 0.5)
    precision: float = _rate("The precision to reach, in [0, 1].")

    def value(self) -> float:
        return self.precision
