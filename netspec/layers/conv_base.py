"""SpatialConv: the window arguments and shape rules that every convolution family shares
(Conv, ConvTranspose, DepthwiseConv, SeparableConv: Keras's `BaseConv`,
`keras.src.ops.operation_utils`), and the helpers of their examples."""

from __future__ import annotations

import math
from typing import Annotated, ClassVar, Literal

from pydantic import Field, ValidationInfo, field_validator

from ..vocab.bounds import MAX_SIZE
from .base import Context, DataFormat, Layer, Shape, ShapeError, fmt_shape

Bounded = Annotated[int, Field(le=MAX_SIZE)]  # positive: checked by `ntuple`
Ints = Bounded | list[Bounded]
CF = "channels_first"
PADDING = (
    "valid: no padding; same: zeros around the input so that the output has "
    "ceil(input / strides) positions (an odd padding puts the extra zero at the end)."
)


class SpatialConv(Layer):
    """The window arguments of every convolution, Keras's names and defaults. `kernel_size`,
    `strides` and `dilation_rate` take one integer for every spatial axis, or one per axis."""

    kernel_size: Ints = Field(..., description="Size of the window: an integer, or one per axis.")
    strides: Ints = Field(1, description="Step of the window: an integer, or one per axis.")
    padding: Literal["valid", "same"] = Field("valid", description=PADDING)
    data_format: DataFormat | None = Field(
        None,
        description="Layout of input and output: channels_last (batch, ..., channels) or "
        "channels_first (batch, channels, ...). Default: the spec's data_format.",
    )
    dilation_rate: Ints = Field(1, description="Spacing of the taps: an integer, or one per axis.")

    rank: ClassVar[int] = 2  # number of spatial axes

    @field_validator("kernel_size", "strides", "dilation_rate")
    @classmethod
    def _check_ints(cls, value: Ints, info: ValidationInfo) -> Ints:
        values = ntuple(value, cls.rank, info.field_name or "")  # a field's validator: named
        strides = info.data.get("strides")
        if info.field_name == "dilation_rate" and strides is not None:
            if max(values) > 1 and max(ntuple(strides, cls.rank)) > 1:
                raise ValueError(
                    "dilation_rate > 1 is incompatible with strides > 1 (Keras refuses both)"
                )
        return value

    def tup(self, name: str) -> tuple[int, ...]:
        return ntuple(getattr(self, name), self.rank, name, 0)

    def channels_first(self, ctx: Context) -> bool:
        return (self.data_format or ctx.data_format) == "channels_first"

    def split(self, shape: Shape, ctx: Context) -> tuple[Shape, int]:
        """(spatial axes, channels) of an input, which must have the layer's rank."""
        first = self.channels_first(ctx)
        if len(shape) != self.rank + 1:
            layout = "channels, spatial axes" if first else "spatial axes, channels"
            raise ShapeError(
                f"expects an input of rank {self.rank + 2} (batch, {layout}; {self.rank} spatial "
                f"axes), got shape {fmt_shape(shape)}"
            )
        channels, spatial = (shape[0], shape[1:]) if first else (shape[-1], shape[:-1])
        if channels is None:
            raise ShapeError(f"the channels axis must be known, got shape {fmt_shape(shape)}")
        return spatial, channels

    def join(self, spatial: Shape, channels: int, ctx: Context) -> Shape:
        return (channels, *spatial) if self.channels_first(ctx) else (*spatial, channels)

    def windows(self) -> list[tuple[int, int, int]]:
        """(kernel size, stride, dilation) of each spatial axis."""
        return list(zip(*map(self.tup, ("kernel_size", "strides", "dilation_rate")), strict=True))

    def temporary_elements(self, shapes: list[Shape], ctx: Context) -> int:
        """`same` and `causal` padding copy the input with (k - 1) * d zeros per axis at most
        (Keras pads the same way): a dilation of 2^31 takes that much memory."""
        if self.padding == "valid":
            return 0
        spatial, channels = self.split(shapes[0], ctx)
        padded = [
            (n or 1) + (k - 1) * d for n, (k, _, d) in zip(spatial, self.windows(), strict=True)
        ]
        return channels * math.prod(padded)

    def conv_spatial(self, shape: Shape, spatial: Shape) -> Shape:
        """Keras's `compute_conv_output_shape` for the spatial axes (None stays None)."""
        out = []
        for axis, (n, (k, s, d)) in enumerate(zip(spatial, self.windows(), strict=True)):
            span, valid = (k - 1) * d + 1, self.padding == "valid"
            if valid and n is not None and n < span:
                raise ShapeError(
                    f"the window ({span} wide on spatial axis {axis}) is larger than the "
                    f"input {fmt_shape(shape)} with padding 'valid'",
                    "kernel_size",
                )
            out.append(None if n is None else (n - span) // s + 1 if valid else (n - 1) // s + 1)
        return tuple(out)


def example(inputs: list, data_format: str | None = None, **args) -> dict:
    """A layer example (see `Layer.examples`), written compactly."""
    out = {"args": args, "inputs": inputs}
    return out if data_format is None else {**out, "data_format": data_format}


def ntuple(value: Ints, rank: int, name: str = "", low: int = 1) -> tuple[int, ...]:
    """Keras's `standardize_tuple`: an integer for every axis, or a list of `rank` integers."""
    values = (value,) * rank if isinstance(value, int) else tuple(value)
    if len(values) != rank:
        raise ValueError(f"{name} needs one integer or a list of {rank}, got {value}")
    if any(v < low for v in values):
        raise ValueError(f"{name} entries must be >= {low}, got {value}")
    return values
