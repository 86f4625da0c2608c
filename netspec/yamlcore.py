"""YAML 1.2 core-schema scalars, as the editor's yaml-language-server reads them.

PyYAML resolves plain scalars by YAML 1.1 rules: `1e-3` is a string, `1:30` is 90 (base 60),
`yes`/`on` are true, `0b101` and `1_000` are ints. The editor follows YAML 1.2, so a spec
would mean one thing in the editor and another to netspec. Here a plain scalar is resolved by
the 1.2 core schema only, and an explicit `!!int`/`!!float`/`!!bool`/`!!null` tag must hold text
of that type (1.2 rules); anything else is a string.
"""

from __future__ import annotations

import math
import re

_TAG = "tag:yaml.org,2002:"
STR, INT, FLOAT, BOOL, NULL = (_TAG + t for t in ("str", "int", "float", "bool", "null"))

_NULL = re.compile(r"null|Null|NULL|~|")
_BOOL = {"true": True, "True": True, "TRUE": True, "false": False, "False": False, "FALSE": False}
_INT10 = re.compile(r"[-+]?[0-9]+")
_INT8 = re.compile(r"0o[0-7]+")
_INT16 = re.compile(r"0x[0-9a-fA-F]+")
_FLOAT = re.compile(r"[-+]?(\.[0-9]+|[0-9]+(\.[0-9]*)?)([eE][-+]?[0-9]+)?")
_INF = re.compile(r"[-+]?\.(inf|Inf|INF)")
_NAN = re.compile(r"\.(nan|NaN|NAN)")


class ScalarProblem(ValueError):
    """Text that its explicit tag's type cannot hold (`!!int abc`), or an unreadable number."""


def _int(text: str) -> int | None:
    try:
        if _INT10.fullmatch(text):
            return int(text, 10)  # ValueError past Python's 4,300-digit limit
        if _INT8.fullmatch(text):
            return int(text[2:], 8)
        if _INT16.fullmatch(text):
            return int(text[2:], 16)
    except ValueError:
        raise ScalarProblem(f"integer '{text[:20]}...' is too long ({len(text)} digits)") from None
    return None


def _float(text: str) -> float | None:
    if _FLOAT.fullmatch(text):
        return float(text)  # 1e999 is inf, as in the editor; bounds refuse it where it matters
    if _INF.fullmatch(text):
        return -math.inf if text.startswith("-") else math.inf
    if _NAN.fullmatch(text):
        return math.nan
    return None


def plain(text: str) -> object:
    """The value of an untagged plain scalar (YAML 1.2 core schema)."""
    if _NULL.fullmatch(text):
        return None
    if text in _BOOL:
        return _BOOL[text]
    number: int | float | None = _int(text)
    if number is None:
        number = _float(text)
    return text if number is None else number


def tagged(tag: str, text: str) -> object:
    """The value of a scalar with an explicit core tag; ScalarProblem where it cannot be one."""
    if tag == STR:
        return text
    if tag == NULL and _NULL.fullmatch(text):
        return None
    if tag == BOOL and text in _BOOL:
        return _BOOL[text]
    if tag == INT and (value := _int(text)) is not None:
        return value
    if tag == FLOAT:
        whole = _int(text)
        try:
            real = float(whole) if whole is not None else _float(text)
        except OverflowError:
            raise ScalarProblem(f"'{text[:20]}...' is too large for a float") from None
        if real is not None:
            return real
    kind = tag.removeprefix(_TAG)
    raise ScalarProblem(f"'{text[:40]}' is not a YAML 1.2 {kind} (!!{kind})")
