"""Safe YAML reading that keeps line:column marks, refuses duplicate keys and bounds aliases.

The C composer (libyaml) builds the node tree when available; we construct plain Python values
ourselves, so only the YAML core types exist: a tag such as ``!!python/object`` is an error and
nothing is ever constructed from it. Aliases share nodes, so expansion is counted and bounded
(an alias bomb is refused after `MAX_NODES` values, in milliseconds).
"""

from __future__ import annotations

import os
import stat
from dataclasses import dataclass, field
from pathlib import Path as FsPath
from typing import TYPE_CHECKING, Any

import yaml

from . import yamlcore
from .errors import Diagnostic, NetspecError, Path, SpecError

if TYPE_CHECKING:  # the checker sees one base; CSafeLoader has SafeLoader's interface
    _Loader = yaml.SafeLoader
else:
    try:  # libyaml's C loader when present, for speed
        _Loader = yaml.CSafeLoader
    except AttributeError:  # pragma: no cover - pure-Python fallback
        _Loader = yaml.SafeLoader

_PLAIN = "tag:netspec:plain"  # an untagged plain scalar, resolved by yamlcore (YAML 1.2)
MAX_FILE_BYTES = 16 * 1024 * 1024  # far above any real spec; a bigger "spec" is a mistake
MAX_NODES = 100_000
MAX_DEPTH = 64
# Where a value is in the document: mapping keys (any scalar as written: a key of a spec is a
# string or an integer, but the YAML may hold 1.5 or null) and sequence indices.
YamlPath = tuple[object, ...]
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


class _CoreLoader(_Loader):
    """The composer with PyYAML's YAML 1.1 implicit resolution replaced: an untagged plain
    scalar gets `_PLAIN` (`<<` stays the merge key); quoted ones stay strings, explicit tags
    stay as written."""

    def resolve(self, kind: type[yaml.Node], value: Any, implicit: tuple[bool, bool]) -> str:
        if kind is yaml.ScalarNode and implicit[0]:
            return _MERGE if value == "<<" else _PLAIN
        return super().resolve(kind, value, implicit)


@dataclass
class Document:
    """Parsed YAML: the data, and for each path the (line, col) of its value and of its key."""

    data: object
    file: str
    marks: dict[YamlPath, tuple[int, int]] = field(default_factory=dict)
    key_marks: dict[YamlPath, tuple[int, int]] = field(default_factory=dict)

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


def _pos(mark: yaml.Mark | None) -> tuple[int, int]:
    """1-based (line, col) of a mark; the top of the file when PyYAML gives none."""
    return (mark.line + 1, mark.column + 1) if mark is not None else (1, 1)


class _Builder:
    def __init__(self, doc: Document):
        self.doc = doc
        self.count = 0
        self.bad_scalars: list[_YamlProblem] = []  # reported together, after the whole tree

    def value(self, node: yaml.Node, path: YamlPath | None, depth: int = 0) -> object:
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
        if node.tag not in _TAGS and node.tag != _PLAIN:
            raise _YamlProblem(
                node.start_mark,
                f"YAML tag '{node.tag}' is not allowed (specs hold plain data only)",
            )
        if path is not None:  # else a scalar key (refused above otherwise)
            self.doc.marks.setdefault(path, _pos(node.start_mark))
            if isinstance(node, yaml.MappingNode):
                return self.mapping(node, path, depth)
            if isinstance(node, yaml.SequenceNode):
                items = enumerate(node.value)
                return [self.value(item, (*path, i), depth + 1) for i, item in items]
        if node.tag == _TIMESTAMP:  # a date stays the text the user wrote
            return node.value
        try:
            if node.tag == _PLAIN:
                return yamlcore.plain(node.value)
            return yamlcore.tagged(node.tag, node.value)
        except yamlcore.ScalarProblem as exc:
            self.bad_scalars.append(_YamlProblem(node.start_mark, str(exc)))
            return None

    def mapping(self, node: yaml.MappingNode, path: YamlPath, depth: int) -> dict[object, object]:
        out: dict[object, object] = {}
        first: dict[object, yaml.Mark] = {}
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

    def _pairs(self, node: yaml.MappingNode) -> list[tuple[yaml.Node, yaml.Node]]:
        """Key/value pairs with YAML merge keys (`<<: *base`) expanded, explicit keys winning."""
        merged: list[tuple[yaml.Node, yaml.Node]] = []
        own: list[tuple[yaml.Node, yaml.Node]] = []
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
        seen: set[object] = set()
        kept: list[tuple[yaml.Node, yaml.Node]] = []
        for key_node, value_node in merged:
            if key_node.value not in own_keys and key_node.value not in seen:
                seen.add(key_node.value)
                kept.append((key_node, value_node))
        return kept + own


def load_yaml(text: str, file: str = "<string>") -> Document:
    """Parse one YAML document into a `Document`; raises SpecError (located) on any problem."""
    doc = Document(data=None, file=file)
    try:
        loader = _CoreLoader(text)
        try:
            node = loader.get_single_node()
        finally:
            loader.dispose()
        if node is None:
            doc.data = None
            return doc
        builder = _Builder(doc)
        doc.data = builder.value(node, ())
        if builder.bad_scalars:
            found = [Diagnostic(file, *_pos(p.mark), "", p.message) for p in builder.bad_scalars]
            raise SpecError(found)
    except _YamlProblem as exc:
        line, col = _pos(exc.mark)
        raise SpecError([Diagnostic(file, line, col, "", exc.message)]) from None
    except yaml.MarkedYAMLError as exc:
        mark = exc.problem_mark or exc.context_mark
        line, col = _pos(mark)
        message = f"invalid YAML: {exc.problem or exc.context}"
        raise SpecError([Diagnostic(file, line, col, "", message)]) from None
    except yaml.reader.ReaderError as exc:  # a character YAML refuses: say where it is
        line, col = _position(text, exc.position)
        code = ord(exc.character) if isinstance(exc.character, str) else exc.character
        message = f"invalid YAML: unacceptable character #x{code:04x}: {exc.reason}"
        raise SpecError([Diagnostic(file, line, col, "", message)]) from None
    except yaml.YAMLError as exc:
        raise SpecError([Diagnostic(file, 1, 1, "", f"invalid YAML: {exc}")]) from None
    return doc


def _position(text: str, index: int) -> tuple[int, int]:
    """1-based (line, col) of a reader error's index: libyaml counts UTF-8 bytes, the
    pure-Python reader characters."""
    if _Loader is not yaml.SafeLoader:
        index = len(text.encode("utf-8")[:index].decode("utf-8", "ignore"))
    before = text[:index]
    return before.count("\n") + 1, index - (before.rfind("\n") + 1) + 1


def _read_at_most(fd: int, size: int) -> bytes:
    chunks, left = [], size
    while left > 0 and (chunk := os.read(fd, min(left, 1 << 20))):
        chunks.append(chunk)
        left -= len(chunk)
    return b"".join(chunks)


def read_spec_text(path: str | FsPath) -> str:
    """The text of a spec file; refuses what is not a regular file (a FIFO or /dev/zero would
    block or fill memory) and files over `MAX_FILE_BYTES`, before reading."""
    path = FsPath(path)
    try:  # non-blocking: opening a FIFO must not wait for a writer
        fd = os.open(path, os.O_RDONLY | getattr(os, "O_NONBLOCK", 0))
        try:  # checked on the file actually opened
            if not stat.S_ISREG(os.fstat(fd).st_mode):
                raise NetspecError(f"{path}: not a regular file")
            data = _read_at_most(fd, MAX_FILE_BYTES + 1)
        finally:
            os.close(fd)
    except OSError as exc:
        raise NetspecError(f"{path}: cannot read spec: {exc}") from None
    if len(data) > MAX_FILE_BYTES:
        raise NetspecError(f"{path}: too large for a spec (limit {MAX_FILE_BYTES >> 20} MiB)")
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise NetspecError(f"{path}: cannot read spec: {exc}") from None
