"""Silence the exporters' progress lines, warnings and log records, so that the command prints
its report only (an exporter's failure is raised, and reported located)."""

from __future__ import annotations

import contextlib
import io
import logging
import os
import sys
import warnings
from collections.abc import Iterator

# The loggers the exporters write to (torchvision missing, dynamic-shape notes, ...).
_LOGGERS = (
    "torch.onnx",
    "torch.export",
    "torch._export",
    "torch.fx",
    "torch._dynamo",
    "onnxscript",
)


@contextlib.contextmanager
def quiet() -> Iterator[None]:
    """Python's and the C++ side's output (the TorchScript exporter prints its graph from C++
    on failure) go nowhere; log records under ERROR and warnings are dropped."""
    loggers = [logging.getLogger(name) for name in _LOGGERS]
    levels = [logger.level for logger in loggers]
    sink = io.StringIO()
    try:
        for logger in loggers:
            logger.setLevel(logging.ERROR)
        with (
            warnings.catch_warnings(),
            contextlib.redirect_stdout(sink),
            contextlib.redirect_stderr(sink),
            _native_output_dropped(),
        ):
            warnings.simplefilter("ignore")
            yield
    finally:
        for logger, level in zip(loggers, levels, strict=True):
            logger.setLevel(level)


@contextlib.contextmanager
def _native_output_dropped() -> Iterator[None]:
    """File descriptors 1 and 2 on /dev/null, for what C++ code writes to them."""
    for stream in (sys.__stdout__, sys.__stderr__):
        if stream is not None:
            stream.flush()
    saved = [os.dup(1), os.dup(2)]
    null = os.open(os.devnull, os.O_WRONLY)
    try:
        os.dup2(null, 1)
        os.dup2(null, 2)
        yield
    finally:
        os.dup2(saved[0], 1)
        os.dup2(saved[1], 2)
        for fd in (*saved, null):
            os.close(fd)
