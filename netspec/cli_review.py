"""`netspec plot`, `netspec diff` and `netspec compare`: seeing a model, reviewing a change to a
spec, and putting training runs side by side (no torch: they read specs and run folders)."""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Annotated

import typer

from netspec.cli_options import user_errors

SpecArg = Annotated[Path, typer.Argument(help="Spec file.", show_default=False)]


def _flag(name: str, help: str) -> object:
    return typer.Option(f"--{name}/--no-{name}", help=help)


def plot(
    spec: SpecArg,
    output: Annotated[
        Path | None,
        typer.Option(
            "-o", "--output", help="Picture file: .svg, .png or .pdf.", show_default=False
        ),
    ] = None,
    fmt: Annotated[
        str | None,
        typer.Option(
            "--format",
            help="svg, png, pdf or dot (default: the output's suffix); dot "
            "prints the Graphviz graph without -o.",
            show_default=False,
        ),
    ] = None,  # fmt: skip
    show_shapes: Annotated[bool, _flag("show-shapes", "Input and output shapes.")] = True,
    show_dtype: Annotated[bool, _flag("show-dtype", "Output dtypes.")] = False,
    show_layer_names: Annotated[
        bool, _flag("show-layer-names", "Layer names (else the type alone).")
    ] = True,
    show_layer_activations: Annotated[
        bool, _flag("show-layer-activations", "The activation of layers that have one.")
    ] = False,
    show_trainable: Annotated[
        bool, _flag("show-trainable", "Whether each layer with weights trains.")
    ] = False,
    show_params: Annotated[bool, _flag("show-params", "Parameter counts.")] = True,
    rankdir: Annotated[
        str, typer.Option(help="TB (top to bottom) or LR (left to right); BT and RL too.")
    ] = "TB",
    expand_nested: Annotated[
        bool,
        typer.Option(
            "--expand-nested",
            help="Draw the layers of each block and nested-model instance, in a dashed box "
            "(default: one box per instance).",
        ),
    ] = False,
    dpi: Annotated[int, typer.Option(min=1, help="Resolution of .png and .pdf.")] = 200,
    splines: Annotated[
        str, typer.Option(help="Graphviz edge style: spline, ortho, polyline, line, curved.")
    ] = "spline",
) -> None:
    """Draw a spec's model, as Keras's plot_model: one box per layer (name, type, shapes,
    params), the graph's edges, outputs framed twice; laid out and drawn by Graphviz."""
    with user_errors():
        import netspec
        from netspec.errors import NetspecError
        from netspec.review.dot import options, to_dot
        from netspec.review.plot import drawing
        from netspec.review.render import format_of, render

        kind = format_of(output, fmt)
        opts = options(
            show_shapes=show_shapes, show_dtype=show_dtype, show_layer_names=show_layer_names,
            show_layer_activations=show_layer_activations, show_trainable=show_trainable,
            show_params=show_params, rankdir=rankdir, expand_nested=expand_nested, dpi=dpi,
            splines=splines,
        )  # fmt: skip
        valid = netspec.load(spec)
        # an SVG is vector: Graphviz would scale its size by dpi/72
        dot = to_dot(drawing(valid, expand_nested), opts, dpi=kind in ("png", "pdf"))
        if kind == "dot" and output is None:
            sys.stdout.write(dot)
            return
        if output is None:
            raise NetspecError(f"give -o FILE to write the {kind} picture")
        data = dot.encode() if kind == "dot" else render(dot, kind, dpi)
        try:
            output.write_bytes(data)
        except OSError as exc:
            raise NetspecError(f"{output}: cannot write: {exc.strerror or exc}") from None
        print(f"wrote {output} ({len(valid.graph.nodes)} layers)")


def diff(
    old: Annotated[
        str, typer.Argument(help="The old spec: a file, or git:REV:PATH.", show_default=False)
    ],
    new: Annotated[
        str, typer.Argument(help="The new spec: a file, or git:REV:PATH.", show_default=False)
    ],
    as_json: Annotated[bool, typer.Option("--json", help="Print the diff as JSON.")] = False,
    markdown: Annotated[
        bool, typer.Option("--markdown", help="Print Markdown tables (a pull-request comment).")
    ] = False,
) -> None:
    """The difference between two networks: layers added, removed, renamed or changed, output
    shapes and parameter counts before and after, changed settings. Exit 0 whatever differs;
    1 when a spec is invalid."""
    with user_errors():
        from netspec.review import diff_format
        from netspec.review.diff import diff_specs

        found = diff_specs(old, new)
        if as_json:
            import json

            print(json.dumps(diff_format.as_json(found), indent=2))
        elif markdown:
            sys.stdout.write(diff_format.markdown(found))
        else:
            sys.stdout.write(diff_format.text(found))


def compare(
    runs: Annotated[
        list[Path], typer.Argument(help="Run folders (netspec train --out).", show_default=False)
    ],
    output: Annotated[
        Path | None,
        typer.Option(
            "-o",
            "--output",
            help="Draw the curves overlaid (.png, .svg or .pdf).",
            show_default=False,
        ),
    ] = None,  # fmt: skip
    as_json: Annotated[bool, typer.Option("--json", help="Print the comparison as JSON.")] = False,
) -> None:
    """Training runs side by side: each run's epochs, wall time, final and best metrics, the
    settings of their specs that differ; -o overlays their curves, one panel per metric."""
    with user_errors():
        from netspec.errors import NetspecError
        from netspec.review.compare import as_json as compare_json
        from netspec.review.compare import read_runs, tables

        found = read_runs(list(runs))
        if as_json:
            import json

            print(json.dumps(compare_json(found), indent=2))
        else:
            from rich.console import Console

            for table in tables(found):
                Console().print(table)
        if output is not None:
            from netspec.review.compare_plot import compare_picture

            fmt = output.suffix.lstrip(".").lower()
            if fmt not in ("png", "svg", "pdf"):
                raise NetspecError(f"{output}: draw a .png, .svg or .pdf")
            try:
                output.write_bytes(compare_picture(found, fmt))
            except OSError as exc:
                raise NetspecError(f"{output}: cannot write: {exc.strerror or exc}") from None
            print(f"wrote {output}", file=sys.stderr if as_json else sys.stdout)


def register(app: typer.Typer) -> None:
    """Add the review commands to the `netspec` app."""
    app.command()(plot)
    app.command()(diff)
    app.command()(compare)
