"""Wrappers: Bidirectional (a recurrent layer run both ways) and TimeDistributed (a layer
applied to every timestep). Their `layer` is a nested layer spec, validated like a layer entry."""

from __future__ import annotations

from typing import Annotated, Any, Literal, Union

from pydantic import ConfigDict, Field

from .base import LAYERS, Context, Layer, Shape, ShapeError, Weight, fmt_shape, register_layer
from .recurrent import Recurrent


class _AnyLayer:
    """Pydantic schema of a nested layer spec: the discriminated union of every registered
    layer type, built when the wrapper's schema is (`defer_build`, so after every layer and
    plugin has registered)."""

    @classmethod
    def __get_pydantic_core_schema__(cls, source: Any, handler: Any) -> Any:
        classes = tuple(c for _, c in LAYERS.items())
        return handler.generate_schema(
            Annotated[Union[classes], Field(discriminator="type")]  # noqa: UP007
        )


NestedLayer = Annotated[Layer, _AnyLayer]


def _nested_error(exc: ShapeError, key: str, inner: Layer) -> ShapeError:
    """A nested layer's shape error, located inside the wrapper's `key`."""
    if exc.field is None:
        return ShapeError(f"{inner.type}: {exc}")
    field = exc.field if isinstance(exc.field, tuple) else (exc.field,)
    return ShapeError(str(exc), (key, *field))


def _check_nested(inner: Layer, key: str) -> None:
    for name in ("inputs", "input_shape"):
        if getattr(inner, name) is not None:
            raise ShapeError(
                f"a wrapped layer takes the wrapper's input: drop '{name}' here", (key, name)
            )
    refs = getattr(inner, "layer_refs", None)
    if refs is not None and refs():
        raise ShapeError(f"{inner.type} cannot be wrapped", (key, "type"))


def _inner_weights(inner: Layer, shapes: list[Shape], ctx: Context, key: str) -> list[Weight]:
    try:
        weights = inner.weights(shapes, ctx)
    except ShapeError as exc:
        raise _nested_error(exc, key, inner) from None
    if not inner.trainable:
        for w in weights:
            w.trainable = False
    return weights


def _build_inner(inner: Layer, shapes: list[Shape], ctx: Context):
    module = inner.build(shapes, ctx)
    if not inner.trainable:
        module.requires_grad_(False)
    return module


MERGE_MODES = ("concat", "sum", "mul", "ave")


@register_layer
class Bidirectional(Layer):
    """Runs a recurrent layer forwards and a copy of it backwards (go_backwards) over the same
    input, and merges their outputs (Keras's `Bidirectional`): concatenated on the last axis by
    default; with return_sequences the backward outputs are put back in time order first. Each
    direction has its own weights (forward's, then backward's). With return_state the states
    follow the output: forward's, then backward's. A mask reaches both directions; with
    return_sequences the masked steps' outputs are zeros (as Keras)."""

    model_config = ConfigDict(defer_build=True)

    type: Literal["Bidirectional"] = "Bidirectional"
    layer: NestedLayer = Field(
        ...,
        description="The recurrent layer (SimpleRNN, LSTM or GRU spec) run forwards; a copy "
        "with go_backwards: true runs backwards unless backward_layer is given.",
    )
    merge_mode: Literal["concat", "sum", "mul", "ave"] | None = Field(
        "concat",
        description="How the two directions' outputs combine: concat (last axis), sum, mul, "
        "ave, or null for both, as two outputs (`name:0` forward, `name:1` backward).",
    )
    backward_layer: NestedLayer | None = Field(
        None,
        description="The recurrent layer run backwards, instead of a copy of `layer`: it must "
        "have go_backwards opposite to layer's and the same return_sequences and return_state.",
    )

    consumes_mask = True
    examples = (
        {"args": {"layer": {"type": "LSTM", "units": 3}}, "inputs": [[5, 4]]},
        {
            "args": {
                "layer": {"type": "GRU", "units": 2, "return_sequences": True},
                "merge_mode": "sum",
            },
            "inputs": [[None, 3]],
        },
        {
            "args": {
                "layer": {"type": "SimpleRNN", "units": 2, "return_state": True},
                "merge_mode": None,
            },
            "inputs": [[4, 3]],
        },
        {
            "args": {
                "layer": {"type": "LSTM", "units": 3, "return_sequences": True},
                "backward_layer": {
                    "type": "GRU",
                    "units": 2,
                    "go_backwards": True,
                    "return_sequences": True,
                },
            },
            "inputs": [[5, 4]],
        },
        {
            "args": {
                "layer": {"type": "LSTM", "units": 2, "return_state": True},
                "merge_mode": "ave",
            },
            "inputs": [[4, 3]],
        },
    )

    def directions(self) -> tuple[Layer, Layer, str]:
        """The forward layer, the backward layer, and the key the backward one comes from."""
        if self.backward_layer is not None:
            return self.layer, self.backward_layer, "backward_layer"
        return self.layer, self.layer.model_copy(update={"go_backwards": True}), "layer"

    def _check(self) -> None:
        for key in ("layer", "backward_layer"):
            inner = getattr(self, key)
            if inner is None:
                continue
            _check_nested(inner, key)
            if not isinstance(inner, Recurrent):
                raise ShapeError(
                    f"Bidirectional wraps a recurrent layer (SimpleRNN, LSTM, GRU), got "
                    f"{inner.type}",
                    (key, "type"),
                )
        if self.backward_layer is None:
            if self.layer.go_backwards:
                raise ShapeError(
                    "the backward copy of this layer would also have go_backwards: true; give "
                    "backward_layer, or set go_backwards: false",
                    ("layer", "go_backwards"),
                )
        else:
            if self.backward_layer.go_backwards == self.layer.go_backwards:
                raise ShapeError(
                    "backward_layer must have go_backwards opposite to layer's "
                    f"({self.layer.go_backwards})",
                    ("backward_layer", "go_backwards"),
                )
            for name in ("return_sequences", "return_state"):
                if getattr(self.backward_layer, name) != getattr(self.layer, name):
                    raise ShapeError(
                        f"backward_layer's {name} must equal layer's ({getattr(self.layer, name)})",
                        ("backward_layer", name),
                    )
        self._check_activity()

    def _check_activity(self) -> None:
        forward = self.layer.activity_regularizer
        backward = self.backward_layer.activity_regularizer if self.backward_layer else forward
        if forward is None and backward is None:
            return
        key = "layer" if forward is not None else "backward_layer"
        if forward != backward:
            raise ShapeError(
                "netspec applies one activity_regularizer to both directions: give layer and "
                "backward_layer the same",
                ("backward_layer", "activity_regularizer"),
            )
        if self.merge_mode not in ("concat", None) or forward.type not in ("L1", "L2", "L1L2"):
            raise ShapeError(
                "an activity_regularizer inside Bidirectional needs merge_mode concat or null "
                "and an L1, L2 or L1L2 penalty (Keras penalises each direction's outputs, which "
                "netspec computes from the merged output)",
                (key, "activity_regularizer"),
            )

    def output_mask(self) -> bool | list[bool]:
        forward = self.layer
        carried = [forward.return_sequences] * (2 if self.merge_mode is None else 1)
        if forward.return_state:
            fwd, bwd, _ = self.directions()
            carried += [False] * (fwd.state_count + bwd.state_count)
        return carried if len(carried) > 1 else carried[0]

    def output_shape(self, shapes: list[Shape], ctx: Context) -> Shape | list[Shape]:
        self._check()
        fwd, bwd, bwd_key = self.directions()
        outs = []
        for inner, key in ((fwd, "layer"), (bwd, bwd_key)):
            try:
                out = inner.output_shape(shapes, ctx)
            except ShapeError as exc:
                raise _nested_error(exc, key, inner) from None
            outs.append(out if isinstance(out, list) else [out])
        (y, *fwd_states), (y_rev, *bwd_states) = outs
        if self.merge_mode is None:
            merged = [y, y_rev]
        elif self.merge_mode == "concat":
            merged = [(*y[:-1], y[-1] + y_rev[-1])]
        else:
            if y != y_rev:
                raise ShapeError(
                    f"merge_mode {self.merge_mode} needs both directions' outputs of one shape, "
                    f"got {fmt_shape(y)} and {fmt_shape(y_rev)}",
                    "merge_mode",
                )
            merged = [y]
        result = merged + fwd_states + bwd_states
        return result if len(result) > 1 else result[0]

    def weights(self, shapes: list[Shape], ctx: Context) -> list[Weight]:
        fwd, bwd, bwd_key = self.directions()
        return _inner_weights(fwd, shapes, ctx, "layer") + _inner_weights(bwd, shapes, ctx, bwd_key)

    def activity_regularizer_spec(self):
        return self.layer.activity_regularizer

    def build(self, shapes: list[Shape], ctx: Context):
        from ..torch.wrappers import BidirectionalModule

        fwd, bwd, _ = self.directions()
        return BidirectionalModule(
            _build_inner(fwd, shapes, ctx),
            _build_inner(bwd, shapes, ctx),
            self.merge_mode,
            fwd.return_sequences,
            fwd.return_state,
        )


@register_layer
class TimeDistributed(Layer):
    """Applies a layer to every timestep of its input (Keras's `TimeDistributed`): an input
    (batch, timesteps, ...) goes through `layer` as (batch * timesteps, ...), one set of
    weights for every step, and comes back as (batch, timesteps, ...). A mask on the input
    passes through when the wrapped layer keeps the timesteps (see docs/spec-format.md)."""

    model_config = ConfigDict(defer_build=True)

    type: Literal["TimeDistributed"] = "TimeDistributed"
    layer: NestedLayer = Field(
        ...,
        description="The layer spec applied to each timestep; it sees inputs without the "
        "timesteps axis (a Dense on (batch, timesteps, features) sees (batch, features)).",
    )

    examples = (
        {"args": {"layer": {"type": "Dense", "units": 3}}, "inputs": [[5, 4]]},
        {
            "args": {"layer": {"type": "Dense", "units": 2, "activation": "relu"}},
            "inputs": [[None, 3, 4]],
        },
        {"args": {"layer": {"type": "Flatten"}}, "inputs": [[3, 2, 4]]},
        {"args": {"layer": {"type": "Dropout", "rate": 0.5}}, "inputs": [[4, 3]]},
        {
            "args": {"layer": {"type": "Embedding", "input_dim": 10, "output_dim": 2}},
            "inputs": [[3, 4]],
            "dtypes": ["int64"],
        },
        {
            "args": {"layer": {"type": "LSTM", "units": 2}},
            "inputs": [[3, 4, 5]],
        },
    )

    @property
    def keeps_dtype(self) -> bool:  # type: ignore[override]
        return self.layer.keeps_dtype

    @property
    def propagates_mask(self) -> bool:  # type: ignore[override]
        return not (self.layer.consumes_mask or self.layer.produces_mask())

    def output_shape(self, shapes: list[Shape], ctx: Context) -> Shape:
        inner = self.layer
        _check_nested(inner, "layer")
        shape = shapes[0]
        if len(shape) < 2:
            raise ShapeError(
                "expects an input of rank >= 3 (batch, timesteps, ...), got shape "
                f"{fmt_shape(shape)}"
            )
        if inner.arity[0] > 1:
            raise ShapeError(f"{inner.type} takes several inputs: it cannot be wrapped", "layer")
        if inner.produces_mask():
            raise ShapeError(
                f"the mask {inner.type} would make inside TimeDistributed is not carried "
                "(Keras drops it too): make the mask outside the wrapper",
                "layer",
            )
        try:
            out = inner.output_shape([shape[1:]], ctx)
        except ShapeError as exc:
            raise _nested_error(exc, "layer", inner) from None
        if isinstance(out, list):
            raise ShapeError(
                f"{inner.type} here has {len(out)} outputs; TimeDistributed takes a layer with one",
                "layer",
            )
        return (shape[0], *out)

    def weights(self, shapes: list[Shape], ctx: Context) -> list[Weight]:
        return _inner_weights(self.layer, [shapes[0][1:]], ctx, "layer")

    def activity_regularizer_spec(self):
        return self.layer.activity_regularizer_spec()

    def build(self, shapes: list[Shape], ctx: Context):
        from ..torch.wrappers import TimeDistributedModule

        return TimeDistributedModule(_build_inner(self.layer, [shapes[0][1:]], ctx))
