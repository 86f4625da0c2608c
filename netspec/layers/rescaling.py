"""Rescaling: `x * scale + offset` (Keras's `Rescaling`), and the array arguments (a number or
nested lists of numbers) that it and Normalization take, with their broadcasting checks."""

from __future__ import annotations

from typing import Literal

from pydantic import Field

from ..vocab.bounds import Float32
from .base import Context, Layer, Shape, ShapeError, fmt_shape, register_layer

# A number or a (nested, rectangular: value_shape checks it) array of numbers of rank 3 at
# most, as Keras takes numpy-like values. Each level is "a number or a list", whose JSON Schema
# branches are disjoint (number | array): editors' hovers garble overlapping `anyOf`s.
Values = Float32 | list[Float32 | list[Float32 | list[Float32]]]


def value_shape(value: object, field: str) -> tuple[int, ...]:
    """The array shape of a number or nested lists (ShapeError for ragged or empty lists)."""
    if not isinstance(value, list):
        return ()
    if not value:
        raise ShapeError("an empty list has no values", field)
    inner = [value_shape(v, field) for v in value]
    if any(s != inner[0] for s in inner):
        raise ShapeError(f"nested lists of unequal shapes {sorted(set(inner))}", field)
    return (len(value), *inner[0])


def check_broadcast(shape: tuple[int, ...], full: Shape, what: str, field: str) -> None:
    """ShapeError unless an array of `shape` broadcasts to the shape `full` (numpy's rule,
    aligned on the last axis) without changing it: each of its sizes 1 or the input's."""
    if len(shape) > len(full):
        raise ShapeError(f"{what} of shape {shape} has more axes than the input {full}", field)
    for size, dim in zip(reversed(shape), reversed(full), strict=False):
        if size != 1 and size != dim:
            raise ShapeError(
                f"{what} of shape {shape} does not broadcast to the input's shape "
                f"{fmt_shape(full[1:])} (each size must be 1 or the input's)",
                field,
            )


@register_layer
class Rescaling(Layer):
    """Keras's `Rescaling`: `x * scale + offset`, the input cast to float32 first (integer
    images included); output float32. `scale` and `offset` are numbers or arrays that
    broadcast over the input as numpy broadcasts (aligned on the last axis: a list of C values
    is one per channel of channels_last data). As in Keras, when the spec's data_format
    (Keras's `image_data_format`) is channels_first an array `scale` of rank r < 3 is given
    r - 3 trailing axes of size 1 (C values become (C, 1, 1): one per channel of a
    channels_first image), while `offset` always aligns on the last axis. No weights."""

    type: Literal["Rescaling"] = "Rescaling"
    scale: Values = Field(
        description="The scale to apply to the inputs: a number, or an array (nested lists) "
        "broadcast over the input (e.g. one value per channel)."
    )
    offset: Values = Field(
        0.0,
        description="The offset added after scaling: a number, or an array broadcast over the "
        "input's last axes.",
    )

    propagates_mask = True
    examples = (
        {"args": {"scale": 0.00392156862745098}, "inputs": [[4, 4, 3]], "dtypes": ["uint8"]},
        {"args": {"scale": 0.0078125, "offset": -1}, "inputs": [[None, 3]]},
        {"args": {"scale": [1.0, 2.0, 0.5], "offset": [0.1, 0.0, -0.2]}, "inputs": [[2, 3]]},
        {"args": {"scale": [[2.0], [3.0]], "offset": 1.5}, "inputs": [[2, 5]]},
        {"args": {"scale": 2, "offset": [1.0, -1.0]}, "inputs": [[3, 2]], "dtypes": ["float64"]},
        {
            "args": {"scale": [2.0, 0.5], "offset": [1.0, 2.0, 3.0]},
            "inputs": [[2, 4, 3]],
            "data_format": "channels_first",
        },
    )

    def scale_shape(self, ctx: Context) -> tuple[int, ...]:
        """The shape Keras broadcasts `scale` with (its channels_first reshape applied)."""
        shape = value_shape(self.scale, "scale")
        if shape and ctx.data_format == "channels_first":
            shape = shape + (1,) * (3 - len(shape))
        return shape

    def output_shape(self, shapes: list[Shape], ctx: Context) -> Shape:
        full = (None, *shapes[0])
        check_broadcast(self.scale_shape(ctx), full, "scale", "scale")
        check_broadcast(value_shape(self.offset, "offset"), full, "offset", "offset")
        return shapes[0]

    def build(self, shapes: list[Shape], ctx: Context):
        from ..torch.rescaling import RescalingModule

        return RescalingModule(self.scale, self.scale_shape(ctx), self.offset)
