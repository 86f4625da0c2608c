"""Torch modules of the normalization layers (Keras's formulas; imported by builders)."""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn

from .core_layers import as_float
from .weights import create_weight


def _create(module: nn.Module, weights, ctx, optional=("gamma", "beta")) -> None:
    """The Keras weights as parameters; the optional ones that are absent are None."""
    for w in weights:
        create_weight(module, w, ctx)
    for name in optional:
        if name not in module._parameters:
            module.register_parameter(name, None)


def _like(x: torch.Tensor, ref: torch.Tensor | None) -> torch.Tensor:
    """x in the dtype of the layer's weights (Keras computes normalizations in float32)."""
    if ref is None:
        return as_float(x)
    return x if x.dtype == ref.dtype else x.to(ref.dtype)


class BatchNormModule(nn.Module):
    """Keras BatchNormalization on channel axis `axis` (of the full shape), with torch's
    F.batch_norm (the channel axis moved to dim 1 as a view). Training: the batch's mean and
    biased variance normalize, and the moving statistics are updated Keras's way (torch's
    update of the variance, with the unbiased variance, is turned into Keras's, with the
    biased one); inference, or a frozen layer (trainable false): the moving statistics."""

    def __init__(self, spec, weights, ctx, axis: int):
        super().__init__()
        _create(self, weights, ctx)
        self.momentum = float(spec.momentum)
        self.epsilon = float(spec.epsilon)
        self.frozen = not spec.trainable
        self.axis = axis

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = _like(x, self.moving_mean)
        if self.axis != 1:
            x = x.movedim(self.axis, 1)
        mean, var, m = self.moving_mean, self.moving_variance, self.momentum
        if not self.training or self.frozen:
            y = F.batch_norm(x, mean, var, self.gamma, self.beta, False, 0.0, self.epsilon)
        elif x.numel() > x.shape[1]:  # more than one value per channel
            # torch updates `running` with the unbiased variance: m * var + (1 - m) * unbiased;
            # Keras wants the biased one, (n - 1) / n times it. (A copy: backward reads it.)
            running = var.detach().clone()
            y = F.batch_norm(x, mean, running, self.gamma, self.beta, True, 1.0 - m, self.epsilon)
            with torch.no_grad():
                n = x.numel() // x.shape[1]
                kept = var * m
                var.copy_(kept + (running - kept) * ((n - 1) / n))
        else:  # one value per channel: Keras's batch variance is 0, its output beta
            with torch.no_grad():
                mean.copy_(mean * m + x.detach().reshape(-1) * (1.0 - m))
                var.copy_(var * m)
            shape = (1, -1, *([1] * (x.ndim - 2)))
            y = (x - x) * self.epsilon**-0.5
            y = y if self.gamma is None else y * self.gamma.view(shape)
            y = y if self.beta is None else y + self.beta.view(shape)
        return y.movedim(1, self.axis) if self.axis != 1 else y

    def extra_repr(self) -> str:
        return f"axis={self.axis}, momentum={self.momentum}, epsilon={self.epsilon}"


def _trailing(axes, ndim: int) -> tuple[list[int], bool]:
    """Keras axes as sorted non-negative indices, and whether they are the last ones."""
    axes = sorted(a % ndim for a in axes)
    return axes, axes == list(range(ndim - len(axes), ndim))


class LayerNormModule(nn.Module):
    """Keras LayerNormalization: F.layer_norm over `axis` (moved last when they are not)."""

    def __init__(self, spec, weights, ctx):
        super().__init__()
        _create(self, weights, ctx)
        self.axes = [spec.axis] if isinstance(spec.axis, int) else list(spec.axis)
        self.epsilon = float(spec.epsilon)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = _like(x, self.gamma if self.gamma is not None else self.beta)
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


class GroupNormModule(nn.Module):
    """Keras GroupNormalization: F.group_norm with the channel axis moved to dim 1."""

    def __init__(self, spec, weights, ctx, channels_groups: tuple[int, int], axis: int):
        super().__init__()
        _create(self, weights, ctx)
        self.groups = channels_groups[1]
        self.axis = axis
        self.epsilon = float(spec.epsilon)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = _like(x, self.gamma if self.gamma is not None else self.beta)
        if self.axis == 1:
            return F.group_norm(x, self.groups, self.gamma, self.beta, self.epsilon)
        y = F.group_norm(x.movedim(self.axis, 1), self.groups, self.gamma, self.beta, self.epsilon)
        return y.movedim(1, self.axis)

    def extra_repr(self) -> str:
        return f"groups={self.groups}, axis={self.axis}, epsilon={self.epsilon}"


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
        _create(self, weights, ctx, optional=())
        self.axes = [spec.axis] if isinstance(spec.axis, int) else list(spec.axis)
        self.epsilon = float(spec.epsilon)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = _like(x, self.scale)
        axes, trailing = _trailing(self.axes, x.ndim)
        if trailing and hasattr(F, "rms_norm"):  # torch >= 2.4
            return F.rms_norm(x, x.shape[-len(axes) :], self.scale, self.epsilon)
        mean_square = x.square().mean(dim=axes, keepdim=True)
        shape = [x.shape[i] if i in axes else 1 for i in range(x.ndim)]
        return x * torch.rsqrt(mean_square + self.epsilon) * self.scale.view(shape)

    def extra_repr(self) -> str:
        return f"axis={self.axes}, epsilon={self.epsilon}"
