"""Normalization layers: LayerNormalization, UnitNormalization and RMSNormalization, plus the
axis rules and the gamma/beta arguments that BatchNormalization (batch_normalization.py) and
GroupNormalization (group_normalization.py) share."""

from __future__ import annotations

from typing import Annotated, Literal

from pydantic import Field

from ..vocab import INITIALIZERS, ConstraintField, InitializerField, RegularizerField
from ..vocab.bounds import FLOAT32_MAX
from .base import Context, Layer, Shape, ShapeError, Weight, fmt_shape, known, register_layer

Axes = int | Annotated[list[int], Field(min_length=1)]


def axis_indices(axis: int | list[int], shape: Shape, field: str = "axis") -> list[int]:
    """Keras axes (batch axis 0, negative from the end) as sorted indices into the full shape
    (batch included); ShapeError for the batch axis, an axis out of range or a repeated one."""
    rank = len(shape) + 1
    out = []
    for a in [axis] if isinstance(axis, int) else axis:
        if not -rank <= a < rank or a % rank == 0:
            what = "the batch axis" if -rank <= a < rank else "out of range"
            raise ShapeError(
                f"axis {a} is {what} for an input of rank {rank} {fmt_shape(shape)} (batch "
                f"included): pick one of 1..{rank - 1} or -1..-{rank - 1}",
                field,
            )
        if a % rank in out:
            raise ShapeError(f"axis {a} is given twice", field)
        out.append(a % rank)
    return sorted(out)


def known_sizes(
    indices: list[int], shape: Shape, what: str, field: str = "axis"
) -> tuple[int, ...]:
    """The sizes of the input on `indices` (full-shape), which must be known."""
    sizes = tuple(shape[i - 1] for i in indices)
    if not known(sizes):
        raise ShapeError(
            f"{what} needs a known size on axis {indices[sizes.index(None)]}, got input "
            f"{fmt_shape(shape)}",
            field,
        )
    return sizes


def _flag(default: bool, text: str):
    return Field(default, description=text)


def _init(default: str, text: str):
    return Field(default, validate_default=True, description=text)


CENTER = "If true, add the offset beta to the normalized tensor."
SCALE = "If true, multiply the normalized tensor by gamma."
EPSILON = "Small float added to the variance to avoid dividing by zero."
ARGS = ("initializer", "regularizer", "constraint")


class _Affine(Layer):
    """Shared by the layers with an optional learned gamma (scale) and beta (offset): Keras's
    `center`, `scale` and the beta_/gamma_ initializer, regularizer and constraint arguments."""

    center: bool = _flag(True, CENTER)
    scale: bool = _flag(True, SCALE)
    beta_initializer: InitializerField = _init("zeros", "Initializer of beta.")
    gamma_initializer: InitializerField = _init("ones", "Initializer of gamma.")
    beta_regularizer: RegularizerField | None = Field(None, description="Penalty on beta.")
    gamma_regularizer: RegularizerField | None = Field(None, description="Penalty on gamma.")
    beta_constraint: ConstraintField | None = Field(None, description="Constraint on beta.")
    gamma_constraint: ConstraintField | None = Field(None, description="Constraint on gamma.")

    def gamma_beta(self, shape: tuple[int, ...]) -> list[Weight]:
        """Keras's gamma then beta weights (those that `scale` and `center` enable)."""
        return [
            Weight(n, shape, *(getattr(self, f"{n}_{a}") for a in ARGS))
            for n, on in (("gamma", self.scale), ("beta", self.center))
            if on
        ]


@register_layer
class LayerNormalization(_Affine):
    """Normalizes each sample over `axis`: `gamma * (x - mean) / sqrt(var + epsilon) + beta`
    with the (biased) mean and variance over the axes given, and gamma, beta shaped as those
    axes (Keras's `LayerNormalization`). Keras 3.15's deprecated `rms_scaling` is not provided
    (use RMSNormalization)."""

    type: Literal["LayerNormalization"] = "LayerNormalization"
    propagates_mask = True  # Keras's supports_masking: the mask passes through
    axis: Axes = Field(-1, description="Axis or axes to normalize over (batch axis = 0).")
    epsilon: float = Field(1e-3, gt=0, le=FLOAT32_MAX, description=EPSILON)

    examples = (
        {"args": {}, "inputs": [[6]]},
        {"args": {}, "inputs": [[None, 5]]},
        {"args": {"axis": [-2, -1], "epsilon": 1e-5}, "inputs": [[3, 4]]},
        {"args": {"axis": [2, 3], "center": False}, "inputs": [[2, 3, 4]]},
        {"args": {"axis": 3, "scale": False}, "inputs": [[3, 2, 5]]},
        # Keras 3.15's torch backend normalizes the wrong axes here (tests/test_normalization).
        {"args": {"axis": 1}, "inputs": [[3, 4]], "keras_parity": False},
        {"args": {"axis": [1, 3]}, "inputs": [[2, 3, 4]], "keras_parity": False},
    )

    def output_shape(self, shapes: list[Shape], ctx: Context) -> Shape:
        known_sizes(axis_indices(self.axis, shapes[0]), shapes[0], "LayerNormalization")
        return shapes[0]

    def weights(self, shapes: list[Shape], ctx: Context) -> list[Weight]:
        axes = axis_indices(self.axis, shapes[0])
        return self.gamma_beta(known_sizes(axes, shapes[0], "LayerNormalization"))

    def build(self, shapes: list[Shape], ctx: Context):
        from ..torch.normalization import LayerNormModule

        return LayerNormModule(self, self.graph_weights(shapes, ctx), ctx)


@register_layer
class UnitNormalization(Layer):
    """Scales each sample to unit L2 norm over `axis`: `x / max(||x||, 1e-12)` (Keras's
    `UnitNormalization`, which computes `x * min(rsqrt(sum(x^2)), 1e12)`)."""

    type: Literal["UnitNormalization"] = "UnitNormalization"
    propagates_mask = True  # Keras's supports_masking: the mask passes through
    axis: Axes = Field(-1, description="Axis or axes of the norm (batch axis = 0).")

    examples = (
        {"args": {}, "inputs": [[5]]},
        {"args": {"axis": 1}, "inputs": [[None, 3]]},
        {"args": {"axis": [1, 2]}, "inputs": [[3, 4]]},
        {"args": {"axis": [-1, 1]}, "inputs": [[2, 3, 2]]},
    )

    def output_shape(self, shapes: list[Shape], ctx: Context) -> Shape:
        axis_indices(self.axis, shapes[0])
        return shapes[0]

    def build(self, shapes: list[Shape], ctx: Context):
        from ..torch.normalization import UnitNormModule

        return UnitNormModule(self.axis)


@register_layer
class RMSNormalization(Layer):
    """Root-mean-square normalization over `axis`: `x * rsqrt(mean(x^2) + epsilon) * scale`,
    with a learned `scale` shaped as those axes, initialized to ones (Keras's
    `RMSNormalization`, Zhang and Sennrich 2019)."""

    type: Literal["RMSNormalization"] = "RMSNormalization"
    axis: Axes = Field(-1, description="Axis or axes to normalize over (batch axis = 0).")
    epsilon: float = Field(
        1e-6, gt=0, le=FLOAT32_MAX, description="Small float added to the mean square."
    )

    examples = (
        {"args": {}, "inputs": [[6]]},
        {"args": {"epsilon": 1e-3}, "inputs": [[None, 4]]},
        {"args": {"axis": [-2, -1]}, "inputs": [[2, 3, 4]]},
        {"args": {"axis": 1}, "inputs": [[3, 4]], "keras_parity": False},  # as LayerNormalization
    )

    def output_shape(self, shapes: list[Shape], ctx: Context) -> Shape:
        known_sizes(axis_indices(self.axis, shapes[0]), shapes[0], "RMSNormalization")
        return shapes[0]

    def weights(self, shapes: list[Shape], ctx: Context) -> list[Weight]:
        sizes = known_sizes(axis_indices(self.axis, shapes[0]), shapes[0], "RMSNormalization")
        return [Weight("scale", sizes, INITIALIZERS.get("Ones").model_validate({}))]

    def build(self, shapes: list[Shape], ctx: Context):
        from ..torch.normalization import RMSNormModule

        return RMSNormModule(self, self.graph_weights(shapes, ctx), ctx)
