"""LayerScale and CustomScaleLayer: the internal layers of Keras's ConvNeXt (`x * gamma`, a
learned per-channel scale) and InceptionResNetV2 (`x + up * scale`, its residual merge), under
the class names Keras saves them with."""

from __future__ import annotations

from typing import ClassVar, Literal

from pydantic import Field

from ..vocab.bounds import Float32, Size
from ..vocab.initializers import Constant
from .base import Context, Layer, Shape, ShapeError, Weight, fmt_shape, register_layer


@register_layer
class LayerScale(Layer):
    """ConvNeXt's layer scale (Keras's `keras.applications.convnext.LayerScale`, from "Going
    deeper with Image Transformers"): `x * gamma`, with `gamma` a trainable weight of shape
    (projection_dim,) initialised to `init_values` (Keras's `Constant`), broadcast over the last
    axis of the input, which must be projection_dim (or 1: broadcast to projection_dim, as
    Keras's product does). Output float32. Keras names the weight `variable` (it is unnamed);
    netspec names it `gamma`, Keras's attribute, and loads it in Keras's order."""

    type: Literal["LayerScale"] = "LayerScale"
    init_values: Float32 = Field(
        description="Initial value of every entry of gamma (ConvNeXt uses 1e-6)."
    )
    projection_dim: Size = Field(
        description="Size of gamma: the number of channels (the input's last axis)."
    )

    examples = (
        {"args": {"init_values": 1e-6, "projection_dim": 4}, "inputs": [[4]]},
        {"args": {"init_values": 0.5, "projection_dim": 8}, "inputs": [[3, 3, 8]]},
        {"args": {"init_values": 0.1, "projection_dim": 3}, "inputs": [[None, 3]]},
        {"args": {"init_values": 2.0, "projection_dim": 5}, "inputs": [[2, 1]]},
        {"args": {"init_values": 0.5, "projection_dim": 1}, "inputs": [[None]]},
        {
            "args": {"init_values": 1.0, "projection_dim": 2},
            "inputs": [[3, 2]],
            "dtypes": ["int32"],
        },
    )

    def output_shape(self, shapes: list[Shape], ctx: Context) -> Shape:
        shape = shapes[0]
        if not shape:
            raise ShapeError(
                f"expects an input of rank 2 or more (batch axis included), got shape "
                f"{fmt_shape(shape)}"
            )
        if shape[-1] not in (None, 1, self.projection_dim):
            raise ShapeError(
                f"projection_dim {self.projection_dim} differs from the input's last axis "
                f"{shape[-1]} (input {fmt_shape(shape)}): gamma multiplies the last axis",
                "projection_dim",
            )
        if shape[-1] is None and self.projection_dim == 1:  # gamma (1,) broadcasts to any size
            return shape
        return (*shape[:-1], self.projection_dim)

    def weights(self, shapes: list[Shape], ctx: Context) -> list[Weight]:
        return [Weight("gamma", (self.projection_dim,), Constant(value=self.init_values))]

    def build(self, shapes: list[Shape], ctx: Context):
        from ..torch.layer_scale import LayerScaleModule

        return LayerScaleModule(self.graph_weights(shapes, ctx), ctx)


@register_layer
class CustomScaleLayer(Layer):
    """InceptionResNetV2's residual merge (Keras's
    `keras.applications.inception_resnet_v2.CustomScaleLayer`, saved under that class name):
    called on two inputs `[x, up]`, it returns `x + up * scale`. The two inputs must have equal
    shapes (a variable size matches any). Output float32; no weights."""

    type: Literal["CustomScaleLayer"] = "CustomScaleLayer"
    scale: Float32 = Field(
        description="The factor of the second input (the residual branch) before it is added "
        "to the first (InceptionResNetV2 uses 0.17, 0.1, 0.2 and 1.0)."
    )

    arity: ClassVar[tuple[int, int | None]] = (2, 2)
    examples = (
        {"args": {"scale": 0.17}, "inputs": [[4], [4]]},
        {"args": {"scale": 0.1}, "inputs": [[3, 3, 8], [3, 3, 8]]},
        {"args": {"scale": 1.0}, "inputs": [[None, 3], [None, 3]]},
        {"args": {"scale": -2.5}, "inputs": [[3], [3]], "dtypes": ["int32", "float32"]},
    )

    def output_shape(self, shapes: list[Shape], ctx: Context) -> Shape:
        x, up = shapes
        same = len(x) == len(up)
        if same and all(a is None or b is None or a == b for a, b in zip(x, up, strict=True)):
            return tuple(b if a is None else a for a, b in zip(x, up, strict=True))
        raise ShapeError(
            f"inputs[1] {fmt_shape(up)} differs from inputs[0] {fmt_shape(x)}: "
            "CustomScaleLayer adds its two inputs, whose shapes must be equal"
        )

    def build(self, shapes: list[Shape], ctx: Context):
        from ..torch.layer_scale import CustomScaleModule

        return CustomScaleModule(self.scale)
