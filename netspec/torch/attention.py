"""Torch module of the Attention layer, and what MultiHeadAttention's shares with it. The
softmax(q k^T) v core runs torch's scaled_dot_product_attention unless the weights must be
returned, dropout needs a seeded generator, or the scores are not dot products (Attention's
concat mode)."""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn

from .base import as_float
from .random import seeded_mask as _seeded_keep
from .weights import create_weight


class AttentionDropout(nn.Module):
    """Dropout on attention weights, from the layer's own generator when it has a seed."""

    def __init__(self, rate: float, seed: int | None):
        super().__init__()
        self.rate = float(rate)
        self.seed = seed
        self._generators: dict[torch.device, torch.Generator] = {}

    def drop(self, weights: torch.Tensor) -> torch.Tensor:
        if self.seed is None:
            return F.dropout(weights, self.rate, training=True)
        gen = self._generators.get(weights.device)
        if gen is None:
            gen = self._generators[weights.device] = torch.Generator(weights.device)
            gen.manual_seed(self.seed)
        keep = _seeded_keep(weights.shape, 1.0 - self.rate, gen, weights.device)
        return weights * keep / (1.0 - self.rate)

    def dropout_active(self) -> bool:
        return self.training and self.rate > 0


def band_mask(lq: int, lk: int, causal: bool, window: int | None, device) -> torch.Tensor:
    """Keras's boolean mask (True: attend): causal (j <= i) and/or a window (|i - j| < w)."""
    i = torch.arange(lq, device=device).unsqueeze(1)
    j = torch.arange(lk, device=device).unsqueeze(0)
    mask = i >= j if causal else None
    if window is not None:
        band = (i - j).abs() < window
        mask = band if mask is None else mask & band
    return mask


class AttentionModule(AttentionDropout):
    """Keras Attention: scores (dot or concat), softmax over the value steps, dropout on the
    weights while training, weights @ value; (output, weights) when scores are returned.
    AdditiveAttentionModule (additive_attention.py) changes the scores."""

    def __init__(self, spec, weights, ctx, concat: bool = False):
        super().__init__(spec.dropout, spec.seed)
        for w in weights:
            create_weight(self, w, ctx)
        for name in ("scale", "concat_score_weight"):
            if name not in self._parameters:
                self.register_parameter(name, None)
        self.concat = concat
        self.causal = spec.use_causal_mask
        self.scores = spec.return_attention_scores

    def fused(self) -> bool:
        """Whether torch's scaled_dot_product_attention can compute the output."""
        seeded = self.dropout_active() and self.seed is not None
        return not (self.concat or self.scores or seeded)

    def forward(self, query, value, key=None, mask=None):
        """`mask`: [query mask, value mask(, key mask)] (Keras's; the key's is unused)."""
        q, v = as_float(query), as_float(value)
        k = v if key is None else as_float(key)
        q_mask, v_mask = (mask[0], mask[1]) if mask is not None else (None, None)
        if self.fused() and q_mask is None and v_mask is None:
            return self._fused(q, k, v)
        scores = self.score(q, k)
        keep = None
        if self.causal:
            keep = band_mask(scores.shape[-2], scores.shape[-1], True, None, scores.device)
        if v_mask is not None:
            keep = v_mask.unsqueeze(-2) if keep is None else keep & v_mask.unsqueeze(-2)
        if keep is not None:
            scores = torch.where(keep, scores, scores - 1e9)  # Keras's bias on masked scores
        weights = torch.softmax(scores, dim=-1)
        if self.dropout_active():
            weights = self.drop(weights)
        out = weights @ v
        if q_mask is not None:  # Keras zeroes the outputs of masked query steps
            out = torch.where(q_mask.unsqueeze(-1), out, 0.0)
        return (out, weights) if self.scores else out

    def score(self, q: torch.Tensor, k: torch.Tensor) -> torch.Tensor:
        """Keras's `_calculate_scores`: (..., Tq, Tv)."""
        if self.concat:
            pairs = q.unsqueeze(-2) + k.unsqueeze(-3)  # (..., Tq, Tv, dim)
            if self.scale is not None:
                pairs = pairs * self.scale
            return self.concat_score_weight * torch.tanh(pairs).sum(-1)
        scores = q @ k.transpose(-1, -2)
        return scores * self.scale if self.scale is not None else scores

    def _fused(self, q: torch.Tensor, k: torch.Tensor, v: torch.Tensor) -> torch.Tensor:
        if self.scale is not None:
            q = q * self.scale
        p = self.rate if self.training else 0.0
        flat = q.ndim == 3
        if flat:  # 4-D lets CUDA use its fused kernels
            q, k, v = q[:, None], k[:, None], v[:, None]
        out = F.scaled_dot_product_attention(q, k, v, dropout_p=p, is_causal=self.causal, scale=1.0)
        return out[:, 0] if flat else out

    def extra_repr(self) -> str:
        mode = "concat" if self.concat else "dot"
        return f"score_mode={mode}, dropout={self.rate}, causal={self.causal}"
