"""RepeatVector: (batch, features) -> (batch, n, features)."""

from __future__ import annotations

from typing import Literal

from pydantic import Field

from ..vocab.bounds import MAX_SIZE
from .base import Context, Layer, Shape, need_rank, register_layer


@register_layer
class RepeatVector(Layer):
    """Repeats its 2-D input `n` times along a new axis 1 (Keras's `RepeatVector`): (batch, f)
    gives (batch, n, f). The result is a broadcast view of the input (no copy)."""

    type: Literal["RepeatVector"] = "RepeatVector"
    n: int = Field(..., gt=0, le=MAX_SIZE, description="Number of repetitions.")

    keeps_dtype = True
    examples = (
        {"args": {"n": 3}, "inputs": [[4]]},
        {"args": {"n": 1}, "inputs": [[2]], "dtypes": ["int64"]},
        {"args": {"n": 2}, "inputs": [[None]]},
    )

    def output_shape(self, shapes: list[Shape], ctx: Context) -> Shape:
        need_rank(shapes[0], 2)
        return (self.n, shapes[0][0])

    def build(self, shapes: list[Shape], ctx: Context):
        from ..torch.repeat_vector import RepeatVectorModule

        return RepeatVectorModule(self.n)
