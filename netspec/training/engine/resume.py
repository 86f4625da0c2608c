"""`netspec train --resume RUN`: continue, restart or finish a run, whatever stopped it.

Under the folder's lock (lock.py), from the files in the order runs.py writes them:

- no checkpoint yet (stopped before its first, or `checkpoint.every: 0`): train again from
  epoch 0, with the run's spec and data (run.json);
- a finished checkpoint whose final files were not all written (`final_epoch` missing from
  run.json): write them from the checkpoint, no training;
- else continue from the checkpoint.

spec.yaml describes every epoch of the run, so it is never rewritten: `--set` may change only
what does not make the earlier epochs a different run (SAFE_KEYS), and each resume's changes
are recorded in run.json's `resumes` (and applied again by later resumes of the same run).
"""

from __future__ import annotations

from pathlib import Path

from ...errors import NetspecError

# what --resume may change: the length of the run, its callbacks (loggers, the NaN stop) and
# its learning rate
SAFE_KEYS = (
    "train.epochs",
    "train.early_stopping",
    "train.reduce_lr_on_plateau",
    "train.checkpoint",
    "train.terminate_on_nan",
    "train.loggers",
    "compile.optimizer.learning_rate",
)
LEARNING_RATE = "compile.optimizer.learning_rate"


def _key(override: str) -> str:
    return override.partition("=")[0].strip()


def check_overrides(overrides) -> None:
    for text in overrides:
        key = _key(text)
        if not any(key == safe or key.startswith(safe + ".") for safe in SAFE_KEYS):
            raise NetspecError(
                f"--set {text}: --resume may change only train.epochs, train.early_stopping.*, "
                "train.reduce_lr_on_plateau.*, train.checkpoint.* and "
                "compile.optimizer.learning_rate (any other change would no longer describe "
                "the run's earlier epochs); start a new run to change it"
            )


def resumed(held, run: Path, data_path, overrides, device, echo, options):
    """The Trainer that continues (restarts, finishes) the run in `run`, which stays locked
    until `held` (an ExitStack) closes."""
    from ..output.runs import claim_existing, read_info
    from .checkpoint import NAME, read_checkpoint
    from .session import cannot_write

    ranks = options.get("ranks")
    main = ranks is None or ranks.main  # in a data-parallel run, rank 0 alone writes
    if main:
        lock = claim_existing(run)
        held.callback(lock.release)
    overrides = list(overrides)
    check_overrides(overrides)
    info = read_info(run)
    if main:
        with cannot_write(run):
            _restore_spec(run, info, echo)
    if ranks is not None:
        ranks.sum([0.0])  # a barrier: spec.yaml is there before the others read it
    tensors, meta = read_checkpoint(run) if (run / NAME).is_file() else (None, None)
    trainer = _trainer(run, info, meta, data_path, overrides, device, echo, options)
    action = _plan(run, trainer.train_cfg.epochs, meta, info)
    if action != "restart":
        trainer.resume(tensors, meta)  # checks the checkpoint against the spec first
    if not main:
        trainer.run = None
        if action == "finish":
            trainer.finished = True
        return trainer
    with cannot_write(run):
        _record(run, info, trainer.info, meta, overrides, action)
    _announce(run, action, meta, echo)
    if action == "finish":
        from ..output.runs import save_history

        trainer.finished = True  # fit() trains no epoch; runs the end of training only
        with cannot_write(run):  # whole already (written before the checkpoint): cheap to redo
            save_history(run, trainer.history)
    else:
        pending = overrides + _since_checkpoint(info, meta)
        _new_learning_rate(trainer, pending)
    return trainer


def _trainer(run: Path, info: dict, meta, data_path, overrides, device, echo, options):
    """The run's Trainer (not yet at its checkpoint): spec.yaml with the recorded changes and
    `overrides`, the run's data unless `data_path`, its precision and compile unless given."""
    from .session import make_trainer, prepare

    saved = {**info, **(meta or {}).get("info", {})}  # the checkpoint's are the latest
    recorded = [s for entry in info.get("resumes", []) for s in entry.get("set", [])]
    data_path = data_path or saved.get("data")
    if data_path is None:
        raise NetspecError(f"{run}: the run does not record its data: pass --data")
    checks = options.get("checks", {})  # --allow-nonfinite, --max-memory (session.train)
    spec, model, data = prepare(
        run / "spec.yaml", data_path, recorded + overrides, device, **checks
    )
    compile_ = options["compile"]
    options = {
        "precision": options["precision"] or saved.get("precision", "32"),
        "compile": saved.get("compile", False) if compile_ is None else compile_,
        "ranks": options.get("ranks"),
    }
    return make_trainer(model, spec, data, run, echo, options, data_path)


def _restore_spec(run: Path, info: dict, echo) -> None:
    """spec.yaml from run.json, where a kill between the two left none (runs.py's order)."""
    from ..output.runs import save_spec

    if (run / "spec.yaml").is_file():
        return
    if not isinstance(info.get("spec"), str):
        raise NetspecError(
            f"{run}: holds no run to resume (no spec.yaml): train into it with "
            f"`netspec train SPEC --data D --out {run}`"
        )
    save_spec(run, info["spec"])
    echo(f"{run}: spec.yaml restored from run.json (the run was stopped before writing it)")


def _plan(run: Path, epochs: int, meta: dict | None, info: dict) -> str:
    """'restart', 'finish' or 'continue'; refuses a finished run given no more epochs."""
    if meta is None:
        final = info.get("final_epoch")
        if final is not None:
            raise NetspecError(
                f"{run}: the run finished after {final} epochs and keeps no checkpoint "
                "(train.checkpoint.every: 0): it cannot be continued; start a new run"
            )
        return "restart"
    done, planned = meta["epoch"], meta["info"].get("epochs")
    if meta["finished"] and (epochs <= done or epochs == planned):
        if not _final_written(run, info, done):
            return "finish"
        raise NetspecError(
            f"{run}: the run finished after {done} epochs; pass --epochs N with N above "
            f"{done} to train further"
        )
    if epochs < done:
        raise NetspecError(f"{run}: train.epochs {epochs}: the run has trained {done} already")
    return "continue"


def _final_written(run: Path, info: dict, epoch: int) -> bool:
    from ..output.runs import FINAL_FILES

    if info:  # run.json says (its files may be an earlier end's: --epochs extends a run)
        return info.get("final_epoch") == epoch
    return all((run / name).is_file() for name in FINAL_FILES)  # a run from before run.json


def _record(run, info: dict, saved: dict, meta, overrides, action: str) -> None:
    """This resume in run.json's `resumes`, before it trains (a kill during it resumes with
    the same changes)."""
    from ..output.runs import write_info
    from .session import now

    base = info or {k: saved[k] for k in ("data", "precision", "compile") if k in saved}
    entry = {"at": now(), "from_epoch": meta["epoch"] if meta else 0, "action": action}
    entry["set"] = overrides
    write_info(run, {**base, "resumes": [*base.get("resumes", []), entry]})


def _announce(run: Path, action: str, meta, echo) -> None:
    if action == "restart":
        echo(f"{run}: no checkpoint yet (stopped before its first): training again from epoch 1")
    elif action == "finish":
        echo(
            f"{run}: the run had finished ({meta['epoch']} epochs) without writing all its "
            "final files: writing them from the checkpoint"
        )


def _since_checkpoint(info: dict, meta) -> list[str]:
    """The changes of earlier resumes made since the checkpoint (not saved in it yet)."""
    epoch = meta["epoch"] if meta else 0
    return [
        s for e in info.get("resumes", []) if e.get("from_epoch") == epoch for s in e.get("set", [])
    ]


def _new_learning_rate(trainer, overrides: list[str]) -> None:
    """A constant learning rate changed by --set: the checkpoint restored the old one into the
    optimizer (a schedule sets each step's rate itself)."""
    cfg = trainer.opt_cfg
    if cfg.schedule is None and any(_key(o).startswith(LEARNING_RATE) for o in overrides):
        for group in trainer.optimizer.param_groups:
            group["lr"] = float(cfg.learning_rate)
