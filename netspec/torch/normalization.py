"""Torch modules of LayerNormalization, UnitNormalization and RMSNormalization (Keras's
formulas), and the weight handling that BatchNormalization and GroupNormalization share."""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn

from .base import as_float
from .weights import create_weight


def create_weights(module: nn.Module, weights, ctx, optional=("gamma", "beta")) -> None:
    """The Keras weights as parameters; the optional ones that are absent are None."""
    for w in weights:
        create_weight(module, w, ctx)
    for name in optional:
        if name not in module._parameters:
            module.register_parameter(name, None)


def like_weights(x: torch.Tensor, ref: torch.Tensor | None) -> torch.Tensor:
    """x in the dtype of the layer's weights (Keras computes normalizations in float32)."""
    if ref is None:
        return as_float(x)
    return x if x.dtype == ref.dtype else x.to(ref.dtype)


def _trailing(axes, ndim: int) -> tuple[list[int], bool]:
    """Keras axes as sorted non-negative indices, and whether they are the last ones."""
    axes = sorted(a % ndim for a in axes)
    return axes, axes == list(range(ndim - len(axes), ndim))


class LayerNormModule(nn.Module):
    """Keras LayerNormalization: F.layer_norm over `axis` (moved last when they are not)."""

    def __init__(self, spec, weights, ctx):
        super().__init__()
        create_weights(self, weights, ctx)
        self.axes = [spec.axis] if isinstance(spec.axis, int) else list(spec.axis)
        self.epsilon = float(spec.epsilon)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = like_weights(x, self.gamma if self.gamma is not None else self.beta)
        axes, trailing = _trailing(self.axes, x.ndim)
        k = len(axes)
        if trailing:
            return F.layer_norm(x, x.shape[-k:], self.gamma, self.beta, self.epsilon)
        last = list(range(x.ndim - k, x.ndim))
        y = x.movedim(axes, last)
        return F.layer_norm(y, y.shape[-k:], self.gamma, self.beta, self.epsilon).movedim(
            last, axes
        )

    def extra_repr(self) -> str:
        return f"axis={self.axes}, epsilon={self.epsilon}"


class UnitNormModule(nn.Module):
    """Keras UnitNormalization: x / max(||x||_2, 1e-12) over `axis`."""

    def __init__(self, axis):
        super().__init__()
        self.axes = axis if isinstance(axis, int) else tuple(axis)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = as_float(x)
        if isinstance(self.axes, int):
            return F.normalize(x, 2.0, self.axes, 1e-12)
        norm = torch.linalg.vector_norm(x, 2, dim=self.axes, keepdim=True)
        return x / norm.clamp_min(1e-12)

    def extra_repr(self) -> str:
        return f"axis={self.axes}"


class RMSNormModule(nn.Module):
    """Keras RMSNormalization: x * rsqrt(mean(x^2) + epsilon) * scale over `axis`."""

    def __init__(self, spec, weights, ctx):
        super().__init__()
        create_weights(self, weights, ctx, optional=())
        self.axes = [spec.axis] if isinstance(spec.axis, int) else list(spec.axis)
        self.epsilon = float(spec.epsilon)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = like_weights(x, self.scale)
        axes, trailing = _trailing(self.axes, x.ndim)
        if trailing and hasattr(F, "rms_norm"):  # torch >= 2.4
            return F.rms_norm(x, x.shape[-len(axes) :], self.scale, self.epsilon)
        mean_square = x.square().mean(dim=axes, keepdim=True)
        shape = [x.shape[i] if i in axes else 1 for i in range(x.ndim)]
        return x * torch.rsqrt(mean_square + self.epsilon) * self.scale.view(shape)

    def extra_repr(self) -> str:
        return f"axis={self.axes}, epsilon={self.epsilon}"
