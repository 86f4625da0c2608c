"""Confusion-count metrics: TruePositives, FalsePositives, TrueNegatives, FalseNegatives,
Precision and Recall (Keras's keras/src/metrics/confusion_metrics.py), and `confusion_counts`,
Keras's `update_confusion_matrix_variables` that AUC and the "X at Y" metrics share.

A prediction above a threshold counts as positive, a label other than 0 is positive; each
element weighs its sample weight (default 1), so the counts are Keras's weighted counts.
"""

from __future__ import annotations

from functools import lru_cache
from typing import Any, ClassVar, Literal

from pydantic import Field

from .base import METRICS, Direction, Metric, State, SumsState, same_rank

NEG_INF = -1e10  # Keras's threshold when `top_k` is set: every kept prediction counts


def _filter_top_k(x, k: int):
    """Keras's `_filter_top_k`: the k highest values of the last axis kept, the rest NEG_INF."""
    import torch

    idx = torch.topk(x, min(k, x.shape[-1]), dim=-1).indices
    keep = torch.zeros_like(x).scatter_(-1, idx, 1.0)
    return x * keep + NEG_INF * (1 - keep)


def _prepare(y_pred, y_true, sample_weight, top_k, class_id):
    """Keras's ranks, top-k filter and class slice; the weights broadcast to y_pred (or None)."""
    y_pred = y_pred.float()
    y_pred, y_true = same_rank(y_pred, y_true.to(y_pred.dtype))
    sw = None
    if sample_weight is not None:  # a per-sample weight gets a trailing axis, as Keras's
        sw = sample_weight.to(y_pred.dtype).unsqueeze(-1)
        _, sw = same_rank(y_true, sw, expand_rank_1=False)
    if top_k is not None:
        y_pred = _filter_top_k(y_pred, top_k)
    if class_id is not None:
        if y_pred.ndim == 1:
            shape = tuple(y_pred.shape)
            raise ValueError(f"class_id needs predictions of shape (samples, classes), got {shape}")
        if sw is not None and sw.ndim and sw.shape[-1] == y_pred.shape[-1] > 1:
            sw = sw[..., class_id, None]
        y_true, y_pred = y_true[..., class_id, None], y_pred[..., class_id, None]
    if sw is not None:  # beyond Keras: a per-sample weight covers every element of its sample
        sw = sw.reshape(*sw.shape, *[1] * (y_pred.ndim - sw.ndim)).broadcast_to(y_pred.shape)
    return y_pred, y_true, sw


@lru_cache(maxsize=64)
def _constant(values: tuple[float, ...], device, dtype):
    """A tensor of `values` on `device`, made once: the copy to a GPU would wait for it at
    every update."""
    import torch

    return torch.tensor(values, dtype=dtype, device=device)


def _flat(x, multi_label: bool):
    return x.reshape(x.shape[0] if x.ndim else 1, -1) if multi_label else x.reshape(-1)


def _reverse_cumsum(x):
    return x.flip(0).cumsum(0).flip(0)


def _bucket_counts(pred, pos, neg, n: int, with_epsilon: bool):
    """Keras's optimized path for evenly spaced thresholds: each prediction in its bucket,
    counts as reverse cumulative sums (O(thresholds + predictions))."""
    import torch

    index = torch.ceil(pred.clamp(0.0, 1.0) * float(n - 1)) - 1
    if with_epsilon:
        index = index.clamp_min(0)
    index = index.long()
    valid = index >= 0  # Keras's segment_sum drops the -1 bucket (a prediction of exactly 0)
    if not with_epsilon:
        pos, neg, index = pos * valid, neg * valid, index.clamp_min(0)
    if pred.ndim == 2:  # multi_label: one row of buckets per label
        labels = pred.shape[1]
        index = (index + torch.arange(labels, device=pred.device) * n).reshape(-1)
        tp = pos.new_zeros(labels * n).index_add_(0, index, pos.reshape(-1))
        fp = neg.new_zeros(labels * n).index_add_(0, index, neg.reshape(-1))
        return _reverse_cumsum(tp.reshape(labels, n).T), _reverse_cumsum(fp.reshape(labels, n).T)
    tp = pos.new_zeros(n).index_add_(0, index, pos)
    fp = neg.new_zeros(n).index_add_(0, index, neg)
    return _reverse_cumsum(tp), _reverse_cumsum(fp)


def confusion_counts(
    y_pred,
    y_true,
    sample_weight,
    thresholds: list[float],
    *,
    evenly: bool = False,
    top_k: int | None = None,
    class_id: int | None = None,
    multi_label: bool = False,
    label_weights=None,
) -> dict:
    """Keras's `update_confusion_matrix_variables`: {tp, fp, tn, fn} of this batch at each
    threshold (shape (thresholds,), or (thresholds, labels) when `multi_label`)."""

    y_pred, y_true, sw = _prepare(y_pred, y_true, sample_weight, top_k, class_id)
    pred = _flat(y_pred, multi_label)
    pos = _flat((y_true != 0).to(y_pred.dtype), multi_label)
    if sw is not None:
        w = _flat(sw, multi_label)
        neg, pos = (1.0 - pos) * w, pos * w
    else:
        neg = 1.0 - pos
    if label_weights is not None and not multi_label:
        lw = _constant(tuple(label_weights), pos.device, pos.dtype)
        lw = _flat(lw.broadcast_to(y_pred.shape), False)
        pos, neg = pos * lw, neg * lw
    if evenly:
        with_epsilon = thresholds[0] < 0.0 or thresholds[-1] > 1.0
        tp, fp = _bucket_counts(pred, pos, neg, len(thresholds), with_epsilon)
    else:
        th = _constant(tuple(thresholds), pred.device, pred.dtype)
        above = (pred[None] > th.reshape(-1, *([1] * pred.ndim))).to(pos.dtype)
        tp, fp = (above * pos[None]).sum(1), (above * neg[None]).sum(1)
    return {"tp": tp, "fp": fp, "tn": neg.sum(0) - fp, "fn": pos.sum(0) - tp}


def count_shapes(*shape: int) -> dict[str, tuple[int, ...]]:
    """The four counts' shapes, for SumsState."""
    return {key: shape for key in ("tp", "fp", "tn", "fn")}


def _div(a, b):
    """Keras's divide_no_nan, on tensors."""
    import torch

    return torch.where(b != 0, a / torch.where(b != 0, b, 1.0), 0.0)


def _thresholds_field() -> Any:
    return Field(
        None,
        ge=0,
        le=1,
        description="The decision threshold: a prediction above it is positive (default 0.5; "
        "with `top_k`, every kept prediction). Keras also takes a list, for one value per "
        "threshold; a history holds one number per metric, so netspec takes one threshold.",
    )


class ConditionCount(Metric):
    """The (weighted) number of one confusion condition at one threshold (Keras's
    `_ConfusionMatrixConditionCount`). Keras gives these no direction (EarlyStopping's mode
    auto refuses them); netspec's: up for true counts, down for false ones."""

    count: ClassVar[str] = "tp"
    thresholds: float | None = _thresholds_field()

    def build(self) -> State:
        th = [0.5 if self.thresholds is None else self.thresholds]
        key = type(self).count

        def add(y_pred, y_true, sw):
            return {key: confusion_counts(y_pred, y_true, sw, th)[key]}

        return SumsState(add, lambda s: s[key][0], {key: (1,)})


@METRICS.register("true_positives")
class TruePositives(ConditionCount):
    """The (weighted) number of true positives: label 1, prediction above the threshold."""

    direction: ClassVar[Direction] = "up"
    type: Literal["TruePositives"] = "TruePositives"
    examples: ClassVar[tuple[dict, ...]] = (
        {"args": {}, "y_true": ("binary", (1,)), "y_pred": ("probs", (1,))},
        {"args": {"thresholds": 0.3}, "y_true": ("binary", (4,)), "y_pred": ("probs", (4,))},
    )


@METRICS.register("false_positives")
class FalsePositives(ConditionCount):
    """The (weighted) number of false positives: label 0, prediction above the threshold."""

    count: ClassVar[str] = "fp"
    type: Literal["FalsePositives"] = "FalsePositives"
    examples: ClassVar[tuple[dict, ...]] = (
        {"args": {}, "y_true": ("binary", (1,)), "y_pred": ("probs", (1,))},
        {"args": {"thresholds": 0.7}, "y_true": ("binary", (4,)), "y_pred": ("probs", (4,))},
    )


@METRICS.register("true_negatives")
class TrueNegatives(ConditionCount):
    """The (weighted) number of true negatives: label 0, prediction at or below the threshold."""

    direction: ClassVar[Direction] = "up"
    count: ClassVar[str] = "tn"
    type: Literal["TrueNegatives"] = "TrueNegatives"
    examples: ClassVar[tuple[dict, ...]] = (
        {"args": {}, "y_true": ("binary", (1,)), "y_pred": ("probs", (1,))},
        {"args": {"thresholds": 0.3}, "y_true": ("binary", (2, 3)), "y_pred": ("probs", (2, 3))},
    )


@METRICS.register("false_negatives")
class FalseNegatives(ConditionCount):
    """The (weighted) number of false negatives: label 1, prediction at or below the threshold."""

    count: ClassVar[str] = "fn"
    type: Literal["FalseNegatives"] = "FalseNegatives"
    examples: ClassVar[tuple[dict, ...]] = (
        {"args": {}, "y_true": ("binary", (1,)), "y_pred": ("probs", (1,))},
        {"args": {"thresholds": 0.6}, "y_true": ("binary", (4,)), "y_pred": ("probs", (4,))},
    )


class PrecisionRecall(Metric):
    """Precision or recall at one threshold, optionally of the top-k predictions or of one
    class."""

    direction: ClassVar[Direction] = "up"
    other: ClassVar[str] = "fp"  # tp / (tp + other)

    thresholds: float | None = _thresholds_field()
    top_k: int | None = Field(
        None, ge=1, description="Count only the k highest predictions of each sample."
    )
    class_id: int | None = Field(
        None, ge=0, description="Count only this class (an index of y_pred's last axis)."
    )

    def build(self) -> State:
        default = 0.5 if self.top_k is None else NEG_INF
        th = [default if self.thresholds is None else self.thresholds]
        other, top_k, class_id = type(self).other, self.top_k, self.class_id

        def add(y_pred, y_true, sw):
            c = confusion_counts(y_pred, y_true, sw, th, top_k=top_k, class_id=class_id)
            return {"tp": c["tp"], other: c[other]}

        shapes = {"tp": (1,), other: (1,)}
        return SumsState(add, lambda s: _div(s["tp"], s["tp"] + s[other])[0], shapes)


@METRICS.register("precision")
class Precision(PrecisionRecall):
    """tp / (tp + fp): how many predicted positives are positive."""

    type: Literal["Precision"] = "Precision"
    examples: ClassVar[tuple[dict, ...]] = (
        {"args": {}, "y_true": ("binary", (1,)), "y_pred": ("probs", (1,))},
        {"args": {"thresholds": 0.3}, "y_true": ("binary", (2, 5)), "y_pred": ("probs", (2, 5))},
        {"args": {"top_k": 2}, "y_true": ("binary", (5,)), "y_pred": ("probs", (5,))},
        {"args": {"class_id": 1}, "y_true": ("onehot", (4,)), "y_pred": ("softmax", (4,))},
        {
            "args": {"top_k": 1, "class_id": 2, "thresholds": 0.2},
            "y_true": ("onehot", (4,)),
            "y_pred": ("softmax", (4,)),
        },
    )


@METRICS.register("recall")
class Recall(PrecisionRecall):
    """tp / (tp + fn): how many positives are predicted positive."""

    other: ClassVar[str] = "fn"
    type: Literal["Recall"] = "Recall"
    examples: ClassVar[tuple[dict, ...]] = (
        {"args": {}, "y_true": ("binary", (3,)), "y_pred": ("probs", (3,))},
        {"args": {"thresholds": 0.3}, "y_true": ("binary", (1,)), "y_pred": ("probs", (1,))},
        {"args": {"top_k": 2}, "y_true": ("binary", (5,)), "y_pred": ("probs", (5,))},
        {"args": {"class_id": 0}, "y_true": ("onehot", (3,)), "y_pred": ("softmax", (3,))},
    )
