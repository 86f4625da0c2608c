"""Predictions written by the output file's extension (no torch import): .npz (an array per
output, y or y_<output>), .npy (the one output's array), .csv and .parquet (a column per
value: y, or y_0, y_1, ... for an output of several values; y_<output>_<j> for several
outputs). The extension and the output shapes are checked before anything is computed."""

from __future__ import annotations

import io
from pathlib import Path
from typing import Any

import numpy as np

from ...errors import NetspecError

FORMATS = (".npz", ".npy", ".csv", ".parquet")


def check_output(path: Path, keys: list[str], shapes: list) -> None:
    """Refuse, before predicting, an extension not in FORMATS, a .npy for several outputs and
    a table for outputs of more than one axis (besides the batch)."""
    suffix = path.suffix.lower()
    if suffix not in FORMATS:
        raise NetspecError(
            f"{path}: unknown output format '{suffix or path.name}'; use one of "
            f"{', '.join(FORMATS)}"
        )
    if suffix == ".npy" and len(keys) > 1:
        raise NetspecError(
            f"{path}: a .npy file holds one array and the model has {len(keys)} outputs "
            f"({', '.join(keys)}); write a .npz"
        )
    if suffix in (".csv", ".parquet"):
        for key, shape in zip(keys, shapes, strict=True):
            dims = list(shape or ())
            if len(dims) > 1 or any(d is None for d in dims):
                raise NetspecError(
                    f"{path}: output {key} has shape (N, {', '.join(map(str, dims))}); a "
                    f"{suffix} table takes outputs of shape (N,) or (N, k): write a .npz"
                )


def encode(path: Path, keys: list[str], preds: list[np.ndarray]) -> bytes:
    """The file's bytes, by the extension (checked by check_output)."""
    suffix = path.suffix.lower()
    buffer = io.BytesIO()
    if suffix == ".npy":
        np.save(buffer, preds[0], allow_pickle=False)
    elif suffix == ".npz":
        # Any: numpy's stub reads any keyword as possibly its `allow_pickle` flag
        arrays: dict[str, Any] = dict(zip(keys, preds, strict=True))
        np.savez(buffer, **arrays)
    else:
        return _table(suffix, keys, preds)
    return buffer.getvalue()


def columns(keys: list[str], preds: list[np.ndarray]) -> dict[str, np.ndarray]:
    """A column per value: the key for a (N,) or (N, 1) output, key_j for (N, k)."""
    out: dict[str, np.ndarray] = {}
    for key, a in zip(keys, preds, strict=True):
        a = a.reshape(len(a), -1)
        if a.shape[1] == 1:
            out[key] = a[:, 0]
        else:
            out.update({f"{key}_{j}": a[:, j] for j in range(a.shape[1])})
    return out


def _table(suffix: str, keys: list[str], preds: list[np.ndarray]) -> bytes:
    import pyarrow as pa  # type: ignore[import-untyped]

    table = pa.table(columns(keys, preds))
    sink = pa.BufferOutputStream()
    if suffix == ".csv":
        from pyarrow import csv

        csv.write_csv(table, sink)
    else:
        from pyarrow import parquet

        parquet.write_table(table, sink)
    return sink.getvalue().to_pybytes()
