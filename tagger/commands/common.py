"""Helpers shared by the subcommands: progress bar, argument checks, paths shown."""

from __future__ import annotations

import argparse
import contextlib
import os
import re
import signal
import sys
import threading
import time
from collections.abc import Iterable, Iterator
from pathlib import Path
from typing import TYPE_CHECKING, TextIO

from tagger.core.text import count_text, format_length

if TYPE_CHECKING:
    from tagger.core.progress import CancelToken


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


#: C0 and C1 control characters, DEL, and the Unicode line and paragraph separators: any
#: of them in a file name printed as it is breaks one list item over several lines (a
#: newline, a carriage return) or hides part of it (a backspace, an escape sequence).
_CONTROLS = re.compile(r"[\x00-\x1f\x7f-\x9f\u2028\u2029]")
_ESCAPES = {"\n": "\\n", "\r": "\\r", "\t": "\\t"}


def _escape(m: re.Match) -> str:
    c = m.group()
    return _ESCAPES.get(c) or (f"\\x{ord(c):02x}" if ord(c) < 0x100 else f"\\u{ord(c):04x}")


def shown(path: str | Path) -> str:
    """``path`` fit for one line of a terminal: control characters written as Python
    writes them (``\\n``, ``\\t``, ``\\x1b``), bytes that are not UTF-8 as U+FFFD. Every
    human-readable list of paths prints them through this; JSON keeps the exact name."""
    from tagger.core.scan import printable

    return _CONTROLS.sub(_escape, printable(str(path)))


def rel_path(path: str, root: str | Path) -> str:
    """``path`` as shown under the folder a command ran on (as given, on another drive),
    ready to print (see :func:`shown`)."""
    try:
        return shown(os.path.relpath(path, root))
    except ValueError:
        return shown(path)


def list_reasons(out: TextIO, items: Iterable[tuple[str, str]], root: str | Path) -> None:
    """One indented ``path: why`` line per item, the path relative to ``root``."""
    for path, why in items:
        out.write(f"  {rel_path(path, root)}: {why}\n")


class UsageError(Exception):
    """Bad arguments or a missing folder: exit status 2 with the message."""


#: Why an empty path argument (``mood-tagger analyze ""``, an unset shell variable) is
#: refused: taken as it is, it would be the current folder.
EMPTY_PATH = "an empty path ('') names no file or folder (an unset shell variable?)"


def path_arg(text: str) -> str:
    """A file or folder argument (``type=`` for argparse): refuses an empty one, which
    the file system would read as the current folder (argparse reports the error)."""
    if text == "":
        raise argparse.ArgumentTypeError(EMPTY_PATH)
    return text


def folder_problem(path: str) -> str | None:
    """Why ``path`` (as given on the command line) is no folder to work on, or None."""
    from tagger.core.scan import SYMLINK_LOOP, is_symlink_loop, is_utf8
    from tagger.core.text import not_found_hint

    if path == "":
        return EMPTY_PATH
    p = Path(path).expanduser()
    if not is_utf8(str(p)):
        return f"folder name is not valid UTF-8: {shown(p)}"
    if is_symlink_loop(p):
        return f"not a folder: {shown(path)} ({SYMLINK_LOOP})"
    if not p.exists():
        return f"folder not found: {shown(path)}{not_found_hint(p)}"
    if not p.is_dir():
        return f"not a folder: {shown(path)}"
    return None


def folder_arg(path: str) -> Path:
    """A folder given on the command line, resolved; UsageError if it is not one."""
    if (why := folder_problem(path)) is not None:
        raise UsageError(why)
    return Path(path).expanduser().resolve()


def max_jobs() -> int:
    """The most worker processes ``--jobs`` gets: two per core, and 32 in all (each one
    holds a model and its decoders: 40 of them on two cores took 6 GB)."""
    return max(1, min(2 * (os.cpu_count() or 1), 32))


#: Warnings from parsing the arguments, logged by the CLI once logging is set up.
deferred_warnings: list[str] = []


def jobs_arg(text: str) -> int:
    """``--jobs N``: a whole number of processes, at least 1 (argparse reports the error),
    lowered to :func:`max_jobs` with a warning."""
    try:
        n = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"needs a whole number, not {text!r}") from None
    if n < 1:
        raise argparse.ArgumentTypeError(f"must be at least 1 (got {n})")
    most = max_jobs()
    if n > most:
        cores = os.cpu_count() or 1
        deferred_warnings.append(
            f"--jobs {n} lowered to {most}: at most two processes per core "
            f"({count_text(cores, 'core')} here) and 32 in all"
        )
        return most
    return n


#: ``--jobs``' help, alike in every command that analyses songs.
JOBS_HELP = (
    "worker processes, at least 1; more than two per core (or 32) is lowered to that "
    "(default: one per core, at most 8)"
)


@contextlib.contextmanager
def ctrl_c_stops_between_files() -> Iterator[CancelToken]:
    """A token that the first Ctrl+C cancels, so a write or undo stops between two files
    (each written and recorded in full); a second Ctrl+C interrupts at once. Raised
    anywhere, KeyboardInterrupt could land after a file was replaced but before it was
    counted and its new size recorded: the count was one short and the file looked
    changed since the scan."""
    from tagger.core.progress import CancelToken

    token = CancelToken()
    if (
        threading.current_thread() is not threading.main_thread()
        or signal.getsignal(signal.SIGINT) is signal.SIG_IGN  # nohup, a background job
    ):
        yield token
        return

    def on_ctrl_c(_signum, _frame) -> None:
        if token.cancelled:
            raise KeyboardInterrupt
        token.cancel()
        print("stopping after this file (Ctrl+C again: at once)...", file=sys.stderr)

    previous = signal.signal(signal.SIGINT, on_ctrl_c)
    try:
        yield token
    finally:
        signal.signal(signal.SIGINT, previous)
