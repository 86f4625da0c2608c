"""Losses between distributions or counts: KL divergence and Poisson."""

from __future__ import annotations

from typing import ClassVar, Literal

from .base import EPSILON, LOSSES, Loss


@LOSSES.register("kl_divergence", "kld", "KLD")
class KLDivergence(Loss):
    """sum(y_true * log(y_true / y_pred)) over the last axis, both clipped to [1e-7, 1]."""

    type: Literal["KLDivergence"] = "KLDivergence"
    examples: ClassVar[tuple[dict, ...]] = (
        {"args": {}, "y_true": ("softmax", (5,)), "y_pred": ("softmax", (5,))},
    )

    def values(self, y_true, y_pred, stable=False, logits=None):
        import torch

        y_true = y_true.clamp(EPSILON, 1.0)
        y_pred = y_pred.clamp(EPSILON, 1.0)
        return (y_true * torch.log(y_true / y_pred)).sum(-1)


@LOSSES.register("poisson")
class Poisson(Loss):
    """mean(y_pred - y_true * log(y_pred + 1e-7)) over the last axis."""

    type: Literal["Poisson"] = "Poisson"
    examples: ClassVar[tuple[dict, ...]] = (
        {"args": {}, "y_true": ("positive", (5,)), "y_pred": ("positive", (5,))},
    )

    def values(self, y_true, y_pred, stable=False, logits=None):
        import torch

        return (y_pred - y_true * torch.log(y_pred + EPSILON)).mean(-1)
