"""User-facing errors: every problem of a spec, each located as FILE:LINE:COL: path: message."""

from __future__ import annotations

from dataclasses import dataclass

Path = tuple[str | int, ...]


def format_path(path: Path) -> str:
    """('layers', 1, 'units') -> 'layers[1].units'."""
    out = ""
    for part in path:
        if isinstance(part, int):
            out += f"[{part}]"
        else:
            out += f".{part}" if out else str(part)
    return out


@dataclass(frozen=True)
class Problem:
    """One mistake, located by its path in the spec; `at_key` points at the key, not the value."""

    path: Path
    message: str
    at_key: bool = False


@dataclass(frozen=True)
class Diagnostic:
    """A problem with its place in the file (1-based line and column)."""

    file: str
    line: int
    col: int
    path: str
    message: str

    def __str__(self) -> str:
        where = f"{self.file}:{self.line}:{self.col}"
        text = f"{self.path}: {self.message}" if self.path else self.message
        return f"{where}: {_one_line(text)}"


def _one_line(text: str) -> str:
    """`text` with line breaks and other unprintable characters escaped (a key or value the spec
    wrote with a newline or a U+2028 line separator in it): one diagnostic stays one line."""
    if text.isprintable():
        return text
    return "".join(c if c.isprintable() else c.encode("unicode_escape").decode() for c in text)


class NetspecError(Exception):
    """Base of every error that is the user's to fix (exit code 1 in the CLI)."""


class SpecError(NetspecError):
    """A spec with one or more located problems."""

    def __init__(self, diagnostics: list[Diagnostic]):
        self.diagnostics = sorted(diagnostics, key=lambda d: (d.file, d.line, d.col))
        super().__init__("\n".join(str(d) for d in self.diagnostics))


class BudgetError(NetspecError):
    """A model that would not fit the memory budget."""
