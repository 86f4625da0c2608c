"""Masking: marks the timesteps whose features all equal `mask_value` as padding."""

from __future__ import annotations

from typing import Literal

from pydantic import Field

from ..vocab.bounds import Float32
from .base import Context, Layer, Shape, ShapeError, register_layer


@register_layer
class Masking(Layer):
    """Masks the timesteps (every axis but the last) whose features all equal `mask_value`
    (Keras's `Masking`): they are zeroed in the output, and the recurrent layers downstream
    skip them (state kept, output repeated). The mask passes through layers that keep the
    timesteps (Dense, Activation, Dropout, ...); see docs/spec-format.md, "Masks"."""

    type: Literal["Masking"] = "Masking"
    mask_value: Float32 = Field(
        0.0, description="Value that marks padding: a step whose features all equal it."
    )

    examples = (
        {"args": {}, "inputs": [[5, 3]]},
        {"args": {"mask_value": 1.0}, "inputs": [[None, 2]]},
        {"args": {"mask_value": 2.0}, "inputs": [[4, 3, 2]], "dtypes": ["int64"]},
    )

    def produces_mask(self) -> bool:
        return True

    def output_shape(self, shapes: list[Shape], ctx: Context) -> Shape:
        if not shapes[0]:
            raise ShapeError(
                "expects an input of rank >= 2 (batch axis included): a mask covers every "
                "axis but the last, got shape (None,)"
            )
        return shapes[0]

    def build(self, shapes: list[Shape], ctx: Context):
        from ..torch.masking import MaskingModule

        return MaskingModule(self.mask_value)
