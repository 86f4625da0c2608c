"""Torch module of the MultiHeadAttention layer (see attention.py for the attention core);
GroupQueryAttention's (group_query_attention.py) extends it."""

from __future__ import annotations

import math

import torch
import torch.nn.functional as F
from torch import nn

from .attention import AttentionDropout, band_mask
from .base import as_float
from .weights import create_weight


class MultiHeadAttentionModule(AttentionDropout):
    """Keras MultiHeadAttention. Projections are F.linear with kernels stored (heads * dim,
    in); attention runs over the flattened `attention_axes` of each head."""

    def __init__(
        self, spec, groups, ctx, axes: tuple[int, ...], rank: int, scale: float, heads: int
    ):
        super().__init__(spec.dropout, spec.seed)
        for name, weights in groups:
            holder = nn.Module()
            kernel = weights[0]
            n = len(kernel.shape)
            # Keras (in, heads, dim) -> (heads, dim, in); output (heads, dim, *out) -> (*out, ...).
            perm = (1, 2, 0) if name != "attention_output" else (*range(2, n), 0, 1)
            create_weight(holder, kernel, ctx, perm=perm)
            if len(weights) > 1:
                create_weight(holder, weights[1], ctx)
            else:
                holder.register_parameter("bias", None)
            setattr(self, name, holder)
        self.gated = spec.use_gate
        self.out_dims = tuple(groups[-1][1][0].shape[2:])
        self.scale = scale
        self.causal = spec.use_causal_mask
        self.window = spec.sliding_window
        self.scores = spec.return_attention_scores
        self.heads = heads
        # Projected tensors are (batch, *steps, heads, dim): attention sees them permuted to
        # (batch, *other steps, heads, *attended steps, dim).
        steps = range(1, rank - 1)
        self.other = [i for i in steps if i not in axes]
        self.axes = list(axes)
        self.perm = (0, *self.other, rank - 1, *axes, rank)
        self.inverse = tuple(sorted(range(rank + 1), key=self.perm.__getitem__))

    @staticmethod
    def _project(x: torch.Tensor, holder: nn.Module) -> torch.Tensor:
        w = holder.kernel
        bias = holder.bias.reshape(-1) if holder.bias is not None else None
        y = F.linear(x, w.reshape(-1, w.shape[-1]), bias)
        return y.unflatten(-1, w.shape[:2])  # (..., heads, dim)

    def _key_value(
        self, key: torch.Tensor, value: torch.Tensor
    ) -> tuple[torch.Tensor, torch.Tensor]:
        """The projected key and value, (batch, *steps, heads, dim) each."""
        return self._project(key, self.key), self._project(value, self.value)

    def _heads(self, x: torch.Tensor) -> torch.Tensor:
        """(batch, *steps, heads, dim) -> (batch * others, heads, attended steps, dim)."""
        x = x.permute(self.perm)
        return x.reshape(-1, self.heads, math.prod(x.shape[2 + len(self.other) : -1]), x.shape[-1])

    def forward(self, query, value, key=None, mask=None):
        """`mask`: the inputs' Keras masks [query, value(, key)], None where unmasked."""
        query, value = as_float(query), as_float(value)
        key = value if key is None else as_float(key)
        q = self._project(query, self.query)
        k, v = self._key_value(key, value)
        lead = q.permute(self.perm).shape[:-1]  # (batch, *others, heads, *attended query steps)
        padding = _padding_mask(mask)
        out, weights = self._attend(self._heads(q), self._heads(k), self._heads(v), padding)
        out = out.reshape(*lead, out.shape[-1]).permute(self.inverse).flatten(-2)
        y = self._output(out, query)
        if not self.scores:
            return y
        return y, self._keras_scores(weights, q, k)

    def _attend(
        self, qh: torch.Tensor, kh: torch.Tensor, vh: torch.Tensor, padding=None
    ) -> tuple[torch.Tensor, torch.Tensor | None]:
        """Attention of each head: (output, weights before dropout, or None when fused);
        `padding` (batch, Tq, Tv) from the inputs' masks (a fully masked row gives zeros)."""
        mask = None
        if self.window is not None or padding is not None:
            mask = band_mask(qh.shape[-2], kh.shape[-2], self.causal, self.window, qh.device)
        if padding is not None:
            mask = padding[:, None] if mask is None else mask & padding[:, None]
        # The fused kernel returns no weights, and its dropout draws from torch's global stream.
        seeded = self.dropout_active() and self.seed is not None
        if padding is not None and self.rate == 0 and not self.scores and len(self.axes) == 1:
            # Keras's dot_product_attention path (no dropout, no scores, one attention axis):
            # the mask is added as -0.7 * 3.38953e38, so a fully masked query row attends
            # to every step alike (the explicit path below gives zeros there).
            bias = torch.zeros((), dtype=qh.dtype, device=qh.device).masked_fill(
                torch.ones((), dtype=torch.bool, device=qh.device), -0.7 * 3.38953e38
            )
            additive = torch.where(mask, torch.zeros_like(bias), bias)
            out = F.scaled_dot_product_attention(qh, kh, vh, attn_mask=additive, scale=self.scale)
            return out, None
        if self.scores or seeded or padding is not None:
            return self._explicit(qh, kh, vh, mask)
        out = F.scaled_dot_product_attention(
            qh,
            kh,
            vh,
            attn_mask=mask,
            dropout_p=self.rate if self.training else 0.0,
            is_causal=self.causal and mask is None,
            scale=self.scale,
        )
        return out, None

    def _explicit(
        self, qh: torch.Tensor, kh: torch.Tensor, vh: torch.Tensor, mask: torch.Tensor | None
    ) -> tuple[torch.Tensor, torch.Tensor]:
        """Attention written out, for the weights or the layer's own dropout stream."""
        scores = (qh * self.scale) @ kh.transpose(-1, -2)
        if self.causal and mask is None:
            mask = band_mask(qh.shape[-2], kh.shape[-2], True, None, qh.device)
        if mask is not None:
            scores = scores.masked_fill(~mask, float("-inf"))
        weights = torch.softmax(scores, dim=-1)
        if mask is not None:  # Keras's masked softmax: a fully masked row is all zeros
            weights = weights.nan_to_num(0.0)
        dropped = self.drop(weights) if self.dropout_active() else weights
        return dropped @ vh, weights

    def _output(self, out: torch.Tensor, query: torch.Tensor) -> torch.Tensor:
        """The heads (batch, *steps, heads * dim), gated if asked, through the output projection."""
        if self.gated:
            out = out * torch.sigmoid(self._project(query, self.gate).flatten(-2))
        w = self.attention_output.kernel
        bias = self.attention_output.bias
        y = F.linear(
            out, w.reshape(-1, out.shape[-1]), bias.reshape(-1) if bias is not None else None
        )
        return y.unflatten(-1, self.out_dims) if len(self.out_dims) > 1 else y

    def _keras_scores(
        self, weights: torch.Tensor, q: torch.Tensor, k: torch.Tensor
    ) -> torch.Tensor:
        """Keras's layout: (batch, *other steps, heads, *query steps, *key steps)."""
        others = [q.shape[i] for i in self.other]
        attended = [q.shape[i] for i in self.axes] + [k.shape[i] for i in self.axes]
        return weights.reshape(q.shape[0], *others, self.heads, *attended)

    def extra_repr(self) -> str:
        return f"num_heads={self.heads}, attention_axes={tuple(self.axes)}, dropout={self.rate}"


def _padding_mask(mask: list | None) -> torch.Tensor | None:
    """Keras's `_compute_attention_mask` from the inputs' masks: query[:, :, None] &
    value[:, None, :] (& key[:, None, :]), None when no input is masked."""
    if mask is None:
        return None
    parts = [m.unsqueeze(-1 if i == 0 else -2) for i, m in enumerate(mask) if m is not None]
    out = parts[0] if parts else None
    for part in parts[1:]:
        out = out & part
    return out
