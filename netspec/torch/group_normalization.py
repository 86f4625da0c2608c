"""Torch module of the GroupNormalization layer."""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn

from .normalization import create_weights, like_weights


class GroupNormModule(nn.Module):
    """Keras GroupNormalization: F.group_norm with the channel axis moved to dim 1."""

    def __init__(self, spec, weights, ctx, channels_groups: tuple[int, int], axis: int):
        super().__init__()
        create_weights(self, weights, ctx)
        self.groups = channels_groups[1]
        self.axis = axis
        self.epsilon = float(spec.epsilon)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = like_weights(x, self.gamma if self.gamma is not None else self.beta)
        if self.axis == 1:
            return F.group_norm(x, self.groups, self.gamma, self.beta, self.epsilon)
        y = F.group_norm(x.movedim(self.axis, 1), self.groups, self.gamma, self.beta, self.epsilon)
        return y.movedim(1, self.axis)

    def extra_repr(self) -> str:
        return f"groups={self.groups}, axis={self.axis}, epsilon={self.epsilon}"
