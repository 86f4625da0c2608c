"""The options several `netspec` commands share (netspec.cli's type aliases)."""

from __future__ import annotations

import sys
from contextlib import contextmanager
from pathlib import Path
from typing import Annotated

import typer

Device = Annotated[str, typer.Option(help="cpu, cuda, cuda:N or auto (CUDA when available).")]
DATA_HELP = (
    ".npz file, directory of .npy files (KEY.N.npy: shards of one array), .csv or .parquet "
    "table, or image folder (a subfolder per class)"
)
DataOpt = Annotated[Path, typer.Option("--data", help=DATA_HELP + ".", show_default=False)]
RunDataOpt = Annotated[
    Path | None,
    typer.Option("--data", help=DATA_HELP + " (default with a run folder: the run's).",
                 show_default=False),
]  # fmt: skip
RunSpec = Annotated[
    Path, typer.Argument(help="Spec file, or a run folder (its spec.yaml).", show_default=False)
]
TargetOpt = Annotated[
    list[str] | None,
    typer.Option("--target", metavar="COLUMN",
                 help="Table: the label column (sets data.target); repeat for several.",
                 show_default=False),
]  # fmt: skip
FeaturesOpt = Annotated[
    str | None,
    typer.Option("--features", metavar="COL,...",
                 help="Table: the input columns (sets data.features; default: all others).",
                 show_default=False),
]  # fmt: skip
SampleWeightOpt = Annotated[
    str | None,
    typer.Option("--sample-weight", metavar="COLUMN",
                 help="Table: the column of sample weights (sets data.sample_weight).",
                 show_default=False),
]  # fmt: skip
WEIGHTS_HELP = "weights.safetensors of a run, or a Keras weight file (.weights.h5, .keras, .h5)"
WeightsOpt = Annotated[Path, typer.Option("--weights", help=WEIGHTS_HELP + ".", show_default=False)]
RunWeightsOpt = Annotated[
    str | None,
    typer.Option(
        "--weights",
        help="best or last (a run folder's best.safetensors or weights.safetensors; default: "
        "best when the run has one, else last), or a file: " + WEIGHTS_HELP + ".",
        show_default=False,
    ),
]
AllowExtra = Annotated[
    bool,
    typer.Option(
        "--allow-extra-weights",
        help="Accept layers in a Keras weight file that the model lacks (an ImageNet file "
        "with its top into an include_top: false model).",
    ),
]
SplitOpt = Annotated[
    str | None, typer.Option(help="train, val or test (default: test, else val, else train).")
]


AllowNonfinite = Annotated[
    bool,
    typer.Option("--allow-nonfinite", help="Use data that holds NaN or inf (refused by default)."),
]
Precision = Annotated[
    str | None,
    typer.Option(help="32, bf16 (autocast to bfloat16) or 16-mixed (float16 autocast, CUDA)."),
]
Nproc = Annotated[
    int | None,
    typer.Option(min=1, help="Train on N processes (torch.distributed: gloo, NCCL on GPUs)."),
]
MaxRestarts = Annotated[
    int, typer.Option(min=0, help="With --nproc: restart the workers after a failure, N times.")
]


def data_overrides(
    target: list[str] | None, features: str | None, sample_weight: str | None
) -> list[str]:
    """--target/--features/--sample-weight as `--set data.KEY=VALUE` overrides (so a run
    records them in its spec.yaml); the values as JSON, which YAML reads as written."""
    import json

    sets = []
    if target:
        sets.append(f"data.target={json.dumps(target[0] if len(target) == 1 else target)}")
    if features is not None:
        names = [f.strip() for f in features.split(",") if f.strip()]
        sets.append(f"data.features={json.dumps(names)}")
    if sample_weight is not None:
        sets.append(f"data.sample_weight={json.dumps(sample_weight)}")
    return sets


@contextmanager
def user_errors():
    """Map netspec's user errors to their message on stderr and exit code 1."""
    from netspec.errors import NetspecError

    try:
        yield
    except NetspecError as exc:
        print(str(exc), file=sys.stderr)
        raise typer.Exit(getattr(exc, "exit_code", 1)) from None
