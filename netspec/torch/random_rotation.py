"""Torch module of RandomRotation."""

from __future__ import annotations

import math

import torch

from .augmentation import AffineModule, image_size


def rotation_matrix(degrees: torch.Tensor, height: int, width: int) -> torch.Tensor:
    """Keras's `_compute_affine_matrix` for a rotation about the image centre (no shear,
    translation or scale), in its order of float32 operations: (batch, 6)."""
    angle = degrees * torch.tensor(math.pi / 180.0, dtype=degrees.dtype, device=degrees.device)
    cx = 0.5 * (torch.tensor(width, dtype=degrees.dtype, device=degrees.device) - 1)
    cy = 0.5 * (torch.tensor(height, dtype=degrees.dtype, device=degrees.device) - 1)
    cos, sin = torch.cos(angle), torch.sin(angle)
    a0, a1, b0, b1 = cos, -sin, sin, cos
    a2 = cx - cx * a0 - cy * a1
    b2 = cy - cx * b0 - cy * b1
    return torch.stack([a0, a1, a2, b0, b1, b2], dim=1)


class RandomRotationModule(AffineModule):
    """Keras's RandomRotation while training: per image an angle uniform in
    [lower * 360, upper * 360] degrees, applied by Keras's affine transform."""

    def __init__(
        self,
        factor: tuple[float, float],
        fill_mode: str,
        interpolation: str,
        fill_value: float,
        channels_first: bool,
        seed: int | None,
    ):
        super().__init__(fill_mode, interpolation, fill_value, channels_first, seed)
        self.factor = factor

    def sample(self, x: torch.Tensor) -> torch.Tensor:
        """The angles in degrees, one per image."""
        lower, upper = self.factor
        return self.uniform((x.shape[0],), lower * 360.0, upper * 360.0, x)

    def matrix(self, x: torch.Tensor, params: torch.Tensor) -> torch.Tensor:
        return rotation_matrix(params, *image_size(x, self.channels_first))

    def extra_repr(self) -> str:
        return f"factor={self.factor}, {self.settings_repr()}"
