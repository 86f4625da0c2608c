"""The metric spec base (`Metric`), the stateful metric interface (`State`) and the states
shared by several families: the weighted mean of per-sample values (Keras's `Mean` and
`MeanMetricWrapper`) and a set of summable accumulators.

Every state keeps its sums as tensors on the predictions' device: `update` never copies to the
host (no `.item()`/`float()`), only `result()` does.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping
from typing import ClassVar, Literal

from pydantic import ConfigDict, Field

from ....registry import Registry
from ....vocab.base import VocabModel, require_type

METRICS: Registry[type[Metric]] = Registry("metric")
Direction = Literal["up", "down"]


def resolve_accuracy(y_true_shape, y_pred_shape) -> str:
    """Keras 3's choice for `accuracy`/`acc` (keras/src/trainers/compile_utils.py): binary when
    y_pred's last axis is 1, sparse when y_true has a lower rank or a last axis of 1 (and y_pred's
    is not), categorical otherwise. Keras 3 ignores the loss; so does this."""
    if y_pred_shape[-1] == 1:
        return "BinaryAccuracy"
    if len(y_true_shape) < len(y_pred_shape) or y_true_shape[-1] == 1:
        return "SparseCategoricalAccuracy"
    return "CategoricalAccuracy"


def same_rank(x1, x2, expand_rank_1: bool = True):
    """Keras's `squeeze_or_expand_to_same_rank`: when the ranks differ by one and the longer
    one's last axis is 1, squeeze it (or expand the other, when that one has rank 1)."""
    if x1.ndim == x2.ndim + 1 and x1.shape[-1] == 1:
        if x2.ndim == 1 and expand_rank_1:
            x2 = x2.unsqueeze(-1)
        else:
            x1 = x1.squeeze(-1)
    if x2.ndim == x1.ndim + 1 and x2.shape[-1] == 1:
        if x1.ndim == 1 and expand_rank_1:
            x1 = x1.unsqueeze(-1)
        else:
            x2 = x2.squeeze(-1)
    return x1, x2


class Metric(VocabModel):
    """Base metric spec: `build()` returns a fresh stateful metric."""

    model_config = ConfigDict(json_schema_extra=require_type())

    # Keras 3's `_direction`: EarlyStopping's mode auto maximises the metrics that go up.
    direction: ClassVar[Direction] = "down"
    # Keras's default `name` where it is not the snake case of the class name (logcosh).
    default_name: ClassVar[str | None] = None
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
        """Keras's name: `name`, else its default (`to_snake_case` of the class name)."""
        if self.name is not None:
            return self.name
        if self.default_name is not None:
            return self.default_name
        words = re.sub(r"(.)([A-Z][a-z]+)", r"\1_\2", self.type)
        return re.sub(r"([a-z])([A-Z])", r"\1_\2", words).lower()

    def build(self) -> State:
        raise NotImplementedError


class State:
    """A stateful metric: `update(y_pred, y_true, sample_weight=None)`, `result()`, `reset()`.

    `sample_weight` (a tensor: per sample, (batch,), or per element, broadcastable to y_true)
    weighs each sample as Keras's `update_state(y_true, y_pred, sample_weight)` does: weighted
    means for mean metrics, weighted counts for confusion metrics."""

    def update(self, y_pred, y_true, sample_weight=None) -> None:
        raise NotImplementedError

    def result(self) -> float:
        raise NotImplementedError

    def reset(self) -> None:
        raise NotImplementedError

    def sync(self, total) -> None:
        """Replace the state by its sum over the ranks of a data-parallel run (`total`: a list
        of floats to their sums, distributed.Ranks.sum)."""
        raise NotImplementedError


def samplewise(values, sample_weight):
    """Keras's `reduce_to_samplewise_values` (reduction mean): the weighted per-sample values
    and the per-sample weights whose sums make a weighted mean."""
    values, sample_weight = same_rank(values, sample_weight.to(values.dtype))
    w_ndim, v_ndim = sample_weight.ndim, values.ndim
    if v_ndim > w_ndim:
        values = values.mean(dim=tuple(range(w_ndim, v_ndim)))
    sample_weight = sample_weight.broadcast_to(values.shape)
    values = values * sample_weight
    if w_ndim > 1:
        sample_weight = sample_weight.mean(dim=tuple(range(1, w_ndim)))
    if values.ndim > 1:
        values = values.mean(dim=tuple(range(1, values.ndim)))
    return values, sample_weight


class MeanState(State):
    """Weighted mean of per-sample values over every update (Keras's `MeanMetricWrapper`: each
    sample's values are averaged, then the samples weigh by `sample_weight`, default 1)."""

    def __init__(self, values: Callable, sqrt: bool = False):
        self.values = values
        self.sqrt = sqrt
        self.reset()

    def reset(self) -> None:
        self.total = 0.0  # a float64 tensor once updated: summed on the device, no sync per batch
        self.count = 0.0  # the samples' weights: a number, or a tensor once weighted

    def update(self, y_pred, y_true, sample_weight=None) -> None:
        import torch

        with torch.no_grad():
            v = self.values(y_true.to(y_pred.device), y_pred.detach())
            v, mask = v if isinstance(v, tuple) else (v, None)
            if sample_weight is None:  # Keras ignores a mask on the values then
                samples, n = (v.shape[0] if v.ndim else 1), v.numel()
                # summed in float64 (hits as bool: counted exactly), one kernel
                if n:  # the sum of per-sample means, without reducing axis by axis
                    part = v.sum(dtype=torch.float64)
                    part = part if n == samples else part * (samples / n)
                    if isinstance(self.total, torch.Tensor):
                        self.total.add_(part)
                    else:  # the first update's sum, a new tensor, becomes the state
                        self.total = part
                self.count = self.count + samples
            else:
                v = v.double()
                sw = sample_weight.to(v.device, v.dtype)
                if mask is not None:  # Keras's apply_mask (reduction sum)
                    m, sw = same_rank(mask.to(v.dtype), sw)
                    sw = sw * m
                v, w = samplewise(v, sw)
                self.total = v.sum() + self.total
                self.count = w.sum() + self.count

    def sync(self, total) -> None:
        self.total, self.count = total([float(self.total), float(self.count)])

    def result(self) -> float:
        count = float(self.count)
        if not count:  # Keras's divide_no_nan
            return 0.0
        mean = float(self.total) / count
        return max(mean, 0.0) ** 0.5 if self.sqrt else mean


class MeanMetric(Metric):
    """Metrics that average a per-sample value: `values(y_true, y_pred)`, one per sample, or
    per element (averaged over each sample's elements); or (values, mask): Keras's mask on
    the values, which multiplies the sample weights when there are some."""

    sqrt: ClassVar[bool] = False

    def values(self, y_true, y_pred):
        raise NotImplementedError

    def build(self) -> State:
        return MeanState(self.values, sqrt=type(self).sqrt)


class SumsState(State):
    """Named tensors summed over the updates (`add(y_pred, y_true, sample_weight)` gives each
    batch's); `result_of(sums)` gives the metric (0 before any update). Every sum is additive,
    so `sync` sums them over the ranks. `shapes` gives the sums' shapes where the spec fixes
    them (confusion counts), so that a rank without data takes part in `sync` with zeros;
    otherwise the first update fixes them."""

    def __init__(
        self,
        add: Callable,
        result_of: Callable[[dict], float],
        shapes: Mapping[str, tuple[int, ...]] | None = None,
    ):
        self._add = add
        self._result_of = result_of
        self._shapes = dict(shapes or {})
        self.reset()

    def reset(self) -> None:
        self.sums: dict = {}
        self._updated = False
        if self._shapes:
            import torch

            self.sums = {
                k: torch.zeros(shape, dtype=torch.float64) for k, shape in self._shapes.items()
            }

    def update(self, y_pred, y_true, sample_weight=None) -> None:
        import torch

        with torch.no_grad():
            sw = None if sample_weight is None else sample_weight.to(y_pred.device)
            batch = self._add(y_pred.detach(), y_true.to(y_pred.device), sw)
            for key, value in batch.items():
                value, prev = value.double(), self.sums.get(key)
                # before the first update the sums are zeros (on the host): not added
                self.sums[key] = value + prev if self._updated and prev is not None else value
            self._updated = True

    def sync(self, total) -> None:
        import torch

        keys = list(self.sums)
        flat = [x for k in keys for x in self.sums[k].reshape(-1).tolist()]
        summed, start = total(flat), 0
        for k in keys:
            t = self.sums[k]
            n = t.numel()
            part = torch.tensor(summed[start : start + n], dtype=t.dtype, device=t.device)
            self.sums[k], start = part.reshape(t.shape), start + n
        self._updated = self._updated or any(v != 0 for v in summed)  # another rank's data

    def result(self) -> float:
        return float(self._result_of(self.sums)) if self._updated else 0.0
