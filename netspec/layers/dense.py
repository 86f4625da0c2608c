"""Dense: activation(dot(x, kernel) + bias) on the last axis of an input of any rank."""

from __future__ import annotations

from typing import Literal

from pydantic import Field

from ..vocab import ActivationField, ConstraintField, InitializerField, RegularizerField
from ..vocab.bounds import MAX_SIZE
from .base import Context, Layer, Shape, ShapeError, Weight, register_layer


class WeightedLayer(Layer):
    """Arguments shared by layers with a kernel and a bias (Keras's names and defaults)."""

    activation: ActivationField | None = Field(
        None, description="Activation applied to the output (none: linear)."
    )
    use_bias: bool = Field(True, description="Whether the layer adds a bias vector.")
    kernel_initializer: InitializerField = Field(
        "glorot_uniform", validate_default=True, description="Initializer of the kernel."
    )
    bias_initializer: InitializerField = Field(
        "zeros", validate_default=True, description="Initializer of the bias."
    )
    kernel_regularizer: RegularizerField | None = Field(
        None, description="Penalty on the kernel, added to the training loss."
    )
    bias_regularizer: RegularizerField | None = Field(
        None, description="Penalty on the bias, added to the training loss."
    )
    activity_regularizer: RegularizerField | None = Field(
        None, description="Penalty on the layer's output, divided by the batch size (as Keras)."
    )
    kernel_constraint: ConstraintField | None = Field(
        None, description="Projection applied to the kernel after each optimizer step."
    )
    bias_constraint: ConstraintField | None = Field(
        None, description="Projection applied to the bias after each optimizer step."
    )

    def kernel_and_bias(self, kernel_shape: tuple[int, ...], bias_size: int) -> list[Weight]:
        out = [
            Weight(
                "kernel",
                kernel_shape,
                self.kernel_initializer,
                self.kernel_regularizer,
                self.kernel_constraint,
            )
        ]
        if self.use_bias:
            out.append(
                Weight(
                    "bias",
                    (bias_size,),
                    self.bias_initializer,
                    self.bias_regularizer,
                    self.bias_constraint,
                )
            )
        return out


def activated(activation, shape: Shape) -> Shape:
    """`shape` after `activation` (glu halves an axis), as a ShapeError when it can't."""
    if activation is None:
        return shape
    try:
        return activation.output_shape(shape)
    except ValueError as exc:
        raise ShapeError(str(exc), "activation") from None


@register_layer
class Dense(WeightedLayer):
    """Densely-connected layer: `activation(dot(x, kernel) + bias)`, applied to the last axis of
    an input of any rank (as Keras: (batch, d0, d1) gives (batch, d0, units))."""

    type: Literal["Dense"] = "Dense"
    units: int = Field(..., gt=0, le=MAX_SIZE, description="Dimensionality of the output space.")

    propagates_mask = True  # Keras's supports_masking: the mask passes through
    examples = (
        {"args": {"units": 4}, "inputs": [[3]]},
        {"args": {"units": 5, "activation": "tanh", "use_bias": False}, "inputs": [[2, 6]]},
        {"args": {"units": 2, "activation": "relu"}, "inputs": [[3, 4, 7]]},
        {"args": {"units": 3}, "inputs": [[None, 4]]},
    )

    def features(self, shape: Shape) -> int:
        """The size of the input's last axis, which the kernel takes: it must be known."""
        if not shape:
            raise ShapeError(
                "expects an input of rank >= 2 (batch axis included), got shape (None,)"
            )
        if shape[-1] is None:
            raise ShapeError("the last axis of Dense's input must be known, got None")
        return shape[-1]

    def output_shape(self, shapes: list[Shape], ctx: Context) -> Shape:
        self.features(shapes[0])
        return activated(self.activation, (*shapes[0][:-1], self.units))

    def weights(self, shapes: list[Shape], ctx: Context) -> list[Weight]:
        return self.kernel_and_bias((self.features(shapes[0]), self.units), self.units)

    def build(self, shapes: list[Shape], ctx: Context):
        from ..torch.dense import DenseModule

        return DenseModule(self, self.graph_weights(shapes, ctx), ctx)
