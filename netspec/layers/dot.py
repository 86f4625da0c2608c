"""Dot: the batchwise dot product of two inputs along one axis of each."""

from __future__ import annotations

from typing import Annotated, ClassVar, Literal

from pydantic import Field

from .base import Context, Shape, ShapeError, fmt_shape, register_layer
from .merge import _Merge


@register_layer
class Dot(_Merge):
    """Dot product of two samples along `axes` (Keras's `Dot`, i.e. `batch_dot`).

    For each sample, sums x * y over axis a1 of x and a2 of y; the output shape is x's shape
    without a1, then y's shape without the batch axis and a2. Two 2-D inputs give (batch, 1).
    (batch, 3, 5) and (batch, 10, 3) with `axes: [1, 2]` give (batch, 5, 10). The two axes
    must have equal sizes (a variable size matches only a variable one, as Keras's check).
    With `normalize`, samples are L2-normalized along the axes first: cosine similarity.
    """

    type: Literal["Dot"] = "Dot"
    mask_inputs: ClassVar[bool] = False  # Keras's Dot drops its inputs' masks (refused here)
    axes: int | Annotated[list[int], Field(min_length=2, max_length=2)] = Field(
        ...,
        description="Axis of both inputs, or [axis of the first, axis of the second], "
        "counted with the batch axis (which cannot be one of them); negative counts from the end.",
    )
    normalize: bool = Field(
        False,
        description="L2-normalize both inputs along the dot axes "
        "first, so the output is the cosine similarity.",
    )

    arity = (2, 2)
    examples = (
        {"args": {"axes": 1}, "inputs": [[4], [4]]},
        {"args": {"axes": -1, "normalize": True}, "inputs": [[4], [4]]},
        {"args": {"axes": [1, 2]}, "inputs": [[3, 5], [10, 3]]},
        {"args": {"axes": [2, 2]}, "inputs": [[None, 4], [6, 4]]},
        {"args": {"axes": 1}, "inputs": [[3], [3, 7]]},
        {"args": {"axes": [2, 1]}, "inputs": [[5, 3], [3]]},
        {"args": {"axes": [3, 1], "normalize": True}, "inputs": [[2, 3, 4], [4, 2, 3]]},
    )

    def dot_axes(self, shapes: list[Shape]) -> tuple[int, int]:
        """The two axes, counted with the batch axis, non-negative."""
        axes = [self.axes] * 2 if isinstance(self.axes, int) else self.axes
        out = []
        for axis, shape in zip(axes, shapes, strict=True):
            rank = len(shape) + 1
            if rank < 2:
                raise ShapeError(
                    f"Dot needs inputs of rank >= 2 (batch axis included), got {fmt_shape(shape)}"
                )
            if not -rank <= axis < rank or axis % rank == 0:
                what = "the batch axis" if -rank <= axis < rank else "out of range"
                raise ShapeError(
                    f"axis {axis} is {what} for an input of shape {fmt_shape(shape)}", "axes"
                )
            out.append(axis % rank)
        return out[0], out[1]

    def output_shape(self, shapes: list[Shape], ctx: Context) -> Shape:
        a1, a2 = self.dot_axes(shapes)
        x, y = shapes
        if x[a1 - 1] != y[a2 - 1]:
            raise ShapeError(
                f"the dot axes differ in size: {x[a1 - 1]} (axis {a1} of "
                f"{fmt_shape(x)}) and {y[a2 - 1]} (axis {a2} of {fmt_shape(y)})"
            )
        out = (*x[: a1 - 1], *x[a1:], *y[: a2 - 1], *y[a2:])
        return out or (1,)

    def build(self, shapes: list[Shape], ctx: Context):
        from ..torch.dot import DotModule

        return DotModule(*self.dot_axes(shapes), self.normalize)
