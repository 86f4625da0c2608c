"""Torch module of RandomCrop."""

from __future__ import annotations

import torch
import torch.nn.functional as F

from .augmentation import AugmentationModule, image_size


def aspect_window(height: int, width: int, target: tuple[int, int]) -> tuple[int, int, int, int]:
    """(top, left, rows, cols) of the largest centred window of the target's aspect ratio
    (Keras's crop_to_aspect_ratio arithmetic, truncations included)."""
    target_height, target_width = target
    rows = max(min(height, int(float(width * target_height) / target_width)), 1)
    cols = max(min(width, int(float(height * target_width) / target_height)), 1)
    return int(float(height - rows) / 2), int(float(width - cols) / 2), rows, cols


class RandomCropModule(AugmentationModule):
    """Keras's RandomCrop. Training, input larger than the target on both axes: one window at
    offsets floor(u * (size - target + 1)), one for the whole batch; else Keras's fallback
    (the target-sized slice from the aspect window's offset, resized where it is smaller).
    Inference: the aspect window resized (bilinear, half-pixel centres, no antialiasing: Keras's
    torch backend's resize)."""

    def __init__(self, height: int, width: int, channels_first: bool, seed: int | None):
        super().__init__(seed)
        self.target = (height, width)
        self.channels_first = channels_first

    def sample(self, x: torch.Tensor) -> torch.Tensor | None:
        """The (top, left) offsets of the window (int64), or None for Keras's fallback."""
        height, width = image_size(x, self.channels_first)
        if height <= self.target[0] or width <= self.target[1]:
            return None
        spans = torch.tensor(
            [height - self.target[0] + 1, width - self.target[1] + 1], device=x.device
        )
        # Keras casts uniform(0, span) to int32; the clamp keeps a float32 rounding up to
        # `span` itself inside.
        offsets = (self.draw("uniform", (2,), x) * spans).long()
        return torch.minimum(offsets, spans - 1)

    def transform(self, x: torch.Tensor, params: torch.Tensor | None) -> torch.Tensor:
        height, width = image_size(x, self.channels_first)
        axes = (2, 3) if self.channels_first else (1, 2)
        if params is None:
            top, left, _, _ = aspect_window(height, width, self.target)
            # Keras slices target-sized from there (clipped by the image), then resizes.
            x = x.narrow(axes[0], top, min(self.target[0], height - top))
            x = x.narrow(axes[1], left, min(self.target[1], width - left))
            return self._resize(x)
        for axis, offset, size in zip(axes, params, self.target, strict=True):
            rows = offset + torch.arange(size, device=x.device)
            x = x.index_select(axis, rows)
        return x

    def infer(self, x: torch.Tensor) -> torch.Tensor:
        height, width = image_size(x, self.channels_first)
        top, left, rows, cols = aspect_window(height, width, self.target)
        axes = (2, 3) if self.channels_first else (1, 2)
        return self._resize(x.narrow(axes[0], top, rows).narrow(axes[1], left, cols))

    def _resize(self, x: torch.Tensor) -> torch.Tensor:
        if tuple(image_size(x, self.channels_first)) == self.target:
            return x
        if not self.channels_first:
            x = x.permute(0, 3, 1, 2)
        x = F.interpolate(x, size=self.target, mode="bilinear", align_corners=False)
        return x if self.channels_first else x.permute(0, 2, 3, 1)

    def extra_repr(self) -> str:
        return f"height={self.target[0]}, width={self.target[1]}, seed={self.seed}"
