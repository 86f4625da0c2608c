"""Keras 3 activations (every function of keras.activations), as names or `{type: name, ...}`.

A bare name uses Keras's defaults, as `Dense(activation="relu")` does; the object form sets the
function's arguments (`{type: leaky_relu, negative_slope: 0.1}`). The torch functions live in
`netspec.torch.activations`, imported when a model is built.
"""

from __future__ import annotations

from typing import Any, Literal

from pydantic import Field, create_model

from ..registry import Registry
from .base import VocabModel, name_or_object
from .bounds import FLOAT32_MAX, Float32

ACTIVATIONS: Registry[type[Activation]] = Registry("activation")


class Activation(VocabModel):
    """Base activation: `function()` returns the torch callable."""

    def function(self):
        from ..torch.activations import make_activation

        return make_activation(self)

    def output_shape(self, shape: tuple, batch_axis: bool = False) -> tuple:
        """The shape after this activation (only glu changes it: it halves `axis`)."""
        full = (None, *shape) if not batch_axis else shape
        axis = getattr(self, "axis", None)
        if isinstance(axis, int) and not -len(full) <= axis < len(full):
            raise ValueError(
                f"{self.type}'s axis {axis} is out of range for a value of rank {len(full)} "
                "(batch axis included)"
            )
        if self.type != "glu" or not isinstance(axis, int):  # glu's axis: an int field
            return shape
        given, axis = axis, axis % len(full)
        if axis == 0:
            raise ValueError("glu cannot split the batch axis")
        size = full[axis]
        if size is not None and size % 2:
            raise ValueError(f"glu splits axis {given} in halves; its size {size} is odd")
        full = (*full[:axis], None if size is None else size // 2, *full[axis + 1 :])
        return full[1:] if not batch_axis else full


_SIMPLE = {
    "linear": "Identity: x.",
    "exponential": "exp(x).",
    "hard_sigmoid": "relu6(x + 3) / 6 (Keras 3; Keras 2 used 0.2x + 0.5).",
    "hard_silu": "x * hard_sigmoid(x).",
    "hard_swish": "x * hard_sigmoid(x) (alias of hard_silu).",
    "hard_tanh": "clip(x, -1, 1).",
    "log_sigmoid": "log(sigmoid(x)).",
    "mish": "x * tanh(softplus(x)).",
    "relu6": "min(max(x, 0), 6).",
    "selu": "Scaled ELU: scale * elu(x, alpha), scale=1.0507..., alpha=1.6732....",
    "sigmoid": "1 / (1 + exp(-x)).",
    "silu": "x * sigmoid(x).",
    "swish": "x * sigmoid(x) (alias of silu).",
    "softplus": "log(1 + exp(x)).",
    "softsign": "x / (1 + |x|).",
    "sparse_plus": "0 for x <= -1, (x + 1)^2 / 4 for -1 < x < 1, x for x >= 1.",
    "sparse_sigmoid": "0 for x <= -1, (x + 1) / 2 for -1 < x < 1, 1 for x >= 1.",
    "tanh": "Hyperbolic tangent.",
    "tanh_shrink": "x - tanh(x).",
}

_AXIS = Field(-1, description="Axis along which the function normalizes.")
# name: (docstring, {field: (type, Field)})
_WITH_ARGS: dict[str, tuple[str, dict[str, Any]]] = {
    "relu": (
        "max(x, 0); with arguments: x for x > threshold (clipped at max_value), "
        "negative_slope * (x - threshold) below.",
        {
            "negative_slope": (Float32, Field(0.0, description="Slope below the threshold.")),
            "max_value": (
                float | None,
                Field(None, ge=0, le=FLOAT32_MAX, description="Upper bound (none: no bound)."),
            ),
            "threshold": (Float32, Field(0.0, description="Values at or below it are damped.")),
        },
    ),
    "leaky_relu": (
        "x for x >= 0, negative_slope * x below.",
        {
            "negative_slope": (
                Float32,
                Field(
                    0.2,
                    description="Slope for x < 0 (0.2, as Keras's activation; the LeakyReLU layer "
                    "uses 0.3).",
                ),
            ),
        },
    ),
    "elu": (
        "x for x > 0, alpha * (exp(x) - 1) below.",
        {
            "alpha": (Float32, Field(1.0, description="Scale of the negative part.")),
        },
    ),
    "celu": (
        "max(0, x) + min(0, alpha * (exp(x / alpha) - 1)).",
        {
            "alpha": (
                float,
                Field(1.0, gt=0, le=FLOAT32_MAX, description="Scale of the negative part."),
            ),
        },
    ),
    "gelu": (
        "x * Phi(x), the Gaussian error linear unit.",
        {
            "approximate": (bool, Field(False, description="Use the tanh approximation.")),
        },
    ),
    "glu": (
        "a * sigmoid(b), with x split in halves a, b along axis.",
        {"axis": (int, Field(-1, description="Axis along which x is split in two halves."))},
    ),
    "softmax": ("exp(x) / sum(exp(x)) along axis.", {"axis": (int, _AXIS)}),
    "log_softmax": ("x - log(sum(exp(x))) along axis.", {"axis": (int, _AXIS)}),
    "sparsemax": (
        "Euclidean projection of x onto the probability simplex along axis.",
        {"axis": (int, _AXIS)},
    ),
    "hard_shrink": (
        "x if |x| > threshold else 0.",
        {
            "threshold": (
                float,
                Field(0.5, ge=0, le=FLOAT32_MAX, description="Half-width of the zeroed band."),
            ),
        },
    ),
    "soft_shrink": (
        "x - threshold above threshold, x + threshold below -threshold, else 0.",
        {
            "threshold": (
                float,
                Field(0.5, ge=0, le=FLOAT32_MAX, description="Half-width of the zeroed band."),
            ),
        },
    ),
    "squareplus": (
        "(x + sqrt(x^2 + b)) / 2.",
        {
            "b": (float, Field(4.0, ge=0, le=FLOAT32_MAX, description="Smoothness at 0.")),
        },
    ),
    "threshold": (
        "x if x > threshold else default_value. Has no defaults: object form only.",
        {
            "threshold": (Float32, Field(..., description="Values at or below it are replaced.")),
            "default_value": (Float32, Field(..., description="The replacement value.")),
        },
    ),
}


def _define(name: str, doc: str, fields: dict) -> type[Activation]:
    cls = create_model(
        "".join(p.capitalize() for p in name.split("_")) + "Activation",
        __base__=Activation,
        __doc__=doc,
        __module__=__name__,
        type=(Literal[name], name),
        **fields,
    )
    return ACTIVATIONS.register()(cls)


for _name in sorted({*_SIMPLE, *_WITH_ARGS}):
    if _name in _WITH_ARGS:
        _define(_name, *_WITH_ARGS[_name])
    else:
        _define(_name, _SIMPLE[_name], {})

ActivationField = name_or_object(ACTIVATIONS)
