"""Torch implementations of the Keras 3 activations (formulas as keras.activations)."""

from __future__ import annotations

from collections.abc import Callable

import torch
import torch.nn.functional as F

Fn = Callable[[torch.Tensor], torch.Tensor]


def _relu(a) -> Fn:
    slope, max_value, threshold = a.negative_slope, a.max_value, a.threshold
    if slope == 0 and max_value is None and threshold == 0:
        return torch.relu
    if slope == 0 and threshold == 0 and max_value == 6:
        return F.relu6

    def relu(x: torch.Tensor) -> torch.Tensor:
        # keras.activations.ReLU.static_call, step by step.
        negative = F.relu(threshold - x) if slope != 0 else None
        y = torch.where(x > threshold, x, torch.zeros_like(x)) if threshold != 0 else F.relu(x)
        if max_value is not None:
            y = y.clamp(0.0, max_value)
        return y - slope * negative if negative is not None else y

    return relu


def _sparse_plus(x):
    return torch.where(x <= -1, torch.zeros_like(x), torch.where(x < 1, 0.25 * (x + 1) ** 2, x))


def _sparse_sigmoid(x):
    return (0.5 * (x + 1)).clamp(0.0, 1.0)


def _sparsemax(axis: int) -> Fn:
    def sparsemax(x):
        z, _ = torch.sort(x, dim=axis, descending=True)
        cumsum = z.cumsum(dim=axis)
        shape = [1] * x.ndim
        shape[axis] = -1
        r = torch.arange(1, x.shape[axis] + 1, device=x.device, dtype=x.dtype).view(shape)
        support = z - (cumsum - 1) / r > 0
        k = support.sum(dim=axis, keepdim=True)
        # tau = (cumsum[k] - 1) / k: the sum of the sorted logits over the support (a prefix).
        # Keras <= 3.15 sums the cumulative sums instead (keras-team/keras#23425, fixed by
        # keras-team/keras#23469), so its output does not sum to 1 when k > 1.
        tau = (torch.where(support, z, 0.0).sum(dim=axis, keepdim=True) - 1) / k
        return (x - tau).clamp(min=0.0)

    return sparsemax


_MAKERS: dict[str, Callable] = {
    "linear": lambda a: lambda x: x,
    "exponential": lambda a: torch.exp,
    "hard_sigmoid": lambda a: F.hardsigmoid,
    "hard_silu": lambda a: F.hardswish,
    "hard_swish": lambda a: F.hardswish,
    "hard_tanh": lambda a: F.hardtanh,
    "log_sigmoid": lambda a: F.logsigmoid,
    "mish": lambda a: F.mish,
    "relu6": lambda a: F.relu6,
    "selu": lambda a: F.selu,
    "sigmoid": lambda a: torch.sigmoid,
    "silu": lambda a: F.silu,
    "swish": lambda a: F.silu,
    "softplus": lambda a: F.softplus,
    "softsign": lambda a: F.softsign,
    "sparse_plus": lambda a: _sparse_plus,
    "sparse_sigmoid": lambda a: _sparse_sigmoid,
    "tanh": lambda a: torch.tanh,
    "tanh_shrink": lambda a: F.tanhshrink,
    "relu": _relu,
    "leaky_relu": lambda a: lambda x: F.leaky_relu(x, a.negative_slope),
    "elu": lambda a: lambda x: F.elu(x, a.alpha),
    "celu": lambda a: lambda x: F.celu(x, a.alpha),
    "gelu": lambda a: lambda x: F.gelu(x, approximate="tanh" if a.approximate else "none"),
    "glu": lambda a: lambda x: F.glu(x, dim=a.axis),
    "softmax": lambda a: lambda x: torch.softmax(x, dim=a.axis),
    "log_softmax": lambda a: lambda x: torch.log_softmax(x, dim=a.axis),
    "sparsemax": lambda a: _sparsemax(a.axis),
    "hard_shrink": lambda a: lambda x: F.hardshrink(x, a.threshold),
    "soft_shrink": lambda a: lambda x: F.softshrink(x, a.threshold),
    "squareplus": lambda a: lambda x: (x + torch.sqrt(x * x + a.b)) / 2,
    "threshold": lambda a: lambda x: F.threshold(x, a.threshold, a.default_value),
}


def make_activation(spec) -> Fn:
    """The torch function of an activation spec (`spec.type` is a registered name)."""
    return _MAKERS[spec.type](spec)


def activation_fn(spec) -> Fn | None:
    """The torch callable of a layer's `activation` spec, None for linear (nothing to call)."""
    if spec is None or spec.type == "linear":
        return None
    return spec.function()
