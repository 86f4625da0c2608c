"""The `netspec` command line: parse, call the library, print. One error boundary: a user error
(an invalid spec, unreadable file, over-budget model) prints its message and exits 1; usage
errors exit 2 (typer's). Torch is imported only by commands that build."""

from __future__ import annotations

import json
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Annotated

import typer

from netspec import cli_review, cli_train
from netspec.catalog import BY_NAME, KINDS
from netspec.cli_options import WEIGHTS_HELP, AllowExtra, user_errors

app = typer.Typer(
    name="netspec",
    help="Declarative neural networks: Keras-vocabulary YAML specs, validated with located "
    "errors, compiled to PyTorch.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
)


@app.command()
def validate(
    specs: Annotated[list[Path], typer.Argument(help="Spec files to check.", show_default=False)],
    quiet: Annotated[bool, typer.Option("--quiet", "-q", help="Print errors only.")] = False,
    overrides: Annotated[
        list[str] | None,
        typer.Option(
            "--set", help="KEY=VALUE override, checked as `netspec train --set` applies it."
        ),
    ] = None,
) -> None:
    """Validate spec files: every error of every file, located as FILE:LINE:COL (no torch),
    including what `netspec train` would refuse before reading data."""
    from netspec.errors import NetspecError
    from netspec.training.spec.overrides import load_with_overrides

    failed = False
    for path in specs:
        try:
            spec = load_with_overrides(path, list(overrides or []))
        except NetspecError as exc:
            print(str(exc), file=sys.stderr)
            failed = True
            continue
        if not quiet:
            print(f"{path}: ok ({len(spec.layers)} layers)")
    if failed:
        raise typer.Exit(1)


@app.command()
def build(
    spec: Annotated[Path, typer.Argument(help="Spec file.", show_default=False)],
    as_json: Annotated[bool, typer.Option("--json", help="Print the summary as JSON.")] = False,
    device: Annotated[
        str, typer.Option(help="cpu, cuda, cuda:N or auto (CUDA when available).")
    ] = "auto",
    seed: Annotated[int | None, typer.Option(help="Seed of the initial weights.")] = None,
    max_memory: Annotated[
        str | None,
        typer.Option(
            help="Memory budget of the parameters and one sample's activations (e.g. 64GiB); "
            "default: half of this machine's RAM."
        ),
    ] = None,
    weights: Annotated[
        Path | None, typer.Option("--weights", help=f"Load {WEIGHTS_HELP}.", show_default=False)
    ] = None,
    allow_extra: AllowExtra = False,
    depth: Annotated[
        int | None,
        typer.Option(
            min=0,
            help="Fold block and nested-model instances deeper than this into one row "
            "each (0: every instance is one row). Default: every layer.",
        ),
    ] = None,
) -> None:
    """Build the PyTorch module of a spec and print its Keras-style summary."""
    with user_errors():
        import netspec
        from netspec.compiler import parse_size
        from netspec.summary import summary_dict, summary_table

        valid = netspec.load(spec)
        budget = parse_size(max_memory) if max_memory is not None else None
        model = netspec.build(valid, device=device, seed=seed, max_memory=budget)
        if weights is not None:
            from netspec.training.output.runs import load_weights

            load_weights(model, weights, graph=valid.graph, allow_extra=allow_extra)
        graph = valid.graph
        if as_json:
            print(json.dumps(summary_dict(graph, None, valid.expansion, depth), indent=2))
        else:
            from rich.console import Console

            Console().print(summary_table(graph, valid.expansion, depth))
        if weights is not None:
            print(f"weights loaded from {weights}", file=sys.stderr if as_json else sys.stdout)


@app.command("list")
def list_(
    kind: Annotated[
        str | None,
        typer.Argument(
            help="One of: " + ", ".join(k.name for k in KINDS) + " (default: all).",
            show_default=False,
        ),
    ] = None,
) -> None:
    """List the names a spec may use: layer types, initializers, regularizers, constraints,
    activations, and the optimizers, learning rate schedules, losses and metrics of `compile:`
    (with their aliases)."""
    if kind is not None and kind not in BY_NAME:
        names = ", ".join(k.name for k in KINDS)
        print(f"unknown kind '{kind}'; choose one of: {names}", file=sys.stderr)
        raise typer.Exit(2)
    for row in KINDS if kind is None else (BY_NAME[kind],):
        registry = row.registry()
        print(f"{row.name}: {row.description}")
        aliases: dict[str, list[str]] = {}
        for alias, canonical in registry.aliases().items():
            aliases.setdefault(canonical, []).append(alias)
        for entry in registry.names():
            extra = f"  (also: {', '.join(aliases[entry])})" if entry in aliases else ""
            print(f"  {entry}{extra}")


@app.command()
def explain(
    name: Annotated[
        str,
        typer.Argument(
            help="A layer type, initializer, regularizer, constraint, activation, optimizer, "
            "learning rate schedule, loss or metric (class name or alias: Dense, he_uniform, "
            "MaxNorm, relu, adam, cosine_decay, mse), "
            "NAME.ARGUMENT (Dense.units, Adam.epsilon), or KIND.NAME to pick a registry "
            "(initializers.Orthogonal, metrics.mse).",
            show_default=False,
        ),
    ],
) -> None:
    """Explain a name a spec may use (or one argument): types, defaults, meaning.

    The same text as docs/reference.md, for one entry: `netspec explain Dense`,
    `netspec explain Dense.kernel_initializer`, `netspec explain he_uniform`."""
    with user_errors():
        from netspec.reference import explain_text

        sys.stdout.write(explain_text(name))


@app.command()
def schema(
    output: Annotated[
        Path | None, typer.Option("--output", "-o", help="Write here (default: stdout).")
    ] = None,
    check: Annotated[
        bool,
        typer.Option(
            "--check",
            help="Exit 1 if the committed schema (schemas/netspec.schema.json, or -o) is stale.",
        ),
    ] = False,
) -> None:
    """Print (or write) the JSON Schema of spec files, generated from the validating models."""
    from netspec.schema import SCHEMA_PATH, schema_text

    text = schema_text()
    if check:
        target = output or SCHEMA_PATH
        current = target.read_text() if target.exists() else ""
        if current != text:
            print(f"{target} is stale: run `netspec schema -o {target}`", file=sys.stderr)
            raise typer.Exit(1)
        print(f"{target} is up to date")
    elif output is not None:
        output.write_text(text)
    else:
        sys.stdout.write(text)


# train, evaluate, predict (listed in this place of `netspec --help`)
cli_train.register(app)


@app.command("import")
def import_(
    model: Annotated[Path, typer.Argument(help=".keras, Keras 2 .h5 or to_json() file.")],
    output: Annotated[Path, typer.Option("--output", "-o", help="Spec file to write.")],
    weights_out: Annotated[
        Path | None, typer.Option(help="Weights file (default: SPEC.safetensors).")
    ] = None,
    partial: Annotated[
        bool, typer.Option(help="Write unsupported layers as placeholders (exit 1 still).")
    ] = False,
) -> None:
    """Write a Keras model as a spec (and its weights, when the file holds them)."""
    with user_errors():
        from netspec.keras_import import import_model

        print(import_model(model, output, weights_out, partial).report())


@app.command()
def export(
    spec: Annotated[Path, typer.Argument(help="Spec file.", show_default=False)],
    output: Annotated[Path, typer.Option("--output", "-o", help="File to write.")],
    fmt: Annotated[str, typer.Option("--format", help="onnx or torch-export (.pt2).")] = "onnx",
    weights: Annotated[Path | None, typer.Option(help=f"Load {WEIGHTS_HELP}.")] = None,
    seed: Annotated[int | None, typer.Option(help="Seed of the initial weights.")] = None,
    opset: Annotated[int | None, typer.Option(help="ONNX opset (default: netspec's).")] = None,
) -> None:
    """Export the model to ONNX or a torch.export program, checked against netspec's output."""
    with user_errors():
        from netspec.export import export_spec

        print(export_spec(spec, output, fmt, weights=weights, seed=seed, opset=opset).report())


# commands defined beside this module: plot/diff/compare
cli_review.register(app)


def main(argv: list[str] | None = None) -> Callable | None:
    """The console script: the typer app under the command line's garbage-collector policy
    (`netspec.heap`: about 0.8 s less per training process)."""
    from netspec import heap

    heap.pause()
    try:
        return app(argv)
    finally:
        heap.before_exit()


if __name__ == "__main__":
    main()
