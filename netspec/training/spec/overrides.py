"""`--set key=value` overrides: applied to the parsed YAML data, then validated like the file
(no torch import). `train.epochs=5`, `compile.optimizer.learning_rate=0.01`,
`layers.0.units=64`; the value is read as YAML (`5` is an int, `[1, 2]` a list)."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

from ...errors import NetspecError, SpecError
from ...loader import validate_document
from ...yamlio import load_yaml, read_spec_text

if TYPE_CHECKING:
    from ...loader import ValidSpec
    from ...registry import Registry

Key = tuple[str | int, ...]  # `train.epochs` -> ("train", "epochs"), `layers.0` -> ("layers", 0)


def parse_override(text: str) -> tuple[Key, object]:
    key, sep, raw = text.partition("=")
    if not sep or not key.strip():
        raise NetspecError(f"--set {text}: expected KEY=VALUE (train.epochs=5)")
    try:  # the file's reader and YAML 1.2 rules: `1e-3` is a float, `1:30` text
        value = load_yaml(raw, "--set").data if raw.strip() else ""
    except SpecError as exc:
        problems = "; ".join(d.message for d in exc.diagnostics)
        raise NetspecError(f"--set {text}: the value is not YAML: {problems}") from None
    path = tuple(int(p) if p.isdigit() else p for p in key.strip().split("."))
    return path, value


def apply_override(data: dict[Any, Any], path: Key, value: object, text: str) -> None:
    node: Any = data
    for i, part in enumerate(path[:-1]):
        nxt = path[i + 1]
        if isinstance(node, list):
            if not isinstance(part, int) or part >= len(node):
                raise NetspecError(f"--set {text}: no entry {part} in a list of {len(node)}")
            if isinstance(node[part], str) and not isinstance(nxt, int):  # `metrics: [mae]`
                node[part] = {"type": _canonical(path[:i], node[part])}
            node = node[part]
            continue
        if not isinstance(node, dict):
            raise NetspecError(f"--set {text}: {'.'.join(map(str, path[:i]))} is not a mapping")
        if part not in node or node[part] is None:
            node[part] = [] if isinstance(nxt, int) else {}
        elif isinstance(node[part], str) and not isinstance(nxt, int):
            node[part] = {"type": _canonical(path[: i + 1], node[part])}  # `optimizer: adam`
        node = node[part]
    last = path[-1]
    if isinstance(node, list):
        if not isinstance(last, int) or last >= len(node):
            raise NetspecError(f"--set {text}: no entry {last} in a list of {len(node)}")
    elif not isinstance(node, dict):
        raise NetspecError(f"--set {text}: {'.'.join(map(str, path[:-1]))} is not a mapping")
    node[last] = value


def _canonical(path: Key, name: str) -> str:
    """The class name of a bare vocabulary name (`adam` -> `Adam`), for the object form."""
    from .losses import LOSSES
    from .metrics import METRICS
    from .optimizers import OPTIMIZERS
    from .schedules import SCHEDULES

    by_key: dict[str, Registry[Any]] = {
        "optimizer": OPTIMIZERS,
        "loss": LOSSES,
        "metrics": METRICS,
        "learning_rate": SCHEDULES,
    }
    registry = by_key.get(str(path[-1]) if path else "")
    if registry is None:
        from ...catalog import registries

        registry = next((r for r in registries().values() if name in r), None)
    return registry.canonical(name) if registry is not None and name in registry else name


def load_with_overrides(path: str | Path, overrides: Sequence[str] = ()) -> ValidSpec:
    """`netspec.load` with `--set` overrides applied before validation; a problem in an
    overridden value is reported against its `--set`."""
    path = Path(path)
    doc = load_yaml(read_spec_text(path), str(path))
    parsed = [(parse_override(o), o) for o in overrides]
    if parsed:
        if not isinstance(doc.data, dict):
            raise NetspecError(f"{path}: a spec is a mapping; cannot apply --set")
        for (key, value), original in parsed:
            apply_override(doc.data, key, value, original)
    try:
        return validate_document(doc)
    except SpecError as exc:
        keys = {".".join(map(str, k)): o for (k, _), o in parsed}
        lines = []
        for d in exc.diagnostics:
            flat = d.path.replace("[", ".").replace("]", "")
            owner = next(
                (o for k, o in keys.items() if flat == k or flat.startswith(k + ".")), None
            )
            lines.append(f"--set {owner}: {d.path}: {d.message}" if owner else str(d))
        raise NetspecError("\n".join(lines)) from None
