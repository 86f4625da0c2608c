"""Torch module of the SpectralNormalization wrapper."""

from __future__ import annotations

import torch
from torch import nn

from ..layers.base import Context, Weight
from .weights import create_weight

EPSILON = 1e-7  # Keras's backend.epsilon(), the floor of ops.normalize's norm


def _normalize(x: torch.Tensor) -> torch.Tensor:
    """Keras's `ops.normalize(x, axis=None)`: x * min(rsqrt(sum(x^2)), 1 / epsilon)."""
    return x * torch.rsqrt(x.square().sum()).clamp(max=1.0 / EPSILON)


class SpectralNormalizationModule(nn.Module):
    """Keras SpectralNormalization: in training mode, power iteration updates `vector_u` and the
    wrapped layer's kernel is replaced (in place, not differentiated) by kernel / sigma before the
    layer runs; in inference the layer runs with the kernel as it is. `vector_u` lives on the
    module that holds the kernel, right after it in its Keras weights, as Keras orders them."""

    def __init__(
        self, layer: nn.Module, kernel: str, vector_u: Weight, iterations: int, ctx: Context
    ):
        super().__init__()
        self.layer = layer
        path, owner = next(
            (path, sub)
            for path, sub in layer.named_modules()
            if kernel in sub.__dict__.get("keras_weights", {})
        )
        create_weight(owner, vector_u, ctx)
        infos = owner.__dict__["keras_weights"]
        u_info = infos.pop(vector_u.name)
        ordered = {}
        for name, info in infos.items():
            ordered[name] = info
            if name == kernel:
                ordered[vector_u.name] = u_info
        owner.__dict__["keras_weights"] = ordered
        self.kernel_path = f"{path}.{kernel}" if path else kernel
        self.u_path = f"{path}.{vector_u.name}" if path else vector_u.name
        self.kernel_info = infos[kernel]
        self.iterations = iterations

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        if self.training:
            self.normalize_kernel()
        return self.layer(x)

    @torch.no_grad()
    def normalize_kernel(self) -> None:
        """Keras's `normalized_weights` and the assignments of `call(training=True)`."""
        kernel = self.layer.get_parameter(self.kernel_path)
        vector_u = self.layer.get_parameter(self.u_path)
        w = self.kernel_info.keras_view(kernel)
        w = w.reshape(-1, w.shape[-1])
        u = vector_u
        for _ in range(self.iterations):
            v = _normalize(u @ w.T)
            u = _normalize(v @ w)
        sigma = (v @ w) @ u.T  # (1, 1): the largest singular value's estimate
        zero = (kernel == 0).all()  # Keras's ops.cond: an all-zero kernel is left as it is
        vector_u.copy_(torch.where(zero, vector_u, u))
        kernel.copy_(torch.where(zero, kernel, kernel / sigma.reshape(())))

    def extra_repr(self) -> str:
        return f"power_iterations={self.iterations}"
