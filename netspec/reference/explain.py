"""`netspec explain NAME`: `lookup` resolves `[KIND.]NAME[.ARGUMENT]` in every registry (with
"did you mean" suggestions when nothing matches), and `explain_text` prints the entry with all
its arguments, or the one argument, as plain text."""

from __future__ import annotations

import re
import textwrap

from ..catalog import BY_NAME, all_registries
from ..errors import NetspecError
from ..registry import Registry, did_you_mean
from .collect import ArgDoc, EntryDoc, common_layer_keys, entry_doc, extra_entries, preset
from .typetext import a_or_an


class UnknownReference(NetspecError):
    """`netspec explain` of a name or argument that does not exist (with "did you mean")."""


def _qualifier(word: str) -> str | None:
    """'initializers' or 'initializer' -> 'initializers'; 'losses' or 'loss' -> 'losses'."""
    for kind in all_registries():
        if word in (kind, kind.removesuffix("s"), BY_NAME[kind].noun):
            return kind
    return None


def _split_query(query: str, regs: dict[str, Registry]) -> tuple[str | None, list[str]]:
    """`[KIND.]NAME[.ARGUMENT]` as (KIND's registry key or None, [NAME] or [NAME, ARGUMENT]).
    A first part that names a registry is KIND only when more parts follow."""
    parts = query.split(".")
    kind = _qualifier(parts[0]) if len(parts) > 1 else None
    if kind is not None:
        parts = parts[1:]
    if len(parts) > 2 or not all(parts):
        raise UnknownReference(
            f"cannot read '{query}': expected NAME, NAME.ARGUMENT or KIND.NAME[.ARGUMENT], "
            f"KIND one of: {', '.join(regs)}"
        )
    return kind, parts


def _unknown_name(
    name: str,
    kind: str | None,
    searched: dict[str, Registry],
    extras: dict[tuple[str, str], EntryDoc],
) -> UnknownReference:
    """The error for a name found in none of the `searched` registries and `extras`: with KIND
    in the query, that registry's suggestions (or its own hint), else suggestions from all."""
    extra_names = [n for e in extras.values() for n in (e.name, *e.aliases)]
    if kind is not None:
        registry = searched[kind]
        hint = did_you_mean(name, [*registry.all_names(), *extra_names])
        return UnknownReference(f"unknown {registry.kind} '{name}'" + (hint or registry.hint(name)))
    pool = [*(n for r in searched.values() for n in r.all_names()), *extra_names]
    nouns = [BY_NAME[k].noun for k in searched]
    return UnknownReference(
        f"unknown name '{name}': not a {', '.join(nouns[:-1])} or {nouns[-1]}"
        + (did_you_mean(name, pool) or "; `netspec list` shows every name")
    )


def _argument(entry: EntryDoc, name: str) -> ArgDoc:
    """Argument `name` of `entry` (of a layer type, also a common layer key); raises
    UnknownReference naming the close matches, or else all its arguments."""
    pool = [*entry.args, *(common_layer_keys() if entry.kind == "layers" else ())]
    arg = next((a for a in pool if a.name == name), None)
    if arg is None:
        names = [a.name for a in pool]
        hint = did_you_mean(name, names) or (
            "; its arguments: " + ", ".join(names) if names else "; it takes no arguments"
        )
        raise UnknownReference(
            f"unknown argument '{name}' of {BY_NAME[entry.kind].noun} {entry.name}" + hint
        )
    return arg


def lookup(query: str) -> tuple[EntryDoc, ArgDoc | None, list[str]]:
    """Resolve `NAME`, `NAME.ARGUMENT`, `KIND.NAME` or `KIND.NAME.ARGUMENT` (KIND: layers,
    initializers, ... or their singular): the entry, the argument (or None) and the other
    registries' matches as qualified names. Raises UnknownReference with suggestions.

    Matches rank canonical names of the registries first, then their aliases, then the extra
    entries (`accuracy`); the first match wins, in registry order at equal rank."""
    regs = all_registries()
    kind, parts = _split_query(query, regs)
    name = parts[0]
    searched = {k: regs[k] for k in ([kind] if kind else regs)}
    extras = {(e.kind, e.name): e for e in extra_entries() if e.kind in searched}
    hits = [(k, name) for k, r in searched.items() if name in r.names()]
    hits += [(k, r.canonical(name)) for k, r in searched.items() if name in r.aliases()]
    hits += [key for key, e in extras.items() if name in (e.name, *e.aliases)]
    if not hits:
        raise _unknown_name(name, kind, searched, extras)
    (found_kind, canonical), others = hits[0], hits[1:]
    found = extras.get((found_kind, canonical)) or entry_doc(found_kind, canonical)
    arg = _argument(found, parts[1]) if len(parts) == 2 else None
    return found, arg, [f"{k}.{n}" for k, n in others]


def _wrap(text: str, indent: str = "", width: int = 88) -> list[str]:
    out: list[str] = []
    for paragraph in text.split("\n\n"):
        if out:
            out.append("")
        out += textwrap.wrap(
            re.sub(r"[ \t\r\n]+", " ", paragraph).strip(),
            width,
            initial_indent=indent,
            subsequent_indent=indent,
        ) or [indent]
    return out


def _accepted(kind: str) -> list[str]:
    registry = all_registries()[kind]
    aliases: dict[str, list[str]] = {}
    for alias, canonical in registry.aliases().items():
        aliases.setdefault(canonical, []).append(alias)
    names = [f"{n} ({', '.join(aliases[n])})" if n in aliases else n for n in registry.names()]
    # No line breaks inside one name's parentheses (textwrap does not break at U+00A0).
    text = ", ".join(name.replace(" ", "\u00a0") for name in names)
    return [line.replace("\u00a0", " ") for line in _wrap(text, "  ")]


def _explain_arg(entry: EntryDoc, arg: ArgDoc) -> list[str]:
    common = entry.kind == "layers" and arg not in entry.args
    owner = f"{BY_NAME[entry.kind].noun} {entry.name}"
    where = "key of every layer" if common else f"argument of {owner}"
    out = [f"{entry.name}.{arg.name} ({where})", ""]
    out.append(f"  type:     {arg.base_type}")
    if arg.bounds:
        out.append(f"  bounds:   {arg.bounds}")
    out.append(f"  default:  {arg.default}")
    out += ["", *_wrap(arg.description or "(no description)")]
    if arg.vocab:
        noun = BY_NAME[arg.vocab].noun
        out += ["", f"Accepted {arg.vocab} (name, aliases in parentheses):", *_accepted(arg.vocab)]
        out += [
            "",
            *_wrap(
                f"Or an object {{type: NAME, ...arguments}}; `netspec explain NAME` lists "
                f"{a_or_an(noun)}'s arguments."
            ),
        ]
    return out


def _explain_entry(entry: EntryDoc) -> list[str]:
    out = [f"{entry.name} ({BY_NAME[entry.kind].noun})"]
    if entry.aliases:
        out.append("also accepted as: " + ", ".join(a + preset(entry, a) for a in entry.aliases))
    if entry.plugin:
        out.append(f"plugin layer, from {entry.plugin}")
    out += ["", *_wrap(entry.doc), ""]
    if entry.args:
        out.append("Arguments:")
        for a in entry.args:
            default = "required" if a.required else f"default {a.default}"
            out.append(f"  {a.name}: {a.type}; {default}")
            out += _wrap(a.description, "      ")
    else:
        out.append("No arguments" + (" of its own." if entry.kind == "layers" else "."))
    if entry.kind == "layers":
        keys = ", ".join(a.name for a in common_layer_keys())
        out += [
            "",
            f"Every layer also takes: {keys}",
            f"(`netspec explain {entry.name}.KEY` for one).",
        ]
    return out


def explain_text(query: str) -> str:
    """`netspec explain QUERY`: one entry with all its arguments, or one argument."""
    entry, arg, others = lookup(query)
    lines = _explain_entry(entry) if arg is None else _explain_arg(entry, arg)
    if others:
        lines += ["", "Also a name in: " + ", ".join(others) + " (explain KIND.NAME for those)."]
    return "\n".join(lines) + "\n"
