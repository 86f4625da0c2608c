"""Depthwise-separable convolutions: SeparableConv1D, SeparableConv2D."""

from __future__ import annotations

from typing import Literal

from pydantic import Field

from ..vocab import ConstraintField, InitializerField, RegularizerField
from ..vocab.bounds import MAX_SIZE
from .base import Context, Shape, Weight, register_layer
from .conv_base import CF, example
from .depthwise_conv import BaseDepthwiseConv


class BaseSeparableConv(BaseDepthwiseConv):
    """Keras's `BaseSeparableConv`: a depthwise convolution (kernel (*kernel_size, in_channels,
    depth_multiplier), no bias), then a pointwise one (kernel (1, ..., in_channels *
    depth_multiplier, filters)) mixing the channels, then the bias and the activation."""

    filters: int = Field(..., gt=0, le=MAX_SIZE, description="Number of output channels.")
    pointwise_initializer: InitializerField = Field(
        "glorot_uniform", validate_default=True, description="Initializer of the pointwise kernel."
    )
    pointwise_regularizer: RegularizerField | None = Field(
        None, description="Penalty on the pointwise kernel, added to the training loss."
    )
    pointwise_constraint: ConstraintField | None = Field(
        None, description="Projection applied to the pointwise kernel after each optimizer step."
    )

    def out_channels(self, channels: int) -> int:
        return self.filters

    def weights(self, shapes: list[Shape], ctx: Context) -> list[Weight]:
        channels = self.split(shapes[0], ctx)[1]
        depthwise, *bias = self.depthwise_and_bias("depthwise_kernel", channels, self.filters)
        pointwise = Weight(
            "pointwise_kernel",
            (*(1,) * self.rank, channels * self.depth_multiplier, self.filters),
            self.pointwise_initializer,
            self.pointwise_regularizer,
            self.pointwise_constraint,
        )
        return [depthwise, pointwise, *bias]

    def build(self, shapes: list[Shape], ctx: Context):
        from ..torch.separable_conv import SeparableConvModule

        spatial = self.split(shapes[0], ctx)[0]
        return SeparableConvModule(self, spatial, self.graph_weights(shapes, ctx), ctx)


@register_layer
class SeparableConv1D(BaseSeparableConv):
    """1-D separable convolution over (batch, steps, channels), or (batch, channels, steps)
    with channels_first (Keras's `SeparableConv1D`)."""

    type: Literal["SeparableConv1D", "SeparableConvolution1D"] = "SeparableConv1D"

    rank = 1
    examples = (
        example([[6, 3]], filters=4, kernel_size=3),
        example([[7, 2]], filters=2, kernel_size=2, strides=2, padding="same", depth_multiplier=2),
        example([[3, None]], CF, filters=3, kernel_size=3, dilation_rate=2, padding="same"),
    )


@register_layer
class SeparableConv2D(BaseSeparableConv):
    """2-D separable convolution over (batch, rows, cols, channels), or (batch, channels, rows,
    cols) with channels_first (Keras's `SeparableConv2D`)."""

    type: Literal["SeparableConv2D", "SeparableConvolution2D"] = "SeparableConv2D"

    examples = (
        example([[5, 5, 3]], filters=4, kernel_size=3, depth_multiplier=2),
        example([[2, 5, 6]], CF, filters=3, kernel_size=[2, 3], strides=2, padding="same"),
        example([[None, 4, 2]], filters=2, kernel_size=2, padding="same", use_bias=False,
                pointwise_regularizer="l1", pointwise_constraint="non_neg", activation="elu"),
    )  # fmt: skip
