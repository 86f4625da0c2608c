"""Keras 3 constraints: projections applied to a weight after every optimizer step.

`project(w)` takes the Keras-layout view of the weight, so `axis` means what it means for that
Keras kernel (axis 0 of a Dense kernel is its input axis) whatever torch's layout is.
"""

from __future__ import annotations

from typing import Literal

from pydantic import Field

from ..registry import Registry
from .base import VocabModel, name_or_object
from .bounds import FLOAT32_MAX

CONSTRAINTS: Registry[type[Constraint]] = Registry("constraint")
EPSILON = 1e-7  # keras.config.epsilon()
Axis = Field(
    0,
    description="Axis (or axes) of the Keras-layout weight along which norms are "
    "computed: 0 for a Dense kernel (in, out) constrains each unit's incoming weights; "
    "[0, 1, 2] for a Conv2D kernel (rows, cols, in, out) in channels_last.",
)


class Constraint(VocabModel):
    """Base constraint: `project(w)` returns the projected weight."""

    def project(self, w):
        raise NotImplementedError


def _norms(w, axis):
    dims = axis if isinstance(axis, list) else [axis]
    return w.square().sum(dim=dims, keepdim=True).sqrt()


@CONSTRAINTS.register("max_norm")
class MaxNorm(Constraint):
    """Rescales weights whose norm along `axis` exceeds `max_value`."""

    type: Literal["MaxNorm"] = "MaxNorm"
    max_value: float = Field(2.0, ge=0, le=FLOAT32_MAX, description="Largest norm allowed.")
    axis: int | list[int] = Axis

    def project(self, w):
        norms = _norms(w, self.axis)
        return w * (norms.clamp(0, self.max_value) / (EPSILON + norms))


@CONSTRAINTS.register("min_max_norm")
class MinMaxNorm(Constraint):
    """Moves norms along `axis` into [min_value, max_value], at `rate` (1.0: strictly)."""

    type: Literal["MinMaxNorm"] = "MinMaxNorm"
    min_value: float = Field(0.0, ge=0, le=FLOAT32_MAX, description="Smallest norm allowed.")
    max_value: float = Field(1.0, ge=0, le=FLOAT32_MAX, description="Largest norm allowed.")
    rate: float = Field(
        1.0,
        ge=0,
        le=1,
        description="Rate of the projection: "
        "(1 - rate) * norm + rate * clip(norm, min_value, max_value).",
    )
    axis: int | list[int] = Axis

    def project(self, w):
        norms = _norms(w, self.axis)
        desired = self.rate * norms.clamp(self.min_value, self.max_value) + (1 - self.rate) * norms
        return w * (desired / (EPSILON + norms))


@CONSTRAINTS.register("non_neg")
class NonNeg(Constraint):
    """Sets negative weights to zero."""

    type: Literal["NonNeg"] = "NonNeg"

    def project(self, w):
        return w * (w >= 0).to(w.dtype)


@CONSTRAINTS.register("unit_norm")
class UnitNorm(Constraint):
    """Divides weights by their norm along `axis`."""

    type: Literal["UnitNorm"] = "UnitNorm"
    axis: int | list[int] = Axis

    def project(self, w):
        return w / (EPSILON + _norms(w, self.axis))


ConstraintField = name_or_object(CONSTRAINTS)
