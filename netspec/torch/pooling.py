"""Torch module of the pooling layers (MaxPooling1D/2D/3D, AveragePooling1D/2D/3D)."""

from __future__ import annotations

import torch
import torch.nn.functional as F

from .base import as_float
from .layout import ChannelsFirstCapable
from .same_padding import flat_pads, same_padding

_MAX = {1: F.max_pool1d, 2: F.max_pool2d, 3: F.max_pool3d}
_AVG = {1: F.avg_pool1d, 2: F.avg_pool2d, 3: F.avg_pool3d}


def same_window(n: int, k: int, s: int) -> tuple[int, int, int, int]:
    """(before, after, pool, stride) of one axis that pool exactly TensorFlow's `same` windows
    (each clipped to the input) with the least padding, so a pool far larger than the input
    pads nothing like its size (a 1000-wide 3D pool on a 2x2x2 input would pad 10^9 values).

    Only the windows' clipped ranges matter. When every window starts in the padding, the
    padding before can shrink to the last window's start (the pool shrinks with it, keeping
    the ends); when every window then ends past the input, the pool can shrink to reach just
    its end. Both paddings end below n, and one window with any stride is stride 1."""
    before, _ = same_padding(n, k, s)
    last = ((n + s - 1) // s - 1) * s  # start of the last window, before padding
    if last < before:
        k, before = k - (before - last), last
    if k - before >= n:  # the first window, so every one, ends past the input
        k = n + before
    return before, last + k - n - before, k, s if last else 1


class PoolModule(ChannelsFirstCapable):
    """Keras MaxPooling / AveragePooling (1D, 2D, 3D) on channels_last or channels_first inputs.

    channels_last inputs are viewed channels-first for torch's kernels (no copy: a 4D/5D view is
    torch's channels_last memory format, which its pooling kernels read and write as such) and
    the result viewed back. `same` padding (`same_window`: no more padding than the input's
    size, whatever the pool): an even split is torch's own padding (-inf for max; for average
    `count_include_pad=False`, so padding never counts, as TensorFlow); an uneven
    split pads explicitly and, for average, divides the windows' sums by their numbers of real
    elements (TensorFlow's and JAX's semantics).
    """

    def __init__(self, mode: str, pool, strides, same: bool, channels_last: bool):
        super().__init__()
        self.mode = mode
        self.pool = tuple(pool)
        self.strides = tuple(strides)
        self.same = same
        self.channels_last = channels_last
        self.fn = (_MAX if mode == "max" else _AVG)[len(self.pool)]

    def takes_channels_first(self, rank: int) -> bool:
        return self.channels_last

    def forward(self, x: torch.Tensor, channels_first: bool = False) -> torch.Tensor:
        """`channels_first`: x and the result are channels-first views (layout.py)."""
        x = as_float(x)
        moved = self.channels_last and not channels_first
        if moved:
            x = x.movedim(-1, 1)
        y = self._same(x) if self.same else self.fn(x, self.pool, self.strides)
        return y.movedim(1, -1) if moved else y

    def _same(self, x: torch.Tensor) -> torch.Tensor:
        plan = [
            same_window(n, k, s)
            for n, k, s in zip(x.shape[2:], self.pool, self.strides, strict=True)
        ]
        pads = [(b, a) for b, a, _, _ in plan]
        pool, strides = [k for *_, k, _ in plan], [s for *_, s in plan]
        # torch's own padding: symmetric, at most half the pool, a pool no larger than the input
        sizes = zip(plan, x.shape[2:], strict=True)
        if all(b == a and 2 * b <= k <= n for (b, a, k, _), n in sizes):
            even = [b for b, _ in pads]
            if self.mode == "max":
                return self.fn(x, pool, strides, even)
            return self.fn(x, pool, strides, even, count_include_pad=False)
        flat = flat_pads(pads)
        if self.mode == "max":
            return self.fn(F.pad(x, flat, value=float("-inf")), pool, strides)
        sums = self.fn(F.pad(x, flat), pool, strides)  # mean over the whole window
        ones = torch.ones((1, 1, *x.shape[2:]), dtype=x.dtype, device=x.device)
        real = self.fn(F.pad(ones, flat), pool, strides)  # share of real elements
        return sums / real

    def extra_repr(self) -> str:
        padding = "same" if self.same else "valid"
        return f"{self.mode}, pool={self.pool}, strides={self.strides}, padding={padding}"
