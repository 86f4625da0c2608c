"""The loss base class, Keras's reduction of per-sample values, and the shared helpers."""

from __future__ import annotations

from typing import ClassVar, Literal

from pydantic import ConfigDict, Field

from ....registry import Registry
from ....vocab.base import VocabModel, require_type

LOSSES: Registry[type[Loss]] = Registry("loss")

EPSILON = 1e-7  # keras.config.epsilon()

Reduction = Literal["sum_over_batch_size", "sum", "mean", "mean_with_sample_weight", "none"]
# Keras's averaging reductions: sum / number of values (or / the weights' sum, see `reduce`)
_MEANS = ("sum_over_batch_size", "mean", "mean_with_sample_weight")


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


def _mask_weights(mask, sample_weight, reduction, dtype):
    """Keras's apply_mask: a mask becomes weights; for the batch means a valid value weighs
    total / valid, so the mean is taken over the valid values only (0 when none is)."""
    import torch

    mask = mask.to(dtype)
    if reduction in ("mean", "sum_over_batch_size"):
        valid = mask.sum()
        scale = torch.where(valid > 0, mask.numel() / valid.clamp_min(1.0), 0.0)
        mask = mask * scale
    if sample_weight is None:
        return mask
    mask, sample_weight = _same_rank(mask, sample_weight)
    return sample_weight * mask


def _per_sample(sample_weight, values):
    """A weight per sample (per leading index) weighs all of that sample's values: (batch,)
    weights on (batch, steps) values become (batch, 1). Keras 3 fails there (or, with as many
    steps as samples, broadcasts along the steps); the rest is Keras's rank matching."""
    extra = values.ndim - sample_weight.ndim
    lead = tuple(values.shape[: sample_weight.ndim])
    if extra > 0 and sample_weight.ndim > 0 and tuple(sample_weight.shape) == lead:
        return sample_weight.reshape(*sample_weight.shape, *([1] * extra))
    return sample_weight


def reduce(values, sample_weight=None, mask=None, reduction: str | None = "sum_over_batch_size"):
    """Keras's reduce_weighted_values: the weights (sample weights times the mask's weights)
    multiply the values (ranks matched as Keras does), then the reduction: "sum", the sum over
    the number of values ("sum_over_batch_size", "mean"), the sum over the weights' sum
    ("mean_with_sample_weight" with weights, otherwise as "mean"; 0/0 gives 0), or none."""
    import torch

    if sample_weight is not None:
        sample_weight = torch.as_tensor(sample_weight, device=values.device).to(values.dtype)
        sample_weight = _per_sample(sample_weight, values)
    if mask is not None:
        sample_weight = _mask_weights(mask, sample_weight, reduction, values.dtype)
    if sample_weight is not None:
        values, sample_weight = _same_rank(values, sample_weight)
        values = values * sample_weight
    if reduction in (None, "none") or values.ndim == 0 or tuple(values.shape) == (0,):
        return values
    total = values.sum()
    if reduction == "sum":
        return total
    if reduction == "mean_with_sample_weight" and sample_weight is not None:
        divisor = sample_weight.sum()
    else:
        divisor = torch.tensor(values.numel(), dtype=total.dtype, device=total.device)
    # divide_no_nan
    return torch.where(divisor == 0, torch.zeros_like(total), total / divisor)


class Loss(VocabModel):
    """Base loss: `values(y_true, y_pred, ...)` gives Keras's unreduced values, `reduction`
    Keras's reduction of them (with the sample weights)."""

    model_config = ConfigDict(json_schema_extra=require_type())

    # the activation whose probabilities this loss can take in the stable form
    stable_after: ClassVar[str | None] = None
    # integer labels: y_true is neither cast to y_pred's dtype nor rank-matched
    sparse: ClassVar[bool] = False
    # The registry-wide tests' cases (tests/test_losses.py compares each with Keras): Keras
    # arguments and the (kind, per-sample shape) of y_true and y_pred, kinds as listed in
    # tests/loss_inputs.py, and optionally "sample_weight": (kind, shape). Every loss needs at
    # least one.
    examples: ClassVar[tuple[dict, ...]] = ()
    # What y_true holds, for the data checks: "values" (y_pred's shape), "classes" (integer
    # class indices: y_pred's shape without the class axis, in [0, classes) but for an
    # `ignore_class`), "sequences" (CTC: (batch, max_label_length) indices in [0, classes),
    # 0 the padding) or "groups" (Circle: one integer per sample, any value).
    label_kind: ClassVar[str] = "values"

    reduction: Reduction | None = Field(
        "sum_over_batch_size",
        description=(
            "How the per-sample values are reduced: 'sum_over_batch_size' and 'mean' (their "
            "mean), 'sum', 'mean_with_sample_weight' (the sum over the sample weights' sum), "
            "'none' or null (no reduction)."
        ),
    )

    def values(self, y_true, y_pred, stable: bool = False, logits=None):
        raise NotImplementedError

    def masked_values(self, y_true, y_pred, stable: bool = False, logits=None):
        """(values, mask or None): Keras's values and the mask it sets on them."""
        return self.values(y_true, y_pred, stable, logits), None

    def mean(self, y_true, y_pred, stable: bool = False, logits=None):
        """The values' mean in fewer kernels, or None where this loss has no such form (the
        unweighted, unmasked `sum_over_batch_size` reduction)."""
        return None

    def function(self, output_activation: str | None = None):
        """`fn(y_pred, y_true, logits=None, sample_weight=None, mask=None)` -> the reduced loss
        (a scalar, or the unreduced values for reduction 'none'/None); `mask` (bool, the values'
        shape) is the model output's Keras mask. See the package docstring."""
        stable = (
            output_activation is not None
            and output_activation == type(self).stable_after
            and not getattr(self, "from_logits", True)
        )
        reduction = self.reduction

        def loss(y_pred, y_true, logits=None, sample_weight=None, mask=None):
            y_true = y_true.to(y_pred.device)
            if not self.sparse:
                y_true = y_true.to(y_pred.dtype)
                y_true, y_pred = _same_rank(y_true, y_pred)
            if sample_weight is None and mask is None and reduction == "sum_over_batch_size":
                fused = self.mean(y_true, y_pred, stable, logits if stable else None)
                if fused is not None:
                    return fused
            values, own = self.masked_values(y_true, y_pred, stable, logits if stable else None)
            if own is not None:  # Keras: the output's mask and the loss's own, both
                mask = own if mask is None else mask & own
            if sample_weight is None and mask is None and reduction == "sum_over_batch_size":
                return values.mean()  # the common case, as cheap as before
            return reduce(values, sample_weight, mask, reduction)

        return loss
