"""The weights a spec declares (`weights:` of the spec, or of a nested model's spec), loaded
when the model is built: a file relative to the spec that names it, or `imagenet` for an
applications-zoo spec (Keras's file, fetched and checked by netspec.keras_weights.imagenet)."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import TYPE_CHECKING, Any

from ..errors import NetspecError, format_path

if TYPE_CHECKING:
    from ..loader import ValidSpec


def _source(value: Any, base: Path, application: str | None, settings: dict) -> Path:
    if not isinstance(value, str) or not value:
        raise NetspecError(f"weights: expected a file or 'imagenet', got {value!r}")
    if value != "imagenet":
        return base / value
    if application is None:
        raise NetspecError(
            "weights: imagenet is for the applications zoo (specs/applications/NAME.yaml); "
            "give a weight file instead"
        )
    from ..keras_weights.imagenet import FILES, fetch

    include_top = bool(settings.get("include_top", True))
    extra: dict[str, Any] = {}
    if application.startswith("mobilenet"):
        shape = settings.get("input_shape") or [224]
        alpha = float(settings.get("alpha", 1.0))
        rows = shape[0] if (application, include_top, alpha, shape[0]) in FILES else 224
        extra = {"alpha": alpha, "size": rows}
    return fetch(application, include_top, **extra)


def load_declared(model: Any, valid: ValidSpec) -> None:
    """Load the spec's own `weights:` into the whole model and each nested model's into its
    layers (strict: every weight found with its shape; see load_weights). A failure names the
    key that declared the weights."""
    from ..blocks.nested import ZOO
    from ..training.output.runs import load_weights

    exp = valid.expansion
    own = valid.spec.weights
    if own is not None:
        file = Path(valid.file) if not valid.file.startswith("<") else Path("spec.yaml")
        in_zoo = file.resolve().parent == ZOO.resolve()
        settings = dict(exp.args) if exp is not None else {}
        settings.setdefault("input_shape", valid.spec.input_shape)
        with _declared_at(f"{valid.file}: weights"):
            path = _source(own, file.parent, file.stem if in_zoo else None, settings)
            load_weights(model, path, graph=valid.graph)
    if exp is None:
        return
    for k, frame in enumerate(exp.frames):
        source = frame.extra.get("weights") if frame.kind == "model" else None
        if source is None:
            continue
        app = frame.extra["application"] if frame.extra.get("zoo") else None
        line, col = frame.doc.locate(frame.path)
        where = f"{frame.doc.file}:{line}:{col}: {format_path(frame.path)}.weights"
        with _declared_at(where):
            path = _source(source, Path(frame.extra["dir"]), app, frame.extra)
            load_weights(model, path, graph=valid.graph, layers=exp.layers_of(k))


@contextmanager
def _declared_at(where: str) -> Iterator[None]:
    """Prefix a failure to load declared weights with where they were declared."""
    try:
        yield
    except NetspecError as exc:
        raise NetspecError(f"{where}: {exc}") from None
