"""Every file generated from the code, written by one command:

    python -m netspec.generate          # rewrite the stale ones
    python -m netspec.generate --check  # exit 1 naming the stale ones (tests/test_generated.py)

- `netspec/layers/_index.py`: the layer types of each layer module (the lazy catalogue);
- `netspec/training/spec/_index.py`: the losses, metrics and optimizers of each module (the
  same, for `compile:`);
- `schemas/netspec.schema.json`: the JSON Schema of spec files (`netspec.schema`);
- `docs/reference.md`: the reference of every name and argument (`netspec.reference`), without
  the plugin layers installed here.

`--root DIR` reads and writes the files under DIR instead of this checkout.
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
COMMAND = "python -m netspec.generate"


def _index() -> str:
    from .layers.index import text

    return text()


def _vocab_index() -> str:
    from .training.spec.vocab_index import text

    return text()


def _schema() -> str:
    from .schema import schema_text

    return schema_text()


def _reference() -> str:
    from .reference import reference_text

    return reference_text(plugins=False)


@dataclass(frozen=True)
class Generated:
    path: str  # relative to the repository root
    text: Callable[[], str]


# The index first: the others import every layer module anyway, it is the cheapest to be right.
GENERATED = (
    Generated("netspec/layers/_index.py", _index),
    Generated("netspec/training/spec/_index.py", _vocab_index),
    Generated("schemas/netspec.schema.json", _schema),
    Generated("docs/reference.md", _reference),
)


def stale(root: Path = ROOT) -> dict[str, str]:
    """The generated files under `root` whose content is not current: path -> current text."""
    out = {}
    for item in GENERATED:
        target = root / item.path
        text = item.text()
        if not target.is_file() or target.read_text(encoding="utf-8") != text:
            out[item.path] = text
    return out


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog=COMMAND, description=__doc__.split("\n\n")[0])
    parser.add_argument("--check", action="store_true", help="exit 1 if a file is stale")
    parser.add_argument("--root", type=Path, default=ROOT, help="repository root")
    args = parser.parse_args(argv)
    outdated = stale(args.root)
    if args.check:
        for path in outdated:
            print(f"{path} is stale: run `{COMMAND}`", file=sys.stderr)
        return 1 if outdated else 0
    for path, text in outdated.items():
        target = args.root / path
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_text(text, encoding="utf-8")
        print(f"wrote {path}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
