"""Noise and regularization layers, active in training mode only (`module.train()`), the
identity at inference: SpatialDropout1D/2D/3D, GaussianNoise, GaussianDropout, AlphaDropout."""

from __future__ import annotations

from typing import ClassVar, Literal

from pydantic import Field

from ..vocab.bounds import SEED_END
from .base import Context, DataFormat, Layer, Shape, need_rank, register_layer
from .dropout import PositiveDim, noise_shape_rule

SEED = (
    "Seed of this layer's own random stream (reproducible noise); default: torch's global "
    "generator."
)


def _seed():
    return Field(None, ge=0, lt=SEED_END, description=SEED)


class _SpatialDropout(Layer):
    """Dropout of whole feature maps: one mask value per (sample, channel)."""

    rate: float = Field(..., ge=0, lt=1, description="Fraction of the channels to drop, in [0, 1).")
    seed: int | None = _seed()

    spatial_rank: ClassVar[int] = 3  # the input's rank, batch included
    keeps_dtype = True
    propagates_mask = True  # Keras's supports_masking: the mask passes through

    def output_shape(self, shapes: list[Shape], ctx: Context) -> Shape:
        need_rank(shapes[0], self.spatial_rank)
        return shapes[0]

    def noise_shape(self, ctx: Context) -> list[int | None]:
        """Keras's mask shape: the batch and channel axes, 1 elsewhere."""
        channels_first = (getattr(self, "data_format", None) or ctx.data_format) == "channels_first"
        ones = [1] * (self.spatial_rank - 2)
        return [None, None, *ones] if channels_first else [None, *ones, None]

    def build(self, shapes: list[Shape], ctx: Context):
        from ..torch.dropout import DropoutModule

        return DropoutModule(self.rate, self.noise_shape(ctx), self.seed)


@register_layer
class SpatialDropout1D(_SpatialDropout):
    """Drops entire channels of a (batch, steps, channels) input (Keras's `SpatialDropout1D`,
    Tompson et al. 2014): the mask is (batch, 1, channels), kept values are scaled by
    `1 / (1 - rate)`. Training only. Keras's 1D layer has no data_format: always channels
    last."""

    type: Literal["SpatialDropout1D"] = "SpatialDropout1D"
    spatial_rank = 3
    examples = (
        {"args": {"rate": 0.5}, "inputs": [[4, 3]]},
        {"args": {"rate": 0.2, "seed": 1}, "inputs": [[None, 6]]},
    )

    def noise_shape(self, ctx: Context) -> list[int | None]:
        return [None, 1, None]


@register_layer
class SpatialDropout2D(_SpatialDropout):
    """Drops entire 2D feature maps (Keras's `SpatialDropout2D`): the mask is
    (batch, 1, 1, channels) channels_last, (batch, channels, 1, 1) channels_first. Training
    only."""

    type: Literal["SpatialDropout2D"] = "SpatialDropout2D"
    data_format: DataFormat | None = Field(
        None, description="Where the channels are; default: the spec's data_format."
    )
    spatial_rank = 4
    examples = (
        {"args": {"rate": 0.5}, "inputs": [[4, 4, 3]]},
        {"args": {"rate": 0.3}, "inputs": [[3, None, 4]], "data_format": "channels_first"},
    )


@register_layer
class SpatialDropout3D(_SpatialDropout):
    """Drops entire 3D feature maps (Keras's `SpatialDropout3D`): the mask is
    (batch, 1, 1, 1, channels) channels_last, (batch, channels, 1, 1, 1) channels_first.
    Training only."""

    type: Literal["SpatialDropout3D"] = "SpatialDropout3D"
    data_format: DataFormat | None = Field(
        None, description="Where the channels are; default: the spec's data_format."
    )
    spatial_rank = 5
    examples = (
        {"args": {"rate": 0.5}, "inputs": [[2, 3, 2, 4]]},
        {
            "args": {"rate": 0.1, "seed": 5},
            "inputs": [[3, 2, 2, 2]],
            "data_format": "channels_first",
        },
    )


@register_layer
class GaussianNoise(Layer):
    """Adds zero-centered Gaussian noise of standard deviation `stddev` in training mode
    (Keras's `GaussianNoise`); the identity at inference."""

    type: Literal["GaussianNoise"] = "GaussianNoise"
    propagates_mask = True  # Keras's supports_masking: the mask passes through
    stddev: float = Field(
        ..., ge=0, le=1, description="Standard deviation of the noise, in [0, 1]."
    )
    seed: int | None = _seed()

    examples = (
        {"args": {"stddev": 0.1}, "inputs": [[5]]},
        {"args": {"stddev": 0.5, "seed": 3}, "inputs": [[None, 2, 3]]},
    )

    def build(self, shapes: list[Shape], ctx: Context):
        from ..torch.noise import GaussianNoiseModule

        return GaussianNoiseModule(self.stddev, self.seed)


@register_layer
class GaussianDropout(Layer):
    """Multiplies by Gaussian noise of mean 1 and standard deviation `sqrt(rate / (1 - rate))`
    in training mode (Keras's `GaussianDropout`); the identity at inference."""

    type: Literal["GaussianDropout"] = "GaussianDropout"
    propagates_mask = True  # Keras's supports_masking: the mask passes through
    rate: float = Field(..., ge=0, lt=1, description="Drop probability, as Dropout's, in [0, 1).")
    seed: int | None = _seed()

    examples = (
        {"args": {"rate": 0.2}, "inputs": [[5]]},
        {"args": {"rate": 0.5, "seed": 2}, "inputs": [[3, None]]},
    )

    def build(self, shapes: list[Shape], ctx: Context):
        from ..torch.noise import GaussianDropoutModule

        return GaussianDropoutModule(self.rate, self.seed)


@register_layer
class AlphaDropout(Layer):
    """Dropout that keeps the mean and variance of SELU activations (Keras's `AlphaDropout`,
    Klambauer et al. 2017), in training mode: dropped values become SELU's negative
    saturation `-alpha * scale`, then `a * x + b` restores the mean and variance, with
    `a = ((1 - rate) * (1 + rate * alpha_p^2))^-0.5`, `b = -a * alpha_p * rate`. The identity
    at inference."""

    type: Literal["AlphaDropout"] = "AlphaDropout"
    propagates_mask = True  # Keras's supports_masking: the mask passes through
    rate: float = Field(..., ge=0, lt=1, description="Drop probability, in [0, 1).")
    noise_shape: list[PositiveDim | None] | None = Field(
        None,
        description="Shape of the mask, batch axis included, as Dropout's: each entry None "
        "(that axis's size), 1 (the same draw along that axis) or the axis's size.",
    )
    seed: int | None = _seed()

    examples = (
        {"args": {"rate": 0.2}, "inputs": [[5]]},
        {"args": {"rate": 0.3, "noise_shape": [None, 1, 4], "seed": 0}, "inputs": [[None, 4]]},
    )

    def output_shape(self, shapes: list[Shape], ctx: Context) -> Shape:
        return noise_shape_rule(self.noise_shape, shapes[0])  # Dropout's rule

    def build(self, shapes: list[Shape], ctx: Context):
        from ..torch.noise import AlphaDropoutModule

        return AlphaDropoutModule(self.rate, self.noise_shape, self.seed)
