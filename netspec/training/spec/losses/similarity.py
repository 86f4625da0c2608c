"""Similarity losses: cosine similarity and Circle."""

from __future__ import annotations

from typing import ClassVar, Literal

from pydantic import Field

from .base import EPSILON, LOSSES, Loss


@LOSSES.register("cosine_similarity")
class CosineSimilarity(Loss):
    """-sum(l2_normalize(y_true) * l2_normalize(y_pred)) along `axis` (Keras's sign)."""

    type: Literal["CosineSimilarity"] = "CosineSimilarity"
    examples: ClassVar[tuple[dict, ...]] = (
        {"args": {}, "y_true": ("normal", (5,)), "y_pred": ("normal", (5,))},
        {"args": {"axis": 0}, "y_true": ("normal", (3, 6)), "y_pred": ("normal", (3, 6))},
        {"args": {"axis": 1}, "y_true": ("normal", (3, 6)), "y_pred": ("normal", (3, 6))},
    )
    axis: int = Field(-1, description="The axis along which the similarity is computed.")

    def values(self, y_true, y_pred, stable=False, logits=None):
        def normalize(x):
            inv = x.square().sum(self.axis, keepdim=True).rsqrt().clamp_max(1.0 / EPSILON)
            return x * inv

        return -(normalize(y_true) * normalize(y_pred)).sum(self.axis)


@LOSSES.register("circle")
class Circle(Loss):
    """Circle loss (Sun et al., 2020) of L2-normalised embeddings y_pred (batch, dim) and their
    integer labels y_true (batch,): every sample's softplus of the log-sum-exp of its weighted
    similarities to the batch's same-label (positive) and other-label (negative) samples. The
    values that are 0 are masked out of the reduction, as Keras does."""

    type: Literal["Circle"] = "Circle"
    examples: ClassVar[tuple[dict, ...]] = (
        {"args": {}, "y_true": ("binary_labels", ()), "y_pred": ("unit", (6,))},
        {
            "args": {"gamma": 8.0, "margin": 0.25, "remove_diagonal": False},
            "y_true": ("binary_labels", ()),
            "y_pred": ("unit", (6,)),
        },
        {
            "args": {"reduction": "sum", "gamma": 4.0},
            "y_true": ("binary_labels", ()),
            "y_pred": ("unit", (6,)),
            "sample_weight": ("positive", ()),
        },
    )
    gamma: float = Field(80.0, description="The scale of the similarities.")
    margin: float = Field(0.4, description="The relaxation margin.")
    remove_diagonal: bool = Field(
        True, description="Leave each sample's similarity to itself out of its positives."
    )
    sparse: ClassVar[bool] = True
    label_kind: ClassVar[str] = "groups"

    def values(self, y_true, y_pred, stable=False, logits=None):
        return self.masked_values(y_true, y_pred)[0]

    def masked_values(self, y_true, y_pred, stable=False, logits=None):
        import torch
        import torch.nn.functional as F

        labels = y_true.long().reshape(-1, 1) if y_true.ndim == 1 else y_true.long()
        positive = labels == labels.T
        negative = ~positive
        if self.remove_diagonal:
            positive = positive & ~torch.eye(
                *positive.shape, dtype=torch.bool, device=labels.device
            )
        distances = (1.0 - y_pred @ y_pred.T).clamp_min(0.0)
        m, gamma = self.margin, self.gamma
        pos_weights = ((m + distances) * positive).clamp_min(0.0)
        neg_weights = ((1.0 + m - distances) * negative).clamp_min(0.0)
        pos = -gamma * pos_weights * (m - distances)
        neg = gamma * neg_weights * (1.0 - m - distances)
        inf = torch.tensor(float("-inf"), dtype=y_pred.dtype, device=y_pred.device)
        p_loss = torch.where(positive, pos, inf).logsumexp(1)
        n_loss = torch.where(negative, neg, inf).logsumexp(1)
        out = F.softplus(p_loss + n_loss)
        return out, out > 0
