"""Reshape: each sample to `target_shape` (one -1 inferred), the batch axis kept."""

from __future__ import annotations

import math
from typing import Annotated, Literal

from pydantic import Field, field_validator

from ..vocab.bounds import MAX_SIZE
from .base import Context, Layer, Shape, ShapeError, fmt_shape, known, register_layer


@register_layer
class Reshape(Layer):
    """Reshapes each sample to `target_shape` in row-major order (Keras's `Reshape`).

    One entry may be -1: it is inferred from the input's size. The sizes must agree (located
    error on `target_shape` otherwise). When the input has a variable (None) axis, the sizes
    cannot be checked and -1 gives a variable axis, as Keras's rule does; a fully given
    `target_shape` is then taken as is.
    """

    type: Literal["Reshape"] = "Reshape"
    target_shape: list[Annotated[int, Field(le=MAX_SIZE)]] = Field(
        ...,
        description="Shape of each sample after the reshape, without the batch axis; one "
        "entry may be -1 (inferred from the input's size).",
        # What `_check_entries` checks (not `_one_inferred`: editors differ on maxContains).
        json_schema_extra={
            "items": {
                "anyOf": [{"type": "integer", "minimum": 1, "maximum": MAX_SIZE}, {"const": -1}]
            }
        },
    )

    keeps_dtype = True
    examples = (
        {"args": {"target_shape": [3, 4]}, "inputs": [[12]]},
        {"args": {"target_shape": [-1, 2, 2]}, "inputs": [[3, 4]]},
        {"args": {"target_shape": [6, -1]}, "inputs": [[2, 3, 4]], "dtypes": ["int64"]},
        {"args": {"target_shape": [-1, 2]}, "inputs": [[None, 4]]},
        {"args": {"target_shape": [24]}, "inputs": [[2, 3, 4]]},
    )

    @field_validator("target_shape")
    @classmethod
    def _check_entries(cls, value: list[int]) -> list[int]:
        if any(d == 0 or d < -1 for d in value):
            raise ValueError("entries must be positive, or -1 for one inferred size")
        return value

    @field_validator("target_shape")
    @classmethod
    def _one_inferred(cls, value: list[int]) -> list[int]:
        if value.count(-1) > 1:
            raise ValueError("at most one entry may be -1")
        return value

    def output_shape(self, shapes: list[Shape], ctx: Context) -> Shape:
        shape, target = shapes[0], self.target_shape
        if not known(shape):
            return tuple(None if d == -1 else d for d in target)
        size, rest = math.prod(shape), math.prod(d for d in target if d != -1)
        if -1 not in target:
            if size != rest:
                raise ShapeError(
                    f"cannot reshape {fmt_shape(shape)} ({size} values per sample) "
                    f"to {fmt_shape(tuple(target))} ({rest} values)",
                    "target_shape",
                )
            return tuple(target)
        if size % rest:
            raise ShapeError(
                f"cannot reshape {fmt_shape(shape)} ({size} values per sample) to "
                f"{fmt_shape(tuple(target))}: {size} is not a multiple of {rest}",
                "target_shape",
            )
        return tuple(size // rest if d == -1 else d for d in target)

    def build(self, shapes: list[Shape], ctx: Context):
        from ..torch.reshape import ReshapeModule

        out = self.output_shape(shapes, ctx)
        return ReshapeModule(tuple(-1 if d is None else d for d in out))
