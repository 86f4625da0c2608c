"""Pooling: MaxPooling1D/2D/3D and AveragePooling1D/2D/3D (Keras 3's `BasePooling`)."""

from __future__ import annotations

from typing import Any, ClassVar, Literal

from pydantic import Field

from .base import Context, DataFormat, Shape, ShapeError, fmt_shape, register_layer
from .spatial import DATA_FORMAT_DESCRIPTION, IntOrTuple, Spatial, as_tuple

POOL_SIZE = "Window size: an int (every spatial axis) or one int per spatial axis."


class _Pooling(Spatial):
    """Max or average over windows of `pool_size`, moved by `strides` (Keras's `BasePooling`).

    Output size per spatial axis, as Keras's `compute_pooling_output_shape`: `valid`
    floor((n - pool) / stride) + 1 (the pool must fit the input), `same` floor((n - 1) /
    stride) + 1, padding split as TensorFlow does (the odd element at the end). Padded
    positions never count: a max ignores them, an average divides by the number of real
    elements in its window (TensorFlow's and JAX's `same`; see AveragePooling's docstring).
    """

    pool_size: IntOrTuple = Field(2, description=POOL_SIZE)
    strides: IntOrTuple | None = Field(
        None,
        description="Step between windows, an int or one per spatial axis. Default: pool_size.",
    )
    padding: Literal["valid", "same"] = Field(
        "valid",
        description="valid: windows inside the input only; same: output size ceil(n / "
        "stride), zero-padded with the odd element at the end (padding never counts).",
    )
    data_format: DataFormat | None = Field(None, description=DATA_FORMAT_DESCRIPTION)

    mode: ClassVar[str] = "max"

    def windows(self) -> tuple[tuple[int, ...], tuple[int, ...]]:
        pool = as_tuple(self.pool_size, self.rank)
        return pool, pool if self.strides is None else as_tuple(self.strides, self.rank)

    def output_shape(self, shapes: list[Shape], ctx: Context) -> Shape:
        spatial, channels = self.split(shapes[0], ctx)
        pool, strides = self.windows()
        out: list[int | None] = []
        for axis, (n, k, s) in enumerate(zip(spatial, pool, strides, strict=True)):
            if n is None:
                out.append(None)
            elif self.padding == "same":
                out.append((n - 1) // s + 1)
            elif n < k:
                raise ShapeError(
                    f"pool_size {k} is larger than the input's size {n} on spatial axis "
                    f"{axis + 1} (input {fmt_shape(shapes[0])}) with padding 'valid'",
                    "pool_size",
                )
            else:
                out.append((n - k) // s + 1)
        return self.join(tuple(out), channels, ctx)

    def build(self, shapes: list[Shape], ctx: Context):
        from ..torch.pooling import PoolModule

        pool, strides = self.windows()
        same = self.padding == "same"
        return PoolModule(self.mode, pool, strides, same, not self.channels_first(ctx))


def _examples(rank: int, average: bool) -> tuple[dict, ...]:
    """Examples of a pooling layer of `rank` spatial axes (channels last: 3 channels)."""

    def shape(*spatial, channels=3):
        return [*spatial[:rank], channels]

    cf = "channels_first"
    out: list[dict[str, Any]] = [
        {"args": {}, "inputs": [shape(4, 6, 4)]},
        {"args": {"pool_size": 3, "strides": 1}, "inputs": [shape(5, 4, 3)]},
        {
            "args": {"pool_size": [2, 3, 1][:rank], "strides": [1, 2, 2][:rank]},
            "inputs": [shape(5, 7, 4)],
        },
        {"args": {"padding": "same", "pool_size": 3, "strides": 1}, "inputs": [shape(5, 4, 3)]},
        {"args": {}, "inputs": [[2, *shape(4, 6, 4)[:rank]]], "data_format": cf},
        {
            "args": {"data_format": cf, "padding": "same", "pool_size": 3, "strides": 1},
            "inputs": [[2, *shape(5, 4, 3)[:rank]]],
        },
        {"args": {}, "inputs": [shape(None, 4, None)]},
        {"args": {"padding": "same"}, "inputs": [shape(None, 4, None, channels=None)]},
        # uneven padding, but a window of one real element and one pad: backends agree
        {"args": {"padding": "same"}, "inputs": [shape(5, 3, 5)]},
    ]
    # Uneven `same` padding (the odd element at the end) where a window holds several real
    # elements and padding: Keras's torch backend averages replicated edge values there,
    # TensorFlow and JAX (and netspec) leave padding out; such examples are left out of the Keras
    # comparison and checked against a NumPy reference in tests/test_pooling.py instead.
    uneven = [
        {"args": {"padding": "same", "pool_size": 3, "strides": 2}, "inputs": [shape(4, 5, 4)]},
        {
            "args": {"padding": "same", "pool_size": 3, "strides": 2},
            "inputs": [[2, *shape(6, 6, 4)[:rank]]],
            "data_format": cf,
        },
    ]
    out += [{**example, "keras_parity": False} if average else example for example in uneven]
    return tuple(out)


@register_layer
class MaxPooling1D(_Pooling):
    """Max pooling over the steps of (batch, steps, features) inputs (Keras's `MaxPooling1D`);
    `same` padding never wins a max."""

    type: Literal["MaxPooling1D", "MaxPool1D"] = "MaxPooling1D"
    rank = 1
    examples = _examples(1, False)


@register_layer
class MaxPooling2D(_Pooling):
    """Max pooling over the rows and columns of images (Keras's `MaxPooling2D`)."""

    type: Literal["MaxPooling2D", "MaxPool2D"] = "MaxPooling2D"
    pool_size: IntOrTuple = Field([2, 2], description=POOL_SIZE)
    examples = _examples(2, False)


@register_layer
class MaxPooling3D(_Pooling):
    """Max pooling over the three spatial axes of volumes (Keras's `MaxPooling3D`)."""

    type: Literal["MaxPooling3D", "MaxPool3D"] = "MaxPooling3D"
    rank = 3
    pool_size: IntOrTuple = Field([2, 2, 2], description=POOL_SIZE)
    examples = _examples(3, False)


class _Average(_Pooling):
    """Average pooling. With `same` padding, each window's mean is over its real elements only,
    as TensorFlow's and JAX's Keras backends compute it (`count_include_pad=False`); where the
    padding is uneven (its odd element at the end), Keras's torch backend instead pads by
    replicating the edge and averages those copies too; netspec follows TensorFlow/JAX."""

    mode = "average"


@register_layer
class AveragePooling1D(_Average):
    """Average pooling over the steps of (batch, steps, features) inputs (Keras's
    `AveragePooling1D`); `same` padding is left out of each mean, as TensorFlow and JAX do."""

    type: Literal["AveragePooling1D", "AvgPool1D"] = "AveragePooling1D"
    rank = 1
    examples = _examples(1, True)


@register_layer
class AveragePooling2D(_Average):
    """Average pooling over the rows and columns of images (Keras's `AveragePooling2D`);
    `same` padding is left out of each mean, as TensorFlow and JAX do."""

    type: Literal["AveragePooling2D", "AvgPool2D"] = "AveragePooling2D"
    pool_size: IntOrTuple = Field([2, 2], description=POOL_SIZE)
    examples = _examples(2, True)


@register_layer
class AveragePooling3D(_Average):
    """Average pooling over the three spatial axes of volumes (Keras's `AveragePooling3D`);
    `same` padding is left out of each mean, as TensorFlow and JAX do."""

    type: Literal["AveragePooling3D", "AvgPool3D"] = "AveragePooling3D"
    rank = 3
    pool_size: IntOrTuple = Field([2, 2, 2], description=POOL_SIZE)
    examples = _examples(3, True)
