"""A netspec plugin layer: Scale multiplies each feature by a learned factor."""

from typing import Literal

from pydantic import Field

from netspec.layers import Layer, Weight
from netspec.vocab import InitializerField


class Scale(Layer):
    """Multiplies the last axis by a learned per-feature scale."""

    type: Literal["Scale"] = "Scale"
    scale_initializer: InitializerField = Field(
        "ones", validate_default=True, description="Initializer of the scale vector."
    )

    keras_parity = False
    examples = ({"args": {}, "inputs": [[4]]},)

    def weights(self, shapes, ctx):
        return [Weight("scale", (shapes[0][-1],), self.scale_initializer)]

    def build(self, shapes, ctx):
        from netspec_scale.modules import ScaleModule

        return ScaleModule(self.weights(shapes, ctx), ctx)
