"""Keras 3 regularizers: penalties added to the training loss (torch is imported when called).

Penalties are computed on the Keras-layout view of a weight, so OrthogonalRegularizer's rows and
columns are Keras's whatever layout the torch module stores.
"""

from __future__ import annotations

from typing import Literal

from pydantic import Field

from ..registry import Registry
from .base import VocabModel, name_or_object
from .bounds import FLOAT32_MAX

REGULARIZERS: Registry[type[Regularizer]] = Registry("regularizer")


class Regularizer(VocabModel):
    """Base regularizer: `penalty(x)` returns a scalar tensor."""

    def penalty(self, x):
        raise NotImplementedError

    def refuses(self, shape: tuple) -> str | None:
        """Why a value of `shape` (a weight's, or an output's with its batch axis) cannot take
        this penalty; None when it can."""
        return None


@REGULARIZERS.register("l1")
class L1(Regularizer):
    """l1 * sum(|x|)."""

    type: Literal["L1"] = "L1"
    l1: float = Field(0.01, ge=0, le=FLOAT32_MAX, description="L1 regularization factor.")

    def penalty(self, x):
        return self.l1 * x.abs().sum()


@REGULARIZERS.register("l2")
class L2(Regularizer):
    """l2 * sum(x^2) (no factor 1/2, as Keras)."""

    type: Literal["L2"] = "L2"
    l2: float = Field(0.01, ge=0, le=FLOAT32_MAX, description="L2 regularization factor.")

    def penalty(self, x):
        return self.l2 * x.square().sum()


@REGULARIZERS.register("l1l2", "l1_l2")
class L1L2(Regularizer):
    """l1 * sum(|x|) + l2 * sum(x^2). Keras's defaults are 0 for both; the string `l1_l2` gives
    Keras 2's (0.01, 0.01) instead (see README, Differences from Keras)."""

    type: Literal["L1L2"] = "L1L2"
    l1: float = Field(0.0, ge=0, le=FLOAT32_MAX, description="L1 regularization factor.")
    l2: float = Field(0.0, ge=0, le=FLOAT32_MAX, description="L2 regularization factor.")

    def penalty(self, x):
        out = x.new_zeros(())
        if self.l1:
            out = out + self.l1 * x.abs().sum()
        if self.l2:
            out = out + self.l2 * x.square().sum()
        return out


@REGULARIZERS.register("orthogonal_regularizer")
class OrthogonalRegularizer(Regularizer):
    """Encourages orthogonal rows (or columns) of a 2-D weight: factor times the mean absolute
    off-diagonal of the Gram matrix of the L2-normalized rows (or columns)."""

    type: Literal["OrthogonalRegularizer"] = "OrthogonalRegularizer"
    factor: float = Field(0.01, ge=0, le=FLOAT32_MAX, description="Regularization factor.")
    mode: Literal["rows", "columns"] = Field(
        "rows",
        description="Whether the rows or the columns of the (Keras-layout) weight should "
        "be orthogonal.",
    )

    def refuses(self, shape: tuple) -> str | None:
        if len(shape) != 2:
            return f"OrthogonalRegularizer needs a 2-D value, got rank {len(shape)}"
        return None

    def penalty(self, x):
        import torch

        if x.ndim != 2:
            raise ValueError(
                f"OrthogonalRegularizer needs a 2-D weight, got shape {tuple(x.shape)}"
            )
        v = x if self.mode == "rows" else x.T
        v = torch.nn.functional.normalize(v, dim=1, eps=1e-12)
        size = v.shape[0]
        product = v @ v.T
        off = product * (1.0 - torch.eye(size, dtype=x.dtype, device=x.device))
        return self.factor * off.abs().sum() / (size * (size - 1))


# Bare names standing for arguments other than the class defaults: Keras 2's `l1_l2` string
# (Keras 3 dropped it) meant L1L2(l1=0.01, l2=0.01); `l1l2` is Keras 3's L1L2() with 0 and 0.
STRING_PRESETS = {"l1_l2": {"l1": 0.01, "l2": 0.01}}

RegularizerField = name_or_object(REGULARIZERS, STRING_PRESETS)
