"""A CSV or Parquet table as training data, read with pyarrow (no torch import).

The spec's `data:` section (or --target/--features/--sample-weight, which set it) names the
columns: `target` the labels (one column: a (N,) array; several: (N, k)), `features` the
inputs, in order (default: every other column), `sample_weight` Keras's per-sample weights.
Every column used must hold numbers (integers, floats or booleans) with no empty cell.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

from ...errors import NetspecError

SUFFIXES = (".csv", ".parquet", ".pq")


def is_table(path: Path) -> bool:
    return path.suffix.lower() in SUFFIXES


def _read(path: Path):
    import pyarrow as pa  # type: ignore[import-untyped]

    try:
        if path.suffix.lower() == ".csv":
            from pyarrow import csv

            return csv.read_csv(path)
        from pyarrow import parquet

        return parquet.read_table(path)
    except FileNotFoundError:
        raise NetspecError(f"{path}: no such data file") from None
    except (OSError, pa.ArrowException) as exc:
        text = str(exc).splitlines()[0] if str(exc) else type(exc).__name__
        raise NetspecError(f"{path}: cannot read the table: {text}") from None


def read_table(path: Path, section, inputs: list[str], outputs: list[str], labels: bool,
               budget: int) -> tuple[dict[str, np.ndarray], dict[str, str]]:  # fmt: skip
    """The arrays `x` (features), `y` (target, when `labels`) and `sample_weight` of the table
    `path`, by the columns `section` (a DataSpec, or None) names; and the names the checks'
    messages give them (the columns)."""
    if len(inputs) != 1 or len(outputs) != 1:
        raise NetspecError(
            f"{path}: a table feeds a model with one input and one output (this one has "
            f"{len(inputs)} and {len(outputs)}); save its arrays as .npz"
        )
    if path.is_file() and path.stat().st_size > budget:  # before pyarrow reads it all
        raise NetspecError(f"{path}: {_budget_text(path.stat().st_size, budget)}")
    table = _read(path)
    targets, features, weight = _columns(path, list(table.column_names), section, labels)
    need = table.num_rows * 8 * (len(features) + len(targets) + 1)
    if need > budget:
        raise NetspecError(f"{path}: {_budget_text(need, budget)}")
    arrays = {"x": _stack(table, features, path)}
    if labels:
        y = _stack(table, targets, path)
        arrays["y"] = y[:, 0] if len(targets) == 1 else y
        if weight:
            arrays["sample_weight"] = _stack(table, [weight], path)[:, 0]
    shown = {"x": f"x ({_listed(features)})", "y": f"y ({_listed(targets)})"}
    if weight:
        shown["sample_weight"] = f"sample_weight (column {weight!r})"
    return arrays, shown


def _budget_text(need: int, budget: int) -> str:
    from ...compiler import human_bytes

    return (
        f"the table needs about {human_bytes(need)} in memory, over the memory budget of "
        f"{human_bytes(budget)} (half of this machine's memory): save it as .npy shards "
        "(KEY.N.npy, memory-mapped)"
    )


def _columns(path: Path, names: list[str], section, labels: bool):
    """(targets, features, sample weight column) named by `section`, each in the table."""
    targets = section.targets() if section is not None else []
    weight = section.sample_weight if section is not None else None
    if labels and not targets:
        raise NetspecError(
            f"{path}: which column is the target? set data.target in the spec or pass "
            f"--target COLUMN (columns: {', '.join(names)})"
        )
    used = set(targets) | {weight}
    features = section.features if section is not None and section.features else None
    features = features or [n for n in names if n not in used]
    if not labels:  # predict: the features only
        targets, weight = [], None
    for role, cols in (("data.target", targets), ("data.features", features),
                       ("data.sample_weight", [weight] if weight else [])):  # fmt: skip
        missing = [c for c in cols if c not in names]
        if missing:
            raise NetspecError(
                f"{path}: {role}: no column {', '.join(map(repr, missing))} (columns: "
                f"{', '.join(names)})"
            )
    return targets, features, weight


def _listed(columns: list[str]) -> str:
    shown = ", ".join(map(repr, columns[:4]))
    return (
        f"column {shown}"
        if len(columns) == 1
        else f"columns {shown}" + (f" and {len(columns) - 4} more" if len(columns) > 4 else "")
    )


def _stack(table, columns: list[str], path: Path) -> np.ndarray:
    """The columns as one (rows, len(columns)) array: integers stay integers (class labels
    for the sparse losses) unless a float column joins them, booleans become 0/1."""
    return np.stack([_column(table, c, path) for c in columns], axis=1)


def _column(table, name: str, path: Path) -> np.ndarray:
    import pyarrow as pa

    column = table.column(name)
    kind = column.type
    if not (pa.types.is_integer(kind) or pa.types.is_floating(kind) or pa.types.is_boolean(kind)):
        raise NetspecError(
            f"{path}: column '{name}' holds {kind} values; netspec reads numbers only "
            "(encode it as numbers first, or leave it out of data.features)"
        )
    if column.null_count:
        first = int(np.flatnonzero(column.is_null().to_numpy(zero_copy_only=False))[0])
        raise NetspecError(
            f"{path}: column '{name}' has {column.null_count} empty cells (the first in data "
            f"row {first + 1})"
        )
    values = column.to_numpy()
    return values.astype(np.int64) if values.dtype == bool else values
