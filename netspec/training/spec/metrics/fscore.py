"""F-scores (keras/src/metrics/f_score_metrics.py) and the correlation metrics
(correlation_metrics.py)."""

from __future__ import annotations

from typing import ClassVar, Literal

from pydantic import Field

from .base import METRICS, Direction, MeanMetric, Metric, State, SumsState, same_rank

EPSILON = 1e-7  # Keras's backend.epsilon()


class FScore(Metric):
    """An F-score of each class (column of (samples, classes) data), averaged as `average`
    says; `beta_value()` is its beta."""

    direction: ClassVar[Direction] = "up"

    average: Literal["micro", "macro", "weighted"] | None = Field(
        None,
        description="micro: one score of the counts summed over the classes; macro: the mean "
        "of the classes' scores; weighted: their mean weighted by each class's true labels. "
        "null (Keras: one score per class) needs a single class here: a history holds one "
        "number per metric.",
    )
    threshold: float | None = Field(
        None,
        gt=0,
        le=1,
        description="A prediction above it is positive; default: each sample's highest "
        "prediction (nonzero) is.",
    )

    def build(self) -> State:
        average, threshold = self.average, self.threshold
        axis = None if average == "micro" else 0

        def add(y_pred, y_true, sw):
            if y_pred.ndim != 2 or y_true.ndim != 2:
                raise ValueError(
                    f"{self.type} expects (samples, classes) data, got y_true of shape "
                    f"{tuple(y_true.shape)} and y_pred of shape {tuple(y_pred.shape)}"
                )
            if average is None and y_pred.shape[-1] != 1:
                raise ValueError("average None gives one score per class; set an average")
            y_pred = y_pred.float()
            if threshold is None:
                top = y_pred.amax(-1, keepdim=True)
                pred = ((y_pred >= top) & (y_pred.abs() > 1e-9)).float()
            else:
                pred = (y_pred > threshold).float()
            true = y_true.float()
            w = None if sw is None else sw.float()[:, None]

            def total(v):
                v = v if w is None else v * w
                return v.sum() if axis is None else v.sum(axis)

            return {
                "tp": total(pred * true),
                "fp": total(pred * (1 - true)),
                "fn": total((1 - pred) * true),
                "weights": total(true),
            }

        return SumsState(add, self.score)

    def score(self, s: dict):
        """Keras's FBetaScore.result on the sums."""
        tp, beta2 = s["tp"], self.beta_value() ** 2
        precision = tp / (tp + s["fp"] + EPSILON)
        recall = tp / (tp + s["fn"] + EPSILON)
        f = precision * recall / (beta2 * precision + recall + EPSILON) * (1 + beta2)
        if self.average == "weighted":
            return (f * s["weights"] / (s["weights"].sum() + EPSILON)).sum()
        return f.mean()

    def beta_value(self) -> float:
        raise NotImplementedError


@METRICS.register("f_beta_score")
class FBetaScore(FScore):
    """The F-beta score, (1 + beta^2) * precision * recall / (beta^2 * precision + recall)."""

    default_name: ClassVar[str | None] = "fbeta_score"
    type: Literal["FBetaScore"] = "FBetaScore"
    examples: ClassVar[tuple[dict, ...]] = (
        {"args": {"beta": 2.0}, "y_true": ("binary", (1,)), "y_pred": ("probs", (1,))},
        {
            "args": {"average": "macro", "beta": 0.5, "threshold": 0.4},
            "y_true": ("binary", (3,)),
            "y_pred": ("probs", (3,)),
        },
        {"args": {"average": "weighted"}, "y_true": ("onehot", (4,)), "y_pred": ("softmax", (4,))},
        {"args": {"average": "micro"}, "y_true": ("onehot", (4,)), "y_pred": ("softmax", (4,))},
    )
    beta: float = Field(1.0, gt=0, description="How much more recall weighs than precision.")

    def beta_value(self) -> float:
        return self.beta


@METRICS.register("f1_score")
class F1Score(FScore):
    """The F1 score, 2 * precision * recall / (precision + recall): FBetaScore with beta 1."""

    type: Literal["F1Score"] = "F1Score"
    examples: ClassVar[tuple[dict, ...]] = (
        {"args": {}, "y_true": ("binary", (1,)), "y_pred": ("probs", (1,))},
        {"args": {"average": "macro"}, "y_true": ("onehot", (4,)), "y_pred": ("softmax", (4,))},
        {
            "args": {"average": "micro", "threshold": 0.3},
            "y_true": ("binary", (3,)),
            "y_pred": ("probs", (3,)),
        },
    )

    def beta_value(self) -> float:
        return 1.0


class CorrelationMetric(MeanMetric):
    """A per-sample correlation along `axis`, averaged over the samples."""

    direction: ClassVar[Direction] = "up"
    axis: int = Field(-1, description="The axis (of the batched arrays) to correlate along.")


@METRICS.register("pearson_correlation")
class PearsonCorrelation(CorrelationMetric):
    """Pearson's correlation of y_true and y_pred along `axis` (population standard
    deviations)."""

    type: Literal["PearsonCorrelation"] = "PearsonCorrelation"
    examples: ClassVar[tuple[dict, ...]] = (
        {"args": {}, "y_true": ("normal", (5,)), "y_pred": ("normal", (5,))},
        {"args": {"axis": 1}, "y_true": ("normal", (4, 3)), "y_pred": ("normal", (4, 3))},
    )

    def values(self, y_true, y_pred):
        y_true, y_pred = same_rank(y_true.to(y_pred.dtype), y_pred)
        a = y_true - y_true.mean(self.axis, keepdim=True)
        b = y_pred - y_pred.mean(self.axis, keepdim=True)
        a = a / a.std(self.axis, keepdim=True, correction=0)
        b = b / b.std(self.axis, keepdim=True, correction=0)
        return (a * b).mean(self.axis)


@METRICS.register("concordance_correlation")
class ConcordanceCorrelation(CorrelationMetric):
    """Lin's concordance correlation of y_true and y_pred along `axis`, as Keras computes it
    (its covariance term centres y_true on y_pred's mean)."""

    type: Literal["ConcordanceCorrelation"] = "ConcordanceCorrelation"
    examples: ClassVar[tuple[dict, ...]] = (
        {"args": {}, "y_true": ("normal", (5,)), "y_pred": ("normal", (5,))},
        {"args": {"axis": 1}, "y_true": ("normal", (4, 3)), "y_pred": ("normal", (4, 3))},
    )

    def values(self, y_true, y_pred):
        y_true, y_pred = same_rank(y_true.to(y_pred.dtype), y_pred)
        axis = self.axis
        true_mean = y_true.mean(axis, keepdim=True)
        pred_mean = y_pred.mean(axis, keepdim=True)
        true_var = (y_true - true_mean).var(axis, keepdim=True, correction=0)
        pred_var = (y_pred - pred_mean).var(axis, keepdim=True, correction=0)
        covar = (y_true - pred_mean) * (y_pred - pred_mean)
        norm = true_var + pred_var + (true_mean - pred_mean).square()
        return (2 * covar / (norm + EPSILON)).mean(axis)
