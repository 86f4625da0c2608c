"""Embedding: integer indices -> rows of a trainable (input_dim, output_dim) matrix."""

from __future__ import annotations

from typing import Literal

from pydantic import Field

from ..vocab import ConstraintField, InitializerField, RegularizerField
from ..vocab.bounds import MAX_SIZE
from .base import Context, Layer, Shape, Weight, register_layer


@register_layer
class Embedding(Layer):
    """Turns non-negative integer indices into dense vectors (Keras's `Embedding`): an input of
    any shape (batch, ...) gives (batch, ..., output_dim), row `i` of the `embeddings` matrix for
    index `i`. Float inputs are cast to int32 first (truncated toward zero), as Keras does; the
    output is float32. Indices must lie in [0, input_dim)."""

    type: Literal["Embedding"] = "Embedding"
    input_dim: int = Field(
        ..., gt=0, le=MAX_SIZE, description="Size of the vocabulary: largest index + 1."
    )
    output_dim: int = Field(
        ..., gt=0, le=MAX_SIZE, description="Dimension of the embedding vectors."
    )
    embeddings_initializer: InitializerField = Field(
        "uniform",
        validate_default=True,
        description="Initializer of the embeddings matrix "
        "(Keras's default: RandomUniform(-0.05, 0.05)).",
    )
    embeddings_regularizer: RegularizerField | None = Field(
        None, description="Penalty on the embeddings matrix, added to the training loss."
    )
    embeddings_constraint: ConstraintField | None = Field(
        None,
        description="Projection applied to the embeddings matrix after each optimizer "
        "step (axis 0 is the vocabulary axis, as in Keras).",
    )
    mask_zero: bool = Field(
        False,
        description="Whether index 0 is padding, masked out downstream (input_dim is then the "
        "vocabulary size + 1): the output carries a mask (index != 0) that recurrent layers "
        "use to skip padding steps, through layers that keep the timesteps (see "
        "docs/spec-format.md, Masks).",
    )
    activity_regularizer: RegularizerField | None = Field(
        None, description="Penalty on the layer's output, divided by the batch size (as Keras)."
    )

    examples = (
        {"args": {"input_dim": 10, "output_dim": 4}, "inputs": [[5]], "dtypes": ["int64"]},
        {
            "args": {"input_dim": 7, "output_dim": 3, "mask_zero": True},
            "inputs": [[None]],
            "dtypes": ["int32"],
        },
        {"args": {"input_dim": 5, "output_dim": 2}, "inputs": [[2, 3]], "dtypes": ["float32"]},
        {
            "args": {
                "input_dim": 4,
                "output_dim": 6,
                "embeddings_initializer": "he_normal",
                "embeddings_regularizer": "l2",
                "embeddings_constraint": "unit_norm",
            },
            "inputs": [[]],
            "dtypes": ["int64"],
        },
    )

    def produces_mask(self) -> bool:
        return self.mask_zero

    def output_shape(self, shapes: list[Shape], ctx: Context) -> Shape:
        return (*shapes[0], self.output_dim)

    def weights(self, shapes: list[Shape], ctx: Context) -> list[Weight]:
        return [
            Weight(
                "embeddings",
                (self.input_dim, self.output_dim),
                self.embeddings_initializer,
                self.embeddings_regularizer,
                self.embeddings_constraint,
            )
        ]

    def build(self, shapes: list[Shape], ctx: Context):
        from ..torch.embedding import EmbeddingModule

        return EmbeddingModule(self.graph_weights(shapes, ctx)[0], ctx)
