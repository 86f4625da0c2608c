"""Torch module of LocallyConnected1D/2D (Keras 2's unshared-weight convolution)."""

from __future__ import annotations

import torch
from torch import nn

from .activations import activation_fn
from .base import as_float
from .weights import create_weight


class LocallyConnectedModule(nn.Module):
    """Keras 2's LocallyConnected1D/2D, implementation 1, vectorised: `Tensor.unfold` views the
    input's patches (no copy), one einsum contracts each output position's patch with its own
    kernel matrix (a batched matmul over positions).

    The kernel is stored in Keras 2's layout (positions, patch features, filters) and viewed as
    (*positions, *patch axes in the input's layout order, filters) for the einsum; the bias
    (*positions, filters) is added as Keras 2's `bias_add` does: reshaped (not transposed) to
    (filters, *positions) for channels_first.
    """

    def __init__(self, spec, weights, ctx, kernel, strides, out, channels, channels_first):
        super().__init__()
        create_weight(self, weights[0], ctx)
        if spec.use_bias:
            create_weight(self, weights[1], ctx)
        else:
            self.register_parameter("bias", None)
        self.act = activation_fn(spec.activation)
        self.kernel_size = tuple(kernel)
        self.strides = tuple(strides)
        self.channels_first = channels_first
        rank, filters = len(kernel), spec.filters
        first = 2 if channels_first else 1
        self.axes = tuple(range(first, first + rank))  # spatial axes of the input
        positions = "hw"[:rank]
        window = "ij"[:rank]
        if channels_first:
            # unfold: (b, c, *positions, *window); features (c, *window); out (b, f, *positions)
            self.kernel_view = (*out, channels, *kernel, filters)
            self.equation = f"bc{positions}{window},{positions}c{window}f->bf{positions}"
            self.bias_view = (filters, *out)
        else:
            # unfold: (b, *positions, c, *window); features (*window, c); out (b, *positions, f)
            self.kernel_view = (*out, *kernel, channels, filters)
            self.equation = f"b{positions}c{window},{positions}{window}cf->b{positions}f"
            self.bias_view = (*out, filters)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = as_float(x)
        for axis, k, s in zip(self.axes, self.kernel_size, self.strides, strict=True):
            x = x.unfold(axis, k, s)
        y = torch.einsum(self.equation, x, self.kernel.view(self.kernel_view))
        if self.bias is not None:
            y = y + self.bias.view(self.bias_view)
        return y if self.act is None else self.act(y)

    def extra_repr(self) -> str:
        return f"kernel_size={self.kernel_size}, strides={self.strides}"
