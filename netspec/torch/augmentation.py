"""Shared by the image-augmentation modules: the training-only forward with per-sample draws,
and Keras's affine transform (RandomRotation, RandomZoom, RandomTranslation).

`affine_transform` reproduces Keras 3's torch backend (`keras.src.backend.torch.image.
affine_transform` and its `map_coordinates`): output pixel (x, y) of image i samples the input
at (a0 x + a1 y + a2, b0 x + b1 y + b2) for the image's transform [a0, a1, a2, b0, b1, b2];
bilinear takes the four neighbours (floor and floor + 1 on each axis) with weights 1 - d and
d, nearest the rounded point (half to even, as torch.round); every neighbour's index is brought
into the image by the fill mode (reflect, wrap, nearest: clipped), and with fill_mode constant
a neighbour outside the image contributes fill_value instead. Keras loops over the images and
also interpolates along the channel axis (with weight 0 off the integer channel); here one
gather per neighbour serves the whole batch, with the same sums in the same order.
"""

from __future__ import annotations

import torch

from .random import SeededModule


class AugmentationModule(SeededModule):
    """Training only: `sample` draws the per-sample parameters, `transform` applies them;
    `infer` is the inference output (the input as float32, as Keras casts it)."""

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = x.float()  # Keras casts images to its float32 compute dtype
        if not self.training:
            return self.infer(x)
        return self.transform(x, self.sample(x))

    def infer(self, x: torch.Tensor) -> torch.Tensor:
        return x

    def sample(self, x: torch.Tensor):
        raise NotImplementedError

    def transform(self, x: torch.Tensor, params) -> torch.Tensor:
        raise NotImplementedError

    def uniform(self, shape, low: float, high: float, like: torch.Tensor) -> torch.Tensor:
        """Keras's `random.uniform` on torch: rand * (maxval - minval) + minval (float32)."""
        return self.draw("uniform", shape, like) * (high - low) + low


class AffineModule(AugmentationModule):
    """An augmentation applied by Keras's affine transform (RandomRotation, RandomZoom,
    RandomTranslation): the fill and interpolation settings they share; a subclass draws its
    parameters (`sample`) and turns them into per-image transforms (`matrix`)."""

    def __init__(
        self,
        fill_mode: str,
        interpolation: str,
        fill_value: float,
        channels_first: bool,
        seed: int | None,
    ):
        super().__init__(seed)
        self.fill_mode = fill_mode
        self.interpolation = interpolation
        self.fill_value = float(fill_value)
        self.channels_first = channels_first

    def matrix(self, x: torch.Tensor, params: torch.Tensor) -> torch.Tensor:
        """(batch, 6) transforms [a0, a1, a2, b0, b1, b2] of the drawn `params`."""
        raise NotImplementedError

    def transform(self, x: torch.Tensor, params: torch.Tensor) -> torch.Tensor:
        return affine_transform(
            x,
            self.matrix(x, params),
            self.interpolation,
            self.fill_mode,
            self.fill_value,
            self.channels_first,
        )

    def settings_repr(self) -> str:
        return (
            f"fill_mode={self.fill_mode!r}, interpolation={self.interpolation!r}, seed={self.seed}"
        )


def image_size(x: torch.Tensor, channels_first: bool) -> tuple[int, int]:
    """(height, width) of a batch of images."""
    return (x.shape[2], x.shape[3]) if channels_first else (x.shape[1], x.shape[2])


def _reflect(index: torch.Tensor, size: int) -> torch.Tensor:
    # Keras's _reflect_index_fixer: (d c b a | a b c d | d c b a), from its triangular wave.
    period = 2 * (2 * size + 1) - 2
    wave = torch.abs(torch.remainder(2 * index + 1 + 2 * size, period) - 2 * size)
    return torch.div(wave - 1, 2, rounding_mode="floor")


def _fix(index: torch.Tensor, size: int, fill_mode: str) -> torch.Tensor:
    if fill_mode == "reflect":
        return _reflect(index, size)
    if fill_mode == "wrap":
        return torch.remainder(index, size)
    return index.clamp(0, size - 1)  # nearest, and constant (whose outside points are masked)


def _nodes(coords: torch.Tensor, size: int, interpolation: str, fill_mode: str) -> list:
    """Keras's interpolation nodes on one axis: (fixed index, inside the image, weight)."""
    if interpolation == "nearest":
        index = torch.round(coords).long()
        nodes = [(index, None)]
    else:
        lower = torch.floor(coords)
        upper_weight = coords - lower
        index = lower.long()
        nodes = [(index, 1 - upper_weight), (index + 1, upper_weight)]
    return [(_fix(i, size, fill_mode), (i >= 0) & (i < size), w) for i, w in nodes]


def affine_transform(
    images: torch.Tensor,
    matrix: torch.Tensor,
    interpolation: str,
    fill_mode: str,
    fill_value: float,
    channels_first: bool,
) -> torch.Tensor:
    """Keras's affine_transform of float images (batch, h, w, c) or (batch, c, h, w) by one
    transform [a0, a1, a2, b0, b1, b2] per image (`matrix`: (batch, 6))."""
    batch = images.shape[0]
    height, width = image_size(images, channels_first)
    ys = torch.arange(height, dtype=matrix.dtype, device=matrix.device).view(1, height, 1)
    xs = torch.arange(width, dtype=matrix.dtype, device=matrix.device).view(1, 1, width)
    m = matrix.view(batch, 6, 1, 1)
    # Keras's order of operations: the indices times the matrix, then the offset.
    src_y = ys * m[:, 4] + xs * m[:, 3] + m[:, 5]
    src_x = ys * m[:, 1] + xs * m[:, 0] + m[:, 2]
    rows = _nodes(src_y, height, interpolation, fill_mode)
    cols = _nodes(src_x, width, interpolation, fill_mode)
    flat = (
        images.reshape(batch, -1, height * width)
        if channels_first
        else images.reshape(batch, height * width, -1)
    )
    out = None
    for row, row_inside, row_weight in rows:
        for col, col_inside, col_weight in cols:
            value = _gather(flat, row * width + col, channels_first)
            if fill_mode == "constant":
                inside = _per_pixel(row_inside & col_inside, channels_first)
                value = torch.where(inside, value, fill_value)
            if row_weight is not None:
                value = _per_pixel(row_weight * col_weight, channels_first) * value
            out = value if out is None else out + value
    return out.reshape(images.shape)


def _per_pixel(values: torch.Tensor, channels_first: bool) -> torch.Tensor:
    """(batch, h, w) per-pixel values, broadcastable against the flat images."""
    flat = values.reshape(values.shape[0], -1)
    return flat.unsqueeze(1) if channels_first else flat.unsqueeze(2)


def _gather(flat: torch.Tensor, index: torch.Tensor, channels_first: bool) -> torch.Tensor:
    """The pixels at flat positions `index` (batch, h, w) of every channel."""
    index = _per_pixel(index, channels_first)
    if channels_first:
        return flat.gather(2, index.expand(-1, flat.shape[1], -1))
    return flat.gather(1, index.expand(-1, -1, flat.shape[2]))
