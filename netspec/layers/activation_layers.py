"""The activation layers: ReLU, LeakyReLU, PReLU, ELU and Softmax (Keras's classes; the
functions are those of the `activation:` vocabulary)."""

from __future__ import annotations

from typing import Annotated, Literal

from pydantic import Field

from ..vocab import ACTIVATIONS, ConstraintField, InitializerField, RegularizerField
from ..vocab.bounds import FLOAT32_MAX, Float32
from .base import Context, Layer, Shape, ShapeError, Weight, fmt_shape, known, register_layer
from .normalization import Axes, axis_indices

PositiveAxis = Annotated[int, Field(ge=1)]


class _Elementwise(Layer):
    """A layer that applies one activation function of the vocabulary."""

    propagates_mask = True  # Keras's supports_masking: the mask passes through

    def activation(self):
        raise NotImplementedError

    def build(self, shapes: list[Shape], ctx: Context):
        from ..torch.activation import ActivationModule

        return ActivationModule(self.activation())


@register_layer
class ReLU(_Elementwise):
    """Rectified linear unit (Keras's `ReLU`): `min(x, max_value)` for `x >= threshold`,
    `negative_slope * (x - threshold)` below; plain `max(x, 0)` by default."""

    type: Literal["ReLU"] = "ReLU"
    max_value: float | None = Field(
        None, ge=0, le=FLOAT32_MAX, description="Upper bound of the output (none: no bound)."
    )
    negative_slope: float = Field(
        0.0, ge=0, le=FLOAT32_MAX, description="Slope below the threshold."
    )
    threshold: float = Field(0.0, ge=0, le=FLOAT32_MAX, description="Values below it are damped.")

    examples = (
        {"args": {}, "inputs": [[5]]},
        {"args": {"max_value": 6.0}, "inputs": [[None, 4]]},
        {"args": {"negative_slope": 0.1, "threshold": 0.5, "max_value": 1.0}, "inputs": [[3, 4]]},
    )

    def activation(self):
        args = {"negative_slope": self.negative_slope, "max_value": self.max_value}
        return ACTIVATIONS.get("relu").model_validate({**args, "threshold": self.threshold})


@register_layer
class LeakyReLU(_Elementwise):
    """Leaky ReLU (Keras's `LeakyReLU`): `x` for `x >= 0`, `negative_slope * x` below. The
    layer's default slope is 0.3 (the `leaky_relu` activation's is 0.2), as in Keras."""

    type: Literal["LeakyReLU"] = "LeakyReLU"
    negative_slope: float = Field(0.3, ge=0, le=FLOAT32_MAX, description="Slope for x < 0.")

    examples = (
        {"args": {}, "inputs": [[6]]},
        {"args": {"negative_slope": 0.05}, "inputs": [[None, 2, 3]]},
    )

    def activation(self):
        return ACTIVATIONS.get("leaky_relu").model_validate({"negative_slope": self.negative_slope})


@register_layer
class ELU(_Elementwise):
    """Exponential linear unit (Keras's `ELU`): `x` for `x > 0`, `alpha * (exp(x) - 1)`
    below."""

    type: Literal["ELU"] = "ELU"
    alpha: Float32 = Field(1.0, description="Scale of the negative part.")

    examples = (
        {"args": {}, "inputs": [[5]]},
        {"args": {"alpha": 0.5}, "inputs": [[3, None]]},
    )

    def activation(self):
        return ACTIVATIONS.get("elu").model_validate({"alpha": self.alpha})


@register_layer
class Softmax(Layer):
    """Softmax over `axis` (Keras's `Softmax`): `exp(x) / sum(exp(x))`; several axes are
    normalized together. Keras's call-time `mask` is not provided. The batch axis is refused
    (the output of a sample would depend on the rest of the batch)."""

    type: Literal["Softmax"] = "Softmax"
    axis: Axes = Field(-1, description="Axis or axes to normalize over (batch axis = 0).")

    examples = (
        {"args": {}, "inputs": [[5]]},
        {"args": {"axis": 1}, "inputs": [[3, None]]},
        {"args": {"axis": [1, 2]}, "inputs": [[2, 3]]},
        {"args": {"axis": [-1, -3]}, "inputs": [[2, 3, 4]]},
    )

    def output_shape(self, shapes: list[Shape], ctx: Context) -> Shape:
        axis_indices(self.axis, shapes[0])
        return shapes[0]

    def build(self, shapes: list[Shape], ctx: Context):
        if isinstance(self.axis, int) or len(self.axis) == 1:
            from ..torch.activation import ActivationModule

            axis = self.axis if isinstance(self.axis, int) else self.axis[0]
            return ActivationModule(ACTIVATIONS.get("softmax").model_validate({"axis": axis}))
        from ..torch.activation_layers import SoftmaxModule

        return SoftmaxModule(tuple(self.axis))  # Keras's axes: negative ones fit any rank


@register_layer
class PReLU(Layer):
    """Parametric ReLU (Keras's `PReLU`): `x` for `x >= 0`, `alpha * x` below, with a learned
    `alpha` shaped as the input without the batch axis, except along `shared_axes` (size 1
    there: one alpha shared along that axis, e.g. the spatial axes of images)."""

    type: Literal["PReLU"] = "PReLU"
    propagates_mask = True  # Keras's supports_masking: the mask passes through
    alpha_initializer: InitializerField = Field(
        "zeros", validate_default=True, description="Initializer of alpha."
    )
    alpha_regularizer: RegularizerField | None = Field(None, description="Penalty on alpha.")
    alpha_constraint: ConstraintField | None = Field(None, description="Constraint on alpha.")
    shared_axes: PositiveAxis | list[PositiveAxis] | None = Field(
        None,
        description="Axes (1-based: the batch axis is 0) along which alpha is shared; "
        "[1, 2] for (batch, height, width, channels) images.",
    )

    examples = (
        {"args": {}, "inputs": [[4]]},
        {"args": {"alpha_initializer": "random_uniform"}, "inputs": [[3, 2]]},
        {"args": {"shared_axes": [1, 2]}, "inputs": [[None, None, 3]]},
        {
            "args": {"shared_axes": [2, 3], "alpha_initializer": "ones"},
            "inputs": [[2, 3, 3]],
            "data_format": "channels_first",
        },
        {"args": {"shared_axes": 1, "alpha_initializer": "random_normal"}, "inputs": [[None, 5]]},
    )

    def weights(self, shapes: list[Shape], ctx: Context) -> list[Weight]:
        shape = shapes[0]
        shared = [self.shared_axes] if isinstance(self.shared_axes, int) else self.shared_axes
        for axis in shared or ():
            if axis > len(shape):
                raise ShapeError(
                    f"shared axis {axis} is out of range for an input of rank "
                    f"{len(shape) + 1} {fmt_shape(shape)}",
                    "shared_axes",
                )
        alpha = tuple(1 if i in (shared or ()) else d for i, d in enumerate(shape, start=1))
        if not known(alpha):
            axis = alpha.index(None) + 1
            raise ShapeError(
                f"alpha needs a known size on axis {axis} of the input {fmt_shape(shape)}; "
                "a variable axis must be one of shared_axes"
            )
        return [
            Weight(
                "alpha",
                alpha,
                self.alpha_initializer,
                self.alpha_regularizer,
                self.alpha_constraint,
            )
        ]

    def output_shape(self, shapes: list[Shape], ctx: Context) -> Shape:
        return shapes[0]  # weights() checks the axes

    def build(self, shapes: list[Shape], ctx: Context):
        from ..torch.activation_layers import PReLUModule

        return PReLUModule(self.graph_weights(shapes, ctx), ctx)
