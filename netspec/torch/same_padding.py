"""Keras's `same` and `causal` padding of one spatial axis, shared by the convolutions (conv,
depthwise, separable) and the poolings."""

from __future__ import annotations


def same_padding(size: int, kernel: int, stride: int, dilation: int = 1) -> tuple[int, int]:
    """(before, after) of Keras's `same` padding (backend/torch/nn.py `_compute_padding_length`,
    TensorFlow's `same`): the total makes ceil(size / stride) outputs, the extra element of an
    odd total at the end. With stride 1 that total is span - 1, whatever the size."""
    span = (kernel - 1) * dilation + 1
    total = max(0, (-(-size // stride) - 1) * stride + span - size)
    return total // 2, total - total // 2


def causal_padding(kernel: int, dilation: int) -> tuple[int, int]:
    """(before, after) of Keras's `causal` padding: dilation * (kernel - 1) before, none after,
    so output t never sees inputs after t."""
    return dilation * (kernel - 1), 0


def flat_pads(pairs) -> tuple[int, ...]:
    """Per-axis (before, after) pairs as F.pad wants them: last axis first."""
    return tuple(v for pair in reversed(pairs) for v in pair)
