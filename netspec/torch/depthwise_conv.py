"""Torch module of DepthwiseConv1D/2D."""

from __future__ import annotations

from .conv import ConvModule


class DepthwiseConvModule(ConvModule):
    """Keras DepthwiseConv1D/2D: one convolution grouped by input channel, its kernel stored
    (in, multiplier, *window) and viewed as torch's (in * multiplier, 1, *window)."""

    def __init__(self, spec, spatial, weights, ctx):
        super().__init__(spec, spatial, weights, ctx, depthwise=True)
