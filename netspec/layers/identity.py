"""Identity: returns its input unchanged (Keras's `Identity`, a placeholder layer)."""

from __future__ import annotations

from typing import Literal

from .base import Context, Layer, Shape, register_layer


@register_layer
class Identity(Layer):
    """Returns its input as it is: same shape, same dtype (integers stay integers), and the
    timestep mask passes through (Keras's `Identity`, which supports masking). Takes no
    arguments; a placeholder where no operation is performed."""

    type: Literal["Identity"] = "Identity"

    keeps_dtype = True  # Keras's Identity returns its input (an int tensor stays int)
    propagates_mask = True  # Keras: supports_masking = True
    examples = (
        {"args": {}, "inputs": [[4]]},
        {"args": {}, "inputs": [[None, 3]]},
        {"args": {}, "inputs": [[2, 3, 4]], "dtypes": ["int32"]},
        {"args": {}, "inputs": [[3, 2, 2, 5]], "data_format": "channels_first"},
        {"args": {}, "inputs": [[5]], "dtypes": ["bool"]},
    )

    def output_shape(self, shapes: list[Shape], ctx: Context) -> Shape:
        return shapes[0]

    def build(self, shapes: list[Shape], ctx: Context):
        from ..torch.identity import IdentityModule

        return IdentityModule()
