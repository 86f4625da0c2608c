"""Keras 3 losses: a name or a `{type: ClassName, ...}` object (torch is imported when called).

Each loss computes Keras's unreduced values (per sample, or per time step and sample for the
losses that reduce only the class axis) and then Keras's reduction of them (`reduction`, default
`sum_over_batch_size`: their mean; see `base.reduce`).

`Loss.function(output_activation)` returns
`fn(y_pred, y_true, logits=None, sample_weight=None, mask=None)`.
`sample_weight` (a tensor of shape (batch,), or any shape Keras accepts: ranks differing by a
trailing 1 are matched, the rest broadcasts) multiplies the values before the reduction, as
Keras's `reduce_weighted_values`; `mean_with_sample_weight` then divides by the weights' sum.
Unlike Keras 3, which fails there, (batch,) weights also weigh (batch, steps) values (as
(batch, 1) weights do in Keras: the weights' sum is then over the batch). A
loss that masks values (SparseCategoricalCrossentropy's `ignore_class`) merges the mask into the
weights as Keras's `apply_mask` does (the batch mean is over the valid values); `mask` (the model
output's mask, bool, the values' shape: (batch, steps) for a sequence) joins it, as the Keras
mask on y_pred does. With reduction `none`/null, fn returns the weighted unreduced values:
Keras's `compute_loss` returns them, its `evaluate` reports their mean, and its torch backend
cannot train on them (`backward` needs a scalar).

Every Keras 3.15 loss class is here (22; tests/test_losses_keras_set.py keeps the sets equal),
with Keras's constructor arguments and defaults but `name` and `dtype` (netspec computes in
y_pred's dtype), and every string `keras.losses.get` accepts (CategoricalGeneralizedCrossEntropy
has none there: only its class name). CTC follows Keras's conventions (module `sequence`):
y_true (batch, max_label_length) integer labels padded with 0, the blank; y_pred logits.
`label_kind` says what y_true holds, for the data checks.

Keras clips probabilities to [1e-7, 1 - 1e-7] before its cross-entropy logs, which caps every
term at -log(1e-7) ~ 16.1. netspec models apply a Dense's activation inside the module, so when the
caller says the model's last activation is `sigmoid` (binary_crossentropy) or `softmax`
(categorical and sparse categorical cross-entropy) and `from_logits` is false, netspec skips that
clip:

* `logits` given (the pre-activation output): Keras's `from_logits=True` math on it
  (`binary_cross_entropy_with_logits`, `log_softmax`), exact and stable;
* otherwise, on probabilities: binary uses torch's `binary_cross_entropy` unclipped (torch caps
  each log at -100), categorical uses `log(max(p, tiny))` (tiny = the dtype's smallest normal,
  a cap of 87.3 in float32), after Keras's renormalisation by the sum for categorical unless
  the softmax is over the loss's axis, the last (then the sum is 1: the division would change
  the values by rounding only and the gradient not at all, so it is left out).

Both give Keras's values wherever every probability lies in [1e-7, 1 - 1e-7], and finite, larger
losses (with a gradient) where Keras's clip would flatten them.
"""

from __future__ import annotations

from ....vocab.base import name_or_object
from . import (
    crossentropy,
    focal,
    hinge,
    probabilistic,
    regression,
    segmentation,
    sequence,
    similarity,
)
from .base import EPSILON, LOSSES, Loss, Reduction, _same_rank, reduce

LossField = name_or_object(LOSSES)

__all__ = [
    "EPSILON",
    "LOSSES",
    "Loss",
    "LossField",
    "Reduction",
    "_same_rank",
    "crossentropy",
    "focal",
    "hinge",
    "probabilistic",
    "reduce",
    "regression",
    "segmentation",
    "sequence",
    "similarity",
]
