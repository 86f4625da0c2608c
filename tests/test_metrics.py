"""Metrics against real keras.metrics (torch backend), accumulated over several batches."""

import keras
import numpy as np
import pytest
import torch
from helpers import python_output
from pydantic import TypeAdapter, ValidationError

from netspec.training.spec.metrics import MetricField, resolve_accuracy

ADAPTER = TypeAdapter(MetricField)


def metric_of(value):
    return ADAPTER.validate_python(value)


def run_both(spec, reference, batches):
    state = metric_of(spec).build()
    for y_pred, y_true in batches:
        state.update(torch.as_tensor(y_pred), torch.as_tensor(y_true))
        reference.update_state(y_true, y_pred)
    return state, state.result(), float(keras.ops.convert_to_numpy(reference.result()))


def softmax(x):
    e = np.exp(x - x.max(-1, keepdims=True))
    return (e / e.sum(-1, keepdims=True)).astype("float32")


def class_batches(sizes, classes=6, extra=(), seed=0):
    r = np.random.default_rng(seed)
    out = []
    for n in sizes:
        shape = (n, *extra, classes)
        labels = r.integers(0, classes, size=shape[:-1])
        out.append((softmax(r.normal(size=shape)), labels))
    return out


SIZES = [7, 16, 3]


@pytest.mark.parametrize("extra", [(), (4,)])
def test_categorical_metrics(extra):
    batches = class_batches(SIZES, extra=extra)
    onehot = [(p, np.eye(6, dtype="float32")[y]) for p, y in batches]
    cases = [
        ("categorical_accuracy", keras.metrics.CategoricalAccuracy(), onehot),
        ("sparse_categorical_accuracy", keras.metrics.SparseCategoricalAccuracy(), batches),
        (
            "sparse_categorical_accuracy",
            keras.metrics.SparseCategoricalAccuracy(),
            [(p, y[..., None]) for p, y in batches],
        ),
        ("top_k_categorical_accuracy", keras.metrics.TopKCategoricalAccuracy(), onehot),
        (
            {"type": "TopKCategoricalAccuracy", "k": 2},
            keras.metrics.TopKCategoricalAccuracy(k=2),
            onehot,
        ),
    ]
    for spec, reference, data in cases:
        state, ours, expected = run_both(spec, reference, data)
        assert ours == pytest.approx(expected, abs=1e-5), spec
        state.reset()
        assert state.result() == 0.0


def binary_batches(shape_tail=(1,), seed=1):
    r = np.random.default_rng(seed)
    return [
        (
            r.uniform(size=(n, *shape_tail)).astype("float32"),
            r.integers(0, 2, size=(n, *shape_tail)).astype("float32"),
        )
        for n in SIZES
    ]


@pytest.mark.parametrize("tail", [(1,), (3,), (2, 5)])
def test_binary_metrics(tail):
    batches = binary_batches(tail)
    cases = [
        ("binary_accuracy", keras.metrics.BinaryAccuracy()),
        ({"type": "BinaryAccuracy", "threshold": 0.7}, keras.metrics.BinaryAccuracy(threshold=0.7)),
        ("precision", keras.metrics.Precision()),
        ("recall", keras.metrics.Recall()),
        ({"type": "Recall", "thresholds": 0.3}, keras.metrics.Recall(thresholds=0.3)),
        ("auc", keras.metrics.AUC()),
        ({"type": "AUC", "num_thresholds": 7}, keras.metrics.AUC(num_thresholds=7)),
    ]
    for spec, reference in cases:
        _, ours, expected = run_both(spec, reference, batches)
        assert ours == pytest.approx(expected, abs=1e-6), spec


def test_auc_counts_equal_keras_exactly():
    r = np.random.default_rng(2)
    # values on and around the thresholds, 0 and 1 included
    grid = np.arange(0, 200) / 199.0
    y_pred = np.concatenate([grid, np.nextafter(grid, 2), [0.0, 1.0], r.uniform(size=300)])
    y_pred = y_pred.astype("float32")[:, None]
    y_true = r.integers(0, 2, size=y_pred.shape).astype("float32")
    state, ours, expected = run_both("auc", keras.metrics.AUC(), [(y_pred, y_true)])
    reference = keras.metrics.AUC()
    reference.update_state(y_true, y_pred)
    for ours_counts, keras_var in [
        (state.tp, reference.true_positives),
        (state.fp, reference.false_positives),
        (state.tn, reference.true_negatives),
        (state.fn, reference.false_negatives),
    ]:
        assert ours_counts == keras.ops.convert_to_numpy(keras_var).tolist()
    assert ours == pytest.approx(expected, abs=1e-6)


@pytest.mark.parametrize("tail", [(1,), (4,), (3, 2)])
def test_regression_metrics(tail):
    r = np.random.default_rng(3)
    batches = [
        (r.normal(size=(n, *tail)).astype("float32"), r.normal(size=(n, *tail)).astype("float32"))
        for n in SIZES
    ]
    cases = [
        ("mae", keras.metrics.MeanAbsoluteError()),
        ("mse", keras.metrics.MeanSquaredError()),
        ("MeanSquaredError", keras.metrics.MeanSquaredError()),
        ("root_mean_squared_error", keras.metrics.RootMeanSquaredError()),
    ]
    for spec, reference in cases:
        _, ours, expected = run_both(spec, reference, batches)
        assert ours == pytest.approx(expected, rel=1e-5, abs=1e-6), spec


def test_rank_one_labels_against_column_predictions():
    r = np.random.default_rng(4)
    batches = [(r.uniform(size=(n, 1)).astype("float32"), r.integers(0, 2, size=n)) for n in SIZES]
    _, ours, expected = run_both("binary_accuracy", keras.metrics.BinaryAccuracy(), batches)
    assert ours == pytest.approx(expected, abs=1e-6)


SHAPES = [
    ((8, 1), (8, 1)),
    ((8,), (8, 1)),
    ((8,), (8, 5)),
    ((8, 1), (8, 5)),
    ((8, 5), (8, 5)),
    ((8, 3), (8, 3, 5)),
    ((8, 3, 5), (8, 3, 5)),
    ((8, 3, 1), (8, 3, 1)),
]


@pytest.mark.parametrize(("true_shape", "pred_shape"), SHAPES)
def test_resolve_accuracy_as_keras(true_shape, pred_shape):
    from keras.src.trainers.compile_utils import get_metric

    y_true = keras.ops.zeros(true_shape)
    y_pred = keras.ops.zeros(pred_shape)
    expected = type(get_metric("accuracy", y_true, y_pred)).__name__
    assert resolve_accuracy(true_shape, pred_shape) == expected


def test_names_and_errors():
    assert metric_of("mae").type == "MeanAbsoluteError"
    assert metric_of("auc") == metric_of({"type": "AUC", "num_thresholds": 200})
    with pytest.raises(ValidationError, match="did you mean 'precision'"):
        metric_of("precison")
    with pytest.raises(ValidationError):
        metric_of({"type": "AUC", "curve": "PR"})


def test_validation_does_not_import_torch():

    code = (
        "import sys; from pydantic import TypeAdapter;"
        "from netspec.training.spec.metrics import MetricField;"
        "TypeAdapter(MetricField).validate_python('auc');"
        "assert 'torch' not in sys.modules"
    )
    python_output(code)
