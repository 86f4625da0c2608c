"""Shared: another call of a layer entry, with that entry's weights, on other inputs.

Keras's functional API shares a layer by calling one layer object on several inputs (a siamese
network: `encoder(left)`, `encoder(right)`, one set of weights). In a spec, the first call is the
layer entry itself and every further call is a `Shared` entry that names it:

    - {type: Dense, units: 16, name: encoder, inputs: left}
    - {type: Shared, layer: encoder, inputs: right, name: encoder_right}

The Shared entry's output shape is the referenced layer's shape rule applied to its own inputs;
its weights are the referenced layer's, so every input it takes must fit them (Keras refuses a
shared Dense on inputs with another last dimension too). It has no weights of its own: parameter
counts, state_dict keys and penalties count the weights once, under the original entry.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, ClassVar, Literal, cast

from pydantic import Field, PrivateAttr

from .base import (
    LAYER_NAME_PATTERN,
    Context,
    Layer,
    Shape,
    ShapeError,
    Weight,
    fmt_shape,
    register_layer,
)

if TYPE_CHECKING:
    from .mask_inputs import MergesMasks

# Layers whose input rank Keras pins when it builds them (`InputSpec(ndim=...)` set in `build`):
# sharing one of them on an input of another rank fails in Keras even where the weights fit.
RANK_PINNED_AT_BUILD = frozenset(
    {"BatchNormalization", "GroupNormalization", "PReLU", "EinsumDense"}
)
# Layers whose torch module is made for its inputs' ranks (the merges' broadcasting, the axes of
# Concatenate and Dot): a Shared entry must give inputs of the same ranks.
MODULE_PINNED_AT_BUILD = frozenset(
    {"Add", "Subtract", "Multiply", "Average", "Maximum", "Minimum", "Concatenate", "Dot"}
)


@register_layer
class Shared(Layer):
    """Calls another layer entry (`layer`) again on this entry's inputs, with the same weights
    (the same module, not a copy), as calling one Keras layer object on several inputs does in
    a functional model (a siamese network). Its output shape is that layer's shape rule applied
    to these inputs; the inputs must fit the weights that layer was made with. It has no
    weights of its own: parameters are counted, saved and penalised once, under the original."""

    type: Literal["Shared"] = "Shared"
    layer: str = Field(
        ...,
        pattern=LAYER_NAME_PATTERN,
        description="Name of the layer entry whose weights this entry reuses (the original, "
        "not another Shared entry). Its arguments, trainable flag and regularizers apply here "
        "too; its output must not depend on this entry's output.",
    )

    arity = (1, None)  # the referenced layer's arity is checked by the shape rule
    keras_parity = False  # Keras has no such class: it calls the same layer object again
    examples = ()  # a Shared entry needs another entry: tests/test_shared_layers.py covers it
    standalone: ClassVar[bool] = (
        False  # not testable as a one-layer spec (see tests/test_layers.py)
    )

    _target: Layer | None = PrivateAttr(None)

    def layer_refs(self) -> list[tuple[str, str]]:
        """(field, name) of the other layer entries this entry needs: they come first in the
        execution order and are built first."""
        return [("layer", self.layer)]

    # dtypes and masks behave as the shared layer's (known once the shape rule has run).
    @property
    def keeps_dtype(self) -> bool:  # type: ignore[override]
        return bool(self._target is not None and self._target.keeps_dtype)

    @property
    def propagates_mask(self) -> bool:  # type: ignore[override]
        return bool(self._target is not None and self._target.propagates_mask)

    @property
    def consumes_mask(self) -> bool:  # type: ignore[override]
        return bool(self._target is not None and self._target.consumes_mask)

    def produces_mask(self) -> bool:
        return self._target is not None and self._target.produces_mask()

    def output_mask(self) -> bool | list[bool]:
        return False if self._target is None else self._target.output_mask()

    @property
    def mask_inputs(self) -> bool:  # type: ignore[override]
        return bool(self._target is not None and self._target.mask_inputs)

    def merged_mask(
        self, masks: list[str | None], shapes: list[Shape], name: str
    ) -> str | list[str | None] | None:
        if self._target is None:
            return None
        return cast("MergesMasks", self._target).merged_mask(masks, shapes, name)

    def output_shape(self, shapes: list[Shape], ctx: Context) -> Shape | list[Shape]:
        if not self.trainable:
            raise ShapeError(
                f"a Shared entry has no weights of its own: set trainable on '{self.layer}'",
                "trainable",
            )
        node = (ctx.layers or {}).get(self.layer)
        if node is None or node.layer is None:
            raise ShapeError(f"unknown layer '{self.layer}'", "layer")
        target = node.layer  # the graph refuses a Shared target before this rule runs
        what = f"shared layer '{self.layer}' ({target.type})"
        low, high = target.arity
        if len(shapes) < low or (high is not None and len(shapes) > high):
            want = (
                str(low) if low == high else f"{low} or more" if high is None else f"{low}-{high}"
            )
            raise ShapeError(f"{what} takes {want} input(s), got {len(shapes)}")
        try:
            out = target.output_shape(shapes, ctx)
            mine = target.weights(shapes, ctx)
        except ShapeError as exc:
            raise ShapeError(f"{what}: {exc}") from None
        built_on = node.input_shapes or []
        ranks, built_ranks = [len(s) for s in shapes], [len(s) for s in built_on]
        if built_on and (
            len(shapes) != len(built_on)
            or (target.type in MODULE_PINNED_AT_BUILD and ranks != built_ranks)
        ):
            raise ShapeError(
                f"{what} was made for input {_shapes(built_on)}; it cannot take "
                f"{_shapes(shapes)}: its module is made for that number of inputs"
                + (" and their ranks" if target.type in MODULE_PINNED_AT_BUILD else "")
            )
        theirs = target.weights(built_on, Context(ctx.data_format, list(node.input_dtypes)))
        pinned = target.type in RANK_PINNED_AT_BUILD and len(shapes[0]) != len(built_on[0])
        if pinned or [w.shape for w in mine] != [w.shape for w in theirs]:
            raise ShapeError(
                f"{what} was made for input {_shapes(built_on)}; its weights do not fit input "
                f"{_shapes(shapes)}{_weight_diff(theirs, mine, pinned)}: a shared layer keeps "
                "its weights, so every input it takes must fit them (as in Keras)"
            )
        self._target = target
        return out

    def weights(self, shapes: list[Shape], ctx: Context) -> list[Weight]:
        return []  # the referenced entry's weights, counted there

    def activity_regularizer_spec(self):
        # Keras adds a layer's activity penalty at every call, so at this one too.
        return None if self._target is None else self._target.activity_regularizer_spec()

    def build(self, shapes: list[Shape], ctx: Context):
        from ..torch.shared import SharedModule

        return SharedModule((ctx.modules or {})[self.layer], self.layer)


def _shapes(shapes: list[Shape]) -> str:
    return ", ".join(fmt_shape(s) for s in shapes)


def _weight_diff(theirs: list[Weight], mine: list[Weight], pinned: bool) -> str:
    if pinned and [w.shape for w in mine] == [w.shape for w in theirs]:
        return " (Keras fixes this layer's input rank when it makes its weights)"
    for a, b in zip(theirs, mine, strict=False):
        if a.shape != b.shape:
            return f" ({a.name} is {a.shape}, this input would need {b.shape})"
    return ""
