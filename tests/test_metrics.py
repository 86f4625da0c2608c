"""Metrics against real keras.metrics (torch backend), accumulated over several batches: every
registered metric through its `examples` (a new metric is covered as soon as it has some, and
must have some), then AUC's counts, Keras's choice for `accuracy`, names and errors."""

import keras
import loss_inputs
import numpy as np
import pytest
import torch
from helpers import python_output
from keras.src.utils.naming import to_snake_case
from pydantic import TypeAdapter, ValidationError

from netspec.training.spec.metrics import METRICS, MetricField, resolve_accuracy

pytestmark = pytest.mark.filterwarnings("ignore:__array__ implementation:DeprecationWarning")
ADAPTER = TypeAdapter(MetricField)


def metric_of(value):
    return ADAPTER.validate_python(value)


def run_both(spec, reference, batches):
    state = metric_of(spec).build()
    for y_pred, y_true in batches:
        state.update(torch.as_tensor(y_pred), torch.as_tensor(y_true))
        reference.update_state(y_true, y_pred)
    return state, state.result(), float(keras.ops.convert_to_numpy(reference.result()))


SIZES = [7, 16, 3]  # the batches each example is fed in: a batch weighs by its samples
CASES = [
    pytest.param(name, i, example, id=f"{name}-{i}")
    for name, cls in METRICS.items()
    for i, example in enumerate(cls.examples)
]


@pytest.mark.parametrize("name", METRICS.names())
def test_every_metric_has_examples(name):
    assert METRICS.get(name).examples, f"{name} has no examples"


@pytest.mark.parametrize(("name", "index", "example"), CASES)
def test_keras_parity(name, index, example):
    """Accumulated over batches of several sizes, the metric of the example's arguments equals
    keras.metrics.<name>(**args), under Keras's name; reset starts it over."""
    batches = [loss_inputs.pair(example, n, seed=index * 10 + i) for i, n in enumerate(SIZES)]
    reference = getattr(keras.metrics, name)(**example["args"])
    spec = {"type": name, **example["args"]}
    state, ours, expected = run_both(spec, reference, [(p, t) for t, p in batches])
    assert ours == pytest.approx(expected, rel=1e-5, abs=1e-6)
    # Keras's default name is its snake case of the class name, made unique per session
    # (precision_1, ...) for some metrics: netspec's history has one of each name, unsuffixed.
    assert metric_of(spec).display_name() == example["args"].get("name", to_snake_case(name))
    state.reset()
    assert state.result() == 0.0


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


@pytest.mark.parametrize(("alias", "name"), sorted(METRICS.aliases().items()))
def test_every_alias_is_kerass_name_for_the_same_metric(alias, name):
    assert metric_of(alias).type == name
    assert type(keras.metrics.get(alias)).__name__ == name


def test_names_and_errors():
    assert metric_of("mae").type == "MeanAbsoluteError"
    assert metric_of("auc") == metric_of({"type": "AUC", "num_thresholds": 200})
    with pytest.raises(ValidationError, match="did you mean 'precision'"):
        metric_of("precison")
    with pytest.raises(ValidationError):
        metric_of({"type": "AUC", "curve": "PR"})


@pytest.mark.slow  # a fresh interpreter
def test_validation_does_not_import_torch():

    code = (
        "import sys; from pydantic import TypeAdapter;"
        "from netspec.training.spec.metrics import MetricField;"
        "TypeAdapter(MetricField).validate_python('auc');"
        "assert 'torch' not in sys.modules"
    )
    python_output(code)
