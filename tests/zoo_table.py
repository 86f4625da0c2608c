"""README's table of the applications zoo: each spec's parameters and line count (no Keras:
the counts are netspec's, which tests/test_zoo_*.py check against Keras).

    python -m tests.zoo_table     # prints the table
"""

from __future__ import annotations

from pathlib import Path

ZOO = Path(__file__).resolve().parent.parent / "specs" / "applications"


def lines(path: Path) -> int:
    """Non-blank, non-comment lines."""
    text = path.read_text().splitlines()
    return sum(1 for line in text if line.strip() and not line.lstrip().startswith("#"))


def zoo_table() -> str:
    import netspec
    from netspec.compiler import param_counts

    rows = ["| spec | Keras model | params (trainable) | output | lines |", "|---|---|---|---|---|"]
    for path in sorted(ZOO.glob("*.yaml")):
        valid = netspec.load(path)
        counts = param_counts(valid.graph).values()
        total, trainable = sum(map(sum, counts)), sum(t for t, _ in counts)
        shape = valid.graph.output_shapes()[0]
        rows.append(
            f"| `{path.stem}` | `{valid.name}` | {total:,} ({trainable:,}) | "
            f"{tuple(shape)} | {lines(path)} |"
        )
    return "\n".join(rows)


if __name__ == "__main__":
    print(zoo_table())
