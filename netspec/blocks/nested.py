"""Nested models: a `layers:` entry `{model: SPEC, ...}` uses another spec as one step of this
one, as Keras uses a `Model` as a layer. SPEC is a path relative to the spec that uses it, or
the name of an applications-zoo spec (`specs/applications/NAME.yaml`: `mobilenetv2`). Its other
keys set the used spec's `args:`; `trainable: false` freezes it (its BatchNormalization layers
then run in inference mode, as in Keras), `trainable_from: LAYER` freezes the layers before
LAYER (Keras's fine-tuning recipe), and its `weights:` (one of its args in the zoo) load into
its layers when the model is built. Its layers keep their own names, as in Keras."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from ..errors import NetspecError, SpecError
from ..registry import did_you_mean
from ..yamlio import load_yaml, read_spec_text
from .refs import Pending, Scope, Slot

MODEL_KEYS = ("model", "name", "inputs", "if", "repeat", "as", "trainable", "trainable_from")
ZOO = Path(__file__).resolve().parents[2] / "specs" / "applications"


def zoo_names() -> list[str]:
    return sorted(p.stem for p in ZOO.glob("*.yaml")) if ZOO.is_dir() else []


def find_spec(scope: Scope, ref: str) -> Path | None:
    """A spec path (relative to the using spec) or a zoo name; None when neither exists."""
    if ref.endswith((".yaml", ".yml")) or "/" in ref:
        base = Path() if scope.doc.file.startswith("<") else Path(scope.doc.file).parent
        path = (base / ref).resolve()
        return path if path.is_file() else None
    path = ZOO / f"{ref}.yaml"
    return path if ref.replace("_", "").isalnum() and path.is_file() else None


def _read(ex: Any, scope: Scope, ref: Any, path: tuple) -> Any:
    if not isinstance(ref, str):
        ex.fail(scope, (*path, "model"), "model is a spec path or a zoo name (e.g. mobilenetv2)")
        return None
    file = find_spec(scope, ref)
    if file is None:
        hint = did_you_mean(ref, zoo_names())
        message = f"no spec '{ref}': not a file relative to this spec, nor a zoo model{hint}"
        ex.fail(scope, (*path, "model"), message)
        return None
    if str(file) in ex.files:
        ex.fail(scope, (*path, "model"), f"model '{ref}' uses itself")
        return None
    try:
        doc = load_yaml(read_spec_text(file), str(file))
    except (SpecError, NetspecError) as exc:
        ex.fail(scope, (*path, "model"), f"cannot read model '{ref}': {exc}")
        return None
    if not isinstance(doc.data, dict) or not isinstance(doc.data.get("layers"), list):
        ex.fail(scope, (*path, "model"), f"'{ref}' is not a spec with layers")
        return None
    return doc


def model_use(ex: Any, scope: Scope, raw: dict, path: tuple, prev: Any, note: str) -> Any:
    """Expand one `{model: ...}` entry; returns its output."""
    from . import _model_inputs, spec_scope, spec_top
    from .expand import Frame

    doc = _read(ex, scope, ex.subst(scope, raw.get("model"), (*path, "model")), path)
    if doc is None:
        return prev
    data = doc.data
    given = {k: ex.subst(scope, v, (*path, k)) for k, v in raw.items() if k not in MODEL_KEYS}
    known = list((data.get("args") or {}).keys()) if isinstance(data.get("args"), dict) else []
    for key in given:
        if key not in known:
            hint = did_you_mean(str(key), known + list(MODEL_KEYS))
            ex.fail(scope, (*path, key), f"model '{raw['model']}' has no argument '{key}'{hint}",
                    at_key=True)  # fmt: skip
    local, _ = ex.names(scope, raw, path)
    spec_name = data.get("name") if isinstance(data.get("name"), str) else Path(doc.file).stem
    instance = local if isinstance(local, str) else spec_name
    frame = Frame("model", spec_name, instance, scope.doc, path, scope.frame, len(ex.layers))
    ex.frames.append(frame)
    inner = spec_scope(ex, doc, data, given, len(ex.frames) - 1)
    inner.open = False
    top = spec_top(ex, data, inner, sections=False)
    names = _model_inputs(top)
    targets = ex.inputs(scope, raw, path) or ([prev] if prev is not None else [])
    if len(targets) != len(names):
        message = f"model '{raw['model']}' takes {len(names)} input(s), got {len(targets)}"
        ex.fail(scope, (*path, "inputs"), message)
        return prev
    inner.names.update(zip(names, targets, strict=True))
    ex.files.append(str(Path(doc.file).resolve()))
    try:
        last = ex.entries(inner, data["layers"], ("layers",), targets[0])
    finally:
        ex.files.pop()
    frame.end = len(ex.layers)
    out = top.get("outputs")
    frame.output = Pending(inner, out, None, ("outputs",)) if isinstance(out, str) else last
    _settings(ex, scope, raw, path, frame, top, inner)
    if isinstance(local, str):
        scope.names[local] = frame.output
    return frame.output


def _settings(ex: Any, scope: Scope, raw: dict, path: tuple, frame: Any, top: dict,
              inner: Scope) -> None:  # fmt: skip
    """trainable / trainable_from on the model's layers; what its weights and input are."""
    layers = ex.layers[frame.start : frame.end]
    first = layers[0] if layers and isinstance(layers[0], dict) else {}
    frame.extra = {
        **inner.env,  # its arguments (alpha, include_top...) pick its ImageNet file
        "weights": top.get("weights"),
        # a weights file named at the use site is relative to the spec that names it
        "dir": str(Path(scope.doc.file if "weights" in raw else inner.doc.file).parent),
        "zoo": Path(inner.doc.file).resolve().parent == ZOO.resolve(),
        "application": Path(inner.doc.file).stem,
        "input_shape": top.get("input_shape", first.pop("input_shape", None)),
        "input_dtype": top.get("input_dtype", "float32"),
    }
    trainable = ex.subst(scope, raw.get("trainable", True), (*path, "trainable"))
    start = ex.subst(scope, raw.get("trainable_from"), (*path, "trainable_from"))
    if not isinstance(trainable, bool):
        ex.fail(scope, (*path, "trainable"), f"trainable is true or false, got {trainable!r}")
        return
    names = [d.get("name") if isinstance(d, dict) else None for d in layers]
    if start is not None and start not in names:
        hint = did_you_mean(str(start), [n for n in names if isinstance(n, str)])
        ex.fail(scope, (*path, "trainable_from"), f"no layer '{start}' in this model{hint}")
        return
    # trainable_from wins over trainable: false (the second stage of fine-tuning)
    frozen = names.index(start) if start is not None else 0 if trainable else len(layers)
    for data in layers[:frozen]:
        if isinstance(data, dict):
            data["trainable"] = False


__all__ = ["MODEL_KEYS", "ZOO", "Slot", "find_spec", "model_use", "zoo_names"]
