"""Safe YAML reading that keeps line:column marks, refuses duplicate keys and bounds aliases.

The C composer (libyaml) builds the node tree when available; we construct plain Python values
ourselves, so only the YAML core types exist: a tag such as ``!!python/object`` is an error and
nothing is ever constructed from it. Aliases share nodes, so expansion is counted and bounded
(an alias bomb is refused after `MAX_NODES` values, in milliseconds).
"""

from __future__ import annotations

from dataclasses import dataclass, field

import yaml

from .errors import Diagnostic, Path, SpecError

try:  # libyaml's C loader when present, for speed
    _Loader = yaml.CSafeLoader
except AttributeError:  # pragma: no cover - pure-Python fallback
    _Loader = yaml.SafeLoader

MAX_NODES = 100_000
MAX_DEPTH = 64
_TAGS = {
    "tag:yaml.org,2002:map",
    "tag:yaml.org,2002:seq",
    "tag:yaml.org,2002:timestamp",
    "tag:yaml.org,2002:str",
    "tag:yaml.org,2002:int",
    "tag:yaml.org,2002:float",
    "tag:yaml.org,2002:bool",
    "tag:yaml.org,2002:null",
}
_MERGE = "tag:yaml.org,2002:merge"
_TIMESTAMP = "tag:yaml.org,2002:timestamp"


@dataclass
class Document:
    """Parsed YAML: the data, and for each path the (line, col) of its value and of its key."""

    data: object
    file: str
    marks: dict[Path, tuple[int, int]] = field(default_factory=dict)
    key_marks: dict[Path, tuple[int, int]] = field(default_factory=dict)

    def locate(self, path: Path, at_key: bool = False) -> tuple[int, int]:
        """The mark of `path`, or of its closest located ancestor."""
        marks = self.key_marks if at_key else self.marks
        for n in range(len(path), -1, -1):
            sub = path[:n]
            if sub in marks:
                return marks[sub]
            if sub in self.marks:
                return self.marks[sub]
        return (1, 1)


class _YamlProblem(Exception):
    def __init__(self, mark: yaml.Mark | None, message: str):
        self.mark, self.message = mark, message


def _pos(mark: yaml.Mark) -> tuple[int, int]:
    return (mark.line + 1, mark.column + 1)


class _Builder:
    def __init__(self, doc: Document):
        self.doc = doc
        self.count = 0
        self.scalars = _Loader("")  # only its safe scalar constructors are used

    def value(self, node: yaml.Node, path: Path | None, depth: int = 0) -> object:
        """Construct `node`; record its mark under `path` (None for mapping keys)."""
        self.count += 1
        if self.count > MAX_NODES or depth > MAX_DEPTH:
            raise _YamlProblem(
                node.start_mark,
                "document too large or too deeply nested "
                f"(limit {MAX_NODES} values, depth {MAX_DEPTH}; alias expansion?)",
            )
        if path is None and not isinstance(node, yaml.ScalarNode):
            raise _YamlProblem(node.start_mark, "a mapping key must be a plain value")
        if node.tag not in _TAGS:
            raise _YamlProblem(
                node.start_mark,
                f"YAML tag '{node.tag}' is not allowed (specs hold plain data only)",
            )
        if path is not None:
            self.doc.marks.setdefault(path, _pos(node.start_mark))
        if isinstance(node, yaml.MappingNode):
            return self.mapping(node, path, depth)
        if isinstance(node, yaml.SequenceNode):
            return [self.value(item, (*path, i), depth + 1) for i, item in enumerate(node.value)]
        if node.tag == _TIMESTAMP:  # a date-like plain scalar stays the text the user wrote
            return node.value
        return self.scalars.construct_object(node)

    def mapping(self, node: yaml.MappingNode, path: Path, depth: int) -> dict:
        out: dict = {}
        first: dict = {}
        for key_node, value_node in self._pairs(node):
            key = self.value(key_node, None, depth + 1)
            if key in first:
                line = first[key].line + 1
                message = f"duplicate key '{key}' (first at line {line})"
                raise _YamlProblem(key_node.start_mark, message)
            first[key] = key_node.start_mark
            sub = (*path, key)
            self.doc.key_marks[sub] = _pos(key_node.start_mark)
            out[key] = self.value(value_node, sub, depth + 1)
        return out

    def _pairs(self, node: yaml.MappingNode) -> list:
        """Key/value pairs with YAML merge keys (`<<: *base`) expanded, explicit keys winning."""
        merged, own = [], []
        for key_node, value_node in node.value:
            if key_node.tag != _MERGE:
                own.append((key_node, value_node))
                continue
            many = isinstance(value_node, yaml.SequenceNode)
            sources = value_node.value if many else [value_node]
            for src in sources:
                if not isinstance(src, yaml.MappingNode):
                    raise _YamlProblem(src.start_mark, "a merge key (<<) needs a mapping")
                merged.extend(self._pairs(src))
        own_keys = {k.value for k, _ in own if isinstance(k, yaml.ScalarNode)}
        seen: set = set()
        kept = []
        for key_node, value_node in merged:
            if key_node.value not in own_keys and key_node.value not in seen:
                seen.add(key_node.value)
                kept.append((key_node, value_node))
        return kept + own


def load_yaml(text: str, file: str = "<string>") -> Document:
    """Parse one YAML document into a `Document`; raises SpecError (located) on any problem."""
    doc = Document(data=None, file=file)
    try:
        loader = _Loader(text)
        try:
            node = loader.get_single_node()
        finally:
            loader.dispose()
        if node is None:
            doc.data = None
            return doc
        doc.data = _Builder(doc).value(node, ())
    except _YamlProblem as exc:
        line, col = _pos(exc.mark) if exc.mark else (1, 1)
        raise SpecError([Diagnostic(file, line, col, "", exc.message)]) from None
    except yaml.MarkedYAMLError as exc:
        mark = exc.problem_mark or exc.context_mark
        line, col = _pos(mark) if mark else (1, 1)
        message = f"invalid YAML: {exc.problem or exc.context}"
        raise SpecError([Diagnostic(file, line, col, "", message)]) from None
    except yaml.YAMLError as exc:
        raise SpecError([Diagnostic(file, 1, 1, "", f"invalid YAML: {exc}")]) from None
    return doc
