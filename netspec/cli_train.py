"""`netspec train`, `evaluate` and `predict` (registered on netspec.cli's app)."""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Annotated

import typer

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
    user_errors,
)


def register(app: typer.Typer) -> None:
    """Add the commands to `app`, in this order in `netspec --help`."""
    for command in (train, evaluate, predict):
        app.command()(command)


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
