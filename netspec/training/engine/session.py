"""What the `train`, `evaluate` and `predict` commands do, below the CLI's parsing."""

from __future__ import annotations

import contextlib
import time
from functools import partial
from pathlib import Path

from ... import heap
from ...errors import NetspecError
from ..spec.overrides import load_with_overrides
from .data import load_data


class Interrupted(NetspecError):
    """Ctrl-C during training: the last checkpoint stays; exit code 130, as a shell's."""

    exit_code = 130

    def __init__(self, run: Path, epoch: int):
        super().__init__(
            f"interrupted during epoch {epoch + 1}; the run keeps its last checkpoint (if any): "
            f"continue with `netspec train --resume {run}`"
        )


def prepare(
    spec_path, data_path, overrides=(), device="auto", *, labels=True, allow_nonfinite=False,
    max_memory=None, training=False, declared_weights=True,
):  # fmt: skip
    """(spec, model, data): the spec with its overrides, the data checked against it, the
    model built with the train seed. With `labels` (train, evaluate) the spec must have
    compile.loss (checked before the data, whose labels are checked against it); without
    (predict) the labels are left out. One batch of train.batch_size (trained when
    `training`) must fit `max_memory` (compiler.check_budget), checked before the data is read;
    NaN and infinities in the data are refused unless `allow_nonfinite`."""
    from ...compiler import check_budget
    from ..spec.sections import TrainSpec
    from .compiled import require_loss, require_trainable

    spec = load_with_overrides(spec_path, list(overrides))
    if labels:
        require_loss(spec)
    if training:
        require_trainable(spec)
    batch_size = (spec.train or TrainSpec()).batch_size
    check_budget(spec.graph, max_memory, batch_size, training)
    # The data is read and checked beside the build, whose first step imports torch (about a
    # second of one core): reading, CRC and the checks run mostly outside the GIL (file reads,
    # zlib, numpy's loops), so a file not in the page cache costs the import's time, not its
    # own (0.5-0.9 s less for the 180 MB MLP benchmark data read from disk). A data error is
    # still the one reported when both fail, as when the data came first; it now comes after
    # torch's import, about a second later than before.
    reading = _Background(
        load_data, data_path, spec, labels=labels, allow_nonfinite=allow_nonfinite
    )
    from ...compiler import build

    seed = spec.train.seed if spec.train is not None else None
    try:
        # The spec's own `weights:` (and its nested models'), unless the caller loads others.
        model = build(spec, device=device, seed=seed, max_memory=max_memory,
                      declared_weights=declared_weights)  # fmt: skip
    except KeyboardInterrupt:
        raise  # not waiting for the data: the reading thread ends with the process
    except BaseException:
        reading.result()  # its error first, as before
        raise
    return spec, model, reading.result()


class _Background:
    """`fn(*args, **kwargs)` run in a thread; `result()` waits and returns it or raises its
    error in the caller's thread."""

    def __init__(self, fn, *args, **kwargs):
        import threading

        self._out: tuple = ()
        self._thread = threading.Thread(
            target=self._run, args=(fn, args, kwargs), name="netspec-data", daemon=True
        )
        self._thread.start()

    def _run(self, fn, args, kwargs) -> None:
        try:
            self._out = (fn(*args, **kwargs), None)
        except BaseException as exc:  # noqa: BLE001 - handed to the caller's thread
            self._out = (None, exc)

    def result(self):
        self._thread.join()
        value, error = self._out
        if error is not None:
            raise error
        return value


def train(
    spec_path,
    data_path,
    out=None,
    overrides=(),
    device="auto",
    echo=print,
    *,
    resume=None,
    precision=None,
    compile=None,
    live=False,
    allow_nonfinite=False,
    max_memory=None,
    init_weights=None,
    allow_extra=False,
):
    """Train (or continue the run `resume`); returns (run folder, history). `echo` gets the
    per-epoch lines and messages; `live` shows rich progress bars instead of the lines. The run
    folder is locked (lock.py) from before it is checked until its last file is written.
    `init_weights`: a weights file (runs.load_weights) a new run starts from."""
    from ..output.plot_worker import CurvesWriter

    if resume is None and out is not None and _restarted(Path(out)):
        resume, out = Path(out), None  # an elastic restart continues the run it started
    if init_weights is not None and resume is not None:
        raise NetspecError(
            "--init-weights and --resume: a resumed run continues from its checkpoint"
        )
    from . import distributed

    ranks = distributed.start(device)  # launched by torchrun / --nproc: one rank of several
    if ranks is not None:
        device, live = ranks.device, live and ranks.main
        echo = echo if ranks.main else _silent
    options = {"precision": precision, "compile": compile, "ranks": ranks}
    options["init"] = (init_weights, allow_extra)
    # the checks of prepare(): to train, one batch's memory, the data's values
    options["checks"] = {"allow_nonfinite": allow_nonfinite, "max_memory": max_memory}
    options["checks"]["training"] = True
    with CurvesWriter() as curves, contextlib.ExitStack() as held, _peers(ranks):
        if ranks is not None:  # the group's threads end before the interpreter does
            held.callback(distributed.stop)
        if resume is not None:
            from .resume import resumed

            trainer = resumed(held, Path(resume), data_path, overrides, device, echo, options)
        else:
            trainer = _started(held, spec_path, data_path, out, overrides, device, echo, options)
        return trainer.run, _fit(trainer, echo, live, curves)


@contextlib.contextmanager
def _peers(ranks):
    """A rank that loses the others (one died, or was killed) stops with one line, not the
    process group's traceback; the launcher names the rank that failed."""
    try:
        yield
    except RuntimeError as exc:
        text = str(exc)
        if ranks is None or not any(w in text for w in ("gloo", "NCCL", "Connection", "peer")):
            raise
        raise NetspecError(
            f"rank {ranks.rank}: lost the other processes ({text.splitlines()[0][:200]})"
        ) from None


def _restarted(out: Path) -> bool:
    """Whether torchrun restarted this worker (`--max-restarts`) after its run began."""
    import os

    again = int(os.environ.get("TORCHELASTIC_RESTART_COUNT", "0")) > 0
    return again and (out / "run.json").is_file()


def _silent(*_args, **_kwargs) -> None:
    """The echo of a rank other than 0: rank 0 alone prints."""


def _started(held, spec_path, data_path, out, overrides, device, echo, options):
    """The Trainer of a new run, its folder claimed (locked) only once the spec, the data and
    the model are set up: an error before that writes nothing. run.json then spec.yaml first,
    so an interrupted run can resume (runs.py)."""
    from ..output.runs import claim_new, save_spec, spec_text, write_info

    if data_path is None:
        raise NetspecError("--data is required (except with --resume)")
    declared = options["init"][0] is None
    spec, model, data = prepare(
        spec_path, data_path, overrides, device, declared_weights=declared, **options["checks"]
    )
    if options["init"][0] is not None:
        from ..output.runs import load_weights

        load_weights(model, options["init"][0], graph=spec.graph, allow_extra=options["init"][1])
    ranks = options["ranks"]
    options = {"precision": options["precision"] or "32", "compile": bool(options["compile"]),
               "ranks": ranks}  # fmt: skip
    trainer = make_trainer(model, spec, data, None, echo, options, data_path)
    from .adapt import adapt_trainer

    adapt_trainer(trainer)  # Keras's Normalization.adapt(), for a new run only
    if ranks is not None and not ranks.main:
        return trainer  # rank 0 alone writes the run folder
    path, lock = claim_new(out, spec.name)
    held.callback(lock.release)
    trainer.run = path
    text = spec_text(spec)
    with cannot_write(path):
        write_info(path, {**trainer.info, "spec": text, "started": now(), "resumes": []})
        save_spec(path, text)
    return trainer


def now() -> str:
    return time.strftime("%Y-%m-%dT%H:%M:%S%z")


def make_trainer(model, spec, data, path, echo, options, data_path):
    from ..loggers import make_loggers
    from .trainer import Trainer

    loggers = make_loggers(spec, options.get("ranks"))  # train.loggers; none on ranks > 0
    trainer = Trainer(model, spec, data, run=path, warn=echo, data_path=data_path,
                      callbacks=loggers, **options)  # fmt: skip
    epochs = spec.train.epochs if spec.train is not None else 1
    # saved with each checkpoint: what --resume needs besides spec.yaml, and the planned epochs
    # (a finished checkpoint with as many planned is finished, not to be trained further)
    kept = {k: v for k, v in options.items() if k != "ranks"}
    trainer.info = {"data": str(Path(data_path).resolve()), **kept, "epochs": epochs}
    return trainer


@contextlib.contextmanager
def cannot_write(run: Path):
    """A failed write (disk full, read-only, no permission) as one line naming the file; the
    files written before it are whole (atomic writes), so the run can be continued."""
    from ..output.atomic import CannotWrite

    try:
        yield
    except CannotWrite as exc:
        raise NetspecError(
            f"{exc.filename}: cannot write: {exc.strerror}; the files written before are intact"
            f" (continue with `netspec train --resume {run}` once it can be written)"
        ) from None


def _fit(trainer, echo, live, curves=None):
    from ..output.progress import EpochProgress
    from ..output.runs import save_run

    train = trainer.train_cfg
    progress = EpochProgress(
        train.epochs, len(trainer.train_data), train.batch_size, live=live, echo=echo,
        start_epoch=trainer.epoch,
    )  # fmt: skip
    trainer.progress = progress
    if curves is not None and trainer.run is not None:  # drawn while the last files are written
        trainer.on_finish = partial(curves.draw, title=trainer.spec.name)
    heap.settle()  # set-up done: the loop's garbage is collected (netspec.heap)
    with cannot_write(trainer.run):
        try:
            with progress:
                history = trainer.fit()
        except KeyboardInterrupt:
            raise Interrupted(trainer.run, trainer.epoch) from None
        if trainer.run is not None:  # None on a rank other than 0
            save_run(trainer.run, trainer.model, trainer.spec, history, curves, trainer.epoch)
    return history


def _split(data, split: str | None, data_path):
    if split is None:  # the test split, else val, else train
        split = next(s for s in ("test", "val", "train") if s in data)
    if split not in data:
        raise NetspecError(f"{data_path}: no {split} split (found: {', '.join(data)})")
    return data[split]


def evaluate(
    spec_path, weights, data_path, split=None, device="auto", allow_nonfinite=False,
    allow_extra=False, overrides=(),
):  # fmt: skip
    """Keras's evaluate: the loss and metrics of `weights` on `data_path`. `spec_path` may be a
    run folder (sources.runs: its spec, `weights` best/last/None or a file, its data)."""
    from ..output.runs import load_weights
    from ..sources.runs import resolve
    from .loop import evaluate as run

    spec_path, weights, data_path, recorded = resolve(spec_path, weights, data_path)
    spec, model, data = prepare(
        spec_path, data_path, [*recorded, *overrides], device, allow_nonfinite=allow_nonfinite,
        declared_weights=False,
    )  # fmt: skip
    load_weights(model, weights, graph=spec.graph, allow_extra=allow_extra)
    part = _split(data, split, data_path)
    if not part.y:
        raise NetspecError(f"{data_path}: no labels (y) to evaluate against")
    heap.settle()
    return run(model, spec, part)


def predict(
    spec_path, weights, data_path, output: Path, split=None, device="auto", allow_nonfinite=False,
    allow_extra=False, overrides=(),
) -> None:  # fmt: skip
    """Keras's predict, written to `output` by its extension (sources.writers: .npz, .npy,
    .csv, .parquet), which is checked before anything is read. `spec_path` may be a run
    folder, as for evaluate."""
    from ..output.atomic import write_atomic
    from ..output.runs import load_weights
    from ..sources.runs import resolve
    from ..sources.writers import FORMATS, check_output, encode
    from .data import key_names
    from .loop import predict as run

    output = Path(output)
    if output.suffix.lower() not in FORMATS:  # before the spec is even read
        check_output(output, [], [])
    if not output.parent.is_dir():  # checked first; not created: a typo would go unnoticed
        raise NetspecError(f"{output}: no such directory: {output.parent}")
    spec_path, weights, data_path, recorded = resolve(spec_path, weights, data_path)
    spec, model, data = prepare(
        spec_path, data_path, [*recorded, *overrides], device, labels=False,
        allow_nonfinite=allow_nonfinite, declared_weights=False,
    )  # fmt: skip
    names = key_names("y", [str(r) for r in spec.graph.outputs], "train")
    check_output(output, names, spec.graph.output_shapes())
    load_weights(model, weights, graph=spec.graph, allow_extra=allow_extra)
    heap.settle()
    preds = run(model, spec, _split(data, split, data_path))
    try:
        write_atomic(output, encode(output, names, preds))
    except OSError as exc:  # a directory of that name, no permission, disk full
        raise NetspecError(f"{output}: cannot write predictions: {exc.strerror}") from None
