"""Repeated identical runs of layers (functional code that calls a Python function in a loop,
a ResNet's identity blocks) found in the imported graph, to be written once as a block and
used where they occur, when that makes the spec shorter.

Two runs are the same block when their layers have the same types and arguments in the same
order and connect the same way, each run takes one tensor from outside and only its last layer
is used outside. Their names must be made the block's way: either every name is Keras's
automatic one (the block's layers are left unnamed) or every name is the run's own prefix and a
suffix shared by all runs (`conv2_block2_1_conv`: use `conv2_block2`, layer `1_conv`)."""

from __future__ import annotations

import os
import re
from dataclasses import dataclass
from typing import Any

from .convert import Imported

MAX_LENGTH = 60
# Lines a block costs besides its layers (its name, `layers:`) and each use costs.
BLOCK_COST, USE_COST = 2, 1


@dataclass
class Segment:
    """Runs of `length` calls at `starts` (each taking `inputs[start]`), the same block."""

    starts: list[int]
    length: int
    inputs: dict[int, str]
    prefixes: list[str | None]  # each run's instance name (None: unnamed, automatic names)
    base: str


def find_segments(im: Imported, top: list[int], users: dict[str, set[int]]) -> list[Segment]:
    """The repeated runs among the `top` calls, the best first, not overlapping."""
    finder = _Finder(im, set(top), users)
    found: list[Segment] = []
    while True:
        best = finder.best()
        if best is None:
            return found
        found.append(best)
        for s in best.starts:
            finder.free -= set(range(s, s + best.length))


class _Finder:
    def __init__(self, im: Imported, top: set[int], users: dict[str, set[int]]):
        from .layout import entry_key

        self.calls = im.calls
        self.free = top
        self.users = users
        self.index = {c.entry["name"]: i for i, c in enumerate(im.calls)}
        self.keys = [entry_key(c.entry) for c in im.calls]
        self.auto = [c.automatic() for c in im.calls]

    def best(self) -> Segment | None:
        best, score = None, 0
        for s in sorted(self.free):
            for k in range(2, MAX_LENGTH + 1):
                if s + 2 * k > len(self.calls) or self.keys[s] != self.keys[s + k]:
                    continue
                seg = self._runs(s, k)
                if seg is None:
                    continue
                r = len(seg.starts)
                saved = r * k - (k + BLOCK_COST + r * USE_COST)
                if saved > score:
                    best, score = seg, saved
        return best

    def _runs(self, s: int, k: int) -> Segment | None:
        first = self._signature(s, k)
        if first is None:
            return None
        starts, t = [s], s + k
        while t + k <= len(self.calls) and self._signature(t, k) == first:
            starts.append(t)
            t += k
        if len(starts) < 2:
            return None
        prefixes = self._prefixes(starts, k)
        if prefixes is None:
            return None
        inputs = {t: self._input(t, k) for t in starts}
        base = "block" if prefixes[0] is None else re.sub(r"_?\d+$", "", prefixes[0]) or "block"
        return Segment(starts, k, inputs, prefixes, base)

    def _signature(self, s: int, k: int) -> tuple[Any, ...] | None:
        """The run s:s+k as comparable data, or None when it cannot be a block."""
        span = range(s, s + k)
        if not all(i in self.free for i in span):
            return None
        outside: set[str] = set()
        sig: list[Any] = []
        for i in span:
            call = self.calls[i]
            if call.entry["type"] == "Shared":
                return None
            refs: list[tuple[Any, ...]] = []
            for r in call.refs:
                base, _, out = r.partition(":")
                j = self.index.get(base)
                if j is not None and s <= j < s + k:
                    refs.append((i - j, out))
                else:
                    outside.add(r)
                    refs.append(("x",))
            sig.append((self.keys[i], tuple(refs)))
            allowed = span if i < s + k - 1 else None
            if not self._used_inside(call.entry["name"], allowed):
                return None
        return tuple(sig) if len(outside) == 1 else None

    def _used_inside(self, name: str, span: range | None) -> bool:
        """Whether only calls in `span` use `name` (span None: the run's output, used
        anywhere, but not by a Shared entry)."""
        used = self.users.get(name, set())
        if span is None:
            return -2 not in used
        return all(u in span for u in used)

    def _input(self, s: int, k: int) -> str:
        for i in range(s, s + k):
            for r in self.calls[i].refs:
                j = self.index.get(r.split(":")[0])
                if j is None or not s <= j < s + k:
                    return r
        raise AssertionError("a run without an input")

    def _prefixes(self, starts: list[int], k: int) -> list[str | None] | None:
        """Each run's instance name, or None for all when every name is automatic. A run's
        made names must be its prefix and a suffix the same in every run; its automatic
        names (Xception's `add_4` among `block6_sepconv1`) are left to the block."""
        if all(self.auto[i] for t in starts for i in range(t, t + k)):
            return [None] * len(starts)
        own = self._own_names(starts, k)
        if own is not None:
            return own
        prefixes, suffixes = [], None
        for t in starts:
            made = [i for i in range(t, t + k) if not self.auto[i]]
            names = [self.calls[i].entry["name"] for i in made]
            common = os.path.commonprefix(names)
            cut = common.rfind("_")
            if cut <= 0:
                return None
            ends = [(i - t, n[cut + 1 :]) for i, n in zip(made, names, strict=True)]
            if not all(e for _, e in ends) or (suffixes is not None and ends != suffixes):
                return None
            suffixes = ends
            prefixes.append(common[:cut])
        return prefixes if len(set(prefixes)) == len(prefixes) else None

    def _own_names(self, starts: list[int], k: int) -> list[str | None] | None:
        """The runs' names when each run has one made name, at the same place (InceptionV3's
        `mixed5` among automatic names): the use is named so, the layer `${name}`."""
        made = [[i - t for i in range(t, t + k) if not self.auto[i]] for t in starts]
        if any(m != made[0] for m in made) or len(made[0]) != 1:
            return None
        names = [self.calls[t + made[0][0]].entry["name"] for t in starts]
        return list(names) if len(set(names)) == len(names) else None
