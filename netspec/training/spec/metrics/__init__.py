"""Keras 3 metrics: a name or a `{type: ClassName, ...}` object; `build()` gives a stateful
metric with `update(y_pred, y_true, sample_weight=None)`, `result() -> float`, `reset()` and
`sync(total)` (torch is imported when called).

Every class of keras.metrics that compares labels with predictions is here, with Keras's
arguments, defaults, names and direction, one module per family: accuracy, regression,
probabilistic and hinge, confusion counts (precision, recall), AUC and the "X at Y" metrics,
F-scores and correlations, IoU. `EXCLUDED` lists the keras.metrics classes that are not, and
why. Mean metrics accumulate Keras's (weighted) per-sample values; confusion metrics Keras's
(weighted) counts, AUC with Keras's thresholds and bucketing, so the counts are Keras's exactly.
`accuracy` is resolved by `resolve_accuracy` from the shapes, as Keras 3's compile does.
"""

from __future__ import annotations

from ....vocab.base import name_or_object
from .accuracy import (
    Accuracy,
    BinaryAccuracy,
    CategoricalAccuracy,
    SparseCategoricalAccuracy,
    SparseTopKCategoricalAccuracy,
    TopKCategoricalAccuracy,
)
from .auc import (
    AUC,
    PrecisionAtRecall,
    RecallAtPrecision,
    SensitivityAtSpecificity,
    SpecificityAtSensitivity,
)
from .base import METRICS, MeanMetric, MeanState, Metric, State, SumsState, resolve_accuracy
from .confusion import (
    FalseNegatives,
    FalsePositives,
    Precision,
    Recall,
    TrueNegatives,
    TruePositives,
)
from .fscore import ConcordanceCorrelation, F1Score, FBetaScore, PearsonCorrelation
from .iou import BinaryIoU, IoU, MeanIoU, OneHotIoU, OneHotMeanIoU
from .probabilistic import (
    BinaryCrossentropy,
    CategoricalCrossentropy,
    CategoricalHinge,
    Hinge,
    KLDivergence,
    Poisson,
    SparseCategoricalCrossentropy,
    SquaredHinge,
)
from .regression import (
    CosineSimilarity,
    LogCoshError,
    MeanAbsoluteError,
    MeanAbsolutePercentageError,
    MeanSquaredError,
    MeanSquaredLogarithmicError,
    R2Score,
    RootMeanSquaredError,
)

# keras.metrics classes that are not metrics of (y_true, y_pred), so not in a spec's `metrics`
EXCLUDED: dict[str, str] = {
    "Metric": "the abstract base class of metrics, not a metric",
    "Mean": "averages the values it is given (update_state(values)), not labels and predictions",
    "Sum": "sums the values it is given (update_state(values)), not labels and predictions",
    "MeanMetricWrapper": "wraps a Python function (`fn`), which a YAML spec cannot name",
}

MetricField = name_or_object(METRICS)

__all__ = [
    "AUC",
    "EXCLUDED",
    "METRICS",
    "Accuracy",
    "BinaryAccuracy",
    "BinaryCrossentropy",
    "BinaryIoU",
    "CategoricalAccuracy",
    "CategoricalCrossentropy",
    "CategoricalHinge",
    "ConcordanceCorrelation",
    "CosineSimilarity",
    "F1Score",
    "FBetaScore",
    "FalseNegatives",
    "FalsePositives",
    "Hinge",
    "IoU",
    "KLDivergence",
    "LogCoshError",
    "MeanAbsoluteError",
    "MeanAbsolutePercentageError",
    "MeanIoU",
    "MeanMetric",
    "MeanSquaredError",
    "MeanSquaredLogarithmicError",
    "MeanState",
    "Metric",
    "MetricField",
    "OneHotIoU",
    "OneHotMeanIoU",
    "PearsonCorrelation",
    "Poisson",
    "Precision",
    "PrecisionAtRecall",
    "R2Score",
    "Recall",
    "RecallAtPrecision",
    "RootMeanSquaredError",
    "SensitivityAtSpecificity",
    "SparseCategoricalAccuracy",
    "SparseCategoricalCrossentropy",
    "SparseTopKCategoricalAccuracy",
    "SpecificityAtSensitivity",
    "SquaredHinge",
    "State",
    "SumsState",
    "TopKCategoricalAccuracy",
    "TrueNegatives",
    "TruePositives",
    "resolve_accuracy",
]
