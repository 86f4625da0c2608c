"""Torch module of the BatchNormalization layer."""

from __future__ import annotations

import torch
import torch.nn.functional as F

from .layout import ChannelsFirstCapable
from .normalization import create_weights, like_weights


class BatchNormModule(ChannelsFirstCapable):
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
        self.synchronized = spec.synchronized

    def takes_channels_first(self, rank: int) -> bool:
        return self.axis == rank - 1

    def forward(self, x: torch.Tensor, channels_first: bool = False) -> torch.Tensor:
        """`channels_first`: x and the result are channels-first views (layout.py)."""
        x = like_weights(x, self.moving_mean)
        moved = self.axis != 1 and not channels_first
        if moved:
            x = x.movedim(self.axis, 1)
        mean, var, m = self.moving_mean, self.moving_variance, self.momentum
        if not self.training or self.frozen:
            y = F.batch_norm(x, mean, var, self.gamma, self.beta, False, 0.0, self.epsilon)
        elif self.synchronized and _world() > 1:
            y = self._synchronized(x)
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
        return y.movedim(1, self.axis) if moved else y

    def _synchronized(self, x: torch.Tensor) -> torch.Tensor:
        """Normalization by the global batch's mean and biased variance: each rank's sums
        (count, sum, sum of squares per channel) all-reduced with their gradient (the backward
        of SyncBatchNorm), the moving statistics updated with them as Keras does."""
        dims = [d for d in range(x.ndim) if d != 1]
        count = torch.full_like(x.select(1, 0).sum(), x.numel() // x.shape[1])
        stats = torch.cat([count.reshape(1), x.sum(dims), (x * x).sum(dims)])
        stats = _AllReduce.apply(stats)
        n, channels = stats[0], x.shape[1]
        mean = stats[1 : 1 + channels] / n
        var = (stats[1 + channels :] / n - mean * mean).clamp_min(0.0)
        with torch.no_grad():
            m = self.momentum
            self.moving_mean.copy_(self.moving_mean * m + mean.detach() * (1.0 - m))
            self.moving_variance.copy_(self.moving_variance * m + var.detach() * (1.0 - m))
        shape = (1, -1, *([1] * (x.ndim - 2)))
        y = (x - mean.view(shape)) * torch.rsqrt(var.view(shape) + self.epsilon)
        y = y if self.gamma is None else y * self.gamma.view(shape)
        return y if self.beta is None else y + self.beta.view(shape)

    def extra_repr(self) -> str:
        return f"axis={self.axis}, momentum={self.momentum}, epsilon={self.epsilon}"


def _world() -> int:
    """The number of processes of the data-parallel run (1 without one)."""
    import torch.distributed as dist

    return dist.get_world_size() if dist.is_available() and dist.is_initialized() else 1


class _AllReduce(torch.autograd.Function):
    """The sum over the ranks, whose gradient is the sum of the ranks' gradients."""

    @staticmethod
    def forward(ctx, t: torch.Tensor) -> torch.Tensor:
        import torch.distributed as dist

        t = t.clone()
        dist.all_reduce(t)
        return t

    @staticmethod
    def backward(ctx, grad: torch.Tensor) -> torch.Tensor:
        import torch.distributed as dist

        grad = grad.clone()
        dist.all_reduce(grad)
        return grad
