"""Permute: reorders the axes of each sample (`dims` are 1-based, the batch axis stays)."""

from __future__ import annotations

from typing import Literal

from pydantic import Field

from .base import Context, Layer, Shape, ShapeError, fmt_shape, register_layer


@register_layer
class Permute(Layer):
    """Permutes the non-batch axes (Keras's `Permute`): output axis i is input axis dims[i-1].
    `dims` must be a permutation of 1..rank, the input's rank without the batch axis;
    `dims: [2, 1]` turns (batch, 10, 64) into (batch, 64, 10). The result is a view."""

    type: Literal["Permute"] = "Permute"
    dims: list[int] = Field(
        ...,
        min_length=1,
        description="Permutation of 1..rank (1-based, "
        "without the batch axis): output axis i is input axis dims[i-1].",
    )

    keeps_dtype = True
    examples = (
        {"args": {"dims": [2, 1]}, "inputs": [[3, 4]]},
        {"args": {"dims": [3, 1, 2]}, "inputs": [[2, 3, 4]], "dtypes": ["int32"]},
        {"args": {"dims": [1]}, "inputs": [[5]]},
        {"args": {"dims": [2, 1]}, "inputs": [[None, 4]]},
        {"args": {"dims": [1, 3, 2, 4]}, "inputs": [[2, 3, 4, 2]]},
    )

    def output_shape(self, shapes: list[Shape], ctx: Context) -> Shape:
        shape, dims = shapes[0], self.dims
        if sorted(dims) != list(range(1, len(dims) + 1)):
            raise ShapeError(
                f"dims {dims} is not a permutation of 1..{len(dims)} (1-based axes, "
                "the batch axis excluded)",
                "dims",
            )
        if len(dims) != len(shape):
            raise ShapeError(
                f"dims {dims} permutes {len(dims)} axes but the input "
                f"{fmt_shape(shape)} has {len(shape)} besides the batch axis",
                "dims",
            )
        return tuple(shape[d - 1] for d in dims)

    def build(self, shapes: list[Shape], ctx: Context):
        from ..torch.permute import PermuteModule

        return PermuteModule(tuple(self.dims))
