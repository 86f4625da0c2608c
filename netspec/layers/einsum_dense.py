"""EinsumDense: `activation(einsum(equation, x, kernel) + bias)` (Keras's `EinsumDense`)."""

from __future__ import annotations

from typing import Annotated, Literal

from pydantic import ConfigDict, Field, ValidationInfo, field_validator

from ..vocab import ActivationField, ConstraintField, InitializerField, RegularizerField
from ..vocab.bounds import Size
from ..vocab.initializers import _Scaling
from .base import Context, Layer, Shape, Weight, register_layer
from .dense import activated
from .einsum import AXES, FansInit, Plan, analyze, parse

EQUATION = (
    "Einsum of the input and the kernel: `ab,bc->ac`, `...ab,bc->...ac` or `ab...,bc->ac...` "
    "(input axes, kernel axes -> output axes; each letter names one axis, `...` stands for "
    "the axes not named). Without a leading `...`, the first letter is the batch axis and "
    "must start the output."
)


@register_layer
class EinsumDense(Layer):
    """`activation(einsum(equation, x, kernel) + bias)`, Keras's `EinsumDense`: the kernel's
    shape comes from the equation (a kernel axis is the output's size from `output_shape`, or
    else the input's), the bias covers the output axes from the first of `bias_axes` to the
    end (size 1 on those not listed), as Keras's `_analyze_einsum_string`. The static output
    shape is Keras's (an axis given as null in `output_shape` stays variable), except that the
    axes of a leading `...` keep their order (Keras 3.15's static shape reverses two or more).
    Integer inputs are computed as float32 (Keras's einsum refuses them with a float kernel).
    `lora_rank`, `lora_alpha` and `quantization_config` are not provided. Refused when
    validating, where Keras fails when called (or never): an axis named twice in one operand,
    an input rank or `output_shape` length that the equation does not match, an output that
    does not start with the batch axis."""

    model_config = ConfigDict(serialize_by_alias=True)  # dumps write `output_shape`

    type: Literal["EinsumDense"] = "EinsumDense"
    equation: str = Field(..., max_length=200, description=EQUATION)
    # At most 52 entries: an output names each of its axes by a distinct letter.
    partial_output_shape: Size | Annotated[list[Size | None], Field(max_length=52)] = Field(
        ...,
        alias="output_shape",
        description="Sizes of the output's axes without the batch and those of `...`: one per "
        "output letter (but the batch's); null for an axis that the input gives.",
    )
    activation: ActivationField | None = Field(
        None, description="Activation applied to the output (none: linear)."
    )
    bias_axes: str | None = Field(
        None,
        min_length=1,
        pattern=f"^{AXES}+$",
        description="Output letters the bias varies along (none: no bias).",
    )
    kernel_initializer: InitializerField = Field(
        "glorot_uniform",
        validate_default=True,
        description="Initializer of the kernel (Glorot, He, Lecun, VarianceScaling: fans from "
        "the kernel's input and output axes, as Keras).",
    )
    bias_initializer: InitializerField = Field(
        "zeros", validate_default=True, description="Initializer of the bias."
    )
    kernel_regularizer: RegularizerField | None = Field(None, description="Penalty on the kernel.")
    bias_regularizer: RegularizerField | None = Field(None, description="Penalty on the bias.")
    activity_regularizer: RegularizerField | None = Field(
        None, description="Penalty on the layer's output, divided by the batch size (as Keras)."
    )
    kernel_constraint: ConstraintField | None = Field(None, description="Constraint on the kernel.")
    bias_constraint: ConstraintField | None = Field(None, description="Constraint on the bias.")

    examples = (
        {"args": {"equation": "ab,bc->ac", "output_shape": 4, "bias_axes": "c"}, "inputs": [[3]]},
        {"args": {"equation": "abc,cd->abd", "output_shape": [4, 5]}, "inputs": [[4, 3]]},
        {
            "args": {"equation": "abc,cde->abde", "output_shape": [4, 2, 3], "bias_axes": "bd"},
            "inputs": [[4, 5]],
        },
        {
            "args": {"equation": "...b,bc->...c", "output_shape": 3, "bias_axes": "c"},
            "inputs": [[None, 4]],
        },
        {"args": {"equation": "...ab,bc->...ac", "output_shape": [3, 2]}, "inputs": [[2, 3, 5]]},
        {
            "args": {"equation": "abc...,bcd->ad...", "output_shape": 4, "bias_axes": "d"},
            "inputs": [[2, 3, 5]],
            "data_format": "channels_first",
        },
        {
            "args": {
                "equation": "abc,dc->abd",
                "output_shape": [3, 4],
                "bias_axes": "bd",
                "activation": "tanh",
            },
            "inputs": [[3, 2]],
        },
        {"args": {"equation": "ab,b->a", "output_shape": []}, "inputs": [[4]]},
        {
            "args": {"equation": "ab,bc->ac", "output_shape": 2},
            "inputs": [[3]],
            "dtypes": ["int32"],
            "keras_parity": False,  # Keras's einsum refuses an int input with a float kernel
        },
    )

    @field_validator("equation")
    @classmethod
    def _valid_equation(cls, value: str) -> str:
        parse(value)
        return value

    @field_validator("bias_axes")
    @classmethod
    def _bias_in_output(cls, value: str | None, info: ValidationInfo) -> str | None:
        equation = info.data.get("equation")
        if value is not None and equation is not None:
            outs = parse(equation)[3]
            if missing := [c for c in value if c not in outs]:
                raise ValueError(f"bias axis '{missing[0]}' is not in the output '{outs}'")
        return value

    def plan(self, shape: Shape) -> Plan:
        """Keras's kernel, bias and output shapes for an input shape (without batch)."""
        given = self.partial_output_shape
        partial = [given] if isinstance(given, int) else list(given)
        return analyze(self.equation, self.bias_axes, partial, shape)

    def output_shape(self, shapes: list[Shape], ctx: Context) -> Shape:
        return activated(self.activation, tuple(self.plan(shapes[0]).output[1:]))

    def weights(self, shapes: list[Shape], ctx: Context) -> list[Weight]:
        plan = self.plan(shapes[0])
        init = self.kernel_initializer
        if isinstance(init, _Scaling):
            init = FansInit(init, tuple(plan.input_axes))
        out = [Weight("kernel", plan.kernel, init, self.kernel_regularizer, self.kernel_constraint)]
        if plan.bias is not None:
            bias_args = (self.bias_initializer, self.bias_regularizer, self.bias_constraint)
            out.append(Weight("bias", plan.bias, *bias_args))
        return out

    def build(self, shapes: list[Shape], ctx: Context):
        from ..torch.einsum_dense import EinsumDenseModule

        return EinsumDenseModule(self, self.graph_weights(shapes, ctx), ctx)
