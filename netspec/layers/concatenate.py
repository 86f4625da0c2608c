"""Concatenate: joins its inputs along one axis."""

from __future__ import annotations

from typing import Literal

from pydantic import Field

from .base import Context, Shape, ShapeError, fmt_shape, register_layer
from .merge import _Merge


@register_layer
class Concatenate(_Merge):
    """Concatenates its inputs along `axis` (Keras's `Concatenate`). The inputs must have the
    same rank and the same sizes on every other axis (a variable size matches any); the output
    takes the first input's shape with the sizes along `axis` summed (None if one is variable),
    as Keras's rule does. The batch axis cannot be the concatenation axis."""

    type: Literal["Concatenate"] = "Concatenate"
    axis: int = Field(
        -1,
        description="Axis along which to concatenate, counted with the batch "
        "axis as Keras does (-1: the last axis, 1: the first after the batch).",
    )

    examples = (
        {"args": {}, "inputs": [[3], [5]]},
        {"args": {"axis": 1}, "inputs": [[2, 3], [4, 3], [1, 3]]},
        {"args": {"axis": -2}, "inputs": [[3, 2, 4], [3, 5, 4]]},
        {"args": {}, "inputs": [[None, 2], [None, 3]]},
        {"args": {"axis": 1}, "inputs": [[None, 2], [3, 2]]},
        {"args": {"axis": 2}, "inputs": [[2, 3], [2, 1]]},
    )

    def output_shape(self, shapes: list[Shape], ctx: Context) -> Shape:
        ranks = {len(s) for s in shapes}
        if len(ranks) > 1:
            raise ShapeError(
                "Concatenate needs inputs of the same rank, got "
                + ", ".join(fmt_shape(s) for s in shapes)
            )
        rank = len(shapes[0]) + 1
        if not -rank <= self.axis < rank or self.axis % rank == 0:
            what = "the batch axis" if -rank <= self.axis < rank else "out of range"
            raise ShapeError(
                f"axis {self.axis} is {what} for inputs of rank {rank} (batch "
                "included): pick one of 1.." + str(rank - 1) + " or -1..-" + str(rank - 1),
                "axis",
            )
        axis = self.axis % rank - 1  # index into the shapes without the batch axis
        for i in range(rank - 1):
            sizes = {s[i] for s in shapes} - {None}
            if i != axis and len(sizes) > 1:
                raise ShapeError(
                    f"inputs must match on every axis except the concatenation axis "
                    f"{self.axis}; they differ on axis {i + 1}: "
                    + ", ".join(fmt_shape(s) for s in shapes)
                )
        along = [s[axis] for s in shapes]
        total = sum(d for d in along if d is not None) if None not in along else None
        return (*shapes[0][:axis], total, *shapes[0][axis + 1 :])

    def merged_mask(self, masks: list[str | None], shapes: list[Shape], name: str) -> str | None:
        """Keras's Concatenate.compute_mask: each input's mask (all True where it has none)
        widened to its shape, concatenated along `axis`, then any() over the last axis: along
        the last axis the OR of the masks (all True, so none, when an input has none), along
        another axis the masks joined."""
        rank = len(shapes[0]) + 1
        if self.axis % rank != rank - 1:
            return name
        if any(m is None for m in masks):
            return None
        return masks[0] if len(set(masks)) == 1 else name

    def build(self, shapes: list[Shape], ctx: Context):
        from ..torch.concatenate import ConcatenateModule

        return ConcatenateModule(self.axis % (len(shapes[0]) + 1))
