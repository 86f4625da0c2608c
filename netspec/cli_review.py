"""`netspec plot`, `diff` and `compare` (registered on netspec.cli's app)."""

from __future__ import annotations

import typer


def register(app: typer.Typer) -> None:
    """Add the commands to `app`."""
