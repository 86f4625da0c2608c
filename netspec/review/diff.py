"""`netspec diff`: the difference between two networks, not between two texts (no torch).

Both specs are validated and resolved (blocks expanded, defaults filled in, shapes and parameter
counts inferred), then their layers are matched:

1. a layer named explicitly (`name:`) on both sides is the same layer, whatever changed;
2. the other layers, in spec order, are aligned by their structure (type and arguments) with
   difflib's longest matching runs, so a layer inserted among automatically named layers
   (`dense`, `dense_1`, ...) is an addition, and the layers after it are renamed, not changed;
3. in each gap left between aligned runs, layers of the same type pair up in order (changed);
4. the rest are added or removed.

For each matched pair: changed arguments (dotted keys), changed inputs (old names mapped through
the matching), the output shape and the parameter count before and after. A pair whose
arguments are equal but whose shape or count changed is `downstream` of a change. The settings
outside `layers` (inputs, outputs, compile, train, ...) are compared key by key.
"""

from __future__ import annotations

import difflib
import json
import subprocess
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from ..compiler import param_counts
from ..errors import NetspecError

if TYPE_CHECKING:
    from ..graph import Node
    from ..loader import ValidSpec

GIT_PREFIX = "git:"
_IGNORED = {"name", "inputs", "input_shape"}  # compared otherwise (names, inputs) or moot


@dataclass
class Side:
    """One layer as one spec has it."""

    name: str
    type: str
    explicit: bool  # named in the spec (not an automatic name)
    args: dict[str, Any]
    inputs: list[str]
    output: Any
    params: int


@dataclass
class LayerDiff:
    status: str  # added, removed, changed, renamed or downstream
    old: Side | None
    new: Side | None
    changes: list[tuple[str, Any, Any]] = field(default_factory=list)
    inputs: tuple[list[str], list[str]] | None = None


@dataclass
class SpecDiff:
    old: ValidSpec
    new: ValidSpec
    old_file: str
    new_file: str
    layers: list[LayerDiff]
    settings: list[tuple[str, Any, Any]]

    def totals(self, which: str) -> tuple[int, int]:
        """(trainable, non-trainable) parameters of the old or new network."""
        counts = param_counts(getattr(self, which).graph).values()
        return sum(t for t, _ in counts), sum(f for _, f in counts)


def read_spec(source: str) -> tuple[ValidSpec, str]:
    """A spec file, or `git:REV:PATH` (PATH as of revision REV, relative to the current
    folder as a file argument is): the validated spec and the name errors are located in."""
    import netspec

    if not source.startswith(GIT_PREFIX):
        return netspec.load(source), source
    rev, sep, path = source[len(GIT_PREFIX) :].partition(":")
    if not sep or not rev or not path:
        raise NetspecError(f"{source}: give git:REV:PATH (e.g. git:main:specs/model.yaml)")
    where = path if path.startswith(("/", "./", "../")) else f"./{path}"
    try:
        done = subprocess.run(
            ["git", "show", f"{rev}:{where}"], capture_output=True, text=True, timeout=60
        )
    except (OSError, subprocess.TimeoutExpired) as exc:
        raise NetspecError(f"{source}: cannot run git: {exc}") from None
    if done.returncode != 0:
        raise NetspecError(f"{source}: {done.stderr.strip() or 'git show failed'}")
    return netspec.loads(done.stdout, source), source


def diff_specs(old_source: str, new_source: str) -> SpecDiff:
    """Both specs read and validated (every invalid one reported, located), then compared."""
    loaded, errors = [], []
    for source in (old_source, new_source):
        try:
            loaded.append(read_spec(source))
        except NetspecError as exc:
            errors.append(str(exc))
    if errors:
        raise NetspecError("\n".join(errors))
    (old, old_file), (new, new_file) = loaded
    return diff_valid(old, new, old_file, new_file)


def diff_valid(old: ValidSpec, new: ValidSpec, old_file: str, new_file: str) -> SpecDiff:
    a, b = _sides(old), _sides(new)
    pairs = match(a, b)
    renames = {a[i].name: b[j].name for i, j in pairs}
    matched_a, matched_b = {i for i, _ in pairs}, {j for _, j in pairs}
    # an input that is an added (removed) layer of one input: an insertion (a removal) in a
    # chain, seen through to the layer it takes, so the layer after it is not "changed"
    through_b = {s.name: s.inputs for j, s in enumerate(b) if j not in matched_b}
    through_a = {s.name: s.inputs for i, s in enumerate(a) if i not in matched_a}
    layers = []
    for i, j in sorted(pairs, key=lambda p: p[1]):
        entry = _compare(a[i], b[j], renames, (through_a, through_b))
        if entry is not None:
            layers.append(entry)
    layers += [LayerDiff("added", None, s) for j, s in enumerate(b) if j not in matched_b]
    layers += [LayerDiff("removed", s, None) for i, s in enumerate(a) if i not in matched_a]
    order = {s.name: k for k, s in enumerate(b)}
    layers.sort(key=lambda d: order[d.new.name] if d.new else len(b))  # new spec order
    settings = changes(_settings(old), _settings(new))
    return SpecDiff(old, new, old_file, new_file, layers, settings)


def _sides(valid: ValidSpec) -> list[Side]:
    counts = param_counts(valid.graph)
    return [_side(node, counts) for node in valid.graph.nodes]


def _side(node: Node, counts: dict[str, tuple[int, int]]) -> Side:
    layer = node.layer
    args = layer.model_dump(mode="json", exclude=_IGNORED) if layer is not None else {}
    return Side(
        name=node.name,
        type=node.type,
        explicit=layer is not None and layer.name is not None,
        args=args,
        inputs=[str(r) for r in node.inputs],
        output=node.output,
        params=sum(counts[node.name]),
    )


def match(a: list[Side], b: list[Side]) -> list[tuple[int, int]]:
    """(old index, new index) of the layers that are the same layer (the module's docstring)."""
    names_b = {s.name: j for j, s in enumerate(b) if s.explicit}
    pairs = [(i, names_b[s.name]) for i, s in enumerate(a) if s.explicit and s.name in names_b]
    rest_a = [i for i in range(len(a)) if i not in {p[0] for p in pairs}]
    rest_b = [j for j in range(len(b)) if j not in {p[1] for p in pairs}]
    sig_a = [_signature(a[i]) for i in rest_a]
    sig_b = [_signature(b[j]) for j in rest_b]
    blocks = difflib.SequenceMatcher(None, sig_a, sig_b, autojunk=False).get_matching_blocks()
    pa = pb = 0
    for block in blocks:  # the last block is the (len, len, 0) sentinel: closes the last gap
        gap_a, gap_b = rest_a[pa : block.a], rest_b[pb : block.b]
        pairs += _pair_by_type(gap_a, gap_b, a, b)
        pairs += [(rest_a[block.a + k], rest_b[block.b + k]) for k in range(block.size)]
        pa, pb = block.a + block.size, block.b + block.size
    return pairs


def _signature(side: Side) -> str:
    return side.type + json.dumps(side.args, sort_keys=True)


def _pair_by_type(gap_a: list[int], gap_b: list[int], a: list[Side], b: list[Side]):
    """In a gap, same-type layers pair up in order; a same name goes first."""
    pairs, used = [], set()
    for i in gap_a:
        same = [j for j in gap_b if j not in used and b[j].type == a[i].type]
        named = [j for j in same if b[j].name == a[i].name]
        if named or same:
            j = (named or same)[0]
            used.add(j)
            pairs.append((i, j))
    return pairs


def _compare(
    a: Side, b: Side, renames: dict[str, str], through: tuple[dict, dict]
) -> LayerDiff | None:
    found = changes({"type": a.type, **a.args}, {"type": b.type, **b.args})
    mapped = [_rename(_through(r, through[0]), renames) for r in a.inputs]
    inputs = (a.inputs, b.inputs) if mapped != [_through(r, through[1]) for r in b.inputs] else None
    if found or inputs:
        status = "changed"
    elif a.name != b.name:
        status = "renamed"
    elif a.output != b.output or a.params != b.params:
        status = "downstream"
    else:
        return None
    return LayerDiff(status, a, b, found, inputs)


def _through(ref: str, unmatched: dict[str, list[str]]) -> str:
    seen = set()
    while ref in unmatched and len(unmatched[ref]) == 1 and ref not in seen:
        seen.add(ref)
        ref = unmatched[ref][0]
    return ref


def _rename(ref: str, renames: dict[str, str]) -> str:
    node, sep, index = ref.partition(":")
    return renames.get(node, node) + sep + index


def changes(old: Any, new: Any, prefix: str = "") -> list[tuple[str, Any, Any]]:
    """(dotted key, old, new) of each value that differs (`layers[2].units`: lists of one
    length compared item by item); a key one side lacks is None there."""
    if isinstance(old, dict) and new is None or old is None and isinstance(new, dict):
        old, new = old or {}, new or {}  # a section added or removed: key by key
    if isinstance(old, dict) and isinstance(new, dict):
        found = []
        for key in dict.fromkeys([*old, *new]):
            found += changes(old.get(key), new.get(key), f"{prefix}.{key}" if prefix else key)
        return found
    if isinstance(old, list) and isinstance(new, list) and len(old) == len(new):
        found = []
        for i, (a, b) in enumerate(zip(old, new, strict=True)):
            found += changes(a, b, f"{prefix}[{i}]")
        return found
    return [] if old == new else [(prefix, old, new)]


def _settings(valid: ValidSpec) -> dict[str, Any]:
    """The spec outside its layers, defaults filled in, as `spec.yaml` of a run records it."""
    from ..training.output.runs import resolved_spec

    data = resolved_spec(valid.spec)
    data.pop("layers", None)
    return data
