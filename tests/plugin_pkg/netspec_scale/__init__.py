"""A netspec plugin layer: Scale multiplies each feature by a learned factor."""

from typing import Literal

from pydantic import Field

from netspec.layers import Layer, ShapeError, Weight
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


class Split(Layer):
    """Splits the last axis in two halves: a layer with two outputs (`split:0`, `split:1`)."""

    type: Literal["Split"] = "Split"

    keras_parity = False
    examples = ({"args": {}, "inputs": [[4]]},)

    def output_shape(self, shapes, ctx):
        *rest, last = shapes[0]
        if last is None or last % 2:
            raise ShapeError(f"the last axis must have an even size, got {last}")
        return [(*rest, last // 2), (*rest, last // 2)]

    def build(self, shapes, ctx):
        from netspec_scale.modules import SplitModule

        return SplitModule()
