"""What training shows while it runs: Keras's `fit(verbose=1)` on a terminal, one line per epoch
elsewhere (rich imported only when a live display is asked for).

Live, each epoch gets a rich bar line, `Epoch 3/10 ━━━━━━━━━━ 41/100 0:00:02 1,234 samples/s
loss: 0.1234 - accuracy: 0.9000`, with the time left in the epoch while it runs; when the epoch
ends the line stays, showing the epoch's elapsed time and its final logs (the `val_` entries
included), and the next epoch starts a new line. Without a live display `end_epoch` hands one
`epoch_line` to `echo`: `Epoch 1/5 - loss: 0.1234 - accuracy: 0.9000 - 1,234 samples/s`.
"""

from __future__ import annotations

import math
import time
from collections.abc import Callable, Mapping
from typing import Any

# At most ~10 redraws a second: a redraw costs ~0.1-1 ms while a small batch may take microseconds,
# so redrawing on every step would make the display the bottleneck of training.
_REFRESH_S = 0.1


def format_logs(logs: Mapping[str, float]) -> str:
    """`loss: 0.1234 - learning_rate: 1.0000e-05`, in the given order: Keras's progress bar
    format (four decimals, or scientific notation for magnitudes up to 1e-3)."""
    return " - ".join(
        f"{k}: {v:.4f}" if abs(v) > 1e-3 else f"{k}: {v:.4e}" for k, v in logs.items()
    )


def epoch_line(epoch: int, total: int, logs: Mapping[str, float], rate: float) -> str:
    """The line of a finished epoch (`epoch` counts from 0, shown from 1), e.g.
    `Epoch 1/5 - loss: 0.1234 - val_loss: 0.2345 - 1,234 samples/s`."""
    parts = format_logs(logs)
    middle = f" - {parts}" if parts else ""
    return f"Epoch {epoch + 1}/{total}{middle} - {_rate_text(rate)}"


def _rate_text(rate: float) -> str:
    return f"{rate:,.0f} samples/s"


def _columns() -> tuple[Any, ...]:
    """The columns of an epoch's bar line, all fixed width (the logs follow them: `_Line`)."""
    from rich.progress import BarColumn, MofNCompleteColumn, TextColumn, TimeRemainingColumn
    from rich.table import Column

    return (
        TextColumn("{task.description}", markup=False, table_column=Column(no_wrap=True)),
        BarColumn(bar_width=20, table_column=Column(no_wrap=True)),  # Keras's width
        MofNCompleteColumn(table_column=Column(no_wrap=True)),
        # the time left in the epoch while it runs, its elapsed time once finished (as Keras)
        TimeRemainingColumn(elapsed_when_finished=True, table_column=Column(no_wrap=True)),
        TextColumn("{task.fields[rate]}", markup=False, table_column=Column(no_wrap=True)),
    )


class _Line:
    """An epoch's line: the bar's columns, then the logs on the same line when they fit the
    width; else the logs go on the lines below at the full width, which reads better than the
    narrow column a table would squeeze them into on an 80-column terminal."""

    def __init__(self, table: Any, logs: str) -> None:
        self.table, self.logs = table, logs

    def __rich_console__(self, console: Any, options: Any) -> Any:
        from rich.measure import Measurement
        from rich.table import Table
        from rich.text import Text

        logs = Text(self.logs)
        used = Measurement.get(console, options, self.table).maximum
        if used + 1 + logs.cell_len > options.max_width:
            yield self.table
            yield logs
            return
        line = Table.grid(padding=(0, 1))
        line.add_row(self.table, logs)
        yield line


def _bar(console: Any) -> Any:
    """A rich Progress for one epoch (one task, with `logs` and `rate` fields) drawn as a
    `_Line`, redrawn only when asked."""
    from rich.progress import Progress

    class EpochBar(Progress):
        def get_renderables(self) -> Any:
            logs = " ".join(task.fields.get("logs", "") for task in self.tasks)
            yield _Line(self.make_tasks_table(self.tasks), logs)

    # auto_refresh off: no drawing thread; `EpochProgress.step` decides when to redraw
    return EpochBar(*_columns(), console=console, auto_refresh=False)


class NoProgress:
    """The progress of a loop that shows none (`fit` called from Python): EpochProgress's
    methods, doing nothing, so the loop never asks whether it has a display."""

    def start_epoch(self, epoch: int) -> None:
        pass

    def step(self, samples: int, loss: float | None, logs: Any = None) -> None:
        pass

    def end_epoch(self, epoch: int, logs: dict[str, float], rate: float) -> None:
        pass

    def message(self, text: str) -> None:
        pass


class EpochProgress:
    """Progress of `fit`, driven by the training loop: `start_epoch`, `step` after every batch,
    `end_epoch` with the epoch's logs; `message` for a callback's line; `close` (or `with`).

    `samples` and `batch_size` give the batches per epoch (the bar's total). `live` asks for the
    rich display on `console` (a stdout Console when None); otherwise each finished epoch is one
    `epoch_line` through `echo` (a no-op `echo` makes it quiet). `start_epoch` is the first epoch
    when resuming: a `step` with no epoch open starts the next one.
    """

    def __init__(
        self,
        epochs: int,
        samples: int,
        batch_size: int,
        *,
        live: bool,
        echo: Callable[[str], None] = print,
        console: Any = None,
        start_epoch: int = 0,
    ) -> None:
        self.epochs = epochs
        self.batches = math.ceil(samples / max(batch_size, 1))
        self.live = live
        self._echo = echo
        self._console = console
        self._next_epoch = start_epoch
        self._epoch: int | None = None
        self._bar: Any = None  # the rich Progress of the open epoch (live only)
        self._task: Any = None
        self._reset(time.monotonic())

    def _reset(self, now: float) -> None:
        self._steps, self._seen, self._loss_sum = 0, 0, 0.0
        self._began = now
        self._next_refresh = 0.0  # the first step of an epoch redraws at once

    def _get_console(self) -> Any:
        if self._console is None:
            from rich.console import Console

            self._console = Console()
        return self._console

    def _title(self, epoch: int) -> str:
        width = len(str(self.epochs))  # padded so that the epochs' lines line up
        return f"Epoch {epoch + 1:>{width}}/{self.epochs}"

    def start_epoch(self, epoch: int) -> None:
        """Begin `epoch` (from 0): the running loss restarts; live, a new bar line opens (an
        epoch still open is closed as it stands)."""
        self._close_bar()
        self._epoch = epoch
        self._reset(time.monotonic())
        if not self.live:
            return
        self._bar = _bar(self._get_console())
        self._task = self._bar.add_task(self._title(epoch), total=self.batches, logs="", rate="")
        self._bar.start()  # draws the empty bar

    def step(
        self, samples: int, loss: float | None, logs: Callable[[], dict[str, float]] | None = None
    ) -> None:
        """After a batch of `samples` whose mean loss is `loss`. Cheap: adds up the loss and, at
        most ~10 times a second, redraws with the running mean loss followed by `logs()` (called
        only then: the latest metrics, which may cost a device sync; its `loss` wins if given)."""
        if self._bar is None and self.live:
            self.start_epoch(self._next_epoch)  # the loop did not open the epoch
        self._steps += 1
        self._seen += samples
        if loss is not None:  # None: the loop gives the running loss through logs()
            self._loss_sum += loss * samples
        if not self.live:
            return
        now = time.monotonic()
        if now < self._next_refresh:
            return
        self._next_refresh = now + _REFRESH_S
        self._redraw(now, logs)

    def _redraw(self, now: float, logs: Callable[[], dict[str, float]] | None) -> None:
        shown = {"loss": self._loss_sum / max(self._seen, 1)}
        if logs is not None:
            shown |= logs()
        elapsed = now - self._began
        rate = self._seen / elapsed if elapsed > 0 else 0.0
        self._bar.update(
            self._task, completed=self._steps, logs=format_logs(shown), rate=_rate_text(rate)
        )
        self._bar.refresh()

    def end_epoch(self, epoch: int, logs: dict[str, float], rate: float) -> None:
        """Finish `epoch` with its final `logs` (`val_` entries included) and samples/s: live,
        its bar is filled and left showing them; otherwise one `epoch_line` goes to `echo`."""
        self._next_epoch = epoch + 1
        if not self.live:
            self._echo(epoch_line(epoch, self.epochs, logs, rate))
            return
        if self._bar is None or self._epoch != epoch:
            self.start_epoch(epoch)  # so that every finished epoch has its line
        total = max(self.batches, self._steps)
        self._bar.update(
            self._task,
            total=total,
            completed=total,
            logs=format_logs(logs),
            rate=_rate_text(rate),
        )
        self._close_bar()

    def message(self, text: str) -> None:
        """Print a line such as `Epoch 7: ReduceLROnPlateau reducing learning rate to 0.001`:
        live, above the open bar (which is redrawn below it); otherwise through `echo`."""
        if self.live:
            self._get_console().print(text, markup=False, highlight=False)
        else:
            self._echo(text)

    def _close_bar(self) -> None:
        if self._bar is not None:
            self._bar.stop()  # draws the line a last time and leaves it in place
            self._bar = self._task = None

    def close(self) -> None:
        """End the display; an epoch still open (training interrupted) keeps its line as is."""
        self._close_bar()

    def __enter__(self) -> EpochProgress:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()
