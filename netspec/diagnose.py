"""Turning pydantic's validation errors into located problems with "did you mean" hints."""

from __future__ import annotations

import re
import sys
import typing
from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

from pydantic import BaseModel

if TYPE_CHECKING:
    from pydantic_core import ErrorDetails

from .catalog import KINDS
from .errors import Path, Problem
from .layers import LAYERS
from .layers.base import LAYER_NAME_PATTERN, NAME_PATTERN
from .registry import did_you_mean, entry_names
from .vocab.base import NameOrObject


def data_path(loc: tuple, data: Any) -> tuple[Path, type[BaseModel] | None]:
    """Map a pydantic `loc` onto the data, dropping union tags and validator labels.

    Also returns the model class that owns the last key, when a tag in `loc` names it.
    """
    path: list = []
    node = data
    tag = owner = None  # the last tag seen, and the class that owns the last key
    for part in loc:
        if isinstance(node, list) and isinstance(part, int) and 0 <= part < len(node):
            path.append(part)
            node, tag, owner = node[part], None, None
            if path == ["layers", part] and isinstance(node, dict):
                tag = _layer_class(node.get("type"))  # an entry is validated by its own class
        elif isinstance(node, dict) and part in node:
            path.append(part)
            node, owner, tag = node[part], tag, None
        elif isinstance(part, str):
            tag = _tag_class(part, owner, path) or tag
            owner = tag  # a missing key belongs to the tagged class
        else:
            path.append(part)
            node = None
    return tuple(path), owner


def _layer_class(name: Any) -> type[BaseModel] | None:
    return LAYERS.get(name) if isinstance(name, str) and name in LAYERS else None


def _tag_class(tag: str, owner: type[BaseModel] | None, path: list) -> type[BaseModel] | None:
    """The class a union tag names: the member of the union that the last key of `path` takes
    (`kernel_initializer: {type: Identity}` is the Identity initializer, not the layer; a
    metric's MeanSquaredError is not the loss), where the class owning that key is known (else
    the first registry already imported that has the name, in KINDS's order)."""
    keys = [i for i, p in enumerate(path) if isinstance(p, str)]
    key = path[keys[-1]] if keys else None
    if owner is None and keys:
        owner = _section_model(tuple(path[: keys[-1] + 1]))
    field = owner.model_fields.get(key) if owner is not None and key is not None else None
    if field is not None:  # pydantic keeps a top-level Annotated's metadata apart
        for cls in _models_in(field.annotation) + _models_in(tuple(field.metadata)):
            if tag in _names(cls):
                return cls
    for kind in KINDS:
        registry = kind.loaded()
        if registry is not None and tag in registry.names():
            return registry.get(tag)
    return None


def _names(cls: type) -> tuple[str, ...]:
    try:
        return entry_names(cls)
    except TypeError:  # a base class (Layer): its `type` is any string
        return ()


def _models_in(annotation: Any) -> list[type[BaseModel]]:
    """Every pydantic model class in an annotation (through Annotated, unions, lists and a
    vocabulary field's union), or in a tuple of metadata."""
    if isinstance(annotation, type) and issubclass(annotation, BaseModel):
        return [annotation]
    if isinstance(annotation, NameOrObject):
        return _models_in(annotation.union())
    args = annotation if isinstance(annotation, tuple) else typing.get_args(annotation)
    return [m for a in args for m in _models_in(a)]


# the top-level sections validated by their own models (spec.py's Deferred fields)
_SECTIONS = {
    "compile": ("netspec.training.spec.sections", "CompileSpec"),
    "train": ("netspec.training.spec.sections", "TrainSpec"),
    "data": ("netspec.training.spec.data_section", "DataSpec"),
}


def _section_model(path: Path) -> type[BaseModel] | None:
    """The model that owns the last key of a `compile`/`train`/`data` path (train.early_stopping.x:
    EarlyStoppingSpec), following the fields' model types."""
    if not path or path[0] not in _SECTIONS:
        return None
    module_name, class_name = _SECTIONS[path[0]]
    module = sys.modules.get(module_name)  # loaded when the spec has the section
    if module is None:
        return None
    owner: Any = module.__dict__[class_name]
    for part in path[1:-1]:
        field = owner.model_fields.get(part) if isinstance(part, str) else None
        owner = _model_in(field.annotation) if field is not None else None
        if owner is None:
            return None
    return owner


def _model_in(annotation: Any) -> type[BaseModel] | None:
    """The one pydantic model class in an annotation (`X | None`), else None."""
    if isinstance(annotation, type) and issubclass(annotation, BaseModel):
        return annotation
    models = [m for a in typing.get_args(annotation) if (m := _model_in(a)) is not None]
    return models[0] if len(models) == 1 else None


def _fields_for(path: Path, owner: type[BaseModel] | None, spec_cls: type[BaseModel]) -> list[str]:
    owner = owner or _section_model(path)
    if owner is not None:
        return [f.alias or name for name, f in owner.model_fields.items()]
    if len(path) == 1:
        return list(spec_cls.model_fields)
    if len(path) == 3 and path[0] == "inputs":
        from .spec import InputSpec

        return list(InputSpec.model_fields)
    return []


def _shown(value: Any) -> str:
    text = repr(value)
    return text if len(text) <= 40 else text[:37] + "..."


_BOUNDS = {
    "greater_than": ("gt", "greater than"),
    "greater_than_equal": ("ge", "greater than or equal to"),
    "less_than": ("lt", "less than"),
    "less_than_equal": ("le", "less than or equal to"),
}


def _bound_message(kind: str, ctx: dict) -> str | None:
    """A float bound as a person writes it: pydantic prints float32's largest value as
    340282346638528860000000000000000000000; `3.4028235e+38` is the number torch prints."""
    key, words = _BOUNDS.get(kind, (None, ""))
    bound = ctx.get(key) if key else None
    if not isinstance(bound, float) or abs(bound) < 1e15:
        return None
    return f"should be {words} {bound:.8g} (the float32 range)"


def problem_from(err: ErrorDetails, data: Any, spec_cls: type[BaseModel]) -> Problem:
    """One pydantic error dict as a Problem located in the YAML."""
    path, owner = data_path(err["loc"], data)
    kind = err["type"]
    ctx = err.get("ctx") or {}
    if owner is None and len(path) == 3 and path[0] == "layers":
        kind_name = data["layers"][path[1]].get("type")
        if isinstance(kind_name, str) and kind_name in LAYERS:
            owner = LAYERS.get(kind_name)
    if kind == "extra_forbidden":
        key = path[-1]
        hint = did_you_mean(str(key), _fields_for(path, owner, spec_cls))
        return Problem(path, f"unknown key '{key}'{hint}", at_key=True)
    if kind == "missing":
        return Problem(path, f"missing required key '{err['loc'][-1]}'")
    if kind == "union_tag_invalid":
        tag = ctx.get("tag")
        if path and path[0] == "layers":
            return Problem(
                (*path, "type"),
                f"unknown layer type '{tag}'" + did_you_mean(str(tag), LAYERS.all_names()),
            )
        return Problem((*path, "type"), f"unknown type '{tag}'")
    if kind == "union_tag_not_found":
        what = "a layer" if len(path) == 2 and path[0] == "layers" else "this object"
        return Problem(path, f"{what} needs a 'type' key")
    if kind == "value_error":
        return Problem(path, err["msg"].removeprefix("Value error, "))
    if kind == "string_pattern_mismatch" and ctx.get("pattern") == LAYER_NAME_PATTERN:
        return Problem(
            path, f"{_shown(err.get('input'))} is not a valid name: use letters, digits and _"
        )
    if kind == "string_pattern_mismatch" and ctx.get("pattern") == NAME_PATTERN:
        return Problem(
            path,
            f"{_shown(err.get('input'))} is not a valid name: use letters, digits "
            "and _, not starting with a digit",
        )
    message = _bound_message(kind, ctx) or err["msg"].replace("Input should be", "should be")
    message = re.sub(
        r"^(?:List|Dictionary) should have (.*) after validation, not \d+$",
        r"should have \1",
        message,
    )
    if kind == "literal_error" and isinstance(err.get("input"), str):
        options = [o.strip(" '") for o in ctx.get("expected", "").replace(" or ", ",").split(",")]
        message += did_you_mean(err["input"], [o for o in options if o])
    if not isinstance(err.get("input"), (dict, list)):
        message += f" (got {_shown(err.get('input'))})"
    return Problem(path, message)


def _mismatch(err: ErrorDetails) -> bool:
    """Whether an error only says the value is not of a union branch's kind: a type error, or
    a fixed name (a Literal) given something other than a string ({type: AUC} is not meant
    for `accuracy`)."""
    if err["type"] == "literal_error":
        return not isinstance(err.get("input"), str)
    return err["type"].endswith("_type")


def problems_from(
    errors: Sequence[ErrorDetails], data: Any, spec_cls: type[BaseModel]
) -> list[Problem]:
    """All pydantic errors as problems, one per place: where a union's branches all fail, the
    type mismatches of the branches the value was not meant for are dropped (or merged)."""
    problems = [problem_from(err, data, spec_cls) for err in errors]
    mismatch = [_mismatch(err) for err in errors]
    by_path: dict = {}
    for problem, is_mismatch in zip(problems, mismatch, strict=True):
        by_path.setdefault(problem.path, []).append((problem, is_mismatch))
    out = []
    for path, group in by_path.items():
        deeper = any(len(q) > len(path) and q[: len(path)] == path for q in by_path)
        if deeper and all(m for _, m in group):
            continue  # the branch the value was meant for reports inside it
        real = [p for p, m in group if not m]
        if real:
            out.extend(real)
        elif len(group) == 1:
            out.append(group[0][0])
        else:
            wants = [p.message.split(" (got ")[0].removeprefix("should be ") for p, _ in group]
            got = group[0][0].message.partition(" (got ")[2]
            out.append(
                Problem(
                    group[0][0].path,
                    "should be " + " or ".join(wants) + (f" (got {got}" if got else ""),
                )
            )
    return out
