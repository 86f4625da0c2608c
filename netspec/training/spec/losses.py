"""Keras 3 losses: a name or a `{type: ClassName, ...}` object (torch is imported when called).

Each loss computes Keras's per-sample values (reduced over the last axis) and then Keras's
default `sum_over_batch_size` reduction: the mean of those values.

`Loss.function(output_activation)` returns `fn(y_pred, y_true, logits=None)`. Keras clips
probabilities to [1e-7, 1 - 1e-7] before its cross-entropy logs, which caps every term at
-log(1e-7) ~ 16.1. netspec models apply a Dense's activation inside the module, so when the caller
says the model's last activation is `sigmoid` (binary_crossentropy) or `softmax` (categorical and
sparse categorical cross-entropy) and `from_logits` is false, netspec skips that clip:

* `logits` given (the pre-activation output): Keras's `from_logits=True` math on it
  (`binary_cross_entropy_with_logits`, `log_softmax`), exact and stable;
* otherwise, on probabilities: binary uses torch's `binary_cross_entropy` unclipped (torch caps
  each log at -100), categorical uses `log(max(p, tiny))` (tiny = the dtype's smallest normal,
  a cap of 87.3 in float32), both after Keras's renormalisation by the sum for categorical.

Both give Keras's values wherever every probability lies in [1e-7, 1 - 1e-7], and finite, larger
losses (with a gradient) where Keras's clip would flatten them.
"""

from __future__ import annotations

from typing import ClassVar, Literal

from pydantic import ConfigDict, Field

from ...registry import Registry
from ...vocab.base import VocabModel, name_or_object, require_type

LOSSES: Registry[type[Loss]] = Registry("loss")

EPSILON = 1e-7  # keras.config.epsilon()


def _same_rank(y_true, y_pred):
    """Keras's squeeze_or_expand_to_same_rank (as LossFunctionWrapper applies it)."""
    if y_true.ndim == y_pred.ndim + 1 and y_true.shape[-1] == 1:
        if y_pred.ndim == 1:
            y_pred = y_pred.unsqueeze(-1)
        else:
            y_true = y_true.squeeze(-1)
    elif y_pred.ndim == y_true.ndim + 1 and y_pred.shape[-1] == 1:
        if y_true.ndim == 1:
            y_true = y_true.unsqueeze(-1)
        else:
            y_pred = y_pred.squeeze(-1)
    return y_true, y_pred


class Loss(VocabModel):
    """Base loss: `values(y_true, y_pred, ...)` gives Keras's unreduced values."""

    model_config = ConfigDict(json_schema_extra=require_type())

    # the activation whose probabilities this loss can take in the stable form
    stable_after: ClassVar[str | None] = None
    # integer labels: y_true is neither cast to y_pred's dtype nor rank-matched
    sparse: ClassVar[bool] = False
    # The registry-wide tests' cases (tests/test_losses.py compares each with Keras): Keras
    # arguments and the (kind, per-sample shape) of y_true and y_pred, kinds as listed in
    # tests/loss_inputs.py. Every loss needs at least one.
    examples: ClassVar[tuple[dict, ...]] = ()

    def values(self, y_true, y_pred, stable: bool = False, logits=None):
        raise NotImplementedError

    def function(self, output_activation: str | None = None):
        """`fn(y_pred, y_true, logits=None)` -> scalar tensor (mean over the batch)."""
        stable = (
            output_activation is not None
            and output_activation == type(self).stable_after
            and not getattr(self, "from_logits", True)
        )

        def loss(y_pred, y_true, logits=None):
            y_true = y_true.to(y_pred.device)
            if not self.sparse:
                y_true = y_true.to(y_pred.dtype)
                y_true, y_pred = _same_rank(y_true, y_pred)
            values = self.values(y_true, y_pred, stable, logits if stable else None)
            return values.mean()

        return loss


@LOSSES.register("mean_squared_error", "mse", "MSE")
class MeanSquaredError(Loss):
    """mean((y_true - y_pred)^2) over the last axis."""

    type: Literal["MeanSquaredError"] = "MeanSquaredError"
    examples: ClassVar[tuple[dict, ...]] = (
        {"args": {}, "y_true": ("normal", (5,)), "y_pred": ("normal", (5,))},
        {"args": {}, "y_true": ("normal", (3, 6)), "y_pred": ("normal", (3, 6))},
        {"args": {}, "y_true": ("normal", ()), "y_pred": ("normal", (1,))},  # ranks matched
    )

    def values(self, y_true, y_pred, stable=False, logits=None):
        return (y_true - y_pred).square().mean(-1)


@LOSSES.register("mean_absolute_error", "mae", "MAE")
class MeanAbsoluteError(Loss):
    """mean(|y_true - y_pred|) over the last axis."""

    type: Literal["MeanAbsoluteError"] = "MeanAbsoluteError"
    examples: ClassVar[tuple[dict, ...]] = (
        {"args": {}, "y_true": ("normal", (5,)), "y_pred": ("normal", (5,))},
        {"args": {}, "y_true": ("normal", (3, 6)), "y_pred": ("normal", (3, 6))},
    )

    def values(self, y_true, y_pred, stable=False, logits=None):
        return (y_true - y_pred).abs().mean(-1)


@LOSSES.register("mean_absolute_percentage_error", "mape", "MAPE")
class MeanAbsolutePercentageError(Loss):
    """100 * mean(|y_true - y_pred| / max(|y_true|, 1e-7)) over the last axis."""

    type: Literal["MeanAbsolutePercentageError"] = "MeanAbsolutePercentageError"
    examples: ClassVar[tuple[dict, ...]] = (
        {"args": {}, "y_true": ("normal", (5,)), "y_pred": ("normal", (5,))},
    )

    def values(self, y_true, y_pred, stable=False, logits=None):
        diff = ((y_true - y_pred) / y_true.abs().clamp_min(EPSILON)).abs()
        return 100.0 * diff.mean(-1)


@LOSSES.register("mean_squared_logarithmic_error", "msle", "MSLE")
class MeanSquaredLogarithmicError(Loss):
    """mean((log(max(y_pred, 1e-7) + 1) - log(max(y_true, 1e-7) + 1))^2) over the last axis."""

    type: Literal["MeanSquaredLogarithmicError"] = "MeanSquaredLogarithmicError"
    examples: ClassVar[tuple[dict, ...]] = (
        {"args": {}, "y_true": ("positive", (5,)), "y_pred": ("positive", (5,))},
    )

    def values(self, y_true, y_pred, stable=False, logits=None):
        import torch

        first = torch.log(y_pred.clamp_min(EPSILON) + 1.0)
        second = torch.log(y_true.clamp_min(EPSILON) + 1.0)
        return (first - second).square().mean(-1)


@LOSSES.register("huber")
class Huber(Loss):
    """Quadratic for |error| <= delta, linear beyond; mean over the last axis."""

    type: Literal["Huber"] = "Huber"
    examples: ClassVar[tuple[dict, ...]] = (
        {"args": {}, "y_true": ("normal", (5,)), "y_pred": ("normal", (5,))},
        {"args": {"delta": 0.3}, "y_true": ("normal", (3, 6)), "y_pred": ("normal", (3, 6))},
    )
    delta: float = Field(1.0, gt=0, description="The point where the loss turns linear.")

    def values(self, y_true, y_pred, stable=False, logits=None):
        import torch

        error = y_pred - y_true
        abs_error = error.abs()
        quadratic = 0.5 * error.square()
        linear = self.delta * abs_error - 0.5 * self.delta**2
        return torch.where(abs_error <= self.delta, quadratic, linear).mean(-1)


@LOSSES.register("log_cosh")
class LogCosh(Loss):
    """mean(log(cosh(y_pred - y_true))) over the last axis, computed as Keras (softplus form)."""

    type: Literal["LogCosh"] = "LogCosh"
    examples: ClassVar[tuple[dict, ...]] = (
        {"args": {}, "y_true": ("normal", (5,)), "y_pred": ("normal", (5,))},
    )

    def values(self, y_true, y_pred, stable=False, logits=None):
        import math

        import torch

        x = y_pred - y_true
        return (x + torch.nn.functional.softplus(-2.0 * x) - math.log(2.0)).mean(-1)


@LOSSES.register("binary_crossentropy", "bce", "BCE")
class BinaryCrossentropy(Loss):
    """Binary cross-entropy, mean over `axis`."""

    type: Literal["BinaryCrossentropy"] = "BinaryCrossentropy"
    examples: ClassVar[tuple[dict, ...]] = (
        {"args": {}, "y_true": ("binary", (5,)), "y_pred": ("probs", (5,))},
        {
            "args": {"from_logits": True, "label_smoothing": 0.2},
            "y_true": ("binary", (3, 6)),
            "y_pred": ("normal", (3, 6)),
        },
        {"args": {"label_smoothing": 0.2}, "y_true": ("binary", (1,)), "y_pred": ("probs", (1,))},
        {"args": {"axis": 1}, "y_true": ("binary", (3, 6)), "y_pred": ("probs", (3, 6))},
    )
    from_logits: bool = Field(False, description="Whether y_pred holds logits.")
    label_smoothing: float = Field(
        0.0, ge=0, le=1, description="Squeeze the labels towards 0.5 by this amount."
    )
    axis: int = Field(-1, description="The axis the mean is taken over.")
    stable_after: ClassVar[str | None] = "sigmoid"

    def values(self, y_true, y_pred, stable=False, logits=None):
        import torch.nn.functional as F

        if self.label_smoothing:
            y_true = y_true * (1.0 - self.label_smoothing) + 0.5 * self.label_smoothing
        if self.from_logits:
            out = F.binary_cross_entropy_with_logits(y_pred, y_true, reduction="none")
        elif logits is not None:
            out = F.binary_cross_entropy_with_logits(logits, y_true, reduction="none")
        elif stable:
            out = F.binary_cross_entropy(y_pred, y_true, reduction="none")
        else:
            p = y_pred.clamp(EPSILON, 1.0 - EPSILON)
            out = F.binary_cross_entropy(p, y_true, reduction="none")
        return out.mean(self.axis)


def _log_probs(y_pred, from_logits, stable, logits, axis):
    import torch

    if from_logits:
        return torch.log_softmax(y_pred, dim=axis)
    if logits is not None:
        return torch.log_softmax(logits, dim=axis)
    p = y_pred / y_pred.sum(dim=axis, keepdim=True)
    if stable:
        return torch.log(p.clamp_min(torch.finfo(p.dtype).tiny))
    return torch.log(p.clamp(EPSILON, 1.0 - EPSILON))


@LOSSES.register("categorical_crossentropy")
class CategoricalCrossentropy(Loss):
    """Cross-entropy against one-hot (or soft) labels along `axis`."""

    type: Literal["CategoricalCrossentropy"] = "CategoricalCrossentropy"
    examples: ClassVar[tuple[dict, ...]] = (
        {"args": {}, "y_true": ("onehot", (5,)), "y_pred": ("softmax", (5,))},
        {
            "args": {"from_logits": True, "label_smoothing": 0.1},
            "y_true": ("onehot", (3, 6)),
            "y_pred": ("normal", (3, 6)),
        },
        {"args": {"axis": 1}, "y_true": ("onehot", (6, 3)), "y_pred": ("softmax", (6, 3))},
    )
    from_logits: bool = Field(False, description="Whether y_pred holds logits.")
    label_smoothing: float = Field(
        0.0,
        ge=0,
        le=1,
        description="Mix the labels with the uniform distribution by this amount.",
    )
    axis: int = Field(-1, description="The class axis.")
    stable_after: ClassVar[str | None] = "softmax"

    def values(self, y_true, y_pred, stable=False, logits=None):
        if self.label_smoothing:
            n = y_true.shape[-1]
            y_true = y_true * (1.0 - self.label_smoothing) + self.label_smoothing / n
        log_prob = _log_probs(y_pred, self.from_logits, stable, logits, self.axis)
        return -(y_true * log_prob).sum(self.axis)


@LOSSES.register("sparse_categorical_crossentropy")
class SparseCategoricalCrossentropy(Loss):
    """Cross-entropy against integer class labels (the class axis is `axis`)."""

    type: Literal["SparseCategoricalCrossentropy"] = "SparseCategoricalCrossentropy"
    examples: ClassVar[tuple[dict, ...]] = (
        {"args": {}, "y_true": ("labels", ()), "y_pred": ("softmax", (5,))},
        {"args": {"from_logits": True}, "y_true": ("labels", (3,)), "y_pred": ("normal", (3, 6))},
        {"args": {}, "y_true": ("labels", (1,)), "y_pred": ("softmax", (5,))},
        {"args": {"axis": 1}, "y_true": ("labels", (3,)), "y_pred": ("softmax", (6, 3))},
    )
    from_logits: bool = Field(False, description="Whether y_pred holds logits.")
    axis: int = Field(-1, description="The class axis of y_pred.")
    stable_after: ClassVar[str | None] = "softmax"
    sparse: ClassVar[bool] = True

    def values(self, y_true, y_pred, stable=False, logits=None):
        import torch

        y_true = y_true.long()
        if y_true.ndim == y_pred.ndim and y_true.shape[self.axis] == 1:
            y_true = y_true.squeeze(self.axis)
        log_prob = _log_probs(y_pred, self.from_logits, stable, logits, self.axis)
        log_prob = log_prob.movedim(self.axis, -1)
        picked = torch.take_along_dim(log_prob, y_true.unsqueeze(-1), dim=-1)
        return -picked.squeeze(-1)


@LOSSES.register("kl_divergence", "kld", "KLD")
class KLDivergence(Loss):
    """sum(y_true * log(y_true / y_pred)) over the last axis, both clipped to [1e-7, 1]."""

    type: Literal["KLDivergence"] = "KLDivergence"
    examples: ClassVar[tuple[dict, ...]] = (
        {"args": {}, "y_true": ("softmax", (5,)), "y_pred": ("softmax", (5,))},
    )

    def values(self, y_true, y_pred, stable=False, logits=None):
        import torch

        y_true = y_true.clamp(EPSILON, 1.0)
        y_pred = y_pred.clamp(EPSILON, 1.0)
        return (y_true * torch.log(y_true / y_pred)).sum(-1)


@LOSSES.register("poisson")
class Poisson(Loss):
    """mean(y_pred - y_true * log(y_pred + 1e-7)) over the last axis."""

    type: Literal["Poisson"] = "Poisson"
    examples: ClassVar[tuple[dict, ...]] = (
        {"args": {}, "y_true": ("positive", (5,)), "y_pred": ("positive", (5,))},
    )

    def values(self, y_true, y_pred, stable=False, logits=None):
        import torch

        return (y_pred - y_true * torch.log(y_pred + EPSILON)).mean(-1)


def _hinge_labels(y_true):
    """Keras: labels that are all 0 or 1 become -1 or 1; others are kept."""
    if bool(((y_true == 0) | (y_true == 1)).all()):
        return 2.0 * y_true - 1.0
    return y_true


@LOSSES.register("hinge")
class Hinge(Loss):
    """mean(max(1 - y_true * y_pred, 0)) over the last axis (0/1 labels become -1/1)."""

    type: Literal["Hinge"] = "Hinge"
    examples: ClassVar[tuple[dict, ...]] = (
        {"args": {}, "y_true": ("normal", (5,)), "y_pred": ("normal", (5,))},
        {"args": {}, "y_true": ("binary", (3,)), "y_pred": ("normal", (3,))},
    )

    def values(self, y_true, y_pred, stable=False, logits=None):
        return (1.0 - _hinge_labels(y_true) * y_pred).clamp_min(0.0).mean(-1)


@LOSSES.register("squared_hinge")
class SquaredHinge(Loss):
    """mean(max(1 - y_true * y_pred, 0)^2) over the last axis (0/1 labels become -1/1)."""

    type: Literal["SquaredHinge"] = "SquaredHinge"
    examples: ClassVar[tuple[dict, ...]] = (
        {"args": {}, "y_true": ("normal", (5,)), "y_pred": ("normal", (5,))},
        {"args": {}, "y_true": ("binary", (3,)), "y_pred": ("normal", (3,))},
    )

    def values(self, y_true, y_pred, stable=False, logits=None):
        return (1.0 - _hinge_labels(y_true) * y_pred).clamp_min(0.0).square().mean(-1)


@LOSSES.register("cosine_similarity")
class CosineSimilarity(Loss):
    """-sum(l2_normalize(y_true) * l2_normalize(y_pred)) along `axis` (Keras's sign)."""

    type: Literal["CosineSimilarity"] = "CosineSimilarity"
    examples: ClassVar[tuple[dict, ...]] = (
        {"args": {}, "y_true": ("normal", (5,)), "y_pred": ("normal", (5,))},
        {"args": {"axis": 0}, "y_true": ("normal", (3, 6)), "y_pred": ("normal", (3, 6))},
        {"args": {"axis": 1}, "y_true": ("normal", (3, 6)), "y_pred": ("normal", (3, 6))},
    )
    axis: int = Field(-1, description="The axis along which the similarity is computed.")

    def values(self, y_true, y_pred, stable=False, logits=None):
        def normalize(x):
            inv = x.square().sum(self.axis, keepdim=True).rsqrt().clamp_max(1.0 / EPSILON)
            return x * inv

        return -(normalize(y_true) * normalize(y_pred)).sum(self.axis)


LossField = name_or_object(LOSSES)
