"""MultiHeadAttention (Keras's, Vaswani et al. 2017), with Keras's weights: per head
projections of query, key and value, scaled dot-product attention, an output projection."""

from __future__ import annotations

import math
from typing import ClassVar, Literal

from pydantic import ConfigDict, Field

from ..vocab import ConstraintField, InitializerField, RegularizerField
from ..vocab.bounds import MAX_SIZE, Size
from .attention import (
    CAUSAL,
    SCORES,
    attention_axes,
    attention_inputs,
    check_flash,
    check_same,
    dropout_field,
    features,
    seed_field,
)
from .base import Context, Layer, Shape, ShapeError, Weight, fmt_shape, register_layer
from .mask_inputs import QueryMasked
from .projections import Plan, projection_weights, weight_groups


@register_layer
class MultiHeadAttention(QueryMasked, Layer):
    """Keras's `MultiHeadAttention` on inputs `[query, value]` or `[query, value, key]` (key
    defaults to value), shaped (batch, *steps, dim): query, key and value are projected to
    `num_heads` heads (kernels (dim, num_heads, key_dim or value_dim), Keras's EinsumDense
    layout), each head computes `softmax(q @ k^T / sqrt(key_dim)) @ v` over `attention_axes`
    (default: every axis but the batch and the features), the heads (times a sigmoid gate when
    `use_gate`) go through the output projection, kernel (num_heads, value_dim, *output_shape).
    Runs torch's scaled_dot_product_attention. Keras's weight order: query, key, [gate,] value,
    attention_output, each kernel then bias. `activity_regularizer` is not provided (Keras
    applies it inside, to each projection)."""

    model_config = ConfigDict(serialize_by_alias=True)  # dumps write `output_shape`

    type: Literal["MultiHeadAttention"] = "MultiHeadAttention"
    num_heads: int = Field(..., gt=0, le=MAX_SIZE, description="Number of attention heads.")
    key_dim: int = Field(..., gt=0, le=MAX_SIZE, description="Size of each head for query and key.")
    value_dim: int | None = Field(
        None, gt=0, description="Size of each head for value; default: key_dim."
    )
    dropout: float = dropout_field()
    use_bias: bool = Field(True, description="Whether the projections add biases.")
    projection_shape: Size | list[Size] | None = Field(
        None,
        alias="output_shape",
        description="Size(s) of the output's last axes (without batch and steps); default: "
        "the query's last axis.",
    )
    attention_axes: int | list[int] | None = Field(
        None,
        description="Axes of the query attention runs over, counted with the batch axis as "
        "Keras does (1..rank-2, or negative from the end); default: every axis between the "
        "batch and the features.",
    )
    sliding_window: int | None = Field(
        None,
        gt=0,
        description="Each query position attends to the key positions less than this far from "
        "it (a band; combine with use_causal_mask for a causal window). Rank-3 inputs only.",
    )
    flash_attention: bool | None = Field(
        None,
        description="Accepted as in Keras, with Keras's checks (no dropout, no scores when "
        "true); torch's scaled_dot_product_attention picks its flash kernel itself.",
    )
    kernel_initializer: InitializerField = Field(
        "glorot_uniform", validate_default=True, description="Initializer of the kernels."
    )
    bias_initializer: InitializerField = Field(
        "zeros", validate_default=True, description="Initializer of the biases."
    )
    kernel_regularizer: RegularizerField | None = Field(None, description="Penalty on kernels.")
    bias_regularizer: RegularizerField | None = Field(None, description="Penalty on biases.")
    kernel_constraint: ConstraintField | None = Field(None, description="Constraint on kernels.")
    bias_constraint: ConstraintField | None = Field(None, description="Constraint on biases.")
    use_gate: bool = Field(
        False, description="Multiply the heads by sigmoid(a projection of the query) (gated)."
    )
    seed: int | None = seed_field()
    use_causal_mask: bool = Field(False, description=CAUSAL + " Rank-3 inputs only.")
    return_attention_scores: bool = Field(False, description=SCORES)

    arity = (2, 3)
    masks_rank3: ClassVar[bool] = True
    runtime_masks: ClassVar[bool] = True
    clears_input_masks: ClassVar[bool] = True
    examples = (
        {"args": {"num_heads": 2, "key_dim": 3}, "inputs": [[4, 5], [6, 5]]},
        {"args": {"num_heads": 1, "key_dim": 4}, "inputs": [[None, 6], [None, 6]]},
        {
            "args": {"num_heads": 3, "key_dim": 2, "value_dim": 4, "output_shape": 7},
            "inputs": [[4, 5], [3, 6], [3, 2]],
        },
        {
            "args": {"num_heads": 2, "key_dim": 2, "use_bias": False, "use_causal_mask": True},
            "inputs": [[5, 4], [5, 4]],
        },
        {"args": {"num_heads": 2, "key_dim": 3, "use_gate": True}, "inputs": [[3, 4], [5, 2]]},
        {
            "args": {"num_heads": 2, "key_dim": 2, "output_shape": [2, 3]},
            "inputs": [[3, 4], [3, 4]],
        },
        {"args": {"num_heads": 2, "key_dim": 2}, "inputs": [[2, 3, 4], [2, 5, 4]]},
        {
            "args": {"num_heads": 2, "key_dim": 2, "attention_axes": 2},
            "inputs": [[2, 3, 4], [2, 5, 4]],
        },
        {"args": {"num_heads": 2, "key_dim": 3, "sliding_window": 2}, "inputs": [[5, 4], [5, 4]]},
        {
            "args": {"num_heads": 2, "key_dim": 3, "sliding_window": 2, "use_causal_mask": True},
            "inputs": [[6, 4], [6, 4]],
        },
    )

    def attention_plan(self, shapes: list[Shape]) -> tuple[Shape, Shape, Shape, tuple[int, ...]]:
        """(query, value, key, attention axes as indices of the query's full shape)."""
        query, value, key = attention_inputs(shapes)
        rank = len(query) + 1
        check_same(key, value, range(len(key) - 1), "key and value must match but on the last axis")
        axes = attention_axes(self.attention_axes, query)
        batch = [i - 1 for i in range(1, rank - 1) if i not in axes]
        check_same(query, key, batch, "query and key must match on the axes not attended over")
        for name in ("use_causal_mask", "sliding_window"):
            if getattr(self, name) and rank != 3:
                raise ShapeError(
                    f"{name} needs rank-3 inputs (batch, steps, features), got {fmt_shape(query)}",
                    name,
                )
        check_flash(self.flash_attention, self.dropout, self.return_attention_scores)
        return query, value, key, tuple(axes)

    def output_dims(self, query: Shape) -> tuple[int, ...]:
        out = features(query, "query") if self.projection_shape is None else self.projection_shape
        return (out,) if isinstance(out, int) else tuple(out)

    def output_shape(self, shapes: list[Shape], ctx: Context) -> Shape | list[Shape]:
        query, value, key, axes = self.attention_plan(shapes)
        out = (*query[:-1], *self.output_dims(query))
        if not self.return_attention_scores:
            return out
        batch = [query[i - 1] for i in range(1, len(query)) if i not in axes]
        steps = [query[i - 1] for i in axes] + [key[i - 1] for i in axes]
        return [out, (*batch, self.num_heads, *steps)]

    def projections(self, shapes: list[Shape]) -> Plan:
        """(name, Keras kernel shape, Keras bias shape) of each projection, in Keras's order."""
        query, value, key, _ = self.attention_plan(shapes)
        heads, vdim = self.num_heads, self.value_dim or self.key_dim
        out = self.output_dims(query)
        q, v, k = features(query, "query"), features(value, "value"), features(key, "key")
        plan: Plan = [
            ("query", (q, heads, self.key_dim), (heads, self.key_dim)),
            ("key", (k, heads, self.key_dim), (heads, self.key_dim)),
        ]
        if self.use_gate:
            plan.append(("gate", (q, heads, vdim), (heads, vdim)))
        plan.append(("value", (v, heads, vdim), (heads, vdim)))
        plan.append(("attention_output", (heads, vdim, *out), out))
        return plan

    def weights(self, shapes: list[Shape], ctx: Context) -> list[Weight]:
        return projection_weights(self, self.projections(shapes))

    def build(self, shapes: list[Shape], ctx: Context):
        from ..torch.multi_head_attention import MultiHeadAttentionModule

        groups = weight_groups(self, self.projections(shapes))
        axes = self.attention_plan(shapes)[3]
        scale = 1 / math.sqrt(self.key_dim)
        rank = len(shapes[0]) + 1
        return MultiHeadAttentionModule(self, groups, ctx, axes, rank, scale, self.num_heads)
