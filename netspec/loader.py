"""Reading and validating specs: YAML -> pydantic -> graph with static shapes -> the checks of
the `compile:`/`train:` sections against the graph. One pass; every problem is reported at once,
located; the result (`ValidSpec`) is what every later stage takes."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path as FsPath
from typing import TYPE_CHECKING, Any

from pydantic import ValidationError

from .blocks import Expansion, expand_document
from .deferred import LAYER_RESULTS, SECTION_RESULTS
from .diagnose import problems_from
from .errors import Diagnostic, Problem, SpecError, format_path
from .graph import Graph, resolve
from .layers.base import Layer
from .spec import Spec
from .yamlio import Document, load_yaml, read_spec_text

if TYPE_CHECKING:
    from .training.spec.sections import CompileSpec, TrainSpec


@dataclass(frozen=True)
class ValidSpec:
    """A validated spec and its resolved graph (nodes, shapes, dtypes, each layer's weights).

    Immutable: `spec` is a frozen pydantic model; `graph` is read-only once resolved.
    """

    spec: Spec
    graph: Graph
    file: str = "<spec>"
    # Where each layer was written and the block/model instances (None: a spec without
    # blocks, validated as written).
    expansion: Expansion | None = None

    # The spec's own fields, for reading convenience (`netspec.load(p).layers`).
    @property
    def name(self) -> str:
        return self.spec.name

    @property
    def layers(self) -> list[Layer]:
        return self.spec.layers

    @property
    def compile(self) -> CompileSpec | None:
        return self.spec.compile

    @property
    def train(self) -> TrainSpec | None:
        return self.spec.train


def _diagnostics(
    doc: Document, problems: list[Problem], expansion: Expansion | None = None
) -> list[Diagnostic]:
    seen: dict[tuple, int] = {}
    out: list[Diagnostic] = []
    for p in problems:
        if expansion is not None:
            d = expansion.diagnostic(doc, p)
        else:
            line, col = doc.locate(p.path, p.at_key)
            d = Diagnostic(doc.file, line, col, format_path(p.path), p.message)
        key = (d.file, d.path, p.message)  # once per place written, not per block instance
        if key in seen:
            continue
        seen[key] = len(out)
        out.append(d)
    return out


def _partial(data: dict, results: list[Layer | None]) -> Spec | None:
    """The spec with its invalid layers as None, when only layers (or sections) are invalid:
    the graph of the valid layers is still resolved, so their problems are reported too."""
    valid = [layer for layer in results if layer is not None]
    if not valid or len(results) != len(data.get("layers") or ()):
        return None
    top = {**data, "layers": valid, "compile": None, "train": None}
    try:
        spec = Spec.model_validate(top, context={LAYER_RESULTS: []})
    except ValidationError:  # a problem outside the layers: reported already
        return None
    return spec.model_copy(update={"layers": results})


def _section_problems(spec: Spec, sections: dict[str, Any], graph: Graph) -> list[Problem]:
    """The compile/train sections checked against the graph (outputs, reported metrics)."""
    if not sections:
        return []
    from .training.spec.checks import check_sections

    return check_sections(spec, sections.get("compile"), sections.get("train"), graph)


def validate_document(doc: Document) -> ValidSpec:
    """Validate parsed YAML; raise SpecError with every located problem."""
    doc, expansion, found = expand_document(doc)
    if found:  # expansion problems first: what the layers would be is unknown
        raise SpecError(found)
    data = doc.data
    if not isinstance(data, dict):
        message = "a spec is a mapping (netspec: 1, input_shape: ..., layers: [...])"
        raise SpecError(_diagnostics(doc, [Problem((), message)]))
    layers: list[Layer | None] = []
    sections: dict[str, Any] = {}
    context = {LAYER_RESULTS: layers, SECTION_RESULTS: sections}
    problems: list[Problem] = []
    try:
        spec: Spec | None = Spec.model_validate(data, context=context)
    except ValidationError as exc:
        problems = problems_from(exc.errors(), data, Spec)
        spec = _partial(data, layers)
    graph = None
    if spec is not None:
        raw = data.get("layers") if isinstance(data.get("layers"), list) else []
        graph = resolve(spec, raw)
        problems += graph.problems
        problems += _section_problems(spec, sections, graph)
    if problems or spec is None or graph is None:
        raise SpecError(_diagnostics(doc, problems, expansion))
    return ValidSpec(spec, graph, doc.file, expansion)


def loads(text: str, file: str = "<string>") -> ValidSpec:
    """Parse and validate spec text."""
    return validate_document(load_yaml(text, file))


def load(path: str | FsPath) -> ValidSpec:
    """Read, parse and validate a spec file (`netspec.load`)."""
    return loads(read_spec_text(path), str(FsPath(path)))


def from_data(data: Any, file: str = "<data>") -> ValidSpec:
    """Validate a spec given as Python data (a dict as YAML would give)."""
    return validate_document(Document(data=data, file=file))
