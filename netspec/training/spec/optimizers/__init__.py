"""Keras 3 optimizers as spec objects, run by PyTorch optimizers (torch imported when called).

A spec names an optimizer (`adam`) or gives `{type: Adam, learning_rate: 0.01, ...}` with Keras's
argument names and defaults. `make(params)` returns a `torch.optim.Optimizer` whose `step()` is
Keras's `apply`: loss-scale unscaling, gradient accumulation, clipping, decoupled weight decay,
the update rule and the moving average of the weights (`base`, `native` for the rules
PyTorch has, `ported` for the others). `EXCLUDED`: the Keras optimizer classes netspec
does not offer, with the reason.
"""

from __future__ import annotations

from ....vocab.base import name_or_object
from .base import OPTIMIZERS, Optimizer
from .native import SGD, Adadelta, Adagrad, Adam, Adamax, AdamW, Nadam, RMSprop
from .ported import Adafactor, Ftrl, Lamb, Lion, Muon, ScheduleFreeAdamW

EXCLUDED = {
    "Optimizer": "the base class, not an optimizer of its own",
    "LossScaleOptimizer": "dynamic loss scaling wraps another optimizer: netspec's "
    "`--precision 16-mixed` does it (torch's GradScaler); `loss_scale_factor` is the static one",
    "MultiOptimizer": "one optimizer per group of variables, chosen by a Python mapping of "
    "variables (an OptimizerMap): a spec has one `compile.optimizer`",
    "OptimizerMap": "the variable-to-optimizer mapping of MultiOptimizer, not an optimizer",
}

OptimizerField = name_or_object(OPTIMIZERS)

__all__ = [
    "EXCLUDED",
    "OPTIMIZERS",
    "SGD",
    "Adadelta",
    "Adafactor",
    "Adagrad",
    "Adam",
    "AdamW",
    "Adamax",
    "Ftrl",
    "Lamb",
    "Lion",
    "Muon",
    "Nadam",
    "Optimizer",
    "OptimizerField",
    "RMSprop",
    "ScheduleFreeAdamW",
]
