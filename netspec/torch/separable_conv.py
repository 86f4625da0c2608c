"""Torch module of SeparableConv1D/2D."""

from __future__ import annotations

import torch

from .conv import CONV, BaseConvModule


class SeparableConvModule(BaseConvModule):
    """Keras SeparableConv1D/2D: a depthwise convolution (no bias), then a 1x1 convolution with
    the bias, as Keras's `separable_conv`."""

    def __init__(self, spec, spatial, weights, ctx):
        super().__init__(spec, spatial, ctx)
        self.views = self.add_weights(weights, ctx)
        self.groups = weights[0].shape[-2]
        self.op = CONV[self.rank]

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        (dv, pv), dw, pw = self.views, self.depthwise_kernel, self.pointwise_kernel
        dw, pw = dw if dv is None else dw.view(dv), pw if pv is None else pw.view(pv)
        y = self.op(self.first(x), dw, None, self.stride, self.padding, self.dilation, self.groups)
        return self.last(self.op(y, pw, self.bias))
