"""AdditiveAttention: Bahdanau-style attention of a query over a value (and key), Keras's
`AdditiveAttention` (a subclass of its Attention, as here: attention.py)."""

from __future__ import annotations

from typing import Literal

from pydantic import Field

from .attention import (
    CAUSAL,
    SCORES,
    QueryValueAttention,
    attention_inputs,
    dropout_field,
    features,
    seed_field,
)
from .base import Context, Shape, Weight, register_layer


@register_layer
class AdditiveAttention(QueryValueAttention):
    """Additive (Bahdanau-style) attention (Keras's `AdditiveAttention`), on inputs
    `[query, value]` or `[query, value, key]` (key defaults to value), shaped (batch, Tq, dim),
    (batch, Tv, dim_v), (batch, Tv, dim): `scores = sum(scale * tanh(q + k), -1)` over every
    (query, key) pair of vectors, `scale` a learned vector of `dim` entries (glorot_uniform)
    when `use_scale`; `softmax(scores)` over Tv, then `weights @ value`, shaped
    (batch, Tq, dim_v). Dropout on the weights in training mode; the returned attention scores
    are the weights after dropout, as Keras's."""

    type: Literal["AdditiveAttention"] = "AdditiveAttention"
    use_scale: bool = Field(
        True,
        description="Learn a vector `scale` (one entry per query feature, glorot_uniform) "
        "that weights tanh(query + key) before the sum over features.",
    )
    dropout: float = dropout_field()
    seed: int | None = seed_field()
    use_causal_mask: bool = Field(False, description=CAUSAL)
    return_attention_scores: bool = Field(False, description=SCORES)

    examples = (
        {"args": {}, "inputs": [[4, 3], [5, 3]]},
        {"args": {"use_scale": False}, "inputs": [[None, 3], [None, 2], [None, 3]]},
        {"args": {}, "inputs": [[2, 3], [5, 2], [5, 3]]},
        {"args": {"use_causal_mask": True, "dropout": 0.2}, "inputs": [[5, 4], [5, 4]]},
        {"args": {"return_attention_scores": True}, "inputs": [[3, 4], [6, 4]]},
        {"args": {}, "inputs": [[2, 4, 3], [2, 5, 3]]},
    )

    def weights(self, shapes: list[Shape], ctx: Context) -> list[Weight]:
        from ..vocab import INITIALIZERS

        if not self.use_scale:
            return []
        dim = features(attention_inputs(shapes)[0], "query")  # Keras: the query's last axis
        return [Weight("scale", (dim,), INITIALIZERS.get("GlorotUniform").model_validate({}))]

    def build(self, shapes: list[Shape], ctx: Context):
        from ..torch.additive_attention import AdditiveAttentionModule

        return AdditiveAttentionModule(self, self.graph_weights(shapes, ctx), ctx)
