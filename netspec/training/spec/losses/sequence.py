"""Sequence losses: CTC, as Keras's torch backend computes it.

Keras's CTC takes y_true (batch, max_label_length) integer labels, 0 being the blank and the
padding (a label's length is its count of non-zero entries, so the padding goes at the end) and
y_pred (batch, time, classes) logits (never probabilities); every sample uses all `time` steps.
The values are torch's `ctc_loss` (reduction none) on `log_softmax(y_pred)`, an infeasible
alignment giving inf, as Keras's.
"""

from __future__ import annotations

from typing import ClassVar, Literal

from .base import LOSSES, Loss


@LOSSES.register("ctc")
class CTC(Loss):
    """Connectionist temporal classification: -log p(labels | logits), blank = class 0."""

    type: Literal["CTC"] = "CTC"
    examples: ClassVar[tuple[dict, ...]] = (
        {"args": {}, "y_true": ("ctc_labels", (4,)), "y_pred": ("normal", (12, 5))},
        {
            "args": {"reduction": "sum"},
            "y_true": ("ctc_labels", (3,)),
            "y_pred": ("normal", (9, 3)),
        },
        {
            "args": {"reduction": "none"},
            "y_true": ("ctc_labels", (2,)),
            "y_pred": ("normal", (7, 4)),
            "sample_weight": ("positive", ()),
        },
    )
    sparse: ClassVar[bool] = True
    label_kind: ClassVar[str] = "sequences"

    def values(self, y_true, y_pred, stable=False, logits=None):
        import torch
        import torch.nn.functional as F

        if y_true.ndim != 2 or y_pred.ndim != 3:
            raise ValueError(
                "CTC takes y_true (batch, max_label_length) integer labels and y_pred "
                f"(batch, time, classes) logits; got {tuple(y_true.shape)} and "
                f"{tuple(y_pred.shape)}"
            )
        batch, time = y_pred.shape[:2]
        # Keras: float32 at least (as tf.nn.ctc_loss)
        dtype = torch.promote_types(y_pred.dtype, torch.float32)
        log_probs = torch.log_softmax(y_pred.to(dtype).transpose(0, 1), dim=-1)
        y_true = y_true.long()
        input_lengths = torch.full((batch,), time, dtype=torch.long, device=y_pred.device)
        target_lengths = (y_true != 0).sum(-1)
        return F.ctc_loss(
            log_probs, y_true, input_lengths, target_lengths, blank=0, reduction="none"
        )
