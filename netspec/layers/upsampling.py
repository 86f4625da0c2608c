"""UpSampling1D/2D/3D: each spatial axis repeated `size` times (Keras 3's `UpSamplingND`);
UpSampling2D may interpolate (bilinear, bicubic) instead."""

from __future__ import annotations

from typing import TYPE_CHECKING, Literal

from pydantic import Field

from .base import Context, DataFormat, Shape, register_layer
from .spatial import DATA_FORMAT_DESCRIPTION, IntOrTuple, PositiveInt, Spatial, as_tuple

SIZE = "Upsampling factor: an int (every spatial axis) or one int per spatial axis."


class _UpSampling(Spatial):
    """Every spatial size multiplied by its factor (a variable size stays variable)."""

    keeps_dtype = True
    if TYPE_CHECKING:  # each subclass's own field (its default and description differ)
        size: IntOrTuple

    def factors(self) -> tuple[int, ...]:
        return as_tuple(self.size, self.rank)

    def output_shape(self, shapes: list[Shape], ctx: Context) -> Shape:
        spatial, channels = self.split(shapes[0], ctx)
        out = (None if n is None else n * f for n, f in zip(spatial, self.factors(), strict=True))
        return self.join(tuple(out), channels, ctx)

    def build(self, shapes: list[Shape], ctx: Context):
        from ..torch.upsampling import RepeatModule

        first = self.first_spatial_axis(ctx)
        repeats = [1] * (len(shapes[0]) + 1)
        for i, f in enumerate(self.factors()):
            repeats[first + i] = f
        return RepeatModule(repeats)


@register_layer
class UpSampling1D(_UpSampling):
    """Repeats each step `size` times along axis 1 of (batch, steps, features) inputs (Keras's
    `UpSampling1D`, which has no data_format: always axis 1)."""

    type: Literal["UpSampling1D"] = "UpSampling1D"
    size: PositiveInt = Field(2, description="How many times each step is repeated.")
    rank = 1
    examples = (
        {"args": {}, "inputs": [[3, 2]]},
        {"args": {"size": 3}, "inputs": [[None, 4]], "dtypes": ["int32"]},
        {"args": {"size": 1}, "inputs": [[2, 3]], "data_format": "channels_first"},
    )


@register_layer
class UpSampling2D(_UpSampling):
    """Upsamples images by integer factors (Keras's `UpSampling2D`). `nearest` repeats rows
    and columns (Keras's `ops.repeat`). `bilinear` and `bicubic` resize as Keras's torch backend
    does (`F.interpolate` with align_corners=False, half-pixel centres, no antialiasing, in
    float32; integer inputs are rounded back to their dtype). Keras's TensorFlow and JAX backends
    compute bicubic with another kernel (Keys a=-0.5, edge weights renormalised, where torch uses
    a=-0.75 and clamps at the edges); bilinear agrees across backends. lanczos3/lanczos5 (not on
    Keras's torch backend) are not offered."""

    type: Literal["UpSampling2D"] = "UpSampling2D"
    size: IntOrTuple = Field([2, 2], description=SIZE)
    data_format: DataFormat | None = Field(None, description=DATA_FORMAT_DESCRIPTION)
    interpolation: Literal["nearest", "bilinear", "bicubic"] = Field(
        "nearest",
        description="nearest (repeat), or bilinear / bicubic interpolation (half-pixel "
        "centres, as Keras's torch backend).",
    )
    examples = (
        {"args": {}, "inputs": [[3, 4, 2]]},
        {"args": {"size": [1, 3]}, "inputs": [[2, 3, 2]], "data_format": "channels_first"},
        {"args": {"size": 2}, "inputs": [[None, 3, 1]], "dtypes": ["uint8"]},
        {"args": {"interpolation": "bilinear"}, "inputs": [[3, 4, 2]]},
        {
            "args": {"interpolation": "bilinear", "size": [3, 2], "data_format": "channels_first"},
            "inputs": [[2, 3, 3]],
        },
        {"args": {"interpolation": "bicubic", "size": [2, 3]}, "inputs": [[4, 3, 2]]},
        {
            "args": {"interpolation": "bicubic"},
            "inputs": [[2, None, 4]],
            "data_format": "channels_first",
        },
        {"args": {"interpolation": "bilinear"}, "inputs": [[None, 3, 2]], "dtypes": ["int32"]},
        {"args": {"interpolation": "bicubic"}, "inputs": [[3, 3, 1]], "dtypes": ["uint8"]},
    )

    def build(self, shapes: list[Shape], ctx: Context):
        if self.interpolation == "nearest":
            return super().build(shapes, ctx)
        from ..torch.upsampling import ResizeModule

        rows, cols = self.factors()  # rank 2
        return ResizeModule(self.interpolation, (rows, cols), not self.channels_first(ctx))


@register_layer
class UpSampling3D(_UpSampling):
    """Repeats the three spatial axes of volumes (Keras's `UpSampling3D`)."""

    type: Literal["UpSampling3D"] = "UpSampling3D"
    size: IntOrTuple = Field([2, 2, 2], description=SIZE)
    data_format: DataFormat | None = Field(None, description=DATA_FORMAT_DESCRIPTION)
    rank = 3
    examples = (
        {"args": {}, "inputs": [[2, 3, 2, 2]]},
        {"args": {"size": [1, 2, 3]}, "inputs": [[2, None, 2, 1]], "dtypes": ["int64"]},
        {"args": {"size": 2}, "inputs": [[2, 2, 3, 2]], "data_format": "channels_first"},
    )
