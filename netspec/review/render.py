"""Rendering DOT with Graphviz: a system `dot` when one is on PATH, else the `graphviz-pure`
command that the `graphviz-pure` wheel (a netspec dependency) installs beside Python.

graphviz-pure writes SVG and PNG but not PDF; without a system `dot`, a PDF is the PNG at the
requested dpi in a PDF page (Pillow, which matplotlib brings)."""

from __future__ import annotations

import io
import shutil
import subprocess
import sys
import sysconfig
from pathlib import Path

from ..errors import NetspecError

FORMATS = ("svg", "png", "pdf", "dot")
_TIMEOUT_S = 300


def graphviz() -> tuple[str, bool]:
    """(the program, whether it is a real Graphviz `dot`): `dot` on PATH first, then
    `graphviz-pure` on PATH or in this Python's scripts folder (a venv not activated)."""
    found = shutil.which("dot")
    if found:
        return found, True
    for folder in (None, sysconfig.get_path("scripts"), str(Path(sys.executable).parent)):
        found = shutil.which("graphviz-pure", path=folder)
        if found:
            return found, False
    raise NetspecError(
        "netspec plot needs Graphviz: `pip install graphviz-pure` (a netspec dependency), or "
        "install Graphviz so that `dot` is on PATH; `--format dot` prints the graph without it"
    )


def render(dot: str, fmt: str, dpi: int) -> bytes:
    """The picture of the DOT text `dot` (which carries its dpi) in `fmt` (svg, png, pdf)."""
    program, real = graphviz()
    if fmt == "pdf" and not real:
        return _png_to_pdf(_run(program, dot, "png"), dpi)
    return _run(program, dot, fmt)


def _run(program: str, dot: str, fmt: str) -> bytes:
    try:
        done = subprocess.run(
            [program, f"-T{fmt}"], input=dot.encode(), capture_output=True, timeout=_TIMEOUT_S
        )
    except (OSError, subprocess.TimeoutExpired) as exc:
        raise NetspecError(f"Graphviz ({program}) failed: {exc}") from None
    if done.returncode != 0 or not done.stdout:
        message = done.stderr.decode(errors="replace").strip() or f"exit {done.returncode}"
        raise NetspecError(f"Graphviz ({program}) could not draw the graph: {message}")
    return done.stdout


def _png_to_pdf(png: bytes, dpi: int) -> bytes:
    from PIL import Image

    out = io.BytesIO()
    with Image.open(io.BytesIO(png)) as image:
        image.convert("RGB").save(out, format="PDF", resolution=float(dpi))
    return out.getvalue()


def format_of(output: Path | None, fmt: str | None) -> str:
    """The format: `--format`, else the output's suffix."""
    if fmt is None:
        if output is None:
            raise NetspecError("give -o FILE (.svg, .png or .pdf), or --format dot to print DOT")
        fmt = output.suffix.lstrip(".").lower()
    fmt = fmt.lower()
    if fmt not in FORMATS:
        where = f"{output}: " if output is not None and fmt == output.suffix.lstrip(".") else ""
        raise NetspecError(f"{where}cannot draw '{fmt}': the formats are {', '.join(FORMATS)}")
    return fmt
