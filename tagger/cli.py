"""The ``mood-tagger`` command: no arguments opens the GUI, subcommands run headless."""

from __future__ import annotations

import argparse
import json
import logging
import logging.handlers
import sys
import time
from collections import Counter
from pathlib import Path
from typing import TextIO

from tagger import __version__
from tagger.core.errors import CheckpointError
from tagger.core.moods import MOODS, display_name

log = logging.getLogger("tagger")


# -- output helpers ---------------------------------------------------------------------


class ProgressBar:
    """A throttled progress bar on stderr (a line every few seconds when not a terminal)."""

    def __init__(self, label: str, stream: TextIO = sys.stderr, enabled: bool = True) -> None:
        self.label = label
        self.stream = stream
        self.enabled = enabled
        self.tty = stream.isatty()
        self.start = time.monotonic()
        self._last = 0.0
        self._shown = False

    def update(self, done: int, total: int, force: bool = False) -> None:
        if not self.enabled:
            return
        now = time.monotonic()
        if not force and now - self._last < (0.1 if self.tty else 5.0):
            return
        self._last = now
        elapsed = now - self.start
        frac = done / total if total else 1.0
        eta = (elapsed / done * (total - done)) if done else 0.0
        width = 30
        bar = "#" * int(frac * width) + "-" * (width - int(frac * width))
        text = f"{self.label} [{bar}] {done}/{total} {frac:4.0%} ETA {eta:4.0f}s"
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


def _setup_logging(verbosity: int) -> None:
    level = {-1: logging.ERROR, 0: logging.WARNING, 1: logging.INFO}.get(verbosity, logging.DEBUG)
    root = logging.getLogger()
    root.setLevel(logging.DEBUG)
    console = logging.StreamHandler(sys.stderr)
    console.setLevel(level)
    console.setFormatter(logging.Formatter("%(levelname)s: %(message)s"))
    root.addHandler(console)
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
    except OSError as exc:
        log.debug("no log file: %s", exc)


class UsageError(Exception):
    """Bad arguments or a missing folder: exit status 2 with the message."""


def _folder(path: str) -> Path:
    p = Path(path).expanduser()
    if not p.exists():
        raise UsageError(f"folder not found: {path}")
    if not p.is_dir():
        raise UsageError(f"not a folder: {path}")
    return p.resolve()


# -- analyze ----------------------------------------------------------------------------


def row_json(row) -> dict:
    """The JSON Lines contract of ``analyze --json`` for one library row."""
    s = row.scores
    return {
        "path": row.path,
        "artist": row.artist,
        "album": row.album,
        "title": row.title,
        "mood": s.mood if s else None,
        "probabilities": s.as_dict() if s else None,
        "energy": s.energy if s else None,
        "valence": s.valence if s else None,
        "confidence": s.confidence if s else None,
        "model": row.model_id,
        "error": row.error if not s else None,
    }


def cmd_analyze(args: argparse.Namespace) -> int:
    from tagger.core.library import AnalysisSummary, analyze_library, library_rows
    from tagger.core.models import load_model
    from tagger.core.progress import Progress
    from tagger.core.store import Store

    root = _folder(args.folder)
    loaded = load_model(args.model)
    bar = ProgressBar("analysing", enabled=not args.quiet)
    summary: AnalysisSummary | None = None
    with Store.open_default() as store:
        try:
            for event in analyze_library(root, store, loaded, jobs=args.jobs):
                if isinstance(event, Progress) and event.stage == "analyse":
                    bar.update(event.done, event.total, force=event.done == event.total)
                elif isinstance(event, AnalysisSummary):
                    summary = event
        finally:
            bar.close()
        rows = library_rows(root, store, loaded.model_id)
    if args.json:
        with open(args.json, "w", encoding="utf-8") as f:
            for row in rows:
                f.write(json.dumps(row_json(row), ensure_ascii=False) + "\n")
    counts = Counter(r.scores.mood for r in rows if r.scores)
    errors = [r for r in rows if r.scores is None]
    out = sys.stdout
    out.write(f"{len(rows)} audio files in {root}\n")
    for mood in MOODS:
        out.write(f"  {display_name(mood):<11}{counts.get(mood, 0):>6}\n")
    out.write(f"  {'Errors':<11}{len(errors):>6}\n")
    for r in errors:
        out.write(f"    {r.path}: {r.error or 'not analysed'}\n")
    if summary is not None:
        out.write(
            f"analysed {summary.analysed + summary.failed}, from cache {summary.cached}"
            f" (model {loaded.model_id})\n"
        )
        for path, msg in summary.scan_errors:
            out.write(f"  skipped {path}: {msg}\n")
    return 0


# -- entry point ------------------------------------------------------------------------


def build_parser() -> argparse.ArgumentParser:
    ap = argparse.ArgumentParser(
        prog="mood-tagger",
        description="Tag the mood of your music. With no command, opens the app.",
    )
    ap.add_argument("--version", action="version", version=f"%(prog)s {__version__}")
    ap.add_argument("-v", "--verbose", action="count", default=0, help="more log output")
    ap.add_argument("-q", "--quiet", action="store_true", help="no progress bar, errors only")
    sub = ap.add_subparsers(dest="command", metavar="COMMAND")

    p = sub.add_parser("analyze", help="analyse the mood of every song in a folder")
    p.add_argument("folder", help="music folder (Artist/Album/Track.ext)")
    p.add_argument("--json", metavar="FILE", help="write one JSON object per audio file")
    p.add_argument("--model", metavar="FILE", help="model file (default: the active model)")
    p.add_argument("--jobs", type=int, default=None, help="worker processes (default: cores)")
    p.set_defaults(func=cmd_analyze)

    p = sub.add_parser("gui", help="open the app (the default)")
    p.add_argument("folder", nargs="?", help="music folder to open")
    p.set_defaults(func=cmd_gui)
    return ap


def cmd_gui(args: argparse.Namespace) -> int:
    try:
        from tagger.ui.app import run_app
    except ImportError as exc:
        log.error("the desktop app is not available: %s", exc)
        return 1
    return run_app(getattr(args, "folder", None))


def main(argv: list[str] | None = None) -> int:
    argv = sys.argv[1:] if argv is None else argv
    parser = build_parser()
    if not argv or (
        len(argv) == 1
        and not argv[0].startswith("-")
        and argv[0] not in parser._subparsers._group_actions[0].choices
    ):
        # `mood-tagger` or `mood-tagger FOLDER`: the GUI
        _setup_logging(0)
        return cmd_gui(argparse.Namespace(folder=argv[0] if argv else None))
    args = parser.parse_args(argv)
    _setup_logging(-1 if args.quiet else args.verbose)
    if not getattr(args, "func", None):
        parser.print_help()
        return 2
    try:
        return int(args.func(args) or 0)
    except UsageError as exc:
        print(f"mood-tagger: error: {exc}", file=sys.stderr)
        return 2
    except CheckpointError as exc:
        print(f"mood-tagger: error: {exc}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print("mood-tagger: interrupted", file=sys.stderr)
        return 130
