"""The ``mood-tagger`` command: no arguments opens the GUI, subcommands run headless."""

from __future__ import annotations

import argparse
import contextlib
import importlib
import logging
import logging.handlers
import os
import re
import sqlite3
import sys
import textwrap

from tagger import __version__
from tagger.commands import COMMANDS, common
from tagger.commands.common import UsageError, folder_problem, shown
from tagger.core.errors import CheckpointError, StoreError

log = logging.getLogger("tagger")

#: ``-v``, ``-vv``, ``-q``, ``--verbose``, ``--quiet``: allowed with the GUI as with commands.
_GLOBAL_OPTION = re.compile(r"-[vq]+|--verbose|--quiet")


#: The handlers the last :func:`main` added (replaced by the next call in one process, so
#: none is left writing to an old stderr or holding the log file open).
_handlers: list[logging.Handler] = []


def _setup_logging(verbosity: int) -> None:
    level = {-1: logging.ERROR, 0: logging.WARNING, 1: logging.INFO}.get(verbosity, logging.DEBUG)
    root = logging.getLogger()
    root.setLevel(logging.DEBUG)
    while _handlers:
        old = _handlers.pop()
        root.removeHandler(old)
        old.close()
    console = logging.StreamHandler(sys.stderr)
    console.setLevel(level)
    console.setFormatter(logging.Formatter("%(levelname)s: %(message)s"))
    root.addHandler(console)
    _handlers.append(console)
    try:
        from tagger.core.paths import app_dirs

        logs = app_dirs().logs
        logs.mkdir(parents=True, exist_ok=True)
        fh = logging.handlers.RotatingFileHandler(
            logs / "mood-tagger.log", maxBytes=2_000_000, backupCount=2, encoding="utf-8"
        )
        fh.setLevel(logging.INFO)
        fh.setFormatter(logging.Formatter("%(asctime)s %(name)s %(levelname)s: %(message)s"))
        root.addHandler(fh)
        _handlers.append(fh)
    except OSError as exc:
        log.debug("no log file: %s", exc)


class _HelpFormatter(argparse.HelpFormatter):
    """Wraps help text at spaces only, so ``mood-tagger`` or ``re-analyse`` is never split
    over two lines at its hyphen."""

    def _split_lines(self, text: str, width: int) -> list[str]:
        text = self._whitespace_matcher.sub(" ", text).strip()
        return textwrap.wrap(text, width, break_on_hyphens=False)

    def _fill_text(self, text: str, width: int, indent: str) -> str:
        text = self._whitespace_matcher.sub(" ", text).strip()
        return textwrap.fill(
            text, width, initial_indent=indent, subsequent_indent=indent, break_on_hyphens=False
        )


def build_parser() -> argparse.ArgumentParser:
    ap = argparse.ArgumentParser(
        prog="mood-tagger",
        formatter_class=_HelpFormatter,
        description="Tag the mood of your music. With no command (or just a folder), "
        "opens the app.",
    )
    ap.add_argument("--version", action="version", version=f"%(prog)s {__version__}")
    _add_global_options(ap, default=True)
    sub = ap.add_subparsers(dest="command", metavar="COMMAND")
    p = sub.add_parser("gui", help="open the app (the default)")
    p.add_argument("folder", nargs="?", help="music folder to open")
    p.set_defaults(func=cmd_gui)
    for name in COMMANDS:
        importlib.import_module(f"tagger.commands.{name}").register(sub)
    # -v / -q also work after the command (`mood-tagger write ~/Music -q`); there they
    # default to "not given", so they never undo the same option given before it.
    for command in {id(c): c for c in sub.choices.values()}.values():  # aliases: once
        _add_global_options(command, default=False)
        command.formatter_class = _HelpFormatter
    return ap


def _add_global_options(parser: argparse.ArgumentParser, default: bool) -> None:
    kw = {} if default else {"default": argparse.SUPPRESS}
    parser.add_argument(
        "-v", "--verbose", action="count", help="more log output", **({"default": 0} | kw)
    )
    parser.add_argument(
        "-q",
        "--quiet",
        action="store_true",
        help="no progress bar, and only errors logged (results are still printed)",
        **kw,
    )


def _no_display() -> bool:
    """True on Linux/BSD with no X11 or Wayland display to open a window on (Qt would
    abort the process)."""
    if not sys.platform.startswith(("linux", "freebsd", "openbsd", "netbsd")):
        return False
    env = os.environ
    return not (env.get("DISPLAY") or env.get("WAYLAND_DISPLAY") or env.get("QT_QPA_PLATFORM"))


def _reachable(display: str) -> bool:
    """Whether an X11 server answers at ``display`` (``:0``, ``unix:1``, ``host:10.0``): a
    stale DISPLAY (after ``ssh -X``, in tmux) made Qt abort the process."""
    import socket

    host, _, rest = display.rpartition(":")
    number = rest.split(".")[0]
    if not number.isdecimal():
        return True  # a form this does not know: let Qt try
    try:
        if host in ("", "unix") or host.startswith("/"):
            path = f"/tmp/.X11-unix/X{number}"
            for address in (path, "\0" + path):  # the file, or Linux's abstract socket
                with socket.socket(socket.AF_UNIX) as s, contextlib.suppress(OSError):
                    s.settimeout(1.0)
                    s.connect(address)
                    return True
            return False
        with socket.create_connection((host, 6000 + int(number)), timeout=2.0):
            return True
    except OSError:
        return False


def _display_problem() -> str | None:
    """Why no window can open on this machine's display (Qt would abort the process), or
    None: no display named at all, or one named that does not answer."""
    env = os.environ
    if _no_display():
        return "no graphical display found (DISPLAY and WAYLAND_DISPLAY are not set)"
    if env.get("QT_QPA_PLATFORM"):
        return None
    wayland = env.get("WAYLAND_DISPLAY")
    if wayland and os.path.exists(os.path.join(env.get("XDG_RUNTIME_DIR", ""), wayland)):
        return None
    display = env.get("DISPLAY")
    if display and _reachable(display):
        return None
    shown = f"DISPLAY={display}" if display else f"WAYLAND_DISPLAY={wayland}"
    return f"the graphical display ({shown}) cannot be reached (left over from ssh -X?)"


def cmd_gui(args: argparse.Namespace) -> int:
    folder = getattr(args, "folder", None)
    if folder is not None and (why := folder_problem(folder)) is not None:
        # said before the display: there is nothing to open it on either way
        print(f"mood-tagger: {why}", file=sys.stderr)
        return 2
    if (why := _display_problem()) is not None:
        print(
            f"mood-tagger: {why}, so the app cannot open.\nThe command line works without "
            "one: `mood-tagger analyze FOLDER`, and `mood-tagger --help` for the rest.",
            file=sys.stderr,
        )
        return 1
    try:
        from tagger.ui.app import run_app
    except ImportError as exc:
        log.error("the desktop app is not available: %s", exc)
        return 1
    return run_app(folder)


#: words that name a command (or its alias), never a folder to open
_COMMAND_WORDS = frozenset({"gui", "analyse", *COMMANDS})


def _mistyped_command(word: str) -> str | None:
    """The command ``word`` looks like a typo of, when it is no path that exists (a bare
    word is the GUI's folder argument only if it is there)."""
    import difflib

    if word.startswith("-") or word in _COMMAND_WORDS or os.path.exists(word):
        return None
    if os.sep in word or (os.altsep and os.altsep in word):
        return None
    close = difflib.get_close_matches(word.lower(), COMMANDS, n=1, cutoff=0.7)
    return close[0] if close else None


def _looks_like_a_path(word: str) -> bool:
    """``/music``, ``./x``, ``~/Music``, ``..``, ``Music/Jazz``: a folder meant, not a
    command; a bare word (``bogus``) could be either."""
    return (
        os.sep in word
        or bool(os.altsep and os.altsep in word)
        or word.startswith(("~", "."))
        or os.path.isabs(word)
    )


def _not_a_folder_to_open(word: str) -> str | None:
    """Why the app cannot be opened on ``word`` (``mood-tagger WORD``), or None: it is a
    folder. A bare word that names nothing is no command either, and is said to be."""
    why = folder_problem(word)
    if why is None or word == "" or _looks_like_a_path(word) or os.path.lexists(word):
        return why
    return f"'{shown(word)}' is not a command or a folder (commands: {', '.join(COMMANDS)})"


def main(argv: list[str] | None = None) -> int:
    argv = sys.argv[1:] if argv is None else argv
    parser = build_parser()
    rest = [a for a in argv if not _GLOBAL_OPTION.fullmatch(a)]
    if len(rest) == 1 and rest[0] == "help" and not os.path.exists("help"):
        parser.print_help()
        return 0
    if len(rest) == 1 and (guess := _mistyped_command(rest[0])):
        # `mood-tagger retrian` opened the app on a folder "retrian" that is not there
        print(
            f"mood-tagger: error: unknown command {rest[0]!r} (did you mean {guess!r}?); "
            "`mood-tagger --help` lists them",
            file=sys.stderr,
        )
        return 2
    if not rest or (
        len(rest) == 1 and not rest[0].startswith("-") and rest[0] not in _COMMAND_WORDS
    ):
        if rest and (why := _not_a_folder_to_open(rest[0])) is not None:
            # `mood-tagger /nonexistent`, `mood-tagger bogus`: said first, display or not
            print(f"mood-tagger: {why}", file=sys.stderr)
            return 2
        # `mood-tagger [-v|-q] [FOLDER]`: the GUI, global options kept
        argv = [*(a for a in argv if _GLOBAL_OPTION.fullmatch(a)), "gui", *rest]
    common.deferred_warnings.clear()
    args = parser.parse_args(argv)
    _setup_logging(-1 if args.quiet else args.verbose)
    while common.deferred_warnings:  # from the arguments: `--jobs 99999` lowered
        log.warning("%s", common.deferred_warnings.pop(0))
    if not getattr(args, "func", None):
        parser.print_help()
        return 2
    try:
        rc = int(args.func(args) or 0)
        sys.stdout.flush()  # a closed pipe shows here, where it is handled, not at exit
        return rc
    except (UsageError, CheckpointError, StoreError) as exc:
        print(f"mood-tagger: error: {exc}", file=sys.stderr)
        return 2
    except sqlite3.OperationalError as exc:  # e.g. the disk filled up part-way
        log.debug("database error", exc_info=True)
        print(
            f"mood-tagger: error: the library database could not be updated: {exc} "
            "(is its disk full or read-only?); what was done before is kept",
            file=sys.stderr,
        )
        return 1
    except KeyboardInterrupt:
        print("mood-tagger: interrupted", file=sys.stderr)
        return 130
    except BrokenPipeError:
        # The reader went away (`mood-tagger write --dry-run | head`): stop quietly, and
        # keep Python from complaining again when it flushes stdout at exit.
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        return 141
    except OSError as exc:  # e.g. a read-only app folder a command did not expect
        log.debug("file system error", exc_info=True)
        print(f"mood-tagger: error: {exc}", file=sys.stderr)
        return 1
