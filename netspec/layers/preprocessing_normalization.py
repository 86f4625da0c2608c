"""Normalization: Keras's preprocessing `Normalization`, `(x - mean) / sqrt(variance)` with a
mean and a variance given, or held as weights that training adapts (Keras's `adapt()`)."""

from __future__ import annotations

from typing import Literal

from pydantic import Field

from ..vocab.initializers import Ones, Zeros
from .base import Context, Layer, Shape, ShapeError, Weight, fmt_shape, register_layer
from .normalization import axis_indices, known_sizes
from .rescaling import Values, value_shape

EPSILON = 1e-7  # keras.backend.epsilon(): the least divisor, max(sqrt(variance), epsilon)


@register_layer
class Normalization(Layer):
    """Keras's `Normalization`: `(x - mean) / max(sqrt(variance), 1e-7)` (`invert`: the
    inverse, `mean + x * max(sqrt(variance), 1e-7)`), in float32, with a separate mean and
    variance for each index of the kept axes `axis` (batch axis 0; none: one scalar mean and
    variance). Given `mean` and `variance` (numbers or arrays, of equal shapes) broadcast to
    the kept axes, aligned from the last kept axis backwards (each size 1 or the axis's); the
    layer then has no weights. Without them the layer holds Keras's non-trainable weights
    `mean` (zeros) and `variance` (ones) of the kept axes' shape and `count` (a scalar, 0),
    which Keras fills with `adapt()`: `netspec train` does that when a new run starts (and
    `netspec.adapt(model, spec, x)` in Python), on the training samples as they reach the layer
    (after the layers before it, earlier Normalizations adapted first), before the first
    epoch; `count` stays 0, as Keras's adapt leaves it. Statistics loaded from elsewhere (not
    the initial zeros and ones) are kept."""

    type: Literal["Normalization"] = "Normalization"
    axis: int | list[int] | None = Field(
        -1,
        description="The axis or axes that have a separate mean and variance for each index "
        "(batch axis = 0, negative from the end); null: one mean and variance for everything.",
    )
    mean: Values | None = Field(
        None,
        description="The mean: a number or an array broadcast to the shape of the kept axes; "
        "given together with variance. Default: a weight that training adapts (Keras's adapt()).",
    )
    variance: Values | None = Field(
        None,
        description="The variance: a number or an array of mean's shape; given together with "
        "mean. Default: a weight that training adapts (Keras's adapt()).",
    )
    invert: bool = Field(
        False, description="If true, the inverse transformation: de-normalizes its inputs."
    )

    propagates_mask = True
    examples = (
        {"args": {}, "inputs": [[4]]},
        {"args": {"mean": 3.0, "variance": 2.0}, "inputs": [[None, 3]]},
        {"args": {"mean": [1.0, -2.0, 0.5], "variance": [4.0, 0.0, 0.25]}, "inputs": [[2, 3]]},
        {"args": {"axis": None, "mean": 1.5, "variance": 9.0, "invert": True}, "inputs": [[3]]},
        {
            "args": {"axis": [1, -1], "mean": [[1.0, 2.0]], "variance": [[2.0, 3.0]]},
            "inputs": [[3, 4, 2]],
            "dtypes": ["int32"],
        },
        {"args": {"axis": [1, 2], "invert": True}, "inputs": [[3, 2]]},
        {"args": {"axis": None}, "inputs": [[2, None]]},
        {
            "args": {"axis": [1, 2], "mean": [[2.0], [1.0]], "variance": [[1.0], [4.0]]},
            "inputs": [[2, 3]],
        },
    )

    def kept_sizes(self, shape: Shape) -> tuple[int, ...]:
        """The sizes of the kept axes (the shape of the mean and variance weights)."""
        indices = [] if self.axis is None else axis_indices(self.axis, shape)
        return known_sizes(indices, shape, "Normalization")

    def stats_shape(self, shape: Shape) -> tuple[int, ...] | None:
        """The shape of the given mean and variance (checked against the kept axes), or None
        when they are weights."""
        if self.mean is None and self.variance is None:
            return None
        if self.mean is None or self.variance is None:
            missing = "mean" if self.mean is None else "variance"
            raise ShapeError("mean and variance must be given together, as in Keras", missing)
        stats = value_shape(self.mean, "mean")
        if value_shape(self.variance, "variance") != stats:
            raise ShapeError(
                f"variance of shape {value_shape(self.variance, 'variance')} differs from "
                f"mean's {stats}",
                "variance",
            )
        kept = self.kept_sizes(shape)
        # Keras aligns the mean's axes on the kept axes from the last one backwards.
        if len(stats) > len(kept) or any(
            s not in (1, k) for s, k in zip(reversed(stats), reversed(kept), strict=False)
        ):
            raise ShapeError(
                f"mean of shape {stats} does not broadcast to the kept axes' shape {kept} "
                f"(axis {self.axis} of input {fmt_shape(shape)})",
                "mean",
            )
        return stats

    def output_shape(self, shapes: list[Shape], ctx: Context) -> Shape:
        self.kept_sizes(shapes[0])
        self.stats_shape(shapes[0])
        return shapes[0]

    def weights(self, shapes: list[Shape], ctx: Context) -> list[Weight]:
        if self.mean is not None or self.variance is not None:
            return []
        kept = self.kept_sizes(shapes[0])
        return [
            Weight("mean", kept, Zeros(), trainable=False),
            Weight("variance", kept, Ones(), trainable=False),
            Weight("count", (), Zeros(), trainable=False),
        ]

    def build(self, shapes: list[Shape], ctx: Context):
        from ..torch.preprocessing_normalization import NormalizationModule

        shape = shapes[0]
        indices = [] if self.axis is None else axis_indices(self.axis, shape)
        # The statistics' broadcast shape (Keras's `_broadcast_shape`): kept sizes, else 1.
        broadcast = [1] * (len(shape) + 1)
        for index, size in zip(indices, self.kept_sizes(shape), strict=True):
            broadcast[index] = size
        stats = None
        if self.mean is not None and self.variance is not None:
            # Keras's reshape of a given mean: its axes on the last kept axes, others 1.
            expanded = [1] * len(broadcast)
            dims = self.stats_shape(shape) or ()
            for i in range(1, len(dims) + 1):
                expanded[indices[-i]] = dims[-i]
            stats = (self.mean, self.variance, tuple(expanded))
        weights = self.graph_weights(shapes, ctx)
        return NormalizationModule(weights, ctx, tuple(broadcast), stats, self.invert)
