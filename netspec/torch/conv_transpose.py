"""Torch module of Conv1DTranspose/2D/3D."""

from __future__ import annotations

import torch
import torch.nn.functional as F

from .conv import BaseConvModule

CONV_TRANSPOSE = {1: F.conv_transpose1d, 2: F.conv_transpose2d, 3: F.conv_transpose3d}


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


class ConvTransposeModule(BaseConvModule):
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
