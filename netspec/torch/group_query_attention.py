"""Torch module of the GroupQueryAttention layer: MultiHeadAttention's module
(multi_head_attention.py) with each key and value head repeated for its group of query heads."""

from __future__ import annotations

import torch

from .multi_head_attention import MultiHeadAttentionModule


class GroupQueryAttentionModule(MultiHeadAttentionModule):
    """Keras GroupQueryAttention: the key and value projections have num_key_value_heads
    heads, each repeated for num_query_heads / num_key_value_heads consecutive query heads
    (Keras's `ops.repeat(..., axis=2)`), then MultiHeadAttention's attention over the steps."""

    def __init__(self, spec, groups, ctx, scale: float):
        super().__init__(spec, groups, ctx, (1,), 3, scale, spec.num_query_heads)
        self.repeats = spec.num_query_heads // spec.num_key_value_heads

    def _key_value(
        self, key: torch.Tensor, value: torch.Tensor
    ) -> tuple[torch.Tensor, torch.Tensor]:
        k, v = super()._key_value(key, value)
        if self.repeats == 1:
            return k, v
        return k.repeat_interleave(self.repeats, -2), v.repeat_interleave(self.repeats, -2)

    def extra_repr(self) -> str:
        kv = self.heads // self.repeats
        return f"num_query_heads={self.heads}, num_key_value_heads={kv}, dropout={self.rate}"
