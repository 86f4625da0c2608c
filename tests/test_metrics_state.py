"""The stateful side of metrics: per-element sample weights as Keras takes them, the sum over
data-parallel ranks (`sync`), and (on a GPU) updates that never wait for the device."""

import keras
import numpy as np
import pytest
import torch
from pydantic import TypeAdapter
from test_metrics import CASES, pair, run_both, weights

from netspec.training.spec.metrics import MetricField

pytestmark = pytest.mark.filterwarnings("ignore:__array__ implementation:DeprecationWarning")
ADAPTER = TypeAdapter(MetricField)

# (netspec spec, Keras metric arguments, example): weights of y_true's shape (less the class
# axis for class metrics), one per element
PER_ELEMENT = [
    ({}, "MeanSquaredError", {"y_true": ("normal", (4, 3)), "y_pred": ("normal", (4, 3))}, (4,)),
    (
        {},
        "CategoricalAccuracy",
        {"y_true": ("onehot", (4, 6)), "y_pred": ("softmax", (4, 6))},
        (4,),
    ),
    ({}, "Precision", {"y_true": ("binary", (5,)), "y_pred": ("probs", (5,))}, (5,)),
    ({}, "AUC", {"y_true": ("binary", (3,)), "y_pred": ("probs", (3,))}, (3,)),
    (
        {"ignore_class": 1},
        "SparseCategoricalCrossentropy",
        {"y_true": ("labels", (4,)), "y_pred": ("softmax", (4, 3))},
        (4,),
    ),
    ({"average": "macro"}, "F1Score", {"y_true": ("onehot", (4,)), "y_pred": ("probs", (4,))}, ()),
    ({}, "R2Score", {"y_true": ("normal", (2,)), "y_pred": ("normal", (2,))}, (2,)),
]


@pytest.mark.parametrize(("args", "name", "shapes", "per_element"), PER_ELEMENT)
def test_per_element_weights_as_keras(args, name, shapes, per_element):
    example = {"args": args, **shapes}
    batches = []
    for i, n in enumerate([6, 9]):
        y_true, y_pred = pair(example, n, seed=i)
        batches.append((y_pred, y_true, weights(n, i, per_element)))
    reference = getattr(keras.metrics, name)(**args)
    _, ours, expected = run_both({"type": name, **args}, reference, batches)
    assert ours == pytest.approx(expected, rel=1e-5, abs=1e-6)


def _two_ranks(spec: dict, example: dict):
    """(one state fed every batch, two states fed half each then synced as two ranks)."""
    states = [ADAPTER.validate_python(spec).build() for _ in range(3)]
    for i, n in enumerate([5, 8, 4, 7]):
        y_true, y_pred = pair(example, n, seed=i)
        sw = torch.as_tensor(weights(n, i)) if i % 2 else None
        for state in (states[0], states[1 + i % 2]):
            state.update(torch.as_tensor(y_pred), torch.as_tensor(y_true), sw)
    lists: list[list[float]] = []
    for state in states[1:]:
        state.sync(lambda values: lists.append(list(values)) or values)
    summed = [a + b for a, b in zip(*lists, strict=True)]
    for state in states[1:]:
        state.sync(lambda values: summed)
    return states


@pytest.mark.parametrize(("name", "index", "example"), CASES)
def test_sync_sums_the_ranks_states(name, index, example):
    """Two ranks' states summed by `sync` give each rank the metric of all the data."""
    whole, first, second = _two_ranks({"type": name, **example["args"]}, example)
    assert first.result() == pytest.approx(whole.result(), rel=1e-6, abs=1e-7)
    assert second.result() == pytest.approx(whole.result(), rel=1e-6, abs=1e-7)


def test_update_keeps_no_gradient_and_accepts_no_weight():
    state = ADAPTER.validate_python("mse").build()
    y_pred = torch.ones(4, 2, requires_grad=True)
    state.update(y_pred * 2, torch.zeros(4, 2))
    state.update(y_pred, torch.zeros(4, 2), None)
    assert state.result() == pytest.approx(2.5)
    assert not torch.is_tensor(state.total) or not state.total.requires_grad


@pytest.mark.parametrize(("name", "index", "example"), CASES)
def test_update_reads_no_values(name, index, example):
    """Updates run on meta tensors, which have shapes and no values: an update never reads a
    value on the host (no .item(), float(), .tolist(), data-dependent shapes), so on a GPU it
    never waits for the device; only result() does."""
    state = ADAPTER.validate_python({"type": name, **example["args"]}).build()
    y_true, y_pred = (torch.as_tensor(a).to("meta") for a in pair(example, 8, seed=index))
    state.update(y_pred, y_true)
    state.update(y_pred, y_true, torch.as_tensor(weights(8, index)).to("meta"))


@pytest.mark.skipif(not torch.cuda.is_available(), reason="no GPU here")
@pytest.mark.parametrize(("name", "index", "example"), CASES)
def test_update_never_waits_for_the_gpu(name, index, example):
    """On a GPU every update stays on the device (no .item(), no copy to the host): torch's
    sync debug mode turns any synchronisation into an error; result() may synchronise."""
    state = ADAPTER.validate_python({"type": name, **example["args"]}).build()
    y_true, y_pred = (torch.as_tensor(a).cuda() for a in pair(example, 8, seed=index))
    sw = torch.as_tensor(weights(8, index)).cuda()
    state.update(y_pred, y_true)  # first update: the states' tensors are made
    torch.cuda.synchronize()
    torch.cuda.set_sync_debug_mode("error")
    try:
        state.update(y_pred, y_true)
        state.update(y_pred, y_true, sw)
    finally:
        torch.cuda.set_sync_debug_mode("default")
    assert np.isfinite(state.result())


@pytest.mark.parametrize(
    "spec",
    [
        "mse",
        "precision",
        "true_negatives",
        "auc",
        {"type": "AUC", "multi_label": True, "num_labels": 3},
        {"type": "RecallAtPrecision", "precision": 0.4},
        {"type": "MeanIoU", "num_classes": 2},
    ],
    ids=str,
)
def test_a_rank_without_data_takes_part_in_sync(spec):
    """A rank that saw no batch (a short validation split) sends zeros of the same length,
    so the sum over ranks lines up; then it reports the metric of the other's data."""
    busy, idle = (ADAPTER.validate_python(spec).build() for _ in range(2))
    rng = np.random.default_rng(0)
    y_true = torch.as_tensor(rng.integers(0, 2, size=(9, 3)).astype("float32"))
    busy.update(torch.as_tensor(rng.uniform(size=(9, 3)).astype("float32")), y_true)
    expected = busy.result()
    lists: list[list[float]] = []
    for state in (busy, idle):
        state.sync(lambda values: lists.append(list(values)) or values)
    assert len(lists[0]) == len(lists[1])
    summed = [a + b for a, b in zip(*lists, strict=True)]
    for state in (busy, idle):
        state.sync(lambda values: summed)
    assert idle.result() == pytest.approx(expected) and busy.result() == pytest.approx(expected)
