"""Metrics against real keras.metrics (torch backend), accumulated over several batches: every
registered metric through its `examples` (a new metric is covered as soon as it has some, and
must have some), unweighted and with sample weights, then AUC's counts, Keras's choice for
`accuracy`, names and errors."""

import warnings

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


def pair(example: dict, batch: int, seed: int) -> tuple[np.ndarray, np.ndarray]:
    """loss_inputs.pair, and integer labels on both sides where the example gives `classes`
    (predicted class ids: Accuracy, the IoUs, sorted ids)."""
    if "classes" not in example:
        return loss_inputs.pair(example, batch, seed)
    rng = np.random.default_rng(seed)
    arrays = [
        loss_inputs.array(rng, kind, (batch, *shape), -1, example["classes"])
        for kind, shape in (example["y_true"], example["y_pred"])
    ]
    return arrays[0], arrays[1]


def weights(batch: int, seed: int, per_element: tuple[int, ...] = ()) -> np.ndarray:
    """Sample weights in [0, 2), a few exactly 0 (for IoU, whose int matrix truncates them,
    integers 0-3)."""
    rng = np.random.default_rng(1000 + seed)
    w = rng.uniform(0, 2, size=(batch, *per_element))
    w[rng.uniform(size=w.shape) < 0.2] = 0.0
    return w.astype("float32")


def keras_weights(sw, y_true, reference):
    """The per-sample weights as Keras takes them where netspec broadcasts (B,) itself:
    confusion metrics want y_true's rank, IoU one weight per label."""
    if sw is None or sw.ndim != 1 or y_true.ndim <= 1:
        return sw
    per_label = sw.reshape(-1, *[1] * (y_true.ndim - 1))
    if "IoU" in type(reference).__name__:
        if getattr(reference, "sparse_y_true", True) is False:
            per_label = per_label[..., 0]
            return np.broadcast_to(per_label, y_true.shape[:-1]).copy()
        return np.broadcast_to(per_label, y_true.shape).copy()
    return per_label if y_true.ndim > 2 else sw


def run_both(spec, reference, batches):
    """Feed both metrics the (y_pred, y_true, sample_weight or None) batches."""
    state = metric_of(spec).build()
    for y_pred, y_true, sw in batches:
        as_t = None if sw is None else torch.as_tensor(sw)
        state.update(torch.as_tensor(y_pred), torch.as_tensor(y_true), as_t)
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")  # IoU's int matrix warns about float weights
            reference.update_state(y_true, y_pred, keras_weights(sw, y_true, reference))
    (expected,) = keras.ops.convert_to_numpy(reference.result()).reshape(-1)  # one value
    return state, state.result(), float(expected)


SIZES = [7, 16, 3]  # the batches each example is fed in: a batch weighs by its samples
CASES = [
    pytest.param(name, i, example, id=f"{name}-{i}")
    for name, cls in METRICS.items()
    for i, example in enumerate(cls.examples)
]


def keras_metric(name: str, args: dict):
    return getattr(keras.metrics, name)(**args)


@pytest.mark.parametrize("name", METRICS.names())
def test_every_metric_has_examples(name):
    assert METRICS.get(name).examples, f"{name} has no examples"


@pytest.mark.parametrize(("name", "index", "example"), CASES)
def test_keras_parity(name, index, example):
    """Accumulated over batches of several sizes, the metric of the example's arguments equals
    keras.metrics.<name>(**args), under Keras's name; reset starts it over."""
    batches = [pair(example, n, seed=index * 10 + i) for i, n in enumerate(SIZES)]
    reference = keras_metric(name, example["args"])
    spec = {"type": name, **example["args"]}
    state, ours, expected = run_both(spec, reference, [(p, t, None) for t, p in batches])
    assert ours == pytest.approx(expected, rel=1e-5, abs=1e-6)
    # Keras's default name (made unique per session, precision_1, ..., for some metrics:
    # netspec's history has one of each name, unsuffixed)
    fresh = keras_metric(name, example["args"]).name
    expected_name = example["args"].get("name", fresh.rstrip("0123456789").rstrip("_"))
    if fresh != expected_name:  # a suffixed default: the class name's snake case
        assert expected_name == to_snake_case(name) or fresh.startswith(expected_name)
    assert metric_of(spec).display_name() == expected_name
    state.reset()
    assert state.result() == 0.0


@pytest.mark.parametrize(("name", "index", "example"), CASES)
def test_keras_parity_weighted(name, index, example):
    """With per-sample weights (some 0), over several batches, mixed with an unweighted one:
    Keras's weighted means and weighted counts."""
    integer = "IoU" in name  # Keras's int confusion matrix truncates the weights
    batches = []
    for i, n in enumerate(SIZES):
        y_true, y_pred = pair(example, n, seed=index * 10 + i)
        w = weights(n, index * 10 + i)
        batches.append((y_pred, y_true, np.floor(w * 2) if integer else w))
    batches.append((*batches[0][:2], None))
    reference = keras_metric(name, example["args"])
    _, ours, expected = run_both({"type": name, **example["args"]}, reference, batches)
    assert ours == pytest.approx(expected, rel=1e-5, abs=1e-6)


def test_auc_counts_equal_keras_exactly():
    r = np.random.default_rng(2)
    # values on and around the thresholds, 0 and 1 included
    grid = np.arange(0, 200) / 199.0
    y_pred = np.concatenate([grid, np.nextafter(grid, 2), [0.0, 1.0], r.uniform(size=300)])
    y_pred = y_pred.astype("float32")[:, None]
    y_true = r.integers(0, 2, size=y_pred.shape).astype("float32")
    state, ours, expected = run_both("auc", keras.metrics.AUC(), [(y_pred, y_true, None)])
    reference = keras.metrics.AUC()
    reference.update_state(y_true, y_pred)
    for key, keras_var in [
        ("tp", reference.true_positives),
        ("fp", reference.false_positives),
        ("tn", reference.true_negatives),
        ("fn", reference.false_negatives),
    ]:
        assert state.sums[key].tolist() == keras.ops.convert_to_numpy(keras_var).tolist()
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
    from keras.src.metrics import ALL_OBJECTS_DICT

    assert metric_of({"type": name, **_required(name)}).type == name
    assert ALL_OBJECTS_DICT[alias].__name__ == name


def _required(name: str) -> dict:
    """Arguments of a metric's first example that have no default (IoU's num_classes)."""
    cls = METRICS.get(name)
    args = cls.examples[0]["args"]
    return {k: v for k, v in args.items() if cls.model_fields[k].is_required()}


def test_names_and_errors():
    assert metric_of("mae").type == "MeanAbsoluteError"
    assert metric_of("auc") == metric_of({"type": "AUC", "num_thresholds": 200})
    assert metric_of("logcosh" if "logcosh" in METRICS else "log_cosh_error").display_name() == (
        "logcosh"
    )
    with pytest.raises(ValidationError, match="did you mean 'precision'"):
        metric_of("precison")
    with pytest.raises(ValidationError):
        metric_of({"type": "AUC", "curve": "XY"})
    with pytest.raises(ValidationError, match="num_labels is needed only"):
        metric_of({"type": "AUC", "num_labels": 3})
    with pytest.raises(ValidationError, match="out of range"):
        metric_of({"type": "IoU", "num_classes": 2, "target_class_ids": [2]})
    with pytest.raises(ValidationError):
        metric_of("io_u")  # num_classes and target_class_ids are required, as in Keras


@pytest.mark.slow  # a fresh interpreter
def test_validation_does_not_import_torch():
    code = (
        "import sys; from pydantic import TypeAdapter;"
        "from netspec.training.spec.metrics import MetricField;"
        "TypeAdapter(MetricField).validate_python('auc');"
        "assert 'torch' not in sys.modules"
    )
    python_output(code)
