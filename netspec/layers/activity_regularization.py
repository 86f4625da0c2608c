"""ActivityRegularization: identity that adds an L1/L2 penalty on its input to the loss."""

from __future__ import annotations

from typing import Literal

from pydantic import Field

from ..vocab.bounds import FLOAT32_MAX
from ..vocab.regularizers import L1L2
from .base import Context, Layer, Shape, register_layer


@register_layer
class ActivityRegularization(Layer):
    """Passes its input through unchanged and adds `l1 * sum(|x|) + l2 * sum(x^2)`, divided by
    the batch size, to the model's activity loss (Keras's `ActivityRegularization`, which is an
    identity layer with activity_regularizer L1L2(l1, l2))."""

    type: Literal["ActivityRegularization"] = "ActivityRegularization"
    l1: float = Field(0.0, ge=0, le=FLOAT32_MAX, description="L1 regularization factor.")
    l2: float = Field(0.0, ge=0, le=FLOAT32_MAX, description="L2 regularization factor.")

    propagates_mask = True  # Keras's supports_masking: the mask passes through
    examples = (
        {"args": {"l1": 0.01}, "inputs": [[4]]},
        {"args": {"l1": 0.1, "l2": 0.2}, "inputs": [[None, 3]]},
        {"args": {}, "inputs": [[2, 3, 4]]},
    )

    def activity_regularizer_spec(self) -> L1L2:
        return L1L2(l1=self.l1, l2=self.l2)

    def output_shape(self, shapes: list[Shape], ctx: Context) -> Shape:
        return shapes[0]

    def build(self, shapes: list[Shape], ctx: Context):
        from ..torch.activity_regularization import FloatIdentity

        return FloatIdentity()
