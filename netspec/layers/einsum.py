"""EinsumDense's equation analysis (Keras 3.15's `_analyze_einsum_string`): the equation's
forms, and the kernel, bias and output shapes it gives for an input shape. No torch."""

from __future__ import annotations

import math
import re
from dataclasses import dataclass

from ..vocab.initializers import _Scaling
from .base import Shape, ShapeError, fmt_shape

# The three forms Keras accepts: no ellipsis, an ellipsis before the input's and the output's
# axes, or after them (then the input names at least 2 axes). Keras matches a prefix only
# (`re.match`); netspec the whole equation, so trailing text is an error here, not in einsum.
AXES = "[a-zA-Z]"
FORMS = (
    ("none", re.compile(f"({AXES}+),({AXES}+)->({AXES}+)")),
    ("left", re.compile(rf"\.\.\.({AXES}+),({AXES}+)->\.\.\.({AXES}+)")),
    ("right", re.compile(rf"({AXES}{{2,}})\.\.\.,({AXES}+)->({AXES}+)\.\.\.")),
)


def parse(equation: str) -> tuple[str, str, str, str]:
    """(form, input axes, kernel axes, output axes) of a valid equation; ValueError otherwise."""
    found = [(form, m.groups()) for form, p in FORMS if (m := p.fullmatch(equation))]
    if not found:
        raise ValueError(
            f"invalid einsum equation '{equation}': it must have the form X,Y->Z, ...X,Y->...Z "
            "or X...,Y->Z... (X, Y, Z: axis letters; X at least 2 letters in the last form)"
        )
    form, specs = found[0]
    for what, spec in zip(("input", "kernel", "output"), specs, strict=True):
        if len(set(spec)) != len(spec):
            raise ValueError(f"the {what} '{spec}' of '{equation}' names an axis twice")
    ins, ws, outs = specs
    if missing := [c for c in outs if c not in ins + ws]:  # as Keras
        raise ValueError(f"output axis '{missing[0]}' of '{equation}' is in neither operand")
    if missing := [c for c in ws if c not in ins + outs]:  # as Keras
        raise ValueError(
            f"kernel axis '{missing[0]}' of '{equation}' is in neither the input nor the output"
        )
    return form, ins, ws, outs


@dataclass
class Plan:
    """An equation's shapes for one input: the output (batch axis first), the kernel and
    which of its axes are input units (the others output units: the initializer's fans),
    the bias (None: no bias)."""

    output: list[int | None]
    kernel: tuple[int, ...]
    input_axes: tuple[int, ...]
    bias: tuple[int, ...] | None


def analyze(equation: str, bias_axes: str | None, partial: list, shape: Shape) -> Plan:
    """Keras's shapes of an EinsumDense for an input shape (without batch), as ShapeErrors
    (field: the argument at fault) where Keras would fail, when built or when called."""
    form, ins, ws, outs = parse(equation)
    full = (None, *shape)
    elided = len(full) - len(ins)  # axes of the ellipsis (batch included)
    if elided < 0 or (form == "none" and elided):
        more = "" if form == "none" else "more than "
        raise ShapeError(
            f"the equation's input '{ins}' names {len(ins)} axes, {more}the input "
            f"{fmt_shape(shape)} has ({len(full)}, batch included)",
            "equation",
        )
    left = form == "left" and elided > 0  # the batch axis is in the ellipsis
    if not left and (outs[0] != ins[0] or ins[0] in ws):
        raise ShapeError(
            f"'{ins[0]}' is the batch axis: the output '{outs}' must start with it and the "
            f"kernel '{ws}' must not name it",
            "equation",
        )
    out = _output(full, partial, outs, elided if left else 0, elided if form == "right" else 0)
    offset = elided if left else 0
    at = {c: i + offset for i, c in enumerate(outs)}  # output letter -> index in `out`
    src = {c: full[i + offset] for i, c in enumerate(ins)}  # input letter -> its size
    _check_shared(src, out, at, shape)
    kernel: list[int] = []
    for c in ws:
        size = out[at[c]] if c in at else src[c]
        if size is None:  # Keras cannot create a kernel of variable size
            why = "give it in output_shape" if c in at else "the input's axis is variable"
            raise ShapeError(
                f"the kernel's axis '{c}' needs a known size ({why}; input {fmt_shape(shape)})",
                "output_shape" if c in at else None,
            )
        kernel.append(size)
    inputs = tuple(i for i, c in enumerate(ws) if c not in at)
    bias = _bias(bias_axes, outs, out, at, elided if form == "right" else 0)
    # An output axis given as null that the input has takes the input's size: the forward's
    # shape exactly (Keras's static shape leaves it variable; its kernel and bias do not).
    static = list(out)
    for c, i in at.items():
        if static[i] is None and c in src:
            static[i] = src[c]
    return Plan(static, tuple(kernel), inputs, bias)


def _output(full: Shape, partial: list, outs: str, left: int, right: int) -> list[int | None]:
    """The full output shape: batch, the ellipsis's axes before (`left` of them, batch
    included) or after (`right`) the partial `output_shape`."""
    want = len(outs) - (0 if left else 1)
    if len(partial) != want:
        skip = "the ellipsis's axes" if left else f"the batch axis '{outs[0]}'"
        raise ShapeError(
            f"output_shape has {len(partial)} entries; the output '{outs}' needs {want} "
            f"(one per letter, without {skip})",
            "output_shape",
        )
    # Keras 3.15 lists a left ellipsis's axes in reverse order in its static shape (wrong for
    # two or more of them: its einsum keeps their order); netspec keeps the order.
    tail = full[len(full) - right :] if right else ()
    return [None, *full[1:left], *partial, *tail]


def _check_shared(src: dict, out: list, at: dict, shape: Shape) -> None:
    """Keras's check: an axis of both the input and the output has one size (null in
    output_shape takes the input's)."""
    for c, size in src.items():
        if c in at and out[at[c]] is not None and out[at[c]] != size:
            raise ShapeError(
                f"output_shape gives {out[at[c]]} for axis '{c}', which the input "
                f"{fmt_shape(shape)} has as {size} (give null or that size)",
                "output_shape",
            )


def _bias(bias_axes: str | None, outs: str, out: list, at: dict, ones: int):
    """Keras's bias shape: the output axes from the first bias axis on (1 where not a bias
    axis), then a 1 per axis of a right ellipsis (so it broadcasts on the output's end)."""
    if bias_axes is None:
        return None
    first = min(outs.index(c) for c in bias_axes)
    shape = [out[at[c]] if c in bias_axes else 1 for c in outs[first:]]
    if None in shape:
        c = next(c for c in bias_axes if out[at[c]] is None)
        raise ShapeError(
            f"bias axis '{c}' has no known size in the output (the batch axis, or null in "
            "output_shape)",
            "bias_axes",
        )
    return (*shape, *(1,) * ones)


@dataclass(frozen=True)
class FansInit:
    """A VarianceScaling-family initializer with Keras's einsum fans (Keras 3.15's EinsumDense
    gives it the kernel's input and output axes): fan_in the product of the input axes' sizes,
    fan_out of the others'. Values are i.i.d., so a (fan_in, fan_out) sample is reshaped."""

    initializer: _Scaling
    input_axes: tuple[int, ...]

    def sample(self, shape: tuple[int, ...], generator=None):
        fan_in = math.prod(shape[i] for i in self.input_axes)
        flat = (fan_in, math.prod(shape) // fan_in)
        return self.initializer.sample(flat, generator).reshape(shape)
