"""Reading and validating specs: YAML -> pydantic -> graph with static shapes; every problem
is reported at once."""

from __future__ import annotations

from pathlib import Path as FsPath
from typing import Any

from pydantic import ValidationError

from .diagnose import problems_from
from .errors import Diagnostic, Problem, SpecError, format_path
from .graph import Graph, resolve
from .spec import SpecBase, layer_class, validation_model
from .yamlio import Document, load_yaml, read_spec_text


def _layers(data: dict) -> tuple[list, list[Problem]]:
    """Each layer entry validated by its own class (None where invalid), and the problems."""
    raw = data.get("layers")
    if not isinstance(raw, list):
        return [], []
    layers, problems = [], []
    for i, item in enumerate(raw):
        try:
            cls = layer_class(item)
        except ValueError as exc:
            at_type = isinstance(item, dict) and "type" in item
            problems.append(Problem(("layers", i, "type") if at_type else ("layers", i), str(exc)))
            layers.append(None)
            continue
        try:
            layers.append(cls.model_validate(item))
        except ValidationError as exc:
            errors = [{**err, "loc": ("layers", i, *err["loc"])} for err in exc.errors()]
            problems += problems_from(errors, data, validation_model())
            layers.append(None)
    return layers, problems


def _sections(data: dict) -> tuple[dict[str, Any], list[Problem]]:
    """The `compile` and `train` sections a spec has, each validated by its own model (the
    training vocabulary is imported only then), and their problems."""
    present = [key for key in ("compile", "train") if data.get(key) is not None]
    if not present:
        return {}, []
    from .training.spec.sections import SECTIONS

    out, problems = {}, []
    for key in present:
        try:
            out[key] = SECTIONS[key].model_validate(data[key])
        except ValidationError as exc:
            errors = [{**err, "loc": (key, *err["loc"])} for err in exc.errors()]
            problems += problems_from(errors, data, validation_model())
    return out, problems


def _diagnostics(doc: Document, problems: list[Problem]) -> list[Diagnostic]:
    seen, out = set(), []
    for p in problems:
        if (p.path, p.message) in seen:
            continue
        seen.add((p.path, p.message))
        line, col = doc.locate(p.path, p.at_key)
        out.append(Diagnostic(doc.file, line, col, format_path(p.path), p.message))
    return out


def validate_document(doc: Document) -> tuple[SpecBase, Graph]:
    """Validate parsed YAML; raise SpecError with every located problem."""
    cls = validation_model()
    data = doc.data
    if not isinstance(data, dict):
        raise SpecError(
            _diagnostics(
                doc,
                [Problem((), "a spec is a mapping (netspec: 1, input_shape: ..., layers: [...])")],
            )
        )
    layers, problems = _layers(data)
    sections, section_problems = _sections(data)
    try:
        spec = cls.model_validate(data)
    except ValidationError as exc:
        problems = problems_from(exc.errors(), data, cls) + problems
        spec = None
    problems += section_problems
    if spec is not None:
        spec.layers = layers
        spec.compile, spec.train = sections.get("compile"), sections.get("train")
        if not any(layer is not None for layer in layers):
            spec = None
    graph = None
    if spec is not None:
        raw = data.get("layers") if isinstance(data.get("layers"), list) else []
        graph = resolve(spec, raw)
        problems += graph.problems
    if problems:
        raise SpecError(_diagnostics(doc, problems))
    spec._graph = graph
    return spec, graph


def loads(text: str, file: str = "<string>") -> SpecBase:
    """Parse and validate spec text."""
    return validate_document(load_yaml(text, file))[0]


def load(path: str | FsPath) -> SpecBase:
    """Read, parse and validate a spec file (`netspec.load`)."""
    return loads(read_spec_text(path), str(FsPath(path)))


def from_data(data: Any, file: str = "<data>") -> SpecBase:
    """Validate a spec given as Python data (a dict as YAML would give)."""
    return validate_document(Document(data=data, file=file))[0]


def graph_of(spec: SpecBase) -> Graph:
    """The resolved graph of a validated spec."""
    graph = getattr(spec, "_graph", None)
    if graph is None:
        graph = resolve(spec)
        if graph.problems:
            raise SpecError(_diagnostics(Document(None, "<spec>"), graph.problems))
        spec._graph = graph
    return graph
