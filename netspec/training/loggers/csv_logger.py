"""Keras's CSVLogger callback (keras/src/callbacks/csv_logger.py), written as Keras writes it."""

from __future__ import annotations

import collections
import csv
from typing import Any

from ..engine.hooks import Callback
from . import resolve


class CSVLogger(Callback):
    """One row per epoch: `epoch` (from 0) then the first epoch's log keys, sorted; when they
    hold no `val_` key, Keras adds a `val_` column for each, filled with NA. The csv module's
    excel dialect with `separator` (so lines end with \\r\\n, as Keras's). A resumed run
    appends; a header is written only to an empty file."""

    def __init__(self, cfg):
        self.cfg = cfg
        self.file: Any = None
        self.writer: csv.DictWriter | None = None
        self.keys: list[str] | None = None
        self.header = True

    def on_train_begin(self, trainer: Any) -> None:
        path = resolve(trainer, self.cfg.filename)
        mode = "w"
        if self.cfg.append or trainer.epoch > 0:
            if path.exists():
                with path.open() as f:
                    self.header = not f.readline()
            mode = "a"
        self.file = path.open(mode)
        self.writer, self.keys = None, None

    def on_epoch_end(self, trainer: Any, epoch: int, logs: dict[str, float]) -> None:
        if self.keys is None:
            self.keys = sorted(logs)
            if self.keys and not any(k.startswith("val_") for k in self.keys):
                self.keys += [f"val_{k}" for k in self.keys]
        if self.writer is None:
            sep = self.cfg.separator

            class Dialect(csv.excel):
                delimiter = sep

            self.writer = csv.DictWriter(self.file, ["epoch", *self.keys], dialect=Dialect)
            if self.header:
                self.writer.writeheader()
        row: dict[str, Any] = collections.OrderedDict({"epoch": epoch})
        row.update((k, logs.get(k, "NA")) for k in self.keys)
        self.writer.writerow(row)
        self.file.flush()

    def on_train_end(self, trainer: Any) -> None:
        if self.file is not None and not self.file.closed:
            self.file.close()
        self.writer = None
