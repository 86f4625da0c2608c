"""The query, key, value (and gate) and output projections of MultiHeadAttention and
GroupQueryAttention: their Keras weights, in Keras's order, with EinsumDense's fans."""

from __future__ import annotations

from typing import TYPE_CHECKING, TypeAlias

from ..vocab.initializers import _Scaling
from .attention import EinsumKernelInit
from .base import Weight

if TYPE_CHECKING:
    from .group_query_attention import GroupQueryAttention
    from .multi_head_attention import MultiHeadAttention

    Projecting: TypeAlias = "MultiHeadAttention | GroupQueryAttention"

# (name, Keras kernel shape, Keras bias shape) of each projection, in Keras's weight order.
Plan = list[tuple[str, tuple[int, ...], tuple[int, ...]]]


def projection_weights(layer: Projecting, plan: Plan) -> list[Weight]:
    """Each projection's kernel (and bias when `use_bias`), with Keras's EinsumDense fans (the
    output projection's first two axes are its inputs). Shared with GroupQueryAttention."""
    init = layer.kernel_initializer
    kernel_args = (layer.kernel_regularizer, layer.kernel_constraint)
    bias_args = (layer.bias_initializer, layer.bias_regularizer, layer.bias_constraint)
    out = []
    for name, kernel, bias in plan:
        inputs = 2 if name == "attention_output" else 1
        fans = EinsumKernelInit(init, inputs) if isinstance(init, _Scaling) else init
        out.append(Weight("kernel", kernel, fans, *kernel_args))
        if layer.use_bias:
            out.append(Weight("bias", bias, *bias_args))
    return out


def weight_groups(layer: Projecting, plan: Plan) -> list[tuple[str, list[Weight]]]:
    """(projection name, its weights), for the torch module."""
    weights = iter(projection_weights(layer, plan))
    return [(name, [next(weights) for _ in range(2 if layer.use_bias else 1)]) for name, *_ in plan]
