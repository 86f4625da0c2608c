"""Flatten: (batch, d1, ..., dn) -> (batch, d1 * ... * dn), in Keras's element order."""

from __future__ import annotations

import math
from typing import Literal

from pydantic import Field

from .base import Context, DataFormat, Layer, Shape, known, register_layer


@register_layer
class Flatten(Layer):
    """Flattens each sample into a vector; the batch axis is kept (Keras's `Flatten`).

    With `channels_first` and an input of rank 3 or more (batch included), the channels axis is
    first moved to the end, as Keras 3 does, so the flattened order is the channels_last one:
    (batch, C, H, W) flattens in (H, W, C) order, and a Dense after it sees the same features in
    either data format. A (batch,) input becomes (batch, 1); a variable axis gives (batch, None).
    """

    type: Literal["Flatten"] = "Flatten"
    data_format: DataFormat | None = Field(
        None,
        description="Layout of the input: channels_last (batch, ..., channels) or "
        "channels_first (batch, channels, ...). Default: the spec's data_format.",
    )

    keeps_dtype = True
    examples = (
        {"args": {}, "inputs": [[3, 4]]},
        {"args": {}, "inputs": [[2, 3, 4]], "data_format": "channels_first"},
        {"args": {"data_format": "channels_first"}, "inputs": [[2, 3, 2, 2]]},
        {
            "args": {"data_format": "channels_last"},
            "inputs": [[2, 3, 4]],
            "data_format": "channels_first",
        },
        {"args": {}, "inputs": [[None, 3]]},
        {"args": {}, "inputs": [[5]], "dtypes": ["int32"]},
        {"args": {}, "inputs": [[]]},
    )

    def resolved_format(self, ctx: Context) -> str:
        return self.data_format or ctx.data_format

    def output_shape(self, shapes: list[Shape], ctx: Context) -> Shape:
        shape = shapes[0]
        if not shape:
            return (1,)
        return (math.prod(shape),) if known(shape) else (None,)

    def build(self, shapes: list[Shape], ctx: Context):
        from ..torch.flatten import FlattenModule

        channels_first = self.resolved_format(ctx) == "channels_first" and len(shapes[0]) >= 2
        return FlattenModule(channels_first)
