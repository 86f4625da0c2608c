"""Shared by the spatial layers (pooling, global pooling, padding, cropping, up-sampling,
locally connected): int-or-tuple arguments as Keras's `standardize_tuple` takes them, and the
spatial axes and channels of an input in its data_format."""

from __future__ import annotations

from typing import Annotated, ClassVar

from pydantic import Field, ValidationInfo, field_validator

from ..vocab.bounds import Count, Size
from .base import Context, Layer, Shape, need_rank

PositiveInt = Size
NonNegInt = Count
# An int (the same on every spatial axis) or one int per spatial axis; the length is checked
# against the layer's rank.
IntOrTuple = PositiveInt | Annotated[list[PositiveInt], Field(min_length=1, max_length=3)]
Pair = Annotated[list[NonNegInt], Field(min_length=2, max_length=2)]
# Padding / cropping of one axis: an int (both ends) or (before, after).
Amount1D = NonNegInt | Pair
# Of several axes: an int (every end), or per axis an int (both ends) or (before, after).
AmountND = NonNegInt | Annotated[list[NonNegInt | Pair], Field(min_length=1, max_length=3)]
DATA_FORMAT_DESCRIPTION = (
    "Layout of the input: channels_last (batch, *spatial, channels) or channels_first "
    "(batch, channels, *spatial). Default: the spec's data_format."
)


def as_tuple(value: int | list[int], n: int) -> tuple[int, ...]:
    return (value,) * n if isinstance(value, int) else tuple(value)


def pairs(value, rank: int) -> tuple[tuple[int, int], ...]:
    """A padding / cropping in Keras's normal form: one (before, after) pair per axis."""
    if isinstance(value, int):
        return ((value, value),) * rank
    if rank == 1:
        return (tuple(value),)
    return tuple((v, v) if isinstance(v, int) else tuple(v) for v in value)


class Spatial(Layer):
    """A layer on (batch, *spatial, channels) or (batch, channels, *spatial) inputs."""

    rank: ClassVar[int] = 2  # number of spatial axes

    @field_validator(
        "pool_size", "strides", "kernel_size", "size", "padding", "cropping", check_fields=False
    )
    @classmethod
    def _one_per_axis(cls, value, info: ValidationInfo):
        """A list gives one entry per spatial axis (except a 1D padding's (before, after))."""
        one_axis_pair = info.field_name in ("padding", "cropping") and cls.rank == 1
        if isinstance(value, list) and len(value) != cls.rank and not one_axis_pair:
            raise ValueError(
                f"{info.field_name} has {len(value)} entries; {cls.__name__} takes an int or "
                f"a list of {cls.rank} (one per spatial axis)"
            )
        return value

    def channels_first(self, ctx: Context) -> bool:
        """Layers without a data_format argument (Cropping1D, UpSampling1D) are channels_last."""
        fmt = getattr(self, "data_format", "channels_last")
        return (fmt or ctx.data_format) == "channels_first"

    def split(self, shape: Shape, ctx: Context) -> tuple[Shape, int | None]:
        """(spatial dims, channels) of an input, after checking its rank."""
        need_rank(shape, self.rank + 2)
        if self.channels_first(ctx):
            return shape[1:], shape[0]
        return shape[:-1], shape[-1]

    def join(self, spatial: Shape, channels: int | None, ctx: Context) -> Shape:
        if self.channels_first(ctx):
            return (channels, *spatial)
        return (*spatial, channels)

    def first_spatial_axis(self, ctx: Context) -> int:
        """Index of the first spatial axis in the full tensor (batch axis 0)."""
        return 2 if self.channels_first(ctx) else 1
