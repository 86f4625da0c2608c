"""Torch module of the Dense layer."""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn

from .activations import activation_fn
from .weights import create_weight


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
