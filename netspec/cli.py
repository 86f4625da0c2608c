"""The `netspec` command line: parse, call the library, print. One error boundary: a user error
(an invalid spec, unreadable file, over-budget model) prints its message and exits 1; usage
errors exit 2 (typer's). Torch is imported only by commands that build."""

from __future__ import annotations

import json
import sys
from collections.abc import Callable
from contextlib import contextmanager
from pathlib import Path
from typing import Annotated

import typer

from netspec.catalog import BY_NAME, KINDS
from netspec.cli_options import (
    WEIGHTS_HELP,
    AllowExtra,
    AllowNonfinite,
    DataOpt,
    Device,
    MaxRestarts,
    Nproc,
    Precision,
    SplitOpt,
    WeightsOpt,
)

app = typer.Typer(
    name="netspec",
    help="Declarative neural networks: Keras-vocabulary YAML specs, validated with located "
    "errors, compiled to PyTorch.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
)


@contextmanager
def user_errors():
    """Map netspec's user errors to their message on stderr and exit code 1."""
    from netspec.errors import NetspecError

    try:
        yield
    except NetspecError as exc:
        print(str(exc), file=sys.stderr)
        raise typer.Exit(getattr(exc, "exit_code", 1)) from None


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


@app.command()
def train(
    spec: Annotated[
        Path | None, typer.Argument(help="Spec file (not with --resume).", show_default=False)
    ] = None,
    data: Annotated[
        Path | None,
        typer.Option(
            "--data",
            help=".npz file or directory of .npy files (default with --resume: the run's).",
            show_default=False,
        ),
    ] = None,
    out: Annotated[Path | None, typer.Option(help="Run folder (default runs/NAME-TIME).")] = None,
    resume: Annotated[
        Path | None,
        typer.Option(help="Continue the run in this folder from its checkpoint.", metavar="RUN"),
    ] = None,
    init_weights: Annotated[
        Path | None,
        typer.Option(help=f"Start a new run from {WEIGHTS_HELP}.", show_default=False),
    ] = None,
    allow_extra: AllowExtra = False,
    epochs: Annotated[int | None, typer.Option(help="Sets train.epochs.")] = None,
    batch_size: Annotated[int | None, typer.Option(help="Sets train.batch_size.")] = None,
    learning_rate: Annotated[
        float | None, typer.Option(help="Sets compile.optimizer.learning_rate.")
    ] = None,
    seed: Annotated[int | None, typer.Option(help="Sets train.seed.")] = None,
    device: Device = "auto",
    precision: Precision = None,
    compile_: Annotated[
        bool | None, typer.Option("--compile/--no-compile", help="Run under torch.compile.")
    ] = None,
    quiet: Annotated[
        bool,
        typer.Option(
            "--quiet", "-q", help="One line per epoch, no progress bar (as when not a terminal)."
        ),
    ] = False,
    overrides: Annotated[
        list[str] | None,
        typer.Option("--set", help="KEY=VALUE spec override (train.epochs=5); repeatable."),
    ] = None,
    allow_nonfinite: AllowNonfinite = False,
    max_memory: Annotated[
        str | None,
        typer.Option(help="Memory budget of one batch (e.g. 64GiB); default: half of the RAM."),
    ] = None,
    nproc: Nproc = None,
    max_restarts: MaxRestarts = 0,
) -> None:
    """Train a spec's model on .npz data (Keras's fit); write the run folder."""
    sets = list(overrides or [])
    for key, value in (
        ("train.epochs", epochs),
        ("train.batch_size", batch_size),
        ("compile.optimizer.learning_rate", learning_rate),
        ("train.seed", seed),
    ):
        if value is not None:
            sets.append(f"{key}={value}")
    with user_errors():
        from netspec.errors import NetspecError
        from netspec.training.engine.session import train as run

        if (spec is None) == (resume is None):
            raise NetspecError("give a spec file to train, or --resume RUN to continue a run")
        if resume is not None and out is not None:
            raise NetspecError("--out and --resume: a resumed run stays in its folder")
        if nproc is not None:  # the workers run this command without --nproc
            from netspec.training.engine.launch import launch

            return launch(nproc, max_restarts, sys.argv[1:], spec, data, out, resume)
        from netspec.compiler import parse_size

        live = not quiet and sys.stdout.isatty()
        budget = parse_size(max_memory) if max_memory is not None else None
        path, _ = run(spec, data, out=out, overrides=sets, device=device, echo=print,
                      resume=resume, precision=precision, compile=compile_, live=live,
                      allow_nonfinite=allow_nonfinite, max_memory=budget,
                      init_weights=init_weights, allow_extra=allow_extra)  # fmt: skip
        if path is not None:  # None on the ranks other than 0 of a data-parallel run
            print(f"run saved to {path}")


@app.command()
def evaluate(
    spec: Annotated[Path, typer.Argument(help="Spec file.", show_default=False)],
    weights: WeightsOpt,
    data: DataOpt,
    as_json: Annotated[
        bool, typer.Option("--json", help="Print JSON (null for a non-finite value).")
    ] = False,
    split: SplitOpt = None,
    device: Device = "auto",
    allow_nonfinite: AllowNonfinite = False,
    allow_extra: AllowExtra = False,
) -> None:
    """Loss and metrics of trained weights on data (Keras's evaluate)."""
    with user_errors():
        from netspec.training.engine.session import evaluate as run

        results = run(spec, weights, data, split=split, device=device,
                      allow_nonfinite=allow_nonfinite, allow_extra=allow_extra)  # fmt: skip
        if as_json:
            from netspec.training.output.runs import strict_json

            print(strict_json(results))
        else:
            for key, value in results.items():
                print(f"{key}: {value:.6g}")


@app.command()
def predict(
    spec: Annotated[Path, typer.Argument(help="Spec file.", show_default=False)],
    weights: WeightsOpt,
    data: DataOpt,
    output: Annotated[
        Path, typer.Option("--output", "-o", help="Output .npz (y, or y_<output>).")
    ] = Path("predictions.npz"),
    split: SplitOpt = None,
    device: Device = "auto",
    allow_nonfinite: AllowNonfinite = False,
    allow_extra: AllowExtra = False,
) -> None:
    """The model's outputs on data, written to an .npz (Keras's predict)."""
    with user_errors():
        from netspec.training.engine.session import predict as run

        run(spec, weights, data, output, split=split, device=device,
            allow_nonfinite=allow_nonfinite, allow_extra=allow_extra)  # fmt: skip
        print(f"predictions saved to {output}")


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
