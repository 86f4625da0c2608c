"""Deterministic synthetic data for the benchmarks: the same seed gives the same tensors.

Nothing is downloaded. The data has a learnable structure (so a training step does real work,
not an all-zero gradient), and shapes as Keras lays them out (channels_last images, (batch,
timesteps, features) sequences):

- `digits(n, seed)`: MNIST-like 28x28x1 images in [0, 1] and int64 labels 0-9: a bright 6x6
  square at a label-dependent place, plus noise.
- `series(n, steps, features, seed)`: windows of noisy sums of sines (float32, (n, steps,
  features)) and the next value of the first feature, (n, 1).
"""

from __future__ import annotations

import math

import torch


def _generator(seed: int) -> torch.Generator:
    return torch.Generator().manual_seed(seed)


def digits(n: int, seed: int = 0, size: int = 28) -> tuple[torch.Tensor, torch.Tensor]:
    """(images (n, size, size, 1) float32 channels_last, labels (n,) int64)."""
    gen = _generator(seed)
    labels = torch.randint(0, 10, (n,), generator=gen)
    images = 0.1 * torch.rand(n, size, size, 1, generator=gen)
    cells = size // 6  # label k's square sits in cell (k // cells, k % cells) of a 6-pixel grid
    for k in range(10):
        row, col = 1 + 6 * (k // cells), 1 + 6 * (k % cells)
        images[labels == k, row : row + 6, col : col + 6, 0] += 0.9
    return images.clamp_(0, 1), labels


def series(
    n: int, steps: int = 50, features: int = 16, seed: int = 0
) -> tuple[torch.Tensor, torch.Tensor]:
    """(windows (n, steps, features) float32, next value of feature 0 (n, 1) float32)."""
    gen = _generator(seed)
    freq = 0.05 + 0.3 * torch.rand(n, 1, features, generator=gen)
    phase = 2 * math.pi * torch.rand(n, 1, features, generator=gen)
    t = torch.arange(steps + 1, dtype=torch.float32).view(1, -1, 1)
    waves = torch.sin(freq * t + phase) + 0.05 * torch.randn(n, steps + 1, features, generator=gen)
    return waves[:, :steps].contiguous(), waves[:, steps, :1].contiguous()
