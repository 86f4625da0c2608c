"""Torch module of the Embedding layer."""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn

from .weights import create_weight


class EmbeddingModule(nn.Module):
    """Keras Embedding: `embeddings[x]`; other than int32/int64 inputs are cast to int32."""

    def __init__(self, weight, ctx):
        super().__init__()
        create_weight(self, weight, ctx)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        if x.dtype not in (torch.int32, torch.int64):
            x = x.to(torch.int32)
        return F.embedding(x, self.embeddings)

    def compute_mask(self, x: torch.Tensor) -> torch.Tensor:
        """mask_zero's mask: True where the index is not 0 (of the input as given, as Keras)."""
        return x != 0
