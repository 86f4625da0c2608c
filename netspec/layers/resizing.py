"""Resizing: images resized to (height, width) (Keras's `Resizing` preprocessing layer)."""

from __future__ import annotations

from typing import Literal

from pydantic import Field, ValidationInfo, field_validator

from ..vocab.bounds import Float32, Size
from .base import Context, DataFormat, Shape, register_layer
from .spatial import DATA_FORMAT_DESCRIPTION, Spatial


def aspect_crop(h: int, w: int, height: int, width: int) -> tuple[int, int, int, int]:
    """(top, left, rows, columns) of the largest centred window of an h x w image with the
    aspect ratio of height x width, as Keras's torch backend and `smart_resize` compute it
    (float division, int())."""
    rows = max(min(h, int(float(w * height) / width)), 1)
    cols = max(min(w, int(float(h * width) / height)), 1)
    return int(float(h - rows) / 2), int(float(w - cols) / 2), rows, cols


def aspect_pad(h: int, w: int, height: int, width: int) -> tuple[int, int]:
    """(rows, columns) of padding on each side of an h x w image towards the aspect ratio of
    height x width, as Keras's torch backend: int((target - n) / 2) on both sides (an odd
    remainder is not padded)."""
    rows = int(float(max(h, int(float(w * height) / width)) - h) / 2)
    cols = int(float(max(w, int(float(h * width) / height)) - w) / 2)
    return rows, cols


class ImageSize(Spatial):
    """A layer that makes (height, width) images: rank-4 inputs (batch axis included; Keras's
    image layers also take unbatched rank-3 images, which a model's batched input cannot be)."""

    height: Size = Field(..., description="Height of the output images.")
    width: Size = Field(..., description="Width of the output images.")

    def output_shape(self, shapes: list[Shape], ctx: Context) -> Shape:
        _, channels = self.split(shapes[0], ctx)  # checks the rank
        return self.join((self.height, self.width), channels, ctx)


@register_layer
class Resizing(ImageSize):
    """Resizes images to (height, width) as Keras's torch backend does (`image.resize`):
    `F.interpolate` with half-pixel centres (align_corners=False), `nearest` as torch's
    nearest-exact; optionally first cropping (`crop_to_aspect_ratio`: the largest centred
    window of the target's aspect ratio) or padding (`pad_to_aspect_ratio`: `fill_value` on
    both sides of the short axis) the image. Computed in float32; integer inputs are rounded
    back to their dtype (uint8 bicubic clamped to [0, 255]), as Keras's torch backend returns
    them. lanczos3/lanczos5 are not offered (Keras's torch backend refuses them)."""

    type: Literal["Resizing"] = "Resizing"
    interpolation: Literal["bilinear", "nearest", "bicubic"] = Field(
        "bilinear",
        description="bilinear, nearest or bicubic (torch's kernels: bicubic with a = -0.75).",
    )
    crop_to_aspect_ratio: bool = Field(
        False,
        description="Crop the largest centred window of the target's aspect ratio first, so "
        "the image is not distorted.",
    )
    pad_to_aspect_ratio: bool = Field(
        False,
        description="Pad the short axis evenly with fill_value first to the target's aspect "
        "ratio, so the image is not distorted (not with crop_to_aspect_ratio).",
    )
    fill_mode: Literal["constant"] = Field(
        "constant", description="How padding is filled: constant (fill_value; Keras's only mode)."
    )
    fill_value: Float32 = Field(0.0, description="Value of the padding (pad_to_aspect_ratio).")
    antialias: bool = Field(
        False,
        description="Antialiasing filter when downsampling (bilinear and bicubic; ignored "
        "for nearest, as Keras).",
    )
    data_format: DataFormat | None = Field(None, description=DATA_FORMAT_DESCRIPTION)

    keeps_dtype = True  # Keras's torch backend returns integer images in their dtype
    examples = (
        {"args": {"height": 3, "width": 5}, "inputs": [[4, 4, 2]]},
        {"args": {"height": 6, "width": 3, "interpolation": "nearest"}, "inputs": [[4, 5, 2]]},
        {"args": {"height": 5, "width": 7, "interpolation": "bicubic"}, "inputs": [[3, 4, 1]]},
        {
            "args": {"height": 2, "width": 3, "antialias": True, "data_format": "channels_first"},
            "inputs": [[3, 7, 9]],
        },
        {
            "args": {"height": 4, "width": 4, "crop_to_aspect_ratio": True},
            "inputs": [[5, 8, 2]],
        },
        {
            "args": {"height": 3, "width": 4, "pad_to_aspect_ratio": True, "fill_value": 0.5},
            "inputs": [[6, 3, 2]],
        },
        {
            "args": {"height": 3, "width": 4, "pad_to_aspect_ratio": True, "fill_value": -1.0},
            "inputs": [[2, 5, 9]],
            "data_format": "channels_first",
        },
        {
            "args": {"height": 4, "width": 2, "interpolation": "bicubic", "antialias": True},
            "inputs": [[7, 6, 3]],
        },
        {"args": {"height": 3, "width": 3}, "inputs": [[None, None, 2]]},
        # Integer images at scales 2 and 1/2: dyadic weights, so every device rounds alike.
        {"args": {"height": 8, "width": 2}, "inputs": [[4, 4, 2]], "dtypes": ["uint8"]},
        {
            "args": {"height": 6, "width": 6, "interpolation": "bicubic"},
            "inputs": [[3, 3, 4]],
            "dtypes": ["int32"],
        },
    )

    @field_validator("pad_to_aspect_ratio")
    @classmethod
    def _not_both(cls, value: bool, info: ValidationInfo) -> bool:
        if value and info.data.get("crop_to_aspect_ratio"):
            raise ValueError("only one of crop_to_aspect_ratio and pad_to_aspect_ratio can be true")
        return value

    def temporary_elements(self, shapes: list[Shape], ctx: Context) -> int:
        """pad_to_aspect_ratio pads a copy of the input first (a 1 x 10^6 image resized to
        10^6 x 1 pads it to 10^6 x 10^6)."""
        if not self.pad_to_aspect_ratio:
            return 0
        (h, w), channels = self.split(shapes[0], ctx)
        h, w = h or 1, w or 1
        rows, cols = aspect_pad(h, w, self.height, self.width)
        return (h + 2 * rows) * (w + 2 * cols) * (channels or 1)

    def build(self, shapes: list[Shape], ctx: Context):
        from ..torch.resizing import ResizingModule

        return ResizingModule(self, not self.channels_first(ctx))
