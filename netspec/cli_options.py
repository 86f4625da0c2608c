"""The options several `netspec` commands share (netspec.cli's type aliases)."""

from __future__ import annotations

import sys
from contextlib import contextmanager
from pathlib import Path
from typing import Annotated

import typer

Device = Annotated[str, typer.Option(help="cpu, cuda, cuda:N or auto (CUDA when available).")]
DataOpt = Annotated[
    Path, typer.Option("--data", help=".npz file or directory of .npy files.", show_default=False)
]
WEIGHTS_HELP = "weights.safetensors of a run, or a Keras weight file (.weights.h5, .keras, .h5)"
WeightsOpt = Annotated[Path, typer.Option("--weights", help=WEIGHTS_HELP + ".", show_default=False)]
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


@contextmanager
def user_errors():
    """Map netspec's user errors to their message on stderr and exit code 1."""
    from netspec.errors import NetspecError

    try:
        yield
    except NetspecError as exc:
        print(str(exc), file=sys.stderr)
        raise typer.Exit(getattr(exc, "exit_code", 1)) from None
