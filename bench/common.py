"""Shared helpers of the benchmarks: timing in alternating rounds, medians, ratios, specs.

Benchmarks are scripts, not tests: they never assert absolute times. Each compares contenders
measured in the same process and the same run, interleaved round by round (A B, B A, A B, ...,
the order flipped every other round so neither always runs first), and reports medians. The
headline ratio is the median over rounds of the per-round ratio A/B ("paired"): on a busy
machine a slow spell hits both contenders of a round, so it cancels; the ratio of the two
medians is printed next to it.

Run the scripts from the repository root (`python bench/NAME.py`); importing this module puts the
repository root on sys.path, so `import netspec` works without installing the package.
"""

from __future__ import annotations

import argparse
import gc
import os
import platform
import statistics
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))


def byte_compile(root: Path = ROOT) -> None:
    """Write netspec's bytecode (`__pycache__`), as `pip install` of the package does: an
    editable install under PYTHONDONTWRITEBYTECODE=1 (this machine's setting) would compile
    every netspec module from source in every process, ~75 ms that torch's and the other
    installed packages' processes never pay. A stale file is ignored (Python checks the
    source's time), so this only ever saves work."""
    import compileall

    compileall.compile_dir(str(root / "netspec"), quiet=1)
    compileall.compile_file(str(root / "cli.py"), quiet=1)


def median(values: list[float]) -> float:
    return statistics.median(values)


def fmt_time(seconds: float) -> str:
    """A duration with a unit that keeps 3-4 significant digits."""
    if seconds >= 1:
        return f"{seconds:.3f} s"
    if seconds >= 1e-3:
        return f"{seconds * 1e3:.2f} ms"
    return f"{seconds * 1e6:.1f} us"


def time_per_call(fn: Callable[[], object], number: int) -> float:
    """Seconds per call of `fn`, over `number` back-to-back calls (GC paused while timing)."""
    enabled = gc.isenabled()
    gc.disable()
    try:
        start = time.perf_counter()
        for _ in range(number):
            fn()
        return (time.perf_counter() - start) / number
    finally:
        if enabled:
            gc.enable()


@dataclass
class Result:
    """Per-round times (seconds per call) of each contender, in insertion order."""

    times: dict[str, list[float]] = field(default_factory=dict)

    def median(self, name: str) -> float:
        return median(self.times[name])

    def ratio(self, name: str, baseline: str) -> float:
        """median(name) / median(baseline)."""
        return self.median(name) / self.median(baseline)

    def paired_ratio(self, name: str, baseline: str) -> float:
        """Median over rounds of the per-round ratio (robust to slow drifts of the machine)."""
        return median([a / b for a, b in zip(self.times[name], self.times[baseline], strict=True)])

    def spread(self, name: str) -> float:
        """Interquartile range relative to the median (a noise indicator)."""
        values = sorted(self.times[name])
        if len(values) < 4:
            return 0.0
        q = statistics.quantiles(values, n=4)
        return (q[2] - q[0]) / self.median(name)


def alternate(
    contenders: dict[str, Callable[[], object]],
    rounds: int,
    number: int = 1,
    warmup: int = 1,
    timer: Callable[[Callable[[], object], int], float] | None = None,
) -> Result:
    """Time each contender `rounds` times, interleaved: round r runs them in order when r is
    even and in reverse order when r is odd. Each timing is `number` calls of the contender
    (seconds per call). `warmup` untimed calls of each contender come first."""
    timer = timer or time_per_call
    for fn in contenders.values():
        for _ in range(warmup):
            fn()
    result = Result({name: [] for name in contenders})
    names = list(contenders)
    for r in range(rounds):
        for name in names if r % 2 == 0 else reversed(names):
            result.times[name].append(timer(contenders[name], number))
    return result


def report(result: Result, baseline: str, title: str, unit_note: str = "per call") -> None:
    """Print one line per contender: median, spread, and ratio to `baseline` (paired, then
    of the medians)."""
    print(f"\n{title}")
    width = max(len(n) for n in result.times)
    for name in result.times:
        med = result.median(name)
        n = len(result.times[name])
        iqr = f"IQR {result.spread(name) * 100:4.1f}%" if n >= 4 else "IQR  n/a"
        line = f"  {name:<{width}}  median {fmt_time(med):>10} {unit_note}  ({iqr}, {n} rounds)"
        if name != baseline:
            line += (
                f"  ratio {result.paired_ratio(name, baseline):.3f}"
                f" (of medians {result.ratio(name, baseline):.3f})"
            )
        print(line)


def goal(value: float, limit: float) -> str:
    return "met" if value <= limit else "MISSED"


def parser(description: str) -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(description=description)
    p.add_argument("--quick", action="store_true", help="a short run (fewer rounds)")
    return p


def machine() -> str:
    """One line about where the numbers come from."""
    parts = [f"python {platform.python_version()}", f"{os.cpu_count()} CPU cores"]
    if "torch" in sys.modules:
        torch = sys.modules["torch"]
        parts.append(f"torch {torch.__version__} ({torch.get_num_threads()} threads)")
    return ", ".join(parts)


def dense_spec(
    input_dim: int,
    widths: list[int],
    activation: str | None = "relu",
    last_activation: str | None = "same",
    name: str = "bench",
) -> str:
    """YAML of a stack of Dense layers: `widths[i]` units each, `activation` on all but the
    last, which gets `last_activation` ('same': `activation` too; None: linear)."""
    if last_activation == "same":
        last_activation = activation
    lines = ["netspec: 1", f"name: {name}", f"input_shape: [{input_dim}]", "layers:"]
    for i, units in enumerate(widths):
        act = activation if i < len(widths) - 1 else last_activation
        extra = f", activation: {act}" if act is not None else ""
        lines.append(f"  - {{type: Dense, units: {units}{extra}}}")
    return "\n".join(lines) + "\n"
