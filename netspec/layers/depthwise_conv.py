"""Depthwise convolutions: DepthwiseConv1D, DepthwiseConv2D."""

from __future__ import annotations

from typing import Literal

from pydantic import Field

from ..vocab import ActivationField, ConstraintField, InitializerField, RegularizerField
from ..vocab.bounds import MAX_SIZE
from .base import Context, Shape, Weight, register_layer
from .conv_base import CF, SpatialConv, example
from .dense import activated


class BaseDepthwiseConv(SpatialConv):
    """Keras's `BaseDepthwiseConv`: each input channel convolved with its own `depth_multiplier`
    filters, `activation(depthwise_conv(x, kernel) + bias)`; the kernel is (*kernel_size,
    in_channels, depth_multiplier) and output channel c * depth_multiplier + m comes from input
    channel c."""

    depth_multiplier: int = Field(
        1, gt=0, le=MAX_SIZE, description="Number of output channels per input channel."
    )
    activation: ActivationField | None = Field(
        None, description="Activation applied to the output (none: linear)."
    )
    use_bias: bool = Field(True, description="Whether the layer adds a bias vector.")
    depthwise_initializer: InitializerField = Field(
        "glorot_uniform", validate_default=True, description="Initializer of the depthwise kernel."
    )
    bias_initializer: InitializerField = Field(
        "zeros", validate_default=True, description="Initializer of the bias."
    )
    depthwise_regularizer: RegularizerField | None = Field(
        None, description="Penalty on the depthwise kernel, added to the training loss."
    )
    bias_regularizer: RegularizerField | None = Field(
        None, description="Penalty on the bias, added to the training loss."
    )
    activity_regularizer: RegularizerField | None = Field(
        None, description="Penalty on the layer's output, divided by the batch size (as Keras)."
    )
    depthwise_constraint: ConstraintField | None = Field(
        None, description="Projection applied to the depthwise kernel after each optimizer step."
    )
    bias_constraint: ConstraintField | None = Field(
        None, description="Projection applied to the bias after each optimizer step."
    )

    def out_channels(self, channels: int) -> int:
        return channels * self.depth_multiplier

    def output_shape(self, shapes: list[Shape], ctx: Context) -> Shape:
        spatial, channels = self.split(shapes[0], ctx)
        out = self.join(self.conv_spatial(shapes[0], spatial), self.out_channels(channels), ctx)
        return activated(self.activation, out)

    def depthwise_and_bias(self, name: str, channels: int, bias: int) -> list[Weight]:
        shape = (*self.tup("kernel_size"), channels, self.depth_multiplier)
        out = [
            Weight(
                name,
                shape,
                self.depthwise_initializer,
                self.depthwise_regularizer,
                self.depthwise_constraint,
            )
        ]
        if self.use_bias:
            out.append(
                Weight(
                    "bias", (bias,), self.bias_initializer, self.bias_regularizer,
                    self.bias_constraint,
                )
            )  # fmt: skip
        return out

    def weights(self, shapes: list[Shape], ctx: Context) -> list[Weight]:
        channels = self.split(shapes[0], ctx)[1]
        return self.depthwise_and_bias("kernel", channels, self.out_channels(channels))

    def build(self, shapes: list[Shape], ctx: Context):
        from ..torch.depthwise_conv import DepthwiseConvModule

        spatial = self.split(shapes[0], ctx)[0]
        return DepthwiseConvModule(self, spatial, self.graph_weights(shapes, ctx), ctx)


@register_layer
class DepthwiseConv1D(BaseDepthwiseConv):
    """1-D depthwise convolution over (batch, steps, channels), or (batch, channels, steps)
    with channels_first (Keras's `DepthwiseConv1D`)."""

    type: Literal["DepthwiseConv1D"] = "DepthwiseConv1D"

    rank = 1
    examples = (
        example([[6, 3]], kernel_size=3),
        example([[7, 2]], kernel_size=2, strides=2, padding="same", depth_multiplier=3),
        example([[2, None]], CF, kernel_size=3, dilation_rate=2, padding="same", use_bias=False),
    )


@register_layer
class DepthwiseConv2D(BaseDepthwiseConv):
    """2-D depthwise convolution over (batch, rows, cols, channels), or (batch, channels, rows,
    cols) with channels_first (Keras's `DepthwiseConv2D`)."""

    type: Literal["DepthwiseConv2D"] = "DepthwiseConv2D"

    examples = (
        example([[5, 5, 3]], kernel_size=3, depth_multiplier=2),
        example([[3, 6, 5]], CF, kernel_size=[2, 3], strides=2, padding="same", activation="relu"),
        example([[None, 4, 2]], kernel_size=2, strides=[2, 1], padding="same"),
        example([[2, 6, 6]], kernel_size=3, dilation_rate=2, depthwise_constraint="unit_norm",
                depthwise_regularizer="l2", data_format=CF),
    )  # fmt: skip
