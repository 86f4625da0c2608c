"""Transposed convolutions: Conv1DTranspose, Conv2DTranspose, Conv3DTranspose."""

from __future__ import annotations

from typing import Literal

from pydantic import Field, ValidationInfo, field_validator

from ..vocab.bounds import MAX_SIZE
from .base import Context, Shape, ShapeError, Weight, fmt_shape, register_layer
from .conv_base import CF, Ints, SpatialConv, example, ntuple
from .dense import WeightedLayer, activated


class BaseConvTranspose(SpatialConv, WeightedLayer):
    """Keras's `BaseConvTranspose`: the gradient of a convolution with respect to its input,
    `activation(conv_transpose(x, kernel) + bias)`, kernel (*kernel_size, filters, in_channels).

    Output size along each axis (Keras's `compute_conv_transpose_output_shape`), with
    span = (kernel_size - 1) * dilation_rate + 1: `valid`: (n - 1) * strides + span +
    output_padding, output_padding defaulting to max(span, strides) - span; `same`:
    n * strides, or (n - 1) * strides + span % 2 + output_padding when output_padding is given.
    """

    filters: int = Field(..., gt=0, le=MAX_SIZE, description="Number of output channels.")
    output_padding: Ints | None = Field(
        None,
        description="Extra size at the end of each output axis: an integer, or one per axis, "
        "each smaller than its stride. Default: inferred from padding (see the shape rule).",
    )

    @field_validator("output_padding")
    @classmethod
    def _check_output_padding(cls, value: Ints | None, info: ValidationInfo) -> Ints | None:
        if value is not None:
            values = ntuple(value, cls.rank, "output_padding", 0)
            strides = info.data.get("strides", max(values) + 1)
            if any(o >= s for o, s in zip(values, ntuple(strides, cls.rank), strict=True)):
                raise ValueError(f"output_padding {value} must be smaller than strides {strides}")
        return value

    def output_shape(self, shapes: list[Shape], ctx: Context) -> Shape:
        spatial, _ = self.split(shapes[0], ctx)
        extras = self.tup("output_padding") if self.output_padding is not None else None
        out = []
        for axis, (n, (k, s, d)) in enumerate(zip(spatial, self.windows(), strict=True)):
            span, extra = (k - 1) * d + 1, None if extras is None else extras[axis]
            if n is None:
                size = None
            elif self.padding == "valid":
                size = (n - 1) * s + span + (max(span, s) - span if extra is None else extra)
            else:
                size = n * s if extra is None else (n - 1) * s + span % 2 + extra
            if size is not None and size <= 0:
                raise ShapeError(
                    f"the output would be empty on spatial axis {axis} for input "
                    f"{fmt_shape(shapes[0])}: (n - 1) * strides + span % 2 + output_padding is 0",
                    "output_padding",
                )
            out.append(size)
        return activated(self.activation, self.join(tuple(out), self.filters, ctx))

    def weights(self, shapes: list[Shape], ctx: Context) -> list[Weight]:
        channels = self.split(shapes[0], ctx)[1]
        return self.kernel_and_bias(
            (*self.tup("kernel_size"), self.filters, channels), self.filters
        )

    def build(self, shapes: list[Shape], ctx: Context):
        from ..torch.conv_transpose import ConvTransposeModule

        spatial = self.split(shapes[0], ctx)[0]
        return ConvTransposeModule(self, spatial, self.graph_weights(shapes, ctx), ctx)


@register_layer
class Conv1DTranspose(BaseConvTranspose):
    """1-D transposed convolution over (batch, steps, channels), or (batch, channels, steps)
    with channels_first (Keras's `Conv1DTranspose`)."""

    type: Literal["Conv1DTranspose", "Convolution1DTranspose"] = "Conv1DTranspose"

    rank = 1
    examples = (
        example([[5, 3]], filters=2, kernel_size=3),
        example([[4, 2]], filters=3, kernel_size=3, strides=2, padding="same"),
        example([[2, None]], CF, filters=2, kernel_size=4, strides=3, output_padding=1),
        example([[None, 2]], filters=2, kernel_size=1, strides=3, padding="same", output_padding=2),
        example([[6, 2]], filters=1, kernel_size=2, dilation_rate=3, padding="same"),
    )


@register_layer
class Conv2DTranspose(BaseConvTranspose):
    """2-D transposed convolution over (batch, rows, cols, channels), or (batch, channels,
    rows, cols) with channels_first (Keras's `Conv2DTranspose`): the upsampling of decoders."""

    type: Literal["Conv2DTranspose", "Convolution2DTranspose"] = "Conv2DTranspose"

    examples = (
        example([[3, 4, 2]], filters=3, kernel_size=3, strides=2, padding="same"),
        example([[3, 3, 2]], CF, filters=2, kernel_size=[2, 3], strides=[2, 1]),
        example([[None, 3, 1]], filters=2, kernel_size=5, strides=2, padding="same"),
        example([[2, 3, 2]], filters=2, kernel_size=4, strides=3, output_padding=[2, 0]),
        example([[4, 4, 3]], filters=2, kernel_size=3, padding="same", output_padding=0,
                data_format=CF, activation="relu"),
        example([[3, 2, 2]], filters=2, kernel_size=2, dilation_rate=2, use_bias=False),
    )  # fmt: skip


@register_layer
class Conv3DTranspose(BaseConvTranspose):
    """3-D transposed convolution over (batch, d1, d2, d3, channels), or (batch, channels, d1,
    d2, d3) with channels_first (Keras's `Conv3DTranspose`)."""

    type: Literal["Conv3DTranspose", "Convolution3DTranspose"] = "Conv3DTranspose"

    rank = 3
    examples = (
        example([[2, 3, 2, 2]], filters=2, kernel_size=2, strides=2),
        example([[2, 2, 3, 2]], CF, filters=3, kernel_size=3, strides=[1, 2, 2], padding="same"),
        example([[None, 2, 2, 1]], filters=2, kernel_size=[1, 2, 3], padding="same"),
    )
