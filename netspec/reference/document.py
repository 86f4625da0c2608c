"""docs/reference.md: the intro, the contents, the keys of the spec and of its sections, the
common layer keys, then one section per registry with every entry's arguments table; and
`main`, the command line of `python -m netspec.reference`."""

from __future__ import annotations

import argparse
import re
import sys
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path

from pydantic import BaseModel

from ..catalog import BY_NAME, all_registries
from ..spec import InputSpec, spec_model
from ..training.spec.sections import CompileSpec
from .collect import (
    ArgDoc,
    EntryDoc,
    class_doc,
    common_layer_keys,
    entries,
    extra_entries,
    model_args,
    plugin_of,
    preset,
    section_models,
)
from .typetext import a_or_an, code

REFERENCE_PATH = Path(__file__).resolve().parents[2] / "docs" / "reference.md"
REGENERATE = "python -m netspec.generate"
_USED_IN = {
    "optimizers": "Names accepted as the `optimizer` of {compile} (Keras's "
    "`model.compile(optimizer=...)`).",
    "schedules": "Accepted as the `learning_rate` of an [optimizer](#optimizers), as an object "
    "`{type: ClassName, ...arguments}` (each has required arguments), evaluated at every step "
    "(Keras's `LearningRateSchedule`).",
    "losses": "Names accepted as the `loss` of {compile}, or as each value of its mapping of "
    "output name to loss (Keras's `model.compile(loss=...)`).",
    "metrics": "Names accepted in the `metrics` list of {compile} (Keras's "
    "`model.compile(metrics=[...])`).",
}


class _Slugs:
    """GitHub's heading anchors: lowercase, punctuation dropped, spaces to '-', '-1' on repeats."""

    def __init__(self) -> None:
        self.seen: dict[str, int] = {}

    def __call__(self, heading: str) -> str:
        slug = re.sub(r"[^\w\- ]", "", heading.lower()).replace(" ", "-")
        n = self.seen.get(slug, 0)
        self.seen[slug] = n + 1
        return slug if n == 0 else f"{slug}-{n}"


def _cell(text: str) -> str:
    return text.replace("|", "\\|") if text else ""


def _table(header: Sequence[str], rows: Iterable[Sequence[str]]) -> list[str]:
    lines = ["| " + " | ".join(header) + " |", "|" + "---|" * len(header)]
    lines += ["| " + " | ".join(_cell(c) for c in row) + " |" for row in rows]
    return lines


def _arg_rows(args: Iterable[ArgDoc], first: str = "argument") -> list[str]:
    rows = [
        (
            code(a.name),
            a.type_md,
            a.default if a.required else code(a.default),
            a.description,
        )
        for a in args
    ]
    return _table((first, "type", "default", "description"), rows)


def _section_heading(path: str, cls: type[BaseModel], contents: bool = False) -> str:
    if cls is InputSpec:
        return "model inputs" if contents else "Model inputs"
    return path


def _section_intro(path: str, container: str, cls: type[BaseModel]) -> str:
    if cls is InputSpec:
        return "Each value of the top-level `inputs` mapping. " + class_doc(cls)
    where = {"dict": "Each value of the mapping", "list": "Each entry of the list"}
    return f"{where.get(container, 'The keys of')} `{path}`. " + class_doc(cls)


@dataclass(frozen=True)
class _Layout:
    """What the parts of docs/reference.md share: the spec model and its sections, every
    heading's anchor, and each registry's entries in document order."""

    spec: type[BaseModel]
    sections: list[tuple[str, str, type[BaseModel]]]  # as `section_models` gives them
    anchors: dict[str, str]  # by 'title', 'contents', 'spec', 'common', model name, registry key
    entry_anchor: dict[tuple[str, str], str]  # by (registry key, entry name)
    by_kind: dict[str, list[EntryDoc]]  # registry key -> its extra entries, then its own


def _layout(plugins: bool) -> _Layout:
    """The layout of docs/reference.md (with `plugins`, also the plugin layers installed here).
    Anchors are taken in document order, since repeated headings are numbered in that order."""
    spec = spec_model()
    sections = section_models(spec)
    slugs = _Slugs()
    anchors: dict[str, str] = {}
    for key, heading in (
        ("title", "netspec reference"),
        ("contents", "Contents"),
        ("spec", "Spec keys"),
        *((cls.__name__, _section_heading(path, cls)) for path, _, cls in sections),
        ("common", "Common layer keys"),
    ):
        anchors[key] = slugs(heading)
    extras: dict[str, list[EntryDoc]] = {}
    for extra in extra_entries():
        extras.setdefault(extra.kind, []).append(extra)
    entry_anchor: dict[tuple[str, str], str] = {}
    for kind, registry in all_registries().items():  # headings in document order
        anchors[kind] = slugs(BY_NAME[kind].title)
        for entry in extras.get(kind, ()):
            entry_anchor[kind, entry.name] = slugs(entry.name)
        for name, cls in registry.items():
            if plugins or not plugin_of(cls):
                entry_anchor[kind, name] = slugs(name)
    by_kind: dict[str, list[EntryDoc]] = {
        kind: [*extras.get(kind, ())] for kind in all_registries()
    }
    for entry in entries(plugins, links=anchors):  # types link to the vocabulary sections
        by_kind[entry.kind].append(entry)
    return _Layout(spec, sections, anchors, entry_anchor, by_kind)


def _intro_lines(layout: _Layout) -> list[str]:
    """The title, the generated-file notice and the paragraphs on how names are given."""
    titles = [BY_NAME[kind].title for kind in layout.by_kind if kind != "layers"]
    vocab = [t if t[:2].isupper() else t[:1].lower() + t[1:] for t in titles]  # RNN cells
    listed = ", ".join(vocab[:-1])
    return [
        "# netspec reference",
        "",
        "<!-- Generated from netspec's pydantic models and registries; do not edit. Regenerate "
        f"with: {REGENERATE} -->",
        "",
        "Every key and name a spec may use, generated from the models that validate specs: each "
        "argument's type, default (Keras's) and meaning. `netspec explain NAME` prints the same "
        "for one entry or one argument (`netspec explain Dense`, `netspec explain "
        "Dense.kernel_initializer`, `netspec explain he_uniform`, `netspec explain "
        "Adam.learning_rate`). The format itself is described in [spec-format.md]"
        "(spec-format.md).",
        "",
        f"{listed[:1].upper() + listed[1:]} and {vocab[-1]} are given as a name (the class "
        "name or one of its aliases, with the defaults below) or as an object "
        "`{type: ClassName, ...arguments}` (for activations `{type: function_name, ...}`). "
        "`or null` means that `null` (Keras's `None`) is accepted; `required` means that the "
        "argument has no default.",
        "",
    ]


def _contents_lines(layout: _Layout) -> list[str]:
    """The table of contents: the spec's sections, then every registry with its entries."""
    anchors = layout.anchors
    sections = ", ".join(
        f"[{_section_heading(path, cls, contents=True)}](#{anchors[cls.__name__]})"
        for path, _, cls in layout.sections
    )
    out = [
        "## Contents",
        "",
        f"- [Spec keys](#{anchors['spec']}) ({sections})",
        f"- [Common layer keys](#{anchors['common']})",
        "- [Blocks and nested models](#blocks-and-nested-models)",
    ]
    for kind, group in layout.by_kind.items():
        names = ", ".join(f"[{e.name}](#{layout.entry_anchor[kind, e.name]})" for e in group)
        out.append(f"- [{BY_NAME[kind].title}](#{anchors[kind]}) ({len(group)}): {names}")
    return out


def _key_lines(layout: _Layout) -> list[str]:
    """The spec's top-level keys, the keys of each of its sections, and the common layer keys."""
    anchors = layout.anchors
    out = ["", "## Spec keys", "", "The top-level keys of a spec file.", ""]
    out += _arg_rows(model_args(layout.spec, anchors, keras=False), "key")
    for path, container, cls in layout.sections:
        out += ["", f"### {_section_heading(path, cls)}", ""]
        out += [_section_intro(path, container, cls), ""]
        out += _arg_rows(model_args(cls, anchors, keras=False), "key")
    out += [
        "",
        "## Common layer keys",
        "",
        "Every layer entry takes `type` (its layer type: a name from [Layers]"
        f"(#{anchors['layers']}) or one of its aliases) and these keys, besides its own "
        "arguments.",
        "",
    ]
    from ..blocks.docs import reference_lines

    return out + _arg_rows(common_layer_keys(anchors), "key") + reference_lines()


def _kind_intro(kind: str, anchors: dict[str, str]) -> str:
    """The paragraph under a registry's heading: where a spec takes its names."""
    if kind == "layers":
        return (
            "Each layer also takes the [common layer keys]"
            f"(#{anchors['common']}) (`name`, `inputs`, `trainable`, `input_shape`)."
        )
    if kind in _USED_IN:
        return _USED_IN[kind].replace("{compile}", f"[`compile`](#{anchors[CompileSpec.__name__]})")
    return f"Names accepted wherever a spec takes {a_or_an(BY_NAME[kind].noun)}."


def _entry_lines(entry: EntryDoc) -> list[str]:
    """One entry's section: heading, description, aliases and plugin, arguments table; each
    paragraph followed by a blank line."""
    out = [f"### {entry.name}", "", entry.doc, ""]
    notes = []
    if entry.aliases:
        aliases = [code(a) + preset(entry, a, md=True) for a in entry.aliases]
        notes.append("Also accepted as: " + ", ".join(aliases) + ".")
    if entry.plugin:
        notes.append(f"Plugin layer, from `{entry.plugin}`.")
    if notes:
        out += [" ".join(notes), ""]
    if entry.args:
        return out + [*_arg_rows(entry.args), ""]
    return out + ["No arguments" + (" of its own." if entry.kind == "layers" else "."), ""]


def _kind_lines(kind: str, group: list[EntryDoc], anchors: dict[str, str]) -> list[str]:
    """One registry's section: heading, where its names are used, and every entry ('None.'
    when it has none), with no blank line at the end."""
    out = ["", f"## {BY_NAME[kind].title}", "", _kind_intro(kind, anchors), ""]
    for entry in group:
        out += _entry_lines(entry)
    if not group:
        out += ["None.", ""]
    out.pop()
    return out


def reference_text(plugins: bool = True) -> str:
    """docs/reference.md (with `plugins`, also the plugin layers installed here): the intro,
    the contents, the keys of the spec and its sections, then one section per registry."""
    layout = _layout(plugins)
    out = [*_intro_lines(layout), *_contents_lines(layout), *_key_lines(layout)]
    for kind, group in layout.by_kind.items():
        out += _kind_lines(kind, group, layout.anchors)
    return "\n".join(out) + "\n"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m netspec.reference", description="Print (or write) docs/reference.md."
    )
    parser.add_argument("-o", "--output", type=Path, help="write here instead of stdout")
    parser.add_argument(
        "--builtin", action="store_true", help="leave out plugin layers installed here"
    )
    args = parser.parse_args(argv)
    text = reference_text(plugins=not args.builtin)
    if args.output is not None:
        args.output.write_text(text, encoding="utf-8")
    else:
        sys.stdout.write(text)
    return 0
