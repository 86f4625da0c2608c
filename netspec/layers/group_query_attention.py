"""GroupQueryAttention (Keras's, Ainslie et al. 2023): MultiHeadAttention whose key and value
have fewer heads than the query, each shared by a group of query heads."""

from __future__ import annotations

import math
from typing import ClassVar, Literal

from pydantic import Field, ValidationInfo, field_validator

from ..vocab import ConstraintField, InitializerField, RegularizerField
from ..vocab.bounds import MAX_SIZE
from .attention import (
    CAUSAL,
    SCORES,
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
class GroupQueryAttention(QueryMasked, Layer):
    """Keras's `GroupQueryAttention` on inputs `[query, value]` or `[query, value, key]` (key
    defaults to value), shaped (batch, Tq, dim), (batch, Tv, dim), (batch, Tv, dim_k): the query
    is projected to `num_query_heads` heads of `head_dim`, key and value to
    `num_key_value_heads` heads, each of which serves `num_query_heads / num_key_value_heads`
    consecutive query heads (num_key_value_heads 1: multi-query attention; equal counts:
    multi-head attention); `softmax(q @ k^T / sqrt(head_dim)) @ v` per query head, the heads
    (times a sigmoid gate when `use_gate`) through the output projection back to dim: output
    (batch, Tq, dim). Keras's weights (EinsumDense layout): query, key, [gate,] value,
    attention_output, each kernel then bias. Runs torch's scaled_dot_product_attention.
    `activity_regularizer` is not provided (Keras applies it inside, to each projection)."""

    type: Literal["GroupQueryAttention"] = "GroupQueryAttention"
    head_dim: int = Field(..., gt=0, le=MAX_SIZE, description="Size of each attention head.")
    num_query_heads: int = Field(
        ..., gt=0, le=MAX_SIZE, description="Number of query attention heads."
    )
    num_key_value_heads: int = Field(
        ...,
        gt=0,
        le=MAX_SIZE,
        description="Number of key and value attention heads; divides num_query_heads.",
    )
    dropout: float = dropout_field()
    use_bias: bool = Field(True, description="Whether the projections add biases.")
    sliding_window: int | None = Field(
        None,
        gt=0,
        description="Each query position attends to the key positions less than this far from "
        "it (a band; combine with use_causal_mask for a causal window).",
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
    use_causal_mask: bool = Field(False, description=CAUSAL)
    return_attention_scores: bool = Field(False, description=SCORES)

    arity = (2, 3)
    masks_rank3: ClassVar[bool] = True
    runtime_masks: ClassVar[bool] = True
    examples = (
        {
            "args": {"head_dim": 3, "num_query_heads": 4, "num_key_value_heads": 2},
            "inputs": [[4, 5], [6, 5]],
        },
        {
            "args": {"head_dim": 2, "num_query_heads": 3, "num_key_value_heads": 1},
            "inputs": [[None, 6], [None, 6]],
        },
        {
            "args": {"head_dim": 2, "num_query_heads": 4, "num_key_value_heads": 4},
            "inputs": [[4, 5], [3, 5], [3, 2]],
        },
        {
            "args": {
                "head_dim": 2,
                "num_query_heads": 4,
                "num_key_value_heads": 2,
                "use_bias": False,
                "use_causal_mask": True,
            },
            "inputs": [[5, 4], [5, 4]],
        },
        {
            "args": {"head_dim": 3, "num_query_heads": 2, "num_key_value_heads": 1}
            | {"use_gate": True, "return_attention_scores": True},
            "inputs": [[3, 4], [5, 4]],
        },
        {
            "args": {"head_dim": 2, "num_query_heads": 4, "num_key_value_heads": 2}
            | {"sliding_window": 2, "use_causal_mask": True},
            "inputs": [[6, 4], [6, 4]],
        },
        {
            "args": {"head_dim": 2, "num_query_heads": 2, "num_key_value_heads": 1}
            | {"dropout": 0.3, "seed": 1},
            "inputs": [[4, 3], [4, 3]],
        },
    )

    @field_validator("num_key_value_heads")
    @classmethod
    def _check_groups(cls, value: int, info: ValidationInfo) -> int:
        queries = info.data.get("num_query_heads")
        if queries is not None and queries % value:
            raise ValueError(
                f"num_key_value_heads ({value}) must divide num_query_heads ({queries})"
            )
        return value

    def inputs_of(self, shapes: list[Shape]) -> tuple[Shape, Shape, Shape]:
        """(query, value, key), checked as Keras's compute_output_shape and einsums do."""
        query, value, key = attention_inputs(shapes)
        if len(query) != 2:
            raise ShapeError(
                f"expects rank-3 inputs (batch, steps, features), got {fmt_shape(query)}"
            )
        check_same(query, value, (-1,), "query and value must have the same last axis")
        check_same(key, value, (0,), "key and value must have the same steps")
        check_flash(self.flash_attention, self.dropout, self.return_attention_scores)
        return query, value, key

    def output_shape(self, shapes: list[Shape], ctx: Context) -> Shape | list[Shape]:
        query, _, key = self.inputs_of(shapes)
        if not self.return_attention_scores:
            return query
        return [query, (self.num_query_heads, query[0], key[0])]

    def projections(self, shapes: list[Shape]) -> Plan:
        """(name, Keras kernel shape, Keras bias shape) of each projection, in Keras's order."""
        query, value, key = self.inputs_of(shapes)
        heads, groups, dim = self.num_query_heads, self.num_key_value_heads, self.head_dim
        q, v, k = features(query, "query"), features(value, "value"), features(key, "key")
        plan: Plan = [
            ("query", (q, heads, dim), (heads, dim)),
            ("key", (k, groups, dim), (groups, dim)),
        ]
        if self.use_gate:
            plan.append(("gate", (q, heads, dim), (heads, dim)))
        plan.append(("value", (v, groups, dim), (groups, dim)))
        plan.append(("attention_output", (heads, dim, q), (q,)))
        return plan

    def weights(self, shapes: list[Shape], ctx: Context) -> list[Weight]:
        return projection_weights(self, self.projections(shapes))

    def build(self, shapes: list[Shape], ctx: Context):
        from ..torch.group_query_attention import GroupQueryAttentionModule

        groups = weight_groups(self, self.projections(shapes))
        scale = 1 / math.sqrt(self.head_dim)
        return GroupQueryAttentionModule(self, groups, ctx, scale)
