"""Torch module of the BatchNormalization layer."""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn

from .normalization import create_weights, like_weights


class BatchNormModule(nn.Module):
    """Keras BatchNormalization on channel axis `axis` (of the full shape), with torch's
    F.batch_norm (the channel axis moved to dim 1 as a view). Training: the batch's mean and
    biased variance normalize, and the moving statistics are updated Keras's way (torch's
    update of the variance, with the unbiased variance, is turned into Keras's, with the
    biased one); inference, or a frozen layer (trainable false): the moving statistics."""

    def __init__(self, spec, weights, ctx, axis: int):
        super().__init__()
        create_weights(self, weights, ctx)
        self.momentum = float(spec.momentum)
        self.epsilon = float(spec.epsilon)
        self.frozen = not spec.trainable
        self.axis = axis

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = like_weights(x, self.moving_mean)
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
