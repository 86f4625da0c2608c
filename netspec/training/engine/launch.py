"""`netspec train --nproc N`: the same command on N worker processes, started by
torch.distributed's elastic launcher (the library behind torchrun; imported when called).

The workers run `python -m netspec train ...` with this command's other arguments; each finds
its rank in its environment (distributed.start). The run folder is fixed here, before the
workers start (`--out`, or a new `runs/NAME-TIME`), so that an elastic restart
(`--max-restarts`) continues the same run from its last checkpoint instead of starting
another."""

from __future__ import annotations

import logging
import os
import sys
import uuid
from pathlib import Path

from ...errors import NetspecError

LAUNCHER_OPTIONS = ("--nproc", "--max-restarts")


def worker_args(argv: list[str]) -> list[str]:
    """The command line without the launcher's own options."""
    out: list[str] = []
    skip = False
    for arg in argv:
        if skip:
            skip = False
            continue
        if arg in LAUNCHER_OPTIONS:
            skip = True
            continue
        if any(arg.startswith(f"{o}=") for o in LAUNCHER_OPTIONS):
            continue
        out.append(arg)
    return out


def launch(nproc: int, max_restarts: int, argv: list[str], spec, data, out, resume) -> None:
    """Run `argv` (this process's command line after `netspec`) on `nproc` workers."""
    if "train" not in argv:
        raise NetspecError("--nproc: run it from the command line (netspec train ... --nproc N)")
    args = worker_args(argv)
    if resume is None:  # what every worker would refuse, said once, before they start
        from ...loader import load

        name = load(spec).spec.name
        if data is not None and not Path(data).exists():
            raise NetspecError(f"{data}: no such file or directory")
        if out is None:  # the folder every (re)start of the workers uses
            from ..output.lock import create_default

            args += ["--out", str(create_default(Path("runs"), name))]
    if "OMP_NUM_THREADS" not in os.environ:  # the cores shared by the workers, as torchrun
        os.environ["OMP_NUM_THREADS"] = str(max(1, (os.cpu_count() or 1) // nproc))
    _run(nproc, max_restarts, args)


def _run(nproc: int, max_restarts: int, args: list[str]) -> None:
    from torch.distributed.elastic.multiprocessing.errors import ChildFailedError
    from torch.distributed.launcher.api import LaunchConfig, elastic_launch

    # its own log of the failure (an error line per rank) is the message below, in one line
    logging.getLogger("torch.distributed.elastic").setLevel(logging.CRITICAL)
    config = LaunchConfig(
        min_nodes=1, max_nodes=1, nproc_per_node=nproc, run_id=str(uuid.uuid4()),
        rdzv_backend="c10d", rdzv_endpoint="localhost:0", max_restarts=max_restarts,
        monitor_interval=0.1,
    )  # fmt: skip
    try:
        elastic_launch(config, sys.executable)("-m", "netspec", *args)
    except ChildFailedError as exc:
        rank, failure = exc.get_first_failure()
        code = failure.exitcode
        how = f"was killed by signal {-code}" if code < 0 else f"exited with code {code}"
        raise NetspecError(
            f"training stopped: rank {rank} {how} (its message, if any, is above); the other "
            "ranks were stopped. The run keeps its last checkpoint: continue it with "
            "--resume (and --max-restarts N restarts the workers by itself)"
        ) from None
