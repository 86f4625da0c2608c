"""What the torch modules of the layers share (as `netspec.layers.base` on the spec side)."""

from __future__ import annotations

import torch


def as_float(x: torch.Tensor) -> torch.Tensor:
    """Integer and bool inputs as float32 (Keras computes in float32); floats as they are."""
    return x if x.is_floating_point() else x.float()
