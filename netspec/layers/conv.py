"""Convolutions: Conv1D, Conv2D, Conv3D (Keras's `BaseConv`), on SpatialConv's window
arguments and shape rules (conv_base.py)."""

from __future__ import annotations

from typing import Literal

from pydantic import Field, ValidationInfo, field_validator

from ..vocab.bounds import MAX_SIZE
from .base import Context, Shape, ShapeError, Weight, register_layer
from .conv_base import CF, PADDING, SpatialConv, example
from .dense import WeightedLayer, activated


class BaseConv(SpatialConv, WeightedLayer):
    """Keras's `BaseConv`: `activation(conv(x, kernel) + bias)`, kernel (*kernel_size,
    in_channels / groups, filters)."""

    filters: int = Field(..., gt=0, le=MAX_SIZE, description="Number of output channels.")
    groups: int = Field(
        1,
        gt=0,
        le=MAX_SIZE,
        description="Number of groups the channels are split in, each convolved separately "
        "(divides filters and the input's channels).",
    )

    @field_validator("groups")
    @classmethod
    def _check_groups(cls, value: int, info: ValidationInfo) -> int:
        if info.data.get("filters", value) % value:
            raise ValueError(f"groups ({value}) must divide filters ({info.data['filters']})")
        return value

    def output_shape(self, shapes: list[Shape], ctx: Context) -> Shape:
        spatial, channels = self.split(shapes[0], ctx)
        if channels % self.groups:
            raise ShapeError(
                f"groups ({self.groups}) must divide the input's {channels} channels", "groups"
            )
        out = self.join(self.conv_spatial(shapes[0], spatial), self.filters, ctx)
        return activated(self.activation, out)

    def weights(self, shapes: list[Shape], ctx: Context) -> list[Weight]:
        channels = self.split(shapes[0], ctx)[1]
        kernel = (*self.tup("kernel_size"), channels // self.groups, self.filters)
        return self.kernel_and_bias(kernel, self.filters)

    def build(self, shapes: list[Shape], ctx: Context):
        from ..torch.conv import ConvModule

        spatial = self.split(shapes[0], ctx)[0]
        return ConvModule(self, spatial, self.graph_weights(shapes, ctx), ctx)


@register_layer
class Conv1D(BaseConv):
    """1-D convolution over (batch, steps, channels), or (batch, channels, steps) with
    channels_first (Keras's `Conv1D`). `padding: causal` pads dilation_rate * (kernel_size - 1)
    zeros at the start only, so output t never sees inputs after t (Keras's causal padding)."""

    type: Literal["Conv1D", "Convolution1D"] = "Conv1D"
    # Conv1D alone takes `causal` (as Keras): a field wider than the inherited one, which
    # pydantic validates as declared here; the type checker holds subclasses to the base's.
    padding: Literal["valid", "same", "causal"] = Field(  # type: ignore[assignment]
        "valid",
        description=PADDING + " causal: "
        "dilation_rate * (kernel_size - 1) zeros before the first step only.",
    )

    rank = 1
    examples = (
        example([[7, 2]], filters=4, kernel_size=3),
        example([[9, 2]], filters=3, kernel_size=4, padding="same", strides=2),
        example([[None, 3]], filters=2, kernel_size=[3], padding="causal", dilation_rate=2),
        example(
            [[6, 3]], CF, filters=4, kernel_size=2, padding="causal", strides=2, activation="relu"
        ),
        example([[None, 6]], filters=6, kernel_size=3, groups=3, padding="same", strides=3),
        example([[3, 5]], filters=2, kernel_size=5, use_bias=False, data_format=CF),
    )


@register_layer
class Conv2D(BaseConv):
    """2-D convolution over (batch, rows, cols, channels), or (batch, channels, rows, cols) with
    channels_first (Keras's `Conv2D`); `same` padding is Keras's (the extra zero of an odd
    padding at the end), also with strides > 1 and even kernels, where torch has no such mode."""

    type: Literal["Conv2D", "Convolution2D"] = "Conv2D"

    examples = (
        example([[6, 5, 2]], filters=4, kernel_size=3),
        example([[8, 7, 3]], filters=3, kernel_size=[3, 2], strides=[2, 1], padding="same"),
        example([[2, None, 6]], CF, filters=2, kernel_size=3, strides=2, padding="same"),
        example([[5, None, 3]], filters=2, kernel_size=2, dilation_rate=[2, 1], padding="same"),
        example([[4, 3, 3]], filters=4, kernel_size=1, groups=2, data_format=CF, activation="tanh"),
        example([[7, 8, 2]], filters=3, kernel_size=[2, 3], strides=3, kernel_regularizer="l2"),
        example(
            [[5, 5, 1]], filters=2, kernel_size=3, kernel_constraint="max_norm", padding="same"
        ),
    )


@register_layer
class Conv3D(BaseConv):
    """3-D convolution over (batch, d1, d2, d3, channels), or (batch, channels, d1, d2, d3) with
    channels_first (Keras's `Conv3D`)."""

    type: Literal["Conv3D", "Convolution3D"] = "Conv3D"

    rank = 3
    examples = (
        example([[3, 4, 3, 2]], filters=2, kernel_size=2),
        example(
            [[5, 4, 3, 1]], CF, filters=3, kernel_size=[3, 2, 1], strides=[2, 1, 2], padding="same"
        ),
        example(
            [[None, 3, 4, 2]], filters=2, kernel_size=2, dilation_rate=2, padding="same", groups=2
        ),
    )
