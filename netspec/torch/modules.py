"""Torch modules of the built-in layers (imported by builders, never by spec code)."""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn

from .weights import create_weight


def activation_fn(spec):
    """The torch callable of an activation spec, None for linear (nothing to call)."""
    if spec is None or spec.type == "linear":
        return None
    return spec.function()


class DenseModule(nn.Module):
    """Keras Dense. The kernel is stored (units, in) so F.linear uses it as nn.Linear does."""

    def __init__(self, spec, weights, ctx):
        super().__init__()
        create_weight(self, weights[0], ctx, perm=(1, 0))
        if spec.use_bias:
            create_weight(self, weights[1], ctx)
        else:
            self.register_parameter("bias", None)
        self.act = activation_fn(spec.activation)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        if not x.is_floating_point():  # integer and bool inputs as float32, as Keras
            x = x.float()
        y = F.linear(x, self.kernel, self.bias)
        return y if self.act is None else self.act(y)
