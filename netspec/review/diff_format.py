"""The three forms of `netspec diff`: text for a terminal, JSON for tools, Markdown (GitHub's
tables) for a comment on a pull request. Shapes as Keras prints them, `(None, 64)`."""

from __future__ import annotations

import json
from typing import Any

from .diff import LayerDiff, SpecDiff
from .dot import keras_shape

MARK = {"added": "+", "removed": "-", "changed": "~", "renamed": "~", "downstream": ">"}


def value_text(value: Any) -> str:
    """A value as YAML would show it inline: strings bare, `null`, lists and maps as JSON."""
    if isinstance(value, str):
        return value
    return json.dumps(value, separators=(", ", ": "))


ARROW = "->"


def _delta(old: int, new: int, arrow: str = ARROW) -> str:
    return f"{old:,} {arrow} {new:,} ({new - old:+,})" if old != new else f"{new:,}"


def counts(diff: SpecDiff) -> dict[str, int]:
    found = {status: 0 for status in MARK}
    for entry in diff.layers:
        found[entry.status] += 1
    return found


def _what(entry: LayerDiff, arrow: str = ARROW) -> list[str]:
    """The changes of one layer as `key: old -> new` phrases."""
    parts = []
    if entry.old and entry.new and entry.old.name != entry.new.name:
        parts.append(f"renamed from {entry.old.name}")
    parts += [f"{k}: {value_text(a)} {arrow} {value_text(b)}" for k, a, b in entry.changes]
    if entry.inputs is not None:
        old, new = entry.inputs
        parts.append(f"inputs: {', '.join(old)} {arrow} {', '.join(new)}")
    return parts


def _shape(entry: LayerDiff, arrow: str = ARROW) -> str:
    a, b = entry.old, entry.new
    if a is None or b is None:
        return keras_shape((a or b).output)  # type: ignore[union-attr]
    old, new = keras_shape(a.output), keras_shape(b.output)
    return new if old == new else f"{old} {arrow} {new}"


def _params(entry: LayerDiff, arrow: str = ARROW) -> str:
    a, b = entry.old, entry.new
    if a is None or b is None:
        return f"{(a or b).params:,}"  # type: ignore[union-attr]
    return _delta(a.params, b.params, arrow)


def _title(entry: LayerDiff) -> str:
    side = entry.new or entry.old
    assert side is not None
    return f"{side.name} ({side.type})"


def text(diff: SpecDiff) -> str:
    found = counts(diff)
    lines = [f"{diff.old_file} -> {diff.new_file}"]
    if not diff.layers and not diff.settings:
        return lines[0] + "\nno difference between the networks\n"
    summary = ", ".join(f"{n} {status}" for status, n in found.items() if n)
    lines.append(f"layers: {summary or 'no difference'}")
    for entry in diff.layers:
        what = "; ".join([*_what(entry), f"output {_shape(entry)}", f"params {_params(entry)}"])
        lines.append(f"  {MARK[entry.status]} {_title(entry)}: {what}")
    lines.append(_total_line(diff))
    if diff.settings:
        lines.append("settings:")
        lines += [f"  {k}: {value_text(a)} -> {value_text(b)}" for k, a, b in diff.settings]
    return "\n".join(lines) + "\n"


def _total_line(diff: SpecDiff) -> str:
    (ta, fa), (tb, fb) = diff.totals("old"), diff.totals("new")
    line = f"total params: {_delta(ta + fa, tb + fb)}"
    if (fa or fb) and (ta, fa) != (tb, fb):
        line += f" (trainable {_delta(ta, tb)}, non-trainable {_delta(fa, fb)})"
    return line


def _side_json(side) -> dict[str, Any] | None:
    if side is None:
        return None
    shape = side.output
    return {
        "name": side.name,
        "type": side.type,
        "output_shape": [list(s) for s in shape] if isinstance(shape, list) else list(shape),
        "params": side.params,
    }


def as_json(diff: SpecDiff) -> dict[str, Any]:
    """The `--json` document: both files and totals, each differing layer, each setting."""

    def totals(which: str, file: str) -> dict[str, Any]:
        trainable, frozen = diff.totals(which)
        return {"file": file, "name": getattr(diff, which).name,
                "total_params": trainable + frozen, "trainable_params": trainable,
                "non_trainable_params": frozen}  # fmt: skip

    return {
        "old": totals("old", diff.old_file),
        "new": totals("new", diff.new_file),
        "counts": counts(diff),
        "layers": [
            {
                "status": e.status,
                "old": _side_json(e.old),
                "new": _side_json(e.new),
                "changes": [{"key": k, "old": a, "new": b} for k, a, b in e.changes],
                "inputs": None if e.inputs is None else {"old": e.inputs[0], "new": e.inputs[1]},
            }
            for e in diff.layers
        ],
        "settings": [{"key": k, "old": a, "new": b} for k, a, b in diff.settings],
    }


def _cell(text: str) -> str:
    return text.replace("|", "\\|").replace("\n", " ")


def markdown(diff: SpecDiff) -> str:
    """GitHub-flavoured Markdown: a heading, a table of the layers, the totals, a table of the
    settings."""
    lines = [f"### netspec diff: `{diff.old_file}` → `{diff.new_file}`", ""]
    if not diff.layers and not diff.settings:
        return "\n".join(lines) + "No difference between the networks.\n"
    lines += [
        "| | Layer | Type | Change | Output shape | Params |",
        "|---|---|---|---|---|---|",
    ]
    for e in diff.layers:
        side = e.new or e.old
        assert side is not None
        change = "; ".join(_what(e, "→")) or e.status
        cells = [MARK[e.status], f"`{side.name}`", side.type, change, _shape(e, "→"),
                 _params(e, "→")]  # fmt: skip
        lines.append("| " + " | ".join(_cell(c) for c in cells) + " |")
    (ta, fa), (tb, fb) = diff.totals("old"), diff.totals("new")
    lines.append(f"| | **Total** | | | | {_delta(ta + fa, tb + fb, '→')} |")
    if diff.settings:
        lines += ["", "| Setting | Old | New |", "|---|---|---|"]
        for k, a, b in diff.settings:
            lines.append(f"| `{k}` | {_cell(value_text(a))} | {_cell(value_text(b))} |")
    return "\n".join(lines) + "\n"
