"""Training data: a .npz file, a directory of .npy files (memory-mapped, or shards KEY.N.npy
of one array), a CSV or Parquet table or an image folder (netspec.training.sources), checked
against the spec before any training (no torch import).

Keys: `x`/`y` (or `x_train`/`y_train`), `x_val`/`y_val`, `x_test`/`y_test`; a model with
several inputs reads `x_<input>` (`x_train_<input>`, `x_val_<input>`, ...), several outputs
`y_<output>` (an output `lstm:1` is `y_lstm_1`).
"""

from __future__ import annotations

import math
import zipfile
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from ...errors import NetspecError
from .arrays import chunks, first_nonfinite_row, read_npz, value_range

SPLITS = ("train", "val", "test")
_FLOAT = ("float16", "bfloat16", "float32", "float64")


@dataclass
class Split:
    """One split: an array per input, an array per output (empty for predict-only data), and
    Keras's `sample_weight`: per output, the weights of its samples (None: unweighted); an
    empty list when the data has none."""

    x: list[np.ndarray]
    y: list[np.ndarray]
    sw: list[np.ndarray | None] = field(default_factory=list)

    def __len__(self) -> int:
        return len(self.x[0])

    def take(self, index) -> Split:
        """The samples at `index` (a slice or an index array): one fancy-index per array."""
        return Split(
            [a[index] for a in self.x],
            [a[index] for a in self.y],
            [None if a is None else a[index] for a in self.sw],
        )


def _open(path: Path, budget: int, spec, labels: bool):
    """(arrays by key, the names messages give keys, when not the key itself)."""
    from ..sources import open_source

    found = open_source(path, spec, budget, labels)
    if found is not None:
        return found
    if not path.exists():
        raise NetspecError(f"{path}: no such data file")
    try:
        with path.open("rb") as fp:
            archive = fp.read(4) == b"PK\x03\x04" or zipfile.is_zipfile(fp)
    except OSError as exc:
        raise NetspecError(f"{path}: cannot read data: {exc.strerror}") from None
    if not archive:
        raise NetspecError(
            f"{path}: not a .npz archive, a .csv or .parquet table, an image folder or a "
            "directory of .npy files"
        )
    return read_npz(path, budget), {}


def key_names(prefix: str, names: list[str], split: str) -> list[str]:
    """The archive keys of a split's inputs (prefix x) or outputs (prefix y)."""
    tag = "" if split == "train" else f"_{split}"
    if len(names) == 1:
        return [f"{prefix}{tag}"]
    return [f"{prefix}{tag}_{n.replace(':', '_')}" for n in names]


def _keys(arrays: dict, split: str, inputs: list[str], outputs: list[str], where: str):
    """The split's input and output keys (x/y or x_train/y_train for the train split)."""
    keys_x, keys_y = key_names("x", inputs, split), key_names("y", outputs, split)
    if split == "train":
        alt_x = [k.replace("x", "x_train", 1) for k in keys_x]
        alt_y = [k.replace("y", "y_train", 1) for k in keys_y]
        for plain, alt in zip(keys_x + keys_y, alt_x + alt_y, strict=True):
            if plain in arrays and alt in arrays:
                raise NetspecError(f"{where}: has both '{plain}' and '{alt}'; keep one")
        if not any(k in arrays for k in keys_x + keys_y):
            keys_x, keys_y = alt_x, alt_y
    return keys_x, keys_y


def _check_pairs(arrays: dict, keys_x: list, keys_y: list, split: str, where: str) -> None:
    """With labels, a split's inputs come with its labels and its labels with its inputs (an
    x_val without y_val would fail after the first epoch, a y_val without x_val be ignored)."""
    has_x, has_y = any(k in arrays for k in keys_x), any(k in arrays for k in keys_y)
    if has_x and not has_y:
        raise NetspecError(
            f"{where}: has {', '.join(keys_x)} but no {', '.join(keys_y)} (the labels of the "
            f"{split} split); add them or leave out {', '.join(keys_x)}"
        )
    if has_y and not has_x:
        raise NetspecError(
            f"{where}: has {', '.join(k for k in keys_y if k in arrays)} but no "
            f"{', '.join(keys_x)} (the inputs of the {split} split)"
        )


def _split(arrays: dict, split: str, inputs: list[str], outputs: list[str], where: str, labels):
    keys_x, keys_y = _keys(arrays, split, inputs, outputs, where)
    if labels:
        _check_pairs(arrays, keys_x, keys_y, split, where)
    if not any(k in arrays for k in keys_x):
        return None
    missing = [k for k in keys_x if k not in arrays]
    if missing:
        raise NetspecError(f"{where}: missing {', '.join(missing)} (the model's inputs)")
    present = [k for k in keys_y if k in arrays]
    if present and len(present) != len(keys_y):
        missing = [k for k in keys_y if k not in arrays]
        raise NetspecError(f"{where}: missing {', '.join(missing)} (the model's outputs)")
    x, y = [arrays[k] for k in keys_x], [arrays[k] for k in keys_y if k in arrays]
    lengths = {k: len(a) if a.ndim else 0 for k, a in zip(keys_x + present, x + y, strict=True)}
    if len(set(lengths.values())) > 1:
        listed = ", ".join(f"{k}: {n}" for k, n in lengths.items())
        raise NetspecError(f"{where}: the {split} arrays differ in length ({listed})")
    if not any(lengths.values()) and all(a.ndim for a in x + y):  # Keras refuses it too
        raise NetspecError(f"{where}: {', '.join(lengths)} hold no samples")
    sw = _sample_weights(arrays, split, outputs, len(x[0]), where) if present else []
    return Split(x, y, sw), keys_x, present


def _sample_weights(arrays: dict, split: str, outputs: list[str], n: int, where: str) -> list:
    """Keras's `sample_weight` of a split: `sample_weight` (or `sw`; `_val`/`_test` for those
    splits) weighs every output's samples, `sample_weight_<output>` one output's; shape (n,)
    or, for sequence outputs, (n, steps) as Keras's temporal weights."""
    tags = ("", "_train") if split == "train" else (f"_{split}",)
    keys = [f"{prefix}{tag}" for prefix in ("sample_weight", "sw") for tag in tags]
    per = {k: [f"{k}_{o.replace(':', '_')}" for o in outputs] for k in keys}
    found = [k for k in keys if k in arrays or any(e in arrays for e in per[k])]
    if not found:
        return []
    if len(found) > 1:
        raise NetspecError(f"{where}: has sample weights as both {found[0]} and {found[1]}")
    key = found[0]
    if key in arrays and any(e in arrays for e in per[key]):
        raise NetspecError(f"{where}: has both {key} and per-output {key}_<output>; keep one")
    names = [key] * len(outputs) if key in arrays else per[key]
    weights = [arrays.get(k) for k in names]
    for k, a in zip(names, weights, strict=True):
        if a is not None:
            _check_weights(k, a, n, where)
    return weights


def _check_weights(key: str, a: np.ndarray, n: int, where: str) -> None:
    if a.ndim == 0 or len(a) != n:
        raise NetspecError(
            f"{where}: {key} has shape {_shape_text(a.shape)}; expected one weight per sample "
            f"({n},)"
        )
    if a.dtype.kind not in "biuf":
        raise NetspecError(f"{where}: {key} holds {a.dtype} values; sample weights are numbers")
    row = first_nonfinite_row(a)
    if row is not None:
        raise NetspecError(f"{where}: {key} has NaN or inf at row {row}")


def _shape_text(dims) -> str:
    inner = ", ".join("?" if d is None else str(d) for d in dims)
    return f"(N, {inner})" if dims else "(N,)"


def _check_x(key: str, a: np.ndarray, name: str, shape, dtype: str, where: str) -> None:
    expected = _shape_text(shape)
    if a.ndim != len(shape) + 1 or any(
        d is not None and d != n for d, n in zip(shape, a.shape[1:], strict=False)
    ):
        raise NetspecError(
            f"{where}: {key} has shape {tuple(a.shape)}; input '{name}' expects {expected}"
        )
    if dtype in _FLOAT and a.dtype.kind not in "fiub":
        raise NetspecError(f"{where}: {key} has dtype {a.dtype}; input '{name}' expects {dtype}")
    if dtype not in _FLOAT and dtype != "bool" and a.dtype.kind not in "iub":
        raise NetspecError(
            f"{where}: {key} has dtype {a.dtype}; input '{name}' expects integers ({dtype})"
        )


def _check_y(key: str, a: np.ndarray, name: str, shape, loss, where: str) -> None:
    kind = type(loss).label_kind if loss is not None else "values"
    dims = tuple(a.shape[1:])
    if kind == "values":
        squeezed = tuple(shape[:-1]) if shape and shape[-1] == 1 else None
        ok = _fits(dims, shape) or (squeezed is not None and _fits(dims, squeezed))
        ok = ok or (_fits(dims[:-1], shape) and dims[-1:] == (1,))
        expected = _shape_text(shape)
        if ok and a.dtype.kind not in "fiub":
            raise NetspecError(f"{where}: {key} has dtype {a.dtype}; expected numbers")
    else:
        ok, expected = _label_shape(kind, dims, tuple(shape))
        if ok and a.dtype.kind not in "iu":
            raise NetspecError(
                f"{where}: {key} has dtype {a.dtype}; compile.loss {type(loss).__name__} expects "
                "integer labels"
            )
        if ok and kind != "groups" and shape and shape[-1] is not None:
            _check_labels(key, a, name, shape[-1], where, getattr(loss, "ignore_class", None))
    if not ok:
        raise NetspecError(
            f"{where}: {key} has shape {tuple(a.shape)}; output '{name}' expects {expected}"
        )


def _label_shape(kind: str, dims: tuple, shape: tuple) -> tuple[bool, str]:
    """Whether integer labels of per-sample shape `dims` fit an output of `shape`: class
    indices (`classes`, one per position but the class axis), a CTC loss's padded label
    sequences (`sequences`: (N, max_label_length)), a Circle loss's group ids (`groups`)."""
    if kind == "sequences":
        return len(dims) == 1, "(N, max_label_length) integer labels, 0-padded"
    ok = dims in (shape[:-1], (*shape[:-1], 1))
    what = "integer group ids" if kind == "groups" else "integer class labels"
    return ok, f"{_shape_text(shape[:-1])} {what}"


def _check_labels(key: str, a: np.ndarray, name: str, classes: int, where: str,
                  ignore: int | None = None) -> None:  # fmt: skip
    """Class labels within [0, classes) (but for a loss's `ignore_class`): an index outside
    would pick another class's probability without an error (Keras's torch backend raises
    IndexError mid-run, at the first batch that holds one)."""
    if not a.size:
        return
    if ignore is None:
        found = value_range(a)  # chunk by chunk: `a` may be memory-mapped or sharded
    else:
        found = _range_without(a, ignore)
    if found is None:
        return
    low, high = int(found[0]), int(found[1])
    if low < 0 or high >= classes:
        but = f" (besides ignore_class {ignore})" if ignore is not None else ""
        raise NetspecError(
            f"{where}: {key} holds class labels from {low} to {high}{but}; output '{name}' "
            f"has {classes} classes (labels 0 to {classes - 1})"
        )


def _range_without(a: np.ndarray, ignore: int) -> tuple[float, float] | None:
    """(min, max) of the values other than `ignore`, chunk by chunk (None: there are none)."""
    low = high = None
    for _, part in chunks(a):
        kept = part[part != ignore]
        if kept.size:
            low = kept.min() if low is None else min(low, kept.min())
            high = kept.max() if high is None else max(high, kept.max())
    return None if low is None or high is None else (float(low), float(high))


def _fits(dims: tuple, shape) -> bool:
    return len(dims) == len(shape) and all(
        d is None or d == n for d, n in zip(shape, dims, strict=True)
    )


def load_data(path, spec, labels: bool = True, *, allow_nonfinite: bool = False,
              max_bytes: int | None = None) -> dict[str, Split]:  # fmt: skip
    """The splits found in `path`, every array checked against the spec's inputs and outputs
    (and the losses' label kind: integer labels for sparse losses), for NaN and infinities
    (unless `allow_nonfinite`) and for indices outside the Embedding layers they feed. Without
    `labels` (to predict) the splits hold the inputs only, and the labels are not checked.
    An archive's arrays are read into memory: together at most `max_bytes` (default: the
    memory budget, half of this machine's memory)."""
    from ...compiler import memory_budget

    path = Path(path)
    where = str(path)
    arrays, names = _open(path, memory_budget() if max_bytes is None else max_bytes, spec, labels)
    graph = spec.graph
    inputs = [i.name for i in graph.inputs]
    outputs = [str(r) for r in graph.outputs]
    found: dict[str, Split] = {}
    for split in SPLITS:
        got = _split(arrays, split, inputs, outputs, where, labels)
        if got is not None and names:  # a table's arrays named by their columns
            got = (got[0], *([names.get(k, k) for k in keys] for keys in got[1:]))
        if got is not None:
            found[split] = _checked(graph, spec, got, labels, allow_nonfinite, where)
    if not found:
        keys = ", ".join(key_names("x", inputs, "train"))
        raise NetspecError(f"{where}: no inputs found (expected {keys}; has {sorted(arrays)})")
    return found


def _checked(graph, spec, got, labels: bool, allow_nonfinite: bool, where: str) -> Split:
    from .compiled import losses_per_output

    data, keys_x, keys_y = got
    outputs = [str(r) for r in graph.outputs]
    for key, a, node in zip(keys_x, data.x, graph.inputs, strict=True):
        _check_x(key, a, node.name, node.shape, node.dtype, where)
    if not labels:
        data, keys_y = Split(data.x, []), []
    losses = losses_per_output(spec.compile, outputs)
    for key, a, name, shape, loss in zip(
        keys_y, data.y, outputs, graph.output_shapes(), losses, strict=bool(data.y)
    ):
        _check_y(key, a, name, tuple(shape or ()), loss, where)
    if not allow_nonfinite:
        for key, a in zip(keys_x + keys_y, data.x + data.y, strict=True):
            _check_finite(key, a, where)
    for key, a, node in zip(keys_x, data.x, graph.inputs, strict=True):
        for layer, input_dim in embeddings_fed(graph, node.name):
            _check_indices(key, a, layer, input_dim, where)
    return data


def _check_finite(key: str, a: np.ndarray, where: str) -> None:
    row = first_nonfinite_row(a)
    if row is not None:
        raise NetspecError(
            f"{where}: {key} has NaN or inf at row {row}; pass --allow-nonfinite to use it"
        )


def _check_indices(key: str, a: np.ndarray, layer: str, input_dim: int, where: str) -> None:
    """Indices in [0, input_dim) (floats are truncated toward zero, as the layer casts them):
    torch raises IndexError mid-training at the first batch that holds one outside."""
    found = value_range(a)
    if found is None or not all(math.isfinite(v) for v in found):
        return
    low, high = (math.trunc(v) for v in found)
    if low < 0 or high >= input_dim:
        raise NetspecError(
            f"{where}: {key} holds indices from {low} to {high}; it feeds Embedding '{layer}' "
            f"with input_dim {input_dim} (indices 0 to {input_dim - 1})"
        )


# Layers whose output holds only values of their inputs (or zeros): the indices an Embedding
# gets through them are the model input's own.
_PASS_VALUES = {
    "Reshape", "Flatten", "Permute", "RepeatVector", "Concatenate", "Masking",
    "Cropping1D", "Cropping2D", "Cropping3D", "ZeroPadding1D", "ZeroPadding2D", "ZeroPadding3D",
    "UpSampling1D", "UpSampling2D", "UpSampling3D", "ActivityRegularization",
}  # fmt: skip


def embeddings_fed(graph, input_name: str) -> list[tuple[str, int]]:
    """(layer name, input_dim) of every Embedding that model input `input_name` feeds, directly,
    through layers that only move values (_PASS_VALUES), through a Shared call of an Embedding
    or inside a TimeDistributed."""
    reached, found, todo = {input_name}, [], [input_name]
    while todo:
        name = todo.pop()
        for node in graph.nodes:
            if node.layer is None or not any(r.node == name for r in node.inputs):
                continue
            embedding = _embedding_of(graph, node.layer)
            if embedding is not None:
                found.append((node.name, embedding.input_dim))
            elif node.type in _PASS_VALUES and node.name not in reached:
                reached.add(node.name)
                todo.append(node.name)
    return found


def _embedding_of(graph, layer):
    if layer.type == "Shared":
        target = graph.node(layer.layer)
        layer = target.layer if target is not None and target.layer is not None else layer
    if layer.type == "TimeDistributed":
        layer = layer.layer
    return layer if getattr(layer, "type", None) == "Embedding" else None


def holdout(data: Split, fraction: float) -> tuple[Split, Split | None]:
    """Keras's validation_split: the last `fraction` of the samples, before any shuffling."""
    if fraction <= 0:
        return data, None
    n = len(data)
    cut = int(n * (1.0 - fraction))
    if cut <= 0 or cut >= n:
        raise NetspecError(f"validation_split {fraction} leaves no samples on one side of {n}")
    return data.take(slice(0, cut)), data.take(slice(cut, n))
