"""Torch module of Conv1D/2D/3D, and the layout, padding, weight and activation handling that
every convolution module shares (conv_transpose, depthwise_conv, separable_conv).

Kernels are stored in torch's layout, channels-first; a channels_last input is permuted to
channels-first as a view, which torch's CPU and CUDA kernels run in channels_last memory format
(no copy), and the output is permuted back, again a view (in a model's conv stack, the views
pass from layer to layer without either permute: layout.py). A channels_last 1-D convolution
runs as a 2-D one over (1, steps): torch's conv1d has no channels_last path and copies. Keras's
`same` padding is torch's symmetric `padding` argument where it is symmetric, else the extra
zero at the end comes from `F.pad`, computed per call when a variable size decides it.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F

from .activations import activation_fn
from .layout import ChannelsFirstCapable
from .same_padding import causal_padding, flat_pads, same_padding
from .weights import create_weight

CONV = {1: F.conv1d, 2: F.conv2d, 3: F.conv3d}


def conv_perm(rank: int) -> tuple[int, ...]:
    """Keras kernel (*window, in, out) -> torch (out, in, *window); also (*window, out, in) ->
    (in, out, *window) for transposed kernels."""
    return (rank + 1, rank, *range(rank))


def depthwise_perm(rank: int) -> tuple[int, ...]:
    """Keras depthwise kernel (*window, in, multiplier) -> (in, multiplier, *window), which
    views as torch's (in * multiplier, 1, *window) grouped kernel."""
    return (rank, rank + 1, *range(rank))


class BaseConvModule(ChannelsFirstCapable):
    """Layout, padding and activation shared by the convolution modules."""

    def __init__(self, spec, spatial, ctx, padding: str | None = None):
        super().__init__()
        rank, windows, padding = spec.rank, spec.windows(), padding or spec.padding
        last = not spec.channels_first(ctx)
        self.lift = rank == 1 and last  # run as 2-D over (1, steps), in channels_last format
        if self.lift:
            rank, spatial, windows = 2, (1, *spatial), [(1, 1, 1), *windows]
        self.rank = rank
        self.to_first = (0, rank + 1, *range(1, rank + 1)) if last else None
        self.to_last = (0, *range(2, rank + 2), 1) if last else None
        self.stride = tuple(s for _, s, _ in windows)
        self.dilation = tuple(d for _, _, d in windows)
        self.act = activation_fn(spec.activation)
        self.padding, self.pads, self.windows = (0,) * rank, None, None
        if padding == "causal":
            (k, _, d) = windows[-1]
            self.pads = causal_padding(k, d)
        elif padding == "same" and any(
            n is None and w[1] > 1 for n, w in zip(spatial, windows, strict=True)
        ):
            self.windows = windows  # the padding depends on a variable size: computed per call
        elif padding == "same":
            pairs = [same_padding(n or 0, *w) for n, w in zip(spatial, windows, strict=True)]
            self.padding = tuple(min(p) for p in pairs)
            extra = [(a - m, b - m) for (a, b), m in zip(pairs, self.padding, strict=True)]
            self.pads = flat_pads(extra) if any(map(any, extra)) else None

    def first(self, x: torch.Tensor, channels_first: bool = False) -> torch.Tensor:
        """The input as a channels-first view (already one with `channels_first`), padded as
        Keras pads it."""
        if not x.is_floating_point():
            x = x.float()
        if self.lift:
            x = x.unsqueeze(1)
        if self.to_first is not None and not channels_first:
            x = x.permute(self.to_first)
        if self.windows is not None:
            pairs = [same_padding(n, *w) for n, w in zip(x.shape[2:], self.windows, strict=True)]
            return F.pad(x, flat_pads(pairs))
        return x if self.pads is None else F.pad(x, self.pads)

    def last(self, y: torch.Tensor, channels_first: bool = False) -> torch.Tensor:
        """A channels-first result back in the layer's layout (kept so with `channels_first`),
        activated."""
        if self.to_last is not None and not channels_first:
            y = y.permute(self.to_last)
        if self.lift:
            y = y.squeeze(1)
        return y if self.act is None else self.act(y)

    def add_weights(self, weights, ctx, depthwise: bool = False) -> list[tuple[int, ...] | None]:
        """Create Keras's weights (kernels, then the optional bias) in torch layout; return the
        shape torch's op takes each kernel in (None: as stored). Depthwise kernels, `kernel` of
        DepthwiseConv or `depthwise_kernel`, are stored (in, multiplier, *window) and viewed as
        (in * multiplier, 1, *window). For channels_last layers the other kernels are stored
        with `in` innermost (torch's channels_last kernel format, which it would otherwise
        convert to at every call)."""
        self.register_parameter("bias", None)
        views = []
        for weight in weights:
            if weight.name == "bias":
                create_weight(self, weight, ctx)
                continue
            rank, dw = len(weight.shape) - 2, depthwise or weight.name == "depthwise_kernel"
            perm = (depthwise_perm if dw else conv_perm)(rank)
            # channels_last: `in` innermost in memory, torch's channels_last kernel format
            order = (0, *range(2, rank + 2), 1) if self.to_first is not None and not dw else None
            param = create_weight(self, weight, ctx, perm, order=order)
            shape = tuple(param.shape)
            if dw:
                shape = (shape[0] * shape[1], 1, *shape[2:])
            shape = (*shape[:2], 1, *shape[2:]) if self.lift else shape
            views.append(None if shape == tuple(param.shape) else shape)
        return views


class ConvModule(BaseConvModule):
    """Keras Conv1D/2D/3D (groups included): one grouped convolution; with `depthwise`,
    DepthwiseConv1D/2D's (depthwise_conv.py)."""

    def __init__(self, spec, spatial, weights, ctx, depthwise: bool = False):
        super().__init__(spec, spatial, ctx)
        (self.view,) = self.add_weights(weights, ctx, depthwise)
        self.groups = weights[0].shape[-2] if depthwise else spec.groups
        self.op = CONV[self.rank]

    def takes_channels_first(self, rank: int) -> bool:
        return self.to_first is not None and not self.lift

    def forward(self, x: torch.Tensor, channels_first: bool = False) -> torch.Tensor:
        k = self.kernel if self.view is None else self.kernel.view(self.view)
        x = self.first(x, channels_first)
        y = self.op(x, k, self.bias, self.stride, self.padding, self.dilation, self.groups)
        return self.last(y, channels_first)
