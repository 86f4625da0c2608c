"""Keras's timestep masks at the layers that see each input's mask (`Layer.mask_inputs`; docs/
spec-format.md, "Masks"): the merges (merge.py, concatenate.py) and the attention layers,
which take the query's and value's masks (and the key's, MultiHeadAttention and
GroupQueryAttention) and carry the query's mask on."""

from __future__ import annotations

from typing import TYPE_CHECKING, ClassVar, Protocol

from .base import Shape, ShapeError, fmt_shape


class MergesMasks(Protocol):
    """What a `mask_inputs` layer has: `merged_mask`."""

    def merged_mask(
        self, masks: list[str | None], shapes: list[Shape], name: str
    ) -> str | list[str | None] | None:
        """The output's mask from the inputs' (producer names): one of them carried on, `name`
        (its module's `compute_mask(*inputs, mask=masks)` makes a new one) or None (a list for
        several outputs); ShapeError where Keras's rule cannot apply to these shapes."""


class QueryMasked:
    """Mixin of the attention layers: each input's mask reaches the module's forward as
    `mask=[query_mask, value_mask(, key_mask)]`; the output carries the query's mask (Keras's
    compute_mask; the attention scores, when returned, carry none)."""

    mask_inputs: ClassVar[bool] = True
    consumes_mask: ClassVar[bool] = True
    # MultiHeadAttention's and GroupQueryAttention's masks combine as (batch, Tq, Tv).
    masks_rank3: ClassVar[bool] = False
    # Keras's MultiHeadAttention and GroupQueryAttention read their masks (`query_mask`, ...)
    # from the tensors when the model runs (`runtime_masks`), and MultiHeadAttention.call
    # removes the masks of the tensors it takes (`backend.set_keras_mask(query, None)`:
    # `clears_input_masks`): a layer that runs after it and reads masks at run time from the
    # same tensor sees none (the residual `Add()([x, mha(x, x)])` of a Transformer block).
    if TYPE_CHECKING:
        return_attention_scores: bool

    def merged_mask(
        self, masks: list[str | None], shapes: list[Shape], name: str
    ) -> str | list[str | None] | None:
        for role, shape, mask in zip(("query", "value", "key"), shapes, masks, strict=False):
            if mask is not None and self.masks_rank3 and len(shape) != 2:
                raise ShapeError(
                    f"a masked {role} is taken on rank-3 inputs only here (batch, steps, "
                    f"features; Keras's (batch, Tq, Tv) attention mask), got {fmt_shape(shape)}"
                )
        return [masks[0], None] if self.return_attention_scores else masks[0]
