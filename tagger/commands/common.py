"""Helpers shared by the subcommands: progress bar, argument checks."""

from __future__ import annotations

import argparse
import sys
import time
from collections.abc import Iterable
from pathlib import Path
from typing import TextIO

from tagger.core.text import format_length


class ProgressBar:
    """A throttled progress bar on stderr (a line every few seconds when not a terminal)."""

    def __init__(self, label: str, stream: TextIO | None = None, enabled: bool = True) -> None:
        self.label = label
        self.stream = stream if stream is not None else sys.stderr  # the current one
        self.enabled = enabled
        self.tty = self.stream.isatty()
        self.start = time.monotonic()
        self._last = 0.0
        self._shown = False
        self._first: tuple[float, int] | None = None  # (time, done) of the first item done

    def update(self, done: int, total: int, force: bool = False) -> None:
        if not self.enabled:
            return
        now = time.monotonic()
        if not force and now - self._last < (0.1 if self.tty else 5.0):
            return
        self._last = now
        frac = done / total if total else 1.0
        # the rate is measured from the first item done: the start-up before it (the model
        # loading, the worker processes starting) made the first ETA ten times too long
        if done and self._first is None:
            self._first = (now, done)
        eta = "--"
        if self._first is not None and done > self._first[1] and now > self._first[0]:
            rate = (done - self._first[1]) / (now - self._first[0])
            eta = format_length((total - done) / rate)
        width = 30
        bar = "#" * int(frac * width) + "-" * (width - int(frac * width))
        text = f"{self.label} [{bar}] {done}/{total} {frac:4.0%} ETA {eta}"
        if self.tty:
            self.stream.write("\r" + text)
        else:
            self.stream.write(text + "\n")
        self.stream.flush()
        self._shown = True

    def close(self) -> None:
        if self.enabled and self._shown and self.tty:
            self.stream.write("\n")
            self.stream.flush()


def rel_path(path: str, root: str | Path) -> str:
    """``path`` as shown under the folder a command ran on (as given, on another drive)."""
    import os

    try:
        return os.path.relpath(path, root)
    except ValueError:
        return path


def list_reasons(out: TextIO, items: Iterable[tuple[str, str]], root: str | Path) -> None:
    """One indented ``path: why`` line per item, the path relative to ``root``."""
    for path, why in items:
        out.write(f"  {rel_path(path, root)}: {why}\n")


class UsageError(Exception):
    """Bad arguments or a missing folder: exit status 2 with the message."""


def folder_arg(path: str) -> Path:
    """A folder given on the command line, resolved; UsageError if it is not one."""
    p = Path(path).expanduser()
    from tagger.core.scan import is_utf8, printable
    from tagger.core.text import not_found_hint

    if not is_utf8(str(p)):
        raise UsageError(f"folder name is not valid UTF-8: {printable(str(p))}")
    if not p.exists():
        raise UsageError(f"folder not found: {path}{not_found_hint(p)}")
    if not p.is_dir():
        raise UsageError(f"not a folder: {path}")
    return p.resolve()


def jobs_arg(text: str) -> int:
    """``--jobs N``: a whole number of processes, at least 1 (argparse reports the error)."""
    try:
        n = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"needs a whole number, not {text!r}") from None
    if n < 1:
        raise argparse.ArgumentTypeError(f"must be at least 1 (got {n})")
    return n
