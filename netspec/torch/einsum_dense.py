"""Torch module of the EinsumDense layer (imported by its builder)."""

from __future__ import annotations

import torch
from torch import nn

from .weights import create_weight


class EinsumDenseModule(nn.Module):
    """Keras EinsumDense: `torch.einsum(equation, x, kernel)` (Keras's torch backend runs the
    same), plus the bias broadcast on the output's last axes, then the activation. The kernel
    and the bias are stored in Keras's layout. Integer and bool inputs are computed in float32
    (Keras's einsum refuses an integer input with a float kernel)."""

    def __init__(self, spec, weights, ctx):
        super().__init__()
        self.equation = spec.equation
        create_weight(self, weights[0], ctx)
        if len(weights) > 1:
            create_weight(self, weights[1], ctx)
        else:
            self.register_parameter("bias", None)
        act = spec.activation
        self.act = None if act is None or act.type == "linear" else act.function()

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        if not x.is_floating_point():
            x = x.float()
        y = torch.einsum(self.equation, x, self.kernel)
        if self.bias is not None:
            y = y + self.bias
        return y if self.act is None else self.act(y)

    def extra_repr(self) -> str:
        return f"'{self.equation}'"
