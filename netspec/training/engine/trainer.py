"""Keras's `fit` as a small trainer (torch imported here).

Each step: the learning rate of the step (a schedule's value at Keras's `iterations`),
forward (under autocast with `precision` bf16 or 16-mixed), the compiled loss (sample and class
weights included) plus the model's penalties, backward, Keras's gradient clipping, the
optimizer step, the constraints, TerminateOnNaN's check (callbacks.NanWatch, no host sync).
Each epoch: the loss (and each output's, with several losses), the metrics, the validation
pass, then the callbacks in Keras's order (ReduceLROnPlateau, EarlyStopping, ModelCheckpoint:
best.safetensors and the `keep` best) and the resumable checkpoint, so a run resumed from a
checkpoint continues exactly as the uninterrupted run (CPU, same seed).
"""

from __future__ import annotations

import contextlib
import math
import time
from collections.abc import Callable
from pathlib import Path

import numpy as np
import torch

from ...errors import NetspecError
from ..output.progress import NoProgress
from ..spec.monitor import Monitor, float32, history_keys, maximize
from .batches import Batches, model_device, preds_of
from .callbacks import EarlyStopping, ModelCheckpoint, NanWatch, NonFiniteLoss
from .compiled import NO_TRAINABLE, class_weighted, compile_spec
from .data import Split, holdout
from .distributed import data_parallel
from .hooks import Callback, CallbackList
from .loop import evaluate, train_settings

PRECISIONS = ("32", "bf16", "16-mixed")


class Precision:
    """`32` (float32), `bf16` (autocast to bfloat16, CPU or CUDA) or `16-mixed` (autocast to
    float16 with a gradient scaler; CUDA only, as PyTorch's float16 autocast needs it)."""

    def __init__(self, name: str, device: torch.device):
        if name not in PRECISIONS:
            raise NetspecError(f"--precision {name}: expected one of {', '.join(PRECISIONS)}")
        if name == "16-mixed" and device.type != "cuda":
            raise NetspecError("--precision 16-mixed needs a CUDA device; use bf16 on the CPU")
        self.name, self.device = name, device
        self.dtype = {"bf16": torch.bfloat16, "16-mixed": torch.float16}.get(name)
        self.scaler = torch.amp.GradScaler("cuda") if name == "16-mixed" else None

    def autocast(self):
        if self.dtype is None:
            return contextlib.nullcontext()
        return torch.autocast(self.device.type, dtype=self.dtype)


class Trainer:
    """One training run of `model` on `data` as `spec.compile` and `spec.train` say."""

    def __init__(self, model, spec, data, *, run=None, progress=None, precision="32",
                 compile=False, warn=print, data_path=None, ranks=None,
                 callbacks=None):  # fmt: skip
        self.params = [p for p in model.parameters() if p.requires_grad]
        if not self.params:  # torch's optimizer: "got an empty parameter list"
            raise NetspecError(NO_TRAINABLE)
        self.compile_cfg, self.train_cfg = train_settings(spec)
        self.model, self.spec, self.run = model, spec, Path(run) if run else None
        self.graph, self.data_path = spec.graph, data_path
        self.train_data, self.val = self._splits(data, warn)
        self.compiled = compile_spec(spec, [a.shape for a in self.train_data.y])
        shapes = [(None, *s) for s in self.graph.output_shapes()]
        self.compiled.check(shapes, self.train_data.y, data_path)
        self.device = model_device(model)
        self.batches = Batches(self.train_data, self.graph, self.device, self.train_cfg.batch_size)
        self.opt_cfg = self.compile_cfg.optimizer
        self._schedule, self._loss_scale = self.opt_cfg.schedule, self.opt_cfg.loss_scale_factor
        # Keras's weight paths (`dense/kernel`), which Muon's exclusion rules read
        names = [
            n.removeprefix("layers.").replace(".", "/")
            for n, p in model.named_parameters()
            if p.requires_grad
        ]
        self.optimizer = self.opt_cfg.make(self.params, names=names)
        self.precision = Precision(precision, self.device)
        self.ranks = ranks if ranks is not None and ranks.world > 1 else None
        forward = model if self.ranks is None else data_parallel(model, self.device)
        self.forward = torch.compile(forward) if compile else forward
        self.progress = progress if progress is not None else NoProgress()
        # fixed for the run: checked once, not per step (and the schedule, the loss scale above)
        self._penalties, self._constraints = model.has_losses, model.has_constraints
        self._autocast = self.precision.dtype is not None
        self._parts = bool(self.compiled.loss_names)
        seed = self.train_cfg.seed
        if self.ranks is not None:  # one shuffled order on every rank; dropout of its own
            drawn = int(np.random.default_rng().integers(2**62))
            seed = self.ranks.broadcast(drawn if seed is None else seed)
            torch.manual_seed(seed + self.ranks.rank)
        elif seed is not None:
            torch.manual_seed(seed)
        self.rng = np.random.default_rng(seed)
        self.epoch, self.step, self.history = 0, 0, {}
        self.finished = False
        # told the final History as soon as the last epoch has ended (the session starts
        # curves.png's drawing on the helper then, beside the last checkpoint's writing)
        self.on_finish: Callable[[dict], None] | None = None
        self.info: dict = {}  # saved with each checkpoint (the data path, precision)
        self.hooks = CallbackList(callbacks)
        # per-step calls only when a callback wants them (the loop stays as lean as before)
        self._batch_hooks = any(
            type(c).on_train_batch_end is not Callback.on_train_batch_end
            for c in self.hooks.callbacks
        )
        self._callbacks()

    def _splits(self, data: dict[str, Split], warn) -> tuple[Split, Split | None]:
        if "train" not in data or not data["train"].y:
            raise NetspecError("the data has no training inputs and labels (x and y)")
        fraction = self.train_cfg.validation_split
        if "val" in data:
            if fraction:  # Keras ignores validation_split when validation_data is given
                warn(f"warning: validation_split {fraction} ignored: the data has x_val/y_val")
            train, val = data["train"], data.get("val")
        else:
            train, val = holdout(data["train"], fraction)
        weights = self.train_cfg.class_weight
        if weights is not None:  # training only: Keras weighs no validation data by class
            train = class_weighted(train, self.spec, weights, self.data_path)
        return train, val

    def _callbacks(self) -> None:
        cfg = self.train_cfg
        names = [name for name, _, _ in self.compiled.metrics]
        plateau = cfg.reduce_lr_on_plateau
        extra = ("learning_rate",) * bool(plateau)
        keys = history_keys(names, self.val is not None, extra, self.compiled.loss_outputs)
        ups = self.compiled.directions

        def up(owner: str, monitor: str, mode: str) -> bool:
            # validation checked the rest of every monitor; validation data comes with the data
            if self.val is None and monitor.startswith("val_"):
                raise NetspecError(
                    f"{self.data_path or 'the data'}: has no validation data (x_val/y_val) and "
                    f"train.validation_split is 0, so train.{owner}.monitor '{monitor}' would "
                    "never be reported; add them or set train.validation_split"
                )
            return maximize(monitor, mode, keys, ups, f"train.{owner}")

        self.plateau = None
        if plateau is not None:  # validation refused it with a schedule
            from ..spec.plateau import Plateau

            up("reduce_lr_on_plateau", plateau.monitor, plateau.mode)  # checks the name
            self.plateau = Plateau(plateau, ups)
        stop = cfg.early_stopping
        self.stopper: EarlyStopping | None = None
        if stop is not None:
            maximise = up("early_stopping", stop.monitor, stop.mode)
            self.stopper = EarlyStopping(stop, maximise, self.model)
        self.best: ModelCheckpoint | None = None  # no min_delta, as Keras's
        best, monitor = cfg.checkpoint, None
        if best.monitor is not None:
            monitor = Monitor(best.monitor, up("checkpoint", best.monitor, best.mode))
        elif stop is not None and self.stopper is not None:
            monitor = Monitor(stop.monitor, self.stopper.monitor.up)
        if monitor is not None:
            self.best = ModelCheckpoint(monitor, self.model, self.run, best.keep,
                                        best.restore_best_weights)  # fmt: skip
        # per step only when on; a data-parallel run checks the epoch's summed loss (its ranks
        # must stop at the same step)
        on = cfg.terminate_on_nan and self.ranks is None
        self.nan_watch = NanWatch(self.device) if on else None

    # -- the loop ---------------------------------------------------------------------------

    def fit(self) -> dict[str, list[float]]:
        """Train from `self.epoch` to `train.epochs`; returns Keras's History dict."""
        epochs = self.train_cfg.epochs
        if self.best is not None:
            self.best.run = self.run  # the session sets the run folder after __init__
        self.hooks.on_train_begin(self)
        bad: int | None = None
        while self.epoch < epochs and not self.finished:
            logs, rate, bad = self._epoch()
            stop = self._epoch_end(logs)
            self.hooks.on_epoch_end(self, self.epoch, logs)
            self.progress.end_epoch(self.epoch, logs, rate)
            if bad is not None:  # the history with this epoch; the checkpoint stays before it
                self._save_history()
                break
            self.epoch += 1
            self.finished = stop or self.epoch >= epochs
            if self.finished and self.on_finish is not None:
                self.on_finish(self.history)
            self._checkpoint()
        # Keras's finalize_variable_values (use_ema: the averages become the weights), before
        # EarlyStopping's restore_best_weights, as in Keras's fit
        self.optimizer.finalize()
        if self.stopper is not None:
            if self.stopper.stopped_epoch:
                self.progress.message(f"Epoch {self.stopper.stopped_epoch + 1}: early stopping")
            self.stopper.on_train_end()
        if self.best is not None:
            self.best.on_train_end()
        self.model.eval()
        self.hooks.on_train_end(self)
        if bad is not None:
            raise NonFiniteLoss(self.epoch, bad, self.run, self.history)
        return self.history

    def _epoch(self) -> tuple[dict[str, float], float, int | None]:
        began = time.perf_counter()
        self.model.train()
        self.compiled.reset()
        self.progress.start_epoch(self.epoch)
        n = len(self.train_data)
        order = self.rng.permutation(n) if self.train_cfg.shuffle else None
        total = torch.zeros((), dtype=torch.float64, device=self.device)
        names = self.compiled.loss_names  # each output's loss: Keras 3 with several losses
        parts = torch.zeros(len(names), dtype=torch.float64, device=self.device)
        seen, watch = 0, self.nan_watch
        if watch is not None:
            watch.reset()
        running = lambda: self._running(total, parts, seen)  # noqa: E731 (one for the epoch)
        step, progress, update = self._step, self.progress.step, self.compiled.update
        hooks = self.hooks if self._batch_hooks else None
        for index, (xs, ys, sws, rows, factor, batch) in enumerate(self._batches(order)):
            loss, preds, terms = step(xs, ys, sws, factor)
            if hooks is not None:
                hooks.on_train_batch_end(self, loss)
            if rows:  # one kernel each: float64 += rows * loss (the promotion is exact)
                total.add_(loss, alpha=rows)
                if terms is not None:  # Keras's per-output Mean, weighted by the batch size
                    parts.add_(terms, alpha=rows)
                seen += rows
                update(preds, ys, sws)
            # rank 0's running values (the epoch's are every rank's), the global batch's size
            progress(batch, None, running)
            if watch is not None and watch.add(index, loss):
                break  # TerminateOnNaN: Keras ends the epoch there (and still validates)
        if self.ranks is not None:  # the epoch over every rank's share
            summed = self.ranks.sum([float(total), seen, *parts.tolist()])
            total, seen = torch.tensor(summed[0], dtype=torch.float64), int(summed[1])
            parts = torch.tensor(summed[2:], dtype=torch.float64)
            self.compiled.sync(self.ranks.sum)
        logs = self._running(total, parts, seen)
        bad = self._non_finite(watch, logs["loss"])
        if self.val is not None:
            forward = self.forward if self.ranks is None else self.model
            val = evaluate(self.model, self.spec, self.val, self.compiled, forward=forward,
                           precision=self.precision, ranks=self.ranks)  # fmt: skip
            logs |= {f"val_{k}": v for k, v in val.items()}
        return logs, seen / max(time.perf_counter() - began, 1e-9), bad

    def _non_finite(self, watch: NanWatch | None, loss: float) -> int | None:
        """The epoch's first batch with a non-finite loss, when TerminateOnNaN stops (-1: a
        data-parallel run, which checks the epoch's loss)."""
        if not self.train_cfg.terminate_on_nan:
            return None
        if watch is not None:
            return watch.flush()
        return None if math.isfinite(loss) else -1

    def _running(self, total, parts, seen: int) -> dict[str, float]:
        """The epoch's logs so far (a device sync: the progress bar calls it when it redraws)."""
        logs = {"loss": float(total) / max(seen, 1)}
        logs |= dict(zip(self.compiled.loss_names, (parts / max(seen, 1)).tolist(), strict=True))
        return logs | self.compiled.results()

    def _batches(self, order):
        """(xs, ys, sws, rows, loss factor, batch size) of each step (or of the rank's share)."""
        if self.ranks is not None:
            yield from self.batches.shares(order, self.ranks)
            return
        for xs, ys, sws in self.batches.iterate(order):
            rows = len(xs[0])
            yield xs, ys, sws, rows, None, rows

    def _step(self, xs, ys, sws, factor=None):
        """One step: (the loss, detached; the predictions; the outputs' losses stacked or None)."""
        if self._schedule is not None:
            lr = self._schedule(self.step)
            for group in self.optimizer.param_groups:
                group["lr"] = lr
        if self._autocast:
            with self.precision.autocast():
                loss, preds, terms = self._forward(xs, ys, sws)
        else:
            loss, preds, terms = self._forward(xs, ys, sws)
        self.optimizer.zero_grad(set_to_none=True)
        # a rank's share: its mean loss weighted so that DDP's mean is the global batch's (Keras's
        # scale_loss: times loss_scale_factor; the optimizer's step divides the gradients back)
        scaled = loss if self._loss_scale is None else loss * self._loss_scale
        scaled = scaled if factor is None else scaled * factor
        scaler = self.precision.scaler
        if scaler is None:
            scaled.backward()
            self.optimizer.step()
        else:
            scaler.scale(scaled).backward()
            scaler.unscale_(self.optimizer)
            scaler.step(self.optimizer)
            scaler.update()
        if self._constraints:
            self.model.apply_constraints()
        self.step += 1
        parts = torch.stack([t.detach().float() for t in terms]) if self._parts else None
        return loss.detach(), preds, parts

    def _forward(self, xs, ys, sws):
        """(the loss with the penalties, the predictions detached, each output's loss)."""
        preds = preds_of(self.forward(*xs))
        terms = self.compiled.terms(preds, ys, sws)
        loss = self.compiled.total(terms)
        if self._penalties:
            loss = loss + self.model.losses()
        return loss, [p.detach() for p in preds], terms

    def _epoch_end(self, logs: dict[str, float]) -> bool:
        """Record the epoch; run the callbacks; whether to stop."""
        if self.plateau is not None:
            lr = self.optimizer.param_groups[0]["lr"]
            # Keras's ReduceLROnPlateau logs the rate of the epoch (its float32 variable)
            logs["learning_rate"] = float32(lr)
            new = self.plateau.on_epoch_end(logs, lr)
            if new != lr:
                for group in self.optimizer.param_groups:
                    group["lr"] = new
                self.progress.message(
                    f"Epoch {self.epoch + 1}: ReduceLROnPlateau reducing learning rate "
                    f"to {new:.6g}."
                )
        for key, value in logs.items():
            self.history.setdefault(key, []).append(value)
        stop = self.stopper.on_epoch_end(self.epoch, logs) if self.stopper else False
        if self.best is not None:
            self.best.on_epoch_end(self.epoch, logs)
        return stop

    # -- checkpoints ------------------------------------------------------------------------

    def _checkpoint(self) -> None:
        """The history every `checkpoint.every` epochs and at the end (with `every: 0` at the
        end only), each time with the checkpoint that resumes from it (none with `every: 0`)."""
        every = self.train_cfg.checkpoint.every
        if self.run is None or not (self.finished or (every and self.epoch % every == 0)):
            return
        from .checkpoint import save_checkpoint

        self._save_history()
        if every:
            best = self.stopper.best_weights if self.stopper else None
            save_checkpoint(self.run, self.model, self.optimizer, self.state_dict(), best)

    def _save_history(self) -> None:
        if self.run is not None:
            from ..output.runs import save_history

            save_history(self.run, self.history)

    def state_dict(self) -> dict:
        """The JSON side of the checkpoint."""
        scaler = self.precision.scaler
        return {
            "info": self.info,
            "epoch": self.epoch,
            "step": self.step,
            "finished": self.finished,
            "history": self.history,
            "shuffle_rng": self.rng.bit_generator.state,
            "early_stopping": self.stopper.state_dict() if self.stopper else None,
            "reduce_lr_on_plateau": self.plateau.state_dict() if self.plateau else None,
            "best": self.best.state_dict() if self.best else None,
            "scaler": scaler.state_dict() if scaler is not None else None,
        }

    def resume(self, tensors: dict, meta: dict) -> None:
        """Continue from a checkpoint (`checkpoint.read_checkpoint`)."""
        from .checkpoint import NAME, restore

        source = self.run / NAME if self.run is not None else None
        best_weights = restore(tensors, meta, self.model, self.optimizer, source)
        self.epoch, self.step, self.history = meta["epoch"], meta["step"], meta["history"]
        self.rng.bit_generator.state = meta["shuffle_rng"]
        if self.stopper is not None and meta.get("early_stopping"):
            self.stopper.load_state_dict(meta["early_stopping"], best_weights)
        if self.plateau is not None and meta.get("reduce_lr_on_plateau"):
            self.plateau.load_state_dict(meta["reduce_lr_on_plateau"])
        if self.best is not None and meta.get("best"):
            self.best.run = self.run
            self.best.load_state_dict(meta["best"])
        if self.precision.scaler is not None and meta.get("scaler"):
            self.precision.scaler.load_state_dict(meta["scaler"])
        self.finished = False  # more epochs than the checkpoint's run (the caller checked)
