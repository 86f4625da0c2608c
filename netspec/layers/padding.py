"""ZeroPadding1D/2D/3D and Cropping1D/2D/3D: zeros added to, or rows cut from, both ends of
each spatial axis (Keras 3's argument forms: an int, one int per axis, or (before, after)
pairs)."""

from __future__ import annotations

from typing import ClassVar, Literal

from pydantic import Field

from .base import Context, DataFormat, Shape, ShapeError, fmt_shape, register_layer
from .spatial import DATA_FORMAT_DESCRIPTION, Amount1D, AmountND, Spatial, pairs


class _Amounts(Spatial):
    """Shared by padding and cropping: `amount` names the argument (padding / cropping)."""

    amount: ClassVar[str] = "padding"

    def _pairs(self) -> tuple[tuple[int, int], ...]:
        return pairs(getattr(self, self.amount), self.rank)


class _ZeroPadding(_Amounts):
    """Adds rows of zeros at both ends of each spatial axis (Keras's `ZeroPaddingND`)."""

    data_format: DataFormat | None = Field(None, description=DATA_FORMAT_DESCRIPTION)
    keeps_dtype = True

    def output_shape(self, shapes: list[Shape], ctx: Context) -> Shape:
        spatial, channels = self.split(shapes[0], ctx)
        out = (
            None if n is None else n + a + b
            for n, (a, b) in zip(spatial, self._pairs(), strict=True)
        )
        return self.join(tuple(out), channels, ctx)

    def build(self, shapes: list[Shape], ctx: Context):
        from ..torch.padding import ZeroPaddingModule

        pads = [p for pair in reversed(self._pairs()) for p in pair]  # last axis first
        if not self.channels_first(ctx):
            pads = [0, 0, *pads]
        return ZeroPaddingModule(pads)


class _Cropping(_Amounts):
    """Cuts rows from both ends of each spatial axis (Keras's `CroppingND`): a view. What is
    cut must leave at least one row (a located error where the size is known, a ValueError in
    forward for variable sizes, as Keras)."""

    amount = "cropping"
    keeps_dtype = True

    def output_shape(self, shapes: list[Shape], ctx: Context) -> Shape:
        spatial, channels = self.split(shapes[0], ctx)
        out = []
        for axis, (n, (a, b)) in enumerate(zip(spatial, self._pairs(), strict=True)):
            if n is not None and a + b >= n:
                raise ShapeError(
                    f"cropping {a} + {b} leaves nothing of size {n} on spatial axis "
                    f"{axis + 1} (input {fmt_shape(shapes[0])}); it must be smaller",
                    "cropping",
                )
            out.append(None if n is None else n - a - b)
        return self.join(tuple(out), channels, ctx)

    def build(self, shapes: list[Shape], ctx: Context):
        from ..torch.padding import CroppingModule

        first = self.first_spatial_axis(ctx)
        crops = {first + i: pair for i, pair in enumerate(self._pairs())}
        spatial, _ = self.split(shapes[0], ctx)
        variable = [first + i for i, n in enumerate(spatial) if n is None]
        return CroppingModule(crops, variable)


@register_layer
class ZeroPadding1D(_ZeroPadding):
    """Zeros at the start and end of the steps axis (Keras's `ZeroPadding1D`)."""

    type: Literal["ZeroPadding1D"] = "ZeroPadding1D"
    padding: Amount1D = Field(1, description="Zeros added: an int (both ends) or (before, after).")
    rank = 1
    examples = (
        {"args": {}, "inputs": [[3, 2]]},
        {"args": {"padding": [2, 0]}, "inputs": [[None, 4]], "dtypes": ["int32"]},
        {"args": {"padding": [0, 3]}, "inputs": [[2, 3]], "data_format": "channels_first"},
    )


def _per_axis(*amounts: int | list[int]) -> list[int | list[int]]:
    """An ND padding's or cropping's default, one amount per axis, typed as the field is."""
    return list(amounts)


_ND = (
    "Zeros added: an int (every end of every spatial axis), one int per axis (both ends), "
    "or one (before, after) pair per axis."
)


@register_layer
class ZeroPadding2D(_ZeroPadding):
    """Rows and columns of zeros around images (Keras's `ZeroPadding2D`)."""

    type: Literal["ZeroPadding2D"] = "ZeroPadding2D"
    padding: AmountND = Field(_per_axis(1, 1), description=_ND)
    examples = (
        {"args": {}, "inputs": [[3, 4, 2]]},
        {"args": {"padding": [[1, 2], [0, 3]]}, "inputs": [[2, 2, 3]]},
        {"args": {"padding": [2, [0, 1]]}, "inputs": [[3, 2, 2]], "data_format": "channels_first"},
        {"args": {"padding": 2, "data_format": "channels_first"}, "inputs": [[1, None, 3]]},
        {"args": {"padding": [0, 1]}, "inputs": [[None, None, 1]], "dtypes": ["bool"]},
    )


@register_layer
class ZeroPadding3D(_ZeroPadding):
    """Zeros around the three spatial axes of volumes (Keras's `ZeroPadding3D`)."""

    type: Literal["ZeroPadding3D"] = "ZeroPadding3D"
    padding: AmountND = Field(_per_axis([1, 1], [1, 1], [1, 1]), description=_ND)
    rank = 3
    examples = (
        {"args": {}, "inputs": [[2, 3, 2, 2]]},
        {"args": {"padding": [1, [0, 2], 0]}, "inputs": [[2, None, 3, 1]]},
        {"args": {"padding": 1}, "inputs": [[2, 2, 3, 2]], "data_format": "channels_first"},
    )


@register_layer
class Cropping1D(_Cropping):
    """Cuts steps from the start and end of axis 1 of (batch, steps, features) inputs (Keras's
    `Cropping1D`, which has no data_format: always axis 1)."""

    type: Literal["Cropping1D"] = "Cropping1D"
    cropping: Amount1D = Field(
        [1, 1], description="Steps cut: an int (both ends) or (before, after)."
    )
    rank = 1
    examples = (
        {"args": {}, "inputs": [[5, 2]]},
        {"args": {"cropping": [0, 2]}, "inputs": [[4, 3]], "dtypes": ["int64"]},
        {"args": {"cropping": [1, 0]}, "inputs": [[None, 3]]},
        {"args": {"cropping": [2, 0]}, "inputs": [[4, 3]], "data_format": "channels_first"},
    )


_CROP_ND = (
    "Rows cut: an int (every end of every spatial axis), one int per axis (both ends), or one "
    "(before, after) pair per axis."
)


@register_layer
class Cropping2D(_Cropping):
    """Cuts rows and columns from the borders of images (Keras's `Cropping2D`)."""

    type: Literal["Cropping2D"] = "Cropping2D"
    cropping: AmountND = Field(_per_axis([0, 0], [0, 0]), description=_CROP_ND)
    data_format: DataFormat | None = Field(None, description=DATA_FORMAT_DESCRIPTION)
    examples = (
        {"args": {}, "inputs": [[3, 4, 2]]},
        {"args": {"cropping": [[1, 0], [1, 2]]}, "inputs": [[4, 5, 3]]},
        {"args": {"cropping": 1}, "inputs": [[2, 4, 5]], "data_format": "channels_first"},
        {
            "args": {"cropping": [[1, 0], 1], "data_format": "channels_first"},
            "inputs": [[2, None, 3]],
        },
        {"args": {"cropping": [[0, 1], [0, 0]]}, "inputs": [[3, 3, 1]], "dtypes": ["int32"]},
    )


@register_layer
class Cropping3D(_Cropping):
    """Cuts rows from the borders of the three spatial axes of volumes (Keras's
    `Cropping3D`)."""

    type: Literal["Cropping3D"] = "Cropping3D"
    cropping: AmountND = Field(_per_axis([1, 1], [1, 1], [1, 1]), description=_CROP_ND)
    data_format: DataFormat | None = Field(None, description=DATA_FORMAT_DESCRIPTION)
    rank = 3
    examples = (
        {"args": {}, "inputs": [[3, 4, 5, 2]]},
        {"args": {"cropping": [0, [1, 0], 1]}, "inputs": [[2, None, 3, 1]]},
        {
            "args": {"cropping": [[0, 1], 0, 0]},
            "inputs": [[2, 3, 2, 2]],
            "data_format": "channels_first",
        },
    )
