"""`netspec compare`: training runs side by side, from their run folders (no torch).

Each run's `history.json` gives its epochs and, per History entry, the final value and the best
one (loss and error metrics down, accuracy-like metrics up: the direction Keras's `mode: auto`
gives, from the run's own resolved `spec.yaml`); `run.json` gives its start, and the last write
of its History (or its final weights) its end: the wall time, pauses between `--resume`s
included. The settings that differ between the runs are the keys of their resolved specs (and
of `run.json`'s data and precision) whose values are not all equal.
"""

from __future__ import annotations

import json
import math
import re
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any

import yaml

from ..errors import NetspecError
from .diff import changes


@dataclass
class Run:
    label: str
    path: Path
    history: dict[str, list[float]]
    spec: dict[str, Any]
    info: dict[str, Any]
    up: dict[str, bool]  # each History entry: whether higher is better (absent: unknown)

    @property
    def epochs(self) -> int:
        return max((len(v) for v in self.history.values()), default=0)


def read_run(path: Path, label: str) -> Run:
    """A run folder's History, resolved spec and run.json, checked enough to compare."""
    from ..training.output.runs import read_info

    if not path.is_dir():
        raise NetspecError(f"{path}: no such run folder")
    history = _read_json(path / "history.json", "no history.json: the run has no epoch yet")
    if not isinstance(history, dict) or not all(isinstance(v, list) for v in history.values()):
        raise NetspecError(f"{path / 'history.json'}: not a History (name -> list of values)")
    try:
        spec = yaml.safe_load((path / "spec.yaml").read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise NetspecError(f"{path}: no spec.yaml: not a netspec run folder") from None
    except (OSError, UnicodeDecodeError, yaml.YAMLError) as exc:
        raise NetspecError(f"{path / 'spec.yaml'}: cannot read: {exc}") from None
    spec = spec if isinstance(spec, dict) else {}
    return Run(label, path, history, spec, read_info(path), _directions(spec, list(history)))


def _read_json(path: Path, missing: str) -> Any:
    try:
        return json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise NetspecError(f"{path.parent}: {missing}") from None
    except (OSError, UnicodeDecodeError, ValueError) as exc:
        raise NetspecError(f"{path}: cannot read: {exc}") from None


def _directions(spec: dict[str, Any], keys: list[str]) -> dict[str, bool]:
    """Whether each History entry improves upwards, as Keras's `mode: auto` decides (a
    learning rate, or an entry the spec cannot tell, has no best)."""
    from ..loader import from_data
    from ..training.spec.checks import _metric_names
    from ..training.spec.monitor import goes_up

    try:
        valid = from_data(spec, "spec.yaml")
        outputs = [str(r) for r in valid.graph.outputs]
        directions = _metric_names(valid.compile, outputs)
    except NetspecError:  # a spec of another netspec version: loss still goes down
        directions = {}
    up = {}
    for key in keys:
        try:
            up[key] = goes_up(key, "auto", directions)
        except ValueError:
            continue
    return up


def labels(paths: list[Path]) -> list[str]:
    """Each run's folder name, or its path as given where two names are the same."""
    names = [p.name or str(p) for p in paths]
    return [n if names.count(n) == 1 else str(p) for n, p in zip(names, paths, strict=True)]


def read_runs(paths: list[Path]) -> list[Run]:
    return [read_run(p, label) for p, label in zip(paths, labels(paths), strict=True)]


def entries(runs: list[Run]) -> list[str]:
    """The History entries of the runs, in first-seen order, `val_x` right after `x`."""
    seen: dict[str, None] = {}
    for run in runs:
        for key in run.history:
            seen.setdefault(key.removeprefix("val_"), None)
    names = list(seen)
    keys = [k for name in names for k in (name, f"val_{name}")]
    return [k for k in keys if any(k in r.history for r in runs)]


def _finite(values: list[Any]) -> list[tuple[int, float]]:
    out = []
    for epoch, v in enumerate(values, 1):
        try:
            x = float(v)
        except (TypeError, ValueError):
            continue
        if math.isfinite(x):
            out.append((epoch, x))
    return out


def summary(run: Run, key: str) -> dict[str, Any] | None:
    """{final, best, best_epoch} of one History entry (best None when it has no direction)."""
    values = _finite(run.history.get(key, []))
    if not values:
        return None
    final = values[-1][1] if values[-1][0] == len(run.history[key]) else None
    best = None
    if key in run.up:
        pick = max if run.up[key] else min
        best = pick(values, key=lambda p: p[1])
    return {
        "final": final,
        "best": None if best is None else best[1],
        "best_epoch": None if best is None else best[0],
    }


def wall_time(run: Run) -> float | None:
    """Seconds from run.json's start to the last write of the History or the final weights."""
    started = run.info.get("started")
    if not isinstance(started, str):
        return None
    try:
        start = datetime.strptime(started, "%Y-%m-%dT%H:%M:%S%z").timestamp()
    except ValueError:
        return None
    ends = [p.stat().st_mtime for p in (run.path / "history.json",
            run.path / "weights.safetensors") if p.exists()]  # fmt: skip
    return max(0.0, max(ends) - start) if ends else None


def differing(runs: list[Run]) -> list[tuple[str, list[Any]]]:
    """(dotted key, each run's value) of the settings whose values are not all equal."""

    def settings(run: Run) -> dict[str, Any]:
        extra = {k: run.info[k] for k in ("data", "precision") if k in run.info}
        return {**run.spec, "run": extra}

    first = settings(runs[0])
    keys: dict[str, None] = {}
    for run in runs[1:]:
        for key, _, _ in changes(first, settings(run)):
            keys.setdefault(key, None)
    return [(key, [_get(settings(r), key) for r in runs]) for key in keys]


def _get(data: Any, dotted: str) -> Any:
    """The value at a key of `changes` (`layers[2].units`)."""
    for part in re.findall(r"[^.\[\]]+|\[\d+\]", dotted):
        if part.startswith("["):
            index = int(part[1:-1])
            data = data[index] if isinstance(data, list) and index < len(data) else None
        else:
            data = data.get(part) if isinstance(data, dict) else None
    return data


def as_json(runs: list[Run]) -> dict[str, Any]:
    keys = entries(runs)
    return {
        "runs": [
            {
                "run": r.label,
                "path": str(r.path),
                "epochs": r.epochs,
                "wall_time_s": wall_time(r),
                "metrics": {k: s for k in keys if (s := summary(r, k)) is not None},
            }
            for r in runs
        ],
        "settings": [{"key": k, "values": v} for k, v in differing(runs)],
    }


def _number(x: float | None) -> str:
    return "-" if x is None else f"{x:.4f}"


def _duration(seconds: float | None) -> str:
    if seconds is None:
        return "-"
    minutes, s = divmod(round(seconds), 60)
    return f"{minutes}m {s:02d}s" if minutes else f"{s}s"


def _cell(run: Run, key: str) -> str:
    """The final value, and on a second line the best one and its epoch when earlier."""
    s = summary(run, key)
    if s is None:
        return "-"
    if s["best"] is None or s["best_epoch"] == run.epochs:
        return _number(s["final"])
    return f"{_number(s['final'])}\nbest {_number(s['best'])} @{s['best_epoch']}"


def tables(runs: list[Run]) -> list[Any]:
    """Rich tables, a column per run (runs are few, History entries and settings many): its
    epochs, wall time and each History entry's final value (and best, with its epoch, when an
    earlier epoch was better); then the settings that differ."""
    from rich.table import Table

    def table(title: str, first: str) -> Table:
        made = Table(title=title, title_justify="left")
        made.add_column(first)
        for r in runs:
            made.add_column(r.label, justify="right" if first == "" else "left", no_wrap=True)
        return made

    found = table("Runs", "")
    found.add_row("epochs", *(str(r.epochs) for r in runs))
    found.add_row("wall time", *(_duration(wall_time(r)) for r in runs))
    for key in entries(runs):
        found.add_row(key, *(_cell(r, key) for r in runs))
    out: list[Any] = [found]
    settings = differing(runs)
    if settings:
        differ = table("Settings that differ", "setting")
        for key, values in settings:
            differ.add_row(key, *(_value(v) for v in values))
        out.append(differ)
    return out


def _value(value: Any) -> str:
    if value is None:
        return "-"
    return value if isinstance(value, str) else json.dumps(value)
