"""Where training data comes from, besides a .npz archive (no torch import): a CSV or Parquet
table (tables.py), an image folder with one subfolder per class (images.py) and a directory of
.npy files, some of them shards of an array larger than memory (shards.py). Each gives the
arrays by key (x, y, x_val, ...), which engine.data then checks against the spec as it checks
an archive's."""

from __future__ import annotations

from pathlib import Path

import numpy as np

from ...errors import NetspecError
from .images import is_image_folder, read_image_folder
from .shards import ShardedArray, open_directory
from .tables import is_table, read_table

Found = tuple[dict[str, np.ndarray], dict[str, str]]


def open_source(path: Path, valid, budget: int, labels: bool) -> Found | None:
    """The arrays of `path` by key when it is a table, an image folder or a directory of .npy
    files, read as the spec `valid` (a loader.ValidSpec) says, and the names error messages
    give some keys (a table's columns); None for anything else."""
    section = getattr(valid.spec, "data", None)
    graph = valid.graph
    if is_table(path) and not path.is_dir():
        _only(path, section, _IMAGE_KEYS, "an image folder's")
        inputs = [i.name for i in graph.inputs]
        outputs = [str(r) for r in graph.outputs]
        return read_table(path, section, inputs, outputs, labels, budget)
    if is_image_folder(path):
        _only(path, section, _TABLE_KEYS, "a table's")
        if len(graph.inputs) != 1 or len(graph.outputs) != 1:
            raise NetspecError(
                f"{path}: an image folder feeds a model with one input and one output"
            )
        first = graph.inputs[0]
        seed = valid.train.seed if valid.train is not None else None
        channels_first = valid.spec.data_format == "channels_first"
        found = read_image_folder(path, section, first.shape, channels_first, labels, budget, seed)
        mode = f"data.label_mode {section.label_mode if section is not None else 'int'}"
        return found, {"y": f"y ({mode})", "y_val": f"y_val ({mode})"}
    if path.is_dir():
        return open_directory(path, budget), {}
    return None


_TABLE_KEYS = ("target", "features", "sample_weight")
_IMAGE_KEYS = ("class_names", "color_mode", "image_size", "validation_split")


def _only(path: Path, section, keys: tuple[str, ...], kind: str) -> None:
    """Refuse the data section's keys of another kind of source (they would be ignored)."""
    given = [k for k in keys if section is not None and getattr(section, k) is not None]
    if not given:
        return
    hint = ""
    if given[0] == "validation_split":
        hint = "; hold out a table's last rows with train.validation_split"
    raise NetspecError(f"{path}: data.{given[0]} is {kind} option, not read from a table{hint}"
                       if kind != "a table's" else
                       f"{path}: data.{given[0]} names {kind} columns; an image folder's "
                       "labels are its subfolders")  # fmt: skip


__all__ = ["ShardedArray", "open_source"]
