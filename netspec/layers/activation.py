"""Activation: an activation function applied on its own, as a layer."""

from __future__ import annotations

from typing import Literal

from pydantic import Field

from ..vocab import ActivationField
from .base import Context, Layer, Shape, register_layer
from .dense import activated


@register_layer
class Activation(Layer):
    """Applies an activation function to its input (Keras's `Activation`): `activation(x)`,
    elementwise, same shape, except `glu`, which halves its `axis` (Keras 3's own shape rule
    does not know that; the output of its call does)."""

    type: Literal["Activation"] = "Activation"
    activation: ActivationField | None = Field(
        ...,
        description="The activation: a name (`relu`) or an object with the function's "
        "arguments (`{type: leaky_relu, negative_slope: 0.1}`); null is linear (Keras's "
        "`Activation(None)`).",
    )

    propagates_mask = True  # Keras's supports_masking: the mask passes through
    examples = (
        {"args": {"activation": "relu"}, "inputs": [[5]]},
        {"args": {"activation": "softmax"}, "inputs": [[3, 4]]},
        {"args": {"activation": {"type": "softmax", "axis": 1}}, "inputs": [[3, 4]]},
        {
            "args": {"activation": {"type": "leaky_relu", "negative_slope": 0.1}},
            "inputs": [[None, 2, 3]],
        },
        {"args": {"activation": "glu"}, "inputs": [[3, 8]]},
        {"args": {"activation": "tanh"}, "inputs": [[2, 3, 4, 2]]},
        {"args": {"activation": None}, "inputs": [[3, 4]]},
    )

    def output_shape(self, shapes: list[Shape], ctx: Context) -> Shape:
        return activated(self.activation, shapes[0])

    def build(self, shapes: list[Shape], ctx: Context):
        from ..torch.activation import ActivationModule
        from ..vocab import ACTIVATIONS

        # Keras's Activation(None) is the identity (activations.get(None) is linear)
        linear = ACTIVATIONS.get("linear").model_validate({"type": "linear"})
        return ActivationModule(self.activation or linear)
