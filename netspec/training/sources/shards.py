"""A directory of .npy files, some of them shards of one array (no torch import).

`x.000.npy`, `x.001.npy`, ... (KEY.N.npy, in the order of N) are the rows of one array `x`,
concatenated without being read: each shard is memory-mapped (engine.arrays.open_npy checks
its header first) and `ShardedArray` maps rows to shards, so data larger than memory trains
through the same Split/Batches interface as one memory-mapped .npy file. The dot keeps a shard
apart from a key: keys (x_val, y_dense_1) never hold one.
"""

from __future__ import annotations

import re
from pathlib import Path
from types import SimpleNamespace

import numpy as np

from ...errors import NetspecError
from ..engine.arrays import open_npy

_SHARD = re.compile(r"^(?P<key>[^.]+)\.(?P<n>[0-9]+)$")


class ShardedArray:
    """Rows `start:stop` of the concatenation of `parts` (same trailing shape and dtype),
    read only when indexed. A slice with step 1 is another ShardedArray (no read); an index
    array, an integer or `numpy.asarray` read the rows they name. Read-only, as a memmap."""

    flags = SimpleNamespace(writeable=False)  # engine.batches indexes it as a memmap

    def __init__(self, parts: list[np.ndarray], start: int = 0, stop: int | None = None):
        self.parts = parts
        self.offsets = np.cumsum([0] + [len(p) for p in parts])
        self.start = start
        self.stop = int(self.offsets[-1]) if stop is None else stop
        self.dtype = parts[0].dtype
        self.shape = (self.stop - self.start, *parts[0].shape[1:])
        self.ndim = len(self.shape)

    def __len__(self) -> int:
        return self.shape[0]

    @property
    def size(self) -> int:
        return int(np.prod(self.shape))

    @property
    def nbytes(self) -> int:
        return self.size * self.dtype.itemsize

    def __getitem__(self, key):
        if isinstance(key, slice):
            first, last, step = key.indices(len(self))
            if step == 1:
                return ShardedArray(self.parts, self.start + first, self.start + max(first, last))
            return self._gather(np.arange(first, last, step))
        if isinstance(key, (int, np.integer)):
            return self._gather(np.array([key]))[0]
        index = np.asarray(key)
        if index.dtype == bool:
            index = np.flatnonzero(index)
        if index.dtype.kind not in "iu":
            raise IndexError(f"cannot index a sharded array with {index.dtype}")
        return self._gather(index)

    def _gather(self, index: np.ndarray) -> np.ndarray:
        """The rows at `index` (relative to this view), shard by shard."""
        index = np.where(index < 0, index + len(self), index)
        if index.size and (index.min() < 0 or index.max() >= len(self)):
            raise IndexError(f"index out of range for {len(self)} rows")
        rows = index.reshape(-1) + self.start
        shard = np.searchsorted(self.offsets, rows, side="right") - 1
        out = np.empty((len(rows), *self.shape[1:]), self.dtype)
        for s in np.unique(shard):
            mask = shard == s
            out[mask] = self.parts[s][rows[mask] - self.offsets[s]]
        return out.reshape(*index.shape, *self.shape[1:])

    def __array__(self, dtype=None, copy=None) -> np.ndarray:
        parts = []
        for s, part in enumerate(self.parts):
            lo = max(self.start, int(self.offsets[s])) - int(self.offsets[s])
            hi = min(self.stop, int(self.offsets[s + 1])) - int(self.offsets[s])
            if hi > lo:
                parts.append(np.asarray(part[lo:hi]))
        out = np.concatenate(parts) if parts else np.empty(self.shape, self.dtype)
        return out if dtype is None else out.astype(dtype)


def open_directory(path: Path, budget: int) -> dict[str, np.ndarray]:
    """The arrays of a directory of .npy files by key: KEY.npy one array, KEY.N.npy the
    shards of one (each memory-mapped)."""
    files = sorted(path.glob("*.npy"))
    if not files:
        raise NetspecError(f"{path}: no .npy files in this directory")
    arrays: dict[str, np.ndarray] = {}
    shards: dict[str, list[tuple[int, Path]]] = {}
    for f in files:
        match = _SHARD.match(f.stem)
        if match is None:
            arrays[f.stem] = open_npy(f, budget)
        else:
            shards.setdefault(match["key"], []).append((int(match["n"]), f))
    for key, found in shards.items():
        if key in arrays:
            raise NetspecError(f"{path}: has both {key}.npy and shards {key}.N.npy; keep one")
        found.sort()
        numbers = [n for n, _ in found]
        if len(set(numbers)) != len(numbers):
            raise NetspecError(f"{path}: two shards of {key} have the same number")
        parts = [open_npy(f, budget) for _, f in found]
        arrays[key] = _joined(key, parts, [f for _, f in found], path)  # type: ignore[assignment]
    return arrays


def _joined(key: str, parts: list[np.ndarray], files: list[Path], where: Path) -> ShardedArray:
    first = parts[0]
    rows = ", ".join(["rows", *map(str, first.shape[1:])])
    for part, f in zip(parts, files, strict=True):
        if part.ndim == 0 or part.shape[1:] != first.shape[1:] or part.dtype != first.dtype:
            raise NetspecError(
                f"{where}: {f.name} has shape {part.shape} of {part.dtype}; the shards of "
                f"{key} must agree with {files[0].name}: ({rows}) "
                f"of {first.dtype}"
            )
    return ShardedArray(parts)
