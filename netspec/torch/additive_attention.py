"""Torch module of the AdditiveAttention layer: Attention's module (attention.py) with
Keras's additive scores."""

from __future__ import annotations

import torch

from .attention import AttentionModule


class AdditiveAttentionModule(AttentionModule):
    """Keras AdditiveAttention: `scores = sum(scale * tanh(q + k), -1)` over every (query, key)
    pair, then Attention's masking, softmax, dropout and weighted sum."""

    def fused(self) -> bool:
        return False  # the scores are not dot products

    def score(self, q: torch.Tensor, k: torch.Tensor) -> torch.Tensor:
        pairs = torch.tanh(q.unsqueeze(-2) + k.unsqueeze(-3))  # (..., Tq, Tv, dim)
        return pairs @ self.scale if self.scale is not None else pairs.sum(-1)

    def extra_repr(self) -> str:
        return f"use_scale={self.scale is not None}, dropout={self.rate}, causal={self.causal}"
