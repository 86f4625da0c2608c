"""Attention: dot-product (Luong) or concat (Bahdanau-style) attention of a query over a
value (and key), Keras's `Attention`; the base AdditiveAttention (additive_attention.py) shares
with it, and the input rules MultiHeadAttention and GroupQueryAttention share."""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Literal

from pydantic import Field

from ..vocab import Initializer
from ..vocab.bounds import SEED_END
from .base import Context, Layer, Shape, ShapeError, Weight, fmt_shape, register_layer
from .mask_inputs import QueryMasked

CAUSAL = (
    "Mask future positions: query position i attends to value positions j <= i (Keras's "
    "call argument `use_causal_mask`, given here as a layer argument)."
)
SCORES = (
    "Also return the attention weights, as a second output (`name:1`; the attention "
    "output is `name:0`): Keras's call argument `return_attention_scores`."
)


def dropout_field() -> Any:
    return Field(
        0.0, ge=0, lt=1, description="Fraction of the attention weights to drop while training."
    )


def seed_field() -> Any:
    return Field(
        None,
        ge=0,
        lt=SEED_END,
        description="Seed of the dropout's own random stream; default: torch's.",
    )


def check_flash(flash: bool | None, dropout: float, scores: bool) -> None:
    """Keras's refusals of `flash_attention: true` (at construction and at call)."""
    if flash and (dropout > 0 or scores):
        what = "dropout" if dropout > 0 else "return_attention_scores"
        raise ShapeError(f"flash_attention does not support {what}, as in Keras", "flash_attention")


def attention_inputs(shapes: list[Shape]) -> tuple[Shape, Shape, Shape]:
    """(query, value, key) of [query, value] or [query, value, key]: same rank (>= 3 with the
    batch), last axes known."""
    query, value = shapes[0], shapes[1]
    key = shapes[2] if len(shapes) > 2 else value
    for what, shape in (("query", query), ("value", value), ("key", key)):
        if len(shape) < 2:
            raise ShapeError(
                f"the {what} must have rank >= 3, (batch, steps, features); got {fmt_shape(shape)}"
            )
        features(shape, what)
        if len(shape) != len(query):
            raise ShapeError(
                f"query, value and key must have the same rank; got query {fmt_shape(query)} "
                f"and {what} {fmt_shape(shape)}"
            )
    return query, value, key


def features(shape: Shape, what: str) -> int:
    """The size of the last axis of an attention input (`what`: query, value, key), which
    the projections take: it must be known."""
    if shape[-1] is None:
        raise ShapeError(f"the last axis of the {what} must be known, got {fmt_shape(shape)}")
    return shape[-1]


def check_same(a: Shape, b: Shape, axes, message: str) -> None:
    """ShapeError when a and b have different known sizes on one of `axes`."""
    for i in axes:
        if a[i] is not None and b[i] is not None and a[i] != b[i]:
            raise ShapeError(f"{message}; got {fmt_shape(a)} and {fmt_shape(b)}")


@dataclass(frozen=True)
class EinsumKernelInit:
    """A VarianceScaling-family initializer (Glorot, He, Lecun) with the fans Keras 3.15's
    EinsumDense gives it: the first `inputs` axes are input units, the others output units
    (a (dim, heads, key_dim) kernel has fan_in dim, fan_out heads * key_dim)."""

    initializer: Initializer
    inputs: int

    def sample(self, shape: tuple[int, ...], generator=None):
        flat = (math.prod(shape[: self.inputs]), math.prod(shape[self.inputs :]))
        return self.initializer.sample(flat, generator).reshape(shape)


def attention_axes(given: int | list[int] | None, query: Shape) -> tuple[int, ...]:
    """MultiHeadAttention's `attention_axes` as indices of the query's full shape (Keras: a
    negative axis counts from the query's end; default: every axis but batch and features)."""
    rank = len(query) + 1
    if given is None:
        given = list(range(1, rank - 1))
    axes: list[int] = []
    for a in [given] if isinstance(given, int) else given:
        i = a + rank if a < 0 else a
        if not 1 <= i <= rank - 2 or i in axes:
            raise ShapeError(
                f"attention axis {a} is repeated or not between the batch and the features "
                f"of the query {fmt_shape(query)}: pick from 1..{rank - 2} or -2..-{rank - 1}",
                "attention_axes",
            )
        axes.append(i)
    return tuple(axes)


class QueryValueAttention(QueryMasked, Layer):
    """What Attention and AdditiveAttention share (Keras's AdditiveAttention subclasses its
    Attention): inputs [query, value] or [query, value, key], their shape rule, and the
    (batch, Tq, Tv, dim) temporary of pairwise scores."""

    arity = (2, 3)
    if TYPE_CHECKING:  # each subclass's own field (kept in its place in the field order)
        return_attention_scores: bool

    def pairwise(self) -> bool:
        """Whether the scores come from every (query, key) pair of vectors (tanh(q + k))."""
        return True

    def output_shape(self, shapes: list[Shape], ctx: Context) -> Shape | list[Shape]:
        query, value, key = attention_inputs(shapes)
        batch = range(len(query) - 2)
        check_same(query, value, batch, "query and value must match on their batch axes")
        check_same(key, value, (*batch, -2), "key and value must have the same steps")
        check_same(query, key, (-1,), "query and key must have the same last axis")
        out = (*query[:-1], value[-1])
        return [out, (*query[:-1], key[-2])] if self.return_attention_scores else out

    def temporary_elements(self, shapes: list[Shape], ctx: Context) -> int:
        if not self.pairwise():
            return 0
        query, _, key = attention_inputs(shapes)
        return math.prod(d or 1 for d in (*query, key[-2]))


@register_layer
class Attention(QueryValueAttention):
    """Dot-product attention (Keras's `Attention`), on inputs `[query, value]` or
    `[query, value, key]` (key defaults to value), shaped (batch, Tq, dim), (batch, Tv, dim_v),
    (batch, Tv, dim): `scores = query @ key^T` (times a learned scalar `scale` when
    `use_scale`), or for `score_mode: concat`, `concat_score_weight * sum(tanh(scale * (q +
    k)), -1)` over every (query, key) pair; `softmax(scores)` over Tv, then `weights @ value`,
    shaped (batch, Tq, dim_v). Dropout on the weights in training mode. Dot mode runs torch's
    scaled_dot_product_attention; the other cases compute the weights explicitly."""

    type: Literal["Attention"] = "Attention"
    use_scale: bool = Field(
        False, description="Learn a scalar that scales the scores (initialized to 1)."
    )
    score_mode: Literal["dot", "concat"] = Field(
        "dot", description="dot: query-key dot products; concat: tanh of query + key summed."
    )
    dropout: float = dropout_field()
    seed: int | None = seed_field()
    use_causal_mask: bool = Field(False, description=CAUSAL)
    return_attention_scores: bool = Field(False, description=SCORES)

    examples = (
        {"args": {}, "inputs": [[4, 3], [5, 3]]},
        {"args": {"use_scale": True}, "inputs": [[None, 3], [None, 2], [None, 3]]},
        {"args": {"score_mode": "concat"}, "inputs": [[4, 3], [4, 3]]},
        {"args": {"score_mode": "concat", "use_scale": True}, "inputs": [[2, 3], [5, 2], [5, 3]]},
        {"args": {"use_causal_mask": True, "dropout": 0.2}, "inputs": [[5, 4], [5, 4]]},
        {"args": {}, "inputs": [[2, 4, 3], [2, 5, 3]]},
    )

    def pairwise(self) -> bool:
        return self.score_mode == "concat"

    def weights(self, shapes: list[Shape], ctx: Context) -> list[Weight]:
        from ..vocab import INITIALIZERS

        ones = INITIALIZERS.get("Ones").model_validate({})
        out = [Weight("scale", (), ones)] if self.use_scale else []
        if self.score_mode == "concat":
            out.append(Weight("concat_score_weight", (), ones))
        return out

    def build(self, shapes: list[Shape], ctx: Context):
        from ..torch.attention import AttentionModule

        return AttentionModule(
            self, self.graph_weights(shapes, ctx), ctx, self.score_mode == "concat"
        )
