"""Torch side of the Scale plugin layer."""

from torch import nn

from netspec.torch.weights import create_weight


class ScaleModule(nn.Module):
    def __init__(self, weights, ctx):
        super().__init__()
        create_weight(self, weights[0], ctx)

    def forward(self, x):
        return x * self.scale


class SplitModule(nn.Module):
    def forward(self, x):
        return tuple(x.chunk(2, dim=-1))
