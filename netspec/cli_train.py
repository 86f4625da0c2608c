"""`netspec train`, `evaluate` and `predict` (registered on netspec.cli's app)."""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Annotated

import typer

from netspec.cli_options import (
    DATA_HELP,
    WEIGHTS_HELP,
    AllowExtra,
    AllowNonfinite,
    Device,
    FeaturesOpt,
    MaxRestarts,
    Nproc,
    Precision,
    RunDataOpt,
    RunSpec,
    RunWeightsOpt,
    SampleWeightOpt,
    SplitOpt,
    TargetOpt,
    data_overrides,
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
            help=DATA_HELP + " (default with --resume: the run's).",
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
    target: TargetOpt = None,
    features: FeaturesOpt = None,
    sample_weight: SampleWeightOpt = None,
    logger: Annotated[
        list[str] | None,
        typer.Option(
            help="Adds a logger to train.loggers (tensorboard, mlflow, csv); repeatable.",
            metavar="NAME",
        ),
    ] = None,
) -> None:
    """Train a spec's model on data (Keras's fit); write the run folder."""
    sets = [*data_overrides(target, features, sample_weight), *(overrides or [])]
    if logger:  # as a --set of train.loggers: the spec's loggers and these
        with user_errors():
            from netspec.training.loggers import logger_sets

            sets += logger_sets(spec if resume is None else resume / "spec.yaml", logger)
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
    spec: RunSpec,
    weights: RunWeightsOpt = None,
    data: RunDataOpt = None,
    as_json: Annotated[
        bool, typer.Option("--json", help="Print JSON (null for a non-finite value).")
    ] = False,
    split: SplitOpt = None,
    device: Device = "auto",
    allow_nonfinite: AllowNonfinite = False,
    allow_extra: AllowExtra = False,
    target: TargetOpt = None,
    features: FeaturesOpt = None,
    sample_weight: SampleWeightOpt = None,
) -> None:
    """Loss and metrics of trained weights on data (Keras's evaluate)."""
    with user_errors():
        from netspec.training.engine.session import evaluate as run

        sets = data_overrides(target, features, sample_weight)
        results = run(spec, weights, data, split=split, device=device,
                      allow_nonfinite=allow_nonfinite, allow_extra=allow_extra,
                      overrides=sets)  # fmt: skip
        if as_json:
            from netspec.training.output.runs import strict_json

            print(strict_json(results))
        else:
            for key, value in results.items():
                print(f"{key}: {value:.6g}")


def predict(
    spec: RunSpec,
    weights: RunWeightsOpt = None,
    data: RunDataOpt = None,
    output: Annotated[
        Path,
        typer.Option(
            "--output",
            "-o",
            help="Output file: .npz (y, or y_<output>), .npy (one output), .csv or .parquet "
            "(a column per value: y, or y_0, y_1, ...).",
        ),
    ] = Path("predictions.npz"),
    split: SplitOpt = None,
    device: Device = "auto",
    allow_nonfinite: AllowNonfinite = False,
    allow_extra: AllowExtra = False,
    target: TargetOpt = None,
    features: FeaturesOpt = None,
) -> None:
    """The model's outputs on data, written by the output's extension (Keras's predict)."""
    with user_errors():
        from netspec.training.engine.session import predict as run

        run(spec, weights, data, output, split=split, device=device,
            allow_nonfinite=allow_nonfinite, allow_extra=allow_extra,
            overrides=data_overrides(target, features, None))  # fmt: skip
        print(f"predictions saved to {output}")
