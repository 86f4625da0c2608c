"""Torch modules of the convolution layers (imported by their builders).

Kernels are stored in torch's layout, channels-first; a channels_last input is permuted to
channels-first as a view, which torch's CPU and CUDA kernels run in channels_last memory format
(no copy), and the output is permuted back, again a view. A channels_last 1-D convolution runs
as a 2-D one over (1, steps): torch's conv1d has no channels_last path and copies. Keras's
`same` padding is torch's symmetric `padding` argument where it is symmetric, else the extra
zero at the end comes from `F.pad`, computed per call when a variable size decides it.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn

from .modules import activation_fn
from .weights import create_weight

CONV = {1: F.conv1d, 2: F.conv2d, 3: F.conv3d}
CONV_TRANSPOSE = {1: F.conv_transpose1d, 2: F.conv_transpose2d, 3: F.conv_transpose3d}


def conv_perm(rank: int) -> tuple[int, ...]:
    """Keras kernel (*window, in, out) -> torch (out, in, *window); also (*window, out, in) ->
    (in, out, *window) for transposed kernels."""
    return (rank + 1, rank, *range(rank))


def depthwise_perm(rank: int) -> tuple[int, ...]:
    """Keras depthwise kernel (*window, in, multiplier) -> (in, multiplier, *window), which
    views as torch's (in * multiplier, 1, *window) grouped kernel."""
    return (rank, rank + 1, *range(rank))


def same_padding(size: int, kernel: int, stride: int, dilation: int) -> tuple[int, int]:
    """Keras's `same` padding of one axis (backend/torch/nn.py `_compute_padding_length`): the
    total makes ceil(size / stride) outputs; an odd total puts the extra zero at the end."""
    span = (kernel - 1) * dilation + 1
    total = span - 1 if stride == 1 else max(0, (-(-size // stride) - 1) * stride + span - size)
    return total // 2, total - total // 2


def transpose_crops(window: tuple[int, int, int], padding: str, output_padding: int | None):
    """(left, right) elements Keras's transposed convolution (JAX's semantics, which Keras's
    torch backend reproduces) drops from the full output (input - 1) * stride + span; negative
    on the right: zeros added (backend/common/backend_utils.py)."""
    kernel, stride, dilation = window
    span = (kernel - 1) * dilation + 1
    if padding == "valid":
        extra = max(span, stride) - span if output_padding is None else output_padding
        left, right = span - 1, span - 1 + extra
    else:
        total = (
            stride + span - 2 if output_padding is None else span + span % 2 - 2 + output_padding
        )
        left = min(total // 2 + total % 2, span - 1)
        right = total - left
    return span - 1 - left, span - 1 - right


class _Conv(nn.Module):
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
            self.pads = (d * (k - 1), 0)
        elif padding == "same" and any(
            n is None and w[1] > 1 for n, w in zip(spatial, windows, strict=True)
        ):
            self.windows = windows  # the padding depends on a variable size: computed per call
        elif padding == "same":
            pairs = [same_padding(n or 0, *w) for n, w in zip(spatial, windows, strict=True)]
            self.padding = tuple(min(p) for p in pairs)
            extra = [(a - m, b - m) for (a, b), m in zip(pairs, self.padding, strict=True)]
            self.pads = _flat(extra) if any(map(any, extra)) else None

    def first(self, x: torch.Tensor) -> torch.Tensor:
        """The input as a channels-first view, padded as Keras pads it."""
        if not x.is_floating_point():
            x = x.float()
        if self.lift:
            x = x.unsqueeze(1)
        if self.to_first is not None:
            x = x.permute(self.to_first)
        if self.windows is not None:
            pairs = [same_padding(n, *w) for n, w in zip(x.shape[2:], self.windows, strict=True)]
            return F.pad(x, _flat(pairs))
        return x if self.pads is None else F.pad(x, self.pads)

    def last(self, y: torch.Tensor) -> torch.Tensor:
        """A channels-first result back in the layer's layout, activated."""
        if self.to_last is not None:
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
            param = create_weight(self, weight, ctx, (depthwise_perm if dw else conv_perm)(rank))
            shape = tuple(param.shape)
            if dw:
                shape = (shape[0] * shape[1], 1, *shape[2:])
            elif self.to_first is not None:
                param.data = param.data.movedim(1, -1).contiguous().movedim(-1, 1)
            shape = (*shape[:2], 1, *shape[2:]) if self.lift else shape
            views.append(None if shape == tuple(param.shape) else shape)
        return views


def _flat(pairs) -> tuple[int, ...]:
    """Per-axis (before, after) pairs as F.pad wants them: last axis first."""
    return tuple(v for pair in reversed(pairs) for v in pair)


class ConvModule(_Conv):
    """Keras Conv1D/2D/3D (groups included) and DepthwiseConv1D/2D: one grouped convolution."""

    def __init__(self, spec, spatial, weights, ctx, depthwise: bool = False):
        super().__init__(spec, spatial, ctx)
        (self.view,) = self.add_weights(weights, ctx, depthwise)
        self.groups = weights[0].shape[-2] if depthwise else spec.groups
        self.op = CONV[self.rank]

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        k = self.kernel if self.view is None else self.kernel.view(self.view)
        y = self.op(
            self.first(x), k, self.bias, self.stride, self.padding, self.dilation, self.groups
        )
        return self.last(y)


class SeparableConvModule(_Conv):
    """Keras SeparableConv1D/2D: a depthwise convolution (no bias), then a 1x1 convolution with
    the bias, as Keras's `separable_conv`."""

    def __init__(self, spec, spatial, weights, ctx):
        super().__init__(spec, spatial, ctx)
        self.views = self.add_weights(weights, ctx)
        self.groups = weights[0].shape[-2]
        self.op = CONV[self.rank]

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        (dv, pv), dw, pw = self.views, self.depthwise_kernel, self.pointwise_kernel
        dw, pw = dw if dv is None else dw.view(dv), pw if pv is None else pw.view(pv)
        y = self.op(self.first(x), dw, None, self.stride, self.padding, self.dilation, self.groups)
        return self.last(self.op(y, pw, self.bias))


class ConvTransposeModule(_Conv):
    """Keras Conv1DTranspose/2D/3D: torch's transposed convolution with the padding and
    output_padding that give Keras's window; where none does (Keras's `same` with strides > 1
    and an odd kernel), the output is sliced (a view), as Keras's torch backend does."""

    def __init__(self, spec, spatial, weights, ctx):
        super().__init__(spec, spatial, ctx, padding="valid")  # the input is not padded
        (self.view,) = self.add_weights(weights, ctx)
        extras = spec.tup("output_padding") if spec.output_padding is not None else None
        windows = spec.windows()
        args = [
            _transpose_args(w, spec.padding, extras and extras[i]) for i, w in enumerate(windows)
        ]
        if self.lift:
            args.insert(0, (0, 0, (0, 0)))
        self.padding = tuple(p for p, _, _ in args)
        self.output_padding = tuple(o for _, o, _ in args)
        cuts = [slice(a, -b or None) for _, _, (a, b) in args]
        self.cut = (
            (slice(None), slice(None), *cuts) if any(c.start or c.stop for c in cuts) else None
        )
        self.op = CONV_TRANSPOSE[self.rank]

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        k = self.kernel if self.view is None else self.kernel.view(self.view)
        y = self.op(
            self.first(x),
            k,
            self.bias,
            self.stride,
            self.padding,
            self.output_padding,
            1,
            self.dilation,
        )
        return self.last(y if self.cut is None else y[self.cut])


def _transpose_args(window, padding, output_padding):
    """torch's (padding, output_padding) and the (left, right) slice left to make, for Keras's
    crops of one axis; output_padding < max(stride, dilation), as torch requires."""
    left, right = transpose_crops(window, padding, output_padding)
    limit = max(window[1], window[2])
    if 0 <= left - right < limit:
        return left, left - right, (0, 0)
    if left < right:
        return left, 0, (0, right - left)
    return max(right, 0), max(-right, 0), (left - max(right, 0), 0)
