"""Bidirectional: a recurrent layer run forwards and a copy of it backwards, outputs merged."""

from __future__ import annotations

from typing import Literal

from pydantic import ConfigDict, Field

from .base import Context, Layer, Shape, ShapeError, Weight, fmt_shape, register_layer
from .recurrent import Recurrent
from .rnn import RNN
from .wrappers import NestedLayer, _build_inner, _check_nested, _inner_weights, _nested_error

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
        description="The recurrent layer (SimpleRNN, LSTM, GRU or RNN spec) run forwards; a copy "
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

    def directions(self) -> tuple[Recurrent | RNN, Recurrent | RNN, str]:
        """The forward layer, the backward layer, and the key the backward one comes from."""
        fwd, bwd, key = self.layer, self.backward_layer, "backward_layer"
        if bwd is None:
            bwd, key = fwd.model_copy(update={"go_backwards": True}), "layer"
        if not isinstance(fwd, (Recurrent, RNN)) or not isinstance(bwd, (Recurrent, RNN)):
            raise ShapeError("Bidirectional wraps a recurrent layer (SimpleRNN, LSTM, GRU, RNN)")
        return fwd, bwd, key

    def _check(self) -> None:
        for key in ("layer", "backward_layer"):
            inner = getattr(self, key)
            if inner is None:
                continue
            _check_nested(inner, key)
            if not isinstance(inner, (Recurrent, RNN)):
                raise ShapeError(
                    f"Bidirectional wraps a recurrent layer (SimpleRNN, LSTM, GRU, RNN), got "
                    f"{inner.type}",
                    (key, "type"),
                )
        fwd, bwd, _ = self.directions()  # both recurrent now
        if self.backward_layer is None:
            if fwd.go_backwards:
                raise ShapeError(
                    "the backward copy of this layer would also have go_backwards: true; give "
                    "backward_layer, or set go_backwards: false",
                    ("layer", "go_backwards"),
                )
        else:
            if bwd.go_backwards == fwd.go_backwards:
                raise ShapeError(
                    "backward_layer must have go_backwards opposite to layer's "
                    f"({fwd.go_backwards})",
                    ("backward_layer", "go_backwards"),
                )
            for name in ("return_sequences", "return_state"):
                if getattr(bwd, name) != getattr(fwd, name):
                    raise ShapeError(
                        f"backward_layer's {name} must equal layer's ({getattr(fwd, name)})",
                        ("backward_layer", name),
                    )
        self._check_activity()

    def _check_activity(self) -> None:
        fwd, bwd, _ = self.directions()  # a copy of layer has its activity_regularizer
        forward, backward = fwd.activity_regularizer, bwd.activity_regularizer
        if forward is None and backward is None:
            return
        key = "layer" if forward is not None else "backward_layer"
        if forward is None or forward != backward:
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
        fwd, bwd, _ = self.directions()
        carried = [fwd.return_sequences] * (2 if self.merge_mode is None else 1)
        if fwd.return_state:
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
            units = None if y[-1] is None or y_rev[-1] is None else y[-1] + y_rev[-1]
            merged = [(*y[:-1], units)]
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
        return getattr(self.layer, "activity_regularizer", None)  # a recurrent layer's

    def build(self, shapes: list[Shape], ctx: Context):
        from ..torch.bidirectional import BidirectionalModule

        fwd, bwd, _ = self.directions()
        return BidirectionalModule(
            _build_inner(fwd, shapes, ctx),
            _build_inner(bwd, shapes, ctx),
            self.merge_mode,
            fwd.return_sequences,
            fwd.return_state,
        )
