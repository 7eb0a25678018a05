"""``mood-tagger analyze FOLDER``: the mood of every song, as a summary and JSON Lines."""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path
from typing import TextIO

from tagger.commands.common import (
    JOBS_HELP,
    ProgressBar,
    UsageError,
    folder_arg,
    jobs_arg,
    path_arg,
    shown,
)
from tagger.core.audio import FORMATS_TEXT
from tagger.core.moods import MOODS, display_name
from tagger.core.text import count_text


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser(
        "analyze", aliases=["analyse"], help="analyse the mood of every song in a folder"
    )
    p.add_argument(
        "folder", type=path_arg, metavar="FOLDER", help="music folder (Artist/Album/Track.ext)"
    )
    p.add_argument(
        "--json",
        type=path_arg,
        metavar="FILE",
        help="write one JSON object per audio file (to FILE; '-': to standard output, "
        "the summary then going to standard error)",
    )
    p.add_argument(
        "--model", type=path_arg, metavar="FILE", help="model file (default: the active model)"
    )
    p.add_argument(
        "--jobs",
        type=jobs_arg,
        metavar="N",
        default=None,
        help=JOBS_HELP,
    )
    p.set_defaults(func=run)


#: The keys of every ``analyze --json`` object, in order.
JSON_KEYS = (
    "path",
    "artist",
    "album",
    "title",
    "mood",
    "probabilities",
    "energy",
    "valence",
    "confidence",
    "model",
    "error",
    "no_mood",
)


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
        # why a song has no mood: it could not be read (error), or it has nothing to
        # classify (no_mood: silent, too short), which is no failure
        "error": None if s or row.no_mood else row.error,
        "no_mood": row.no_mood,
    }


def skipped_json(path: str, reason: str) -> dict:
    """The JSON Lines object of a file or folder that the scan could not take in (a name
    that is not UTF-8, an unreadable folder, a broken link, a named pipe): its error."""
    return dict.fromkeys(JSON_KEYS) | {"path": path, "error": reason}


def _write_json_lines(f: TextIO, rows, skipped) -> None:
    for row in rows:
        f.write(json.dumps(row_json(row), ensure_ascii=False) + "\n")
    for path, reason in skipped:
        f.write(json.dumps(skipped_json(path, reason), ensure_ascii=False) + "\n")


def _json_path(name: str) -> Path:
    """The ``--json`` file; UsageError when it cannot be one (checked before analysing)."""
    if name == "-":
        return None
    path = Path(name).expanduser()
    if path.is_dir():
        raise UsageError(f"--json needs a file name, not a folder: {shown(name)}")
    if not path.absolute().parent.is_dir():
        raise UsageError(
            f"the folder for the --json file does not exist: {shown(path.absolute().parent)}"
        )
    return path


def run(args: argparse.Namespace) -> int:
    from tagger.core.library import AnalysisSummary, analyze_library, library_rows, mood_counts
    from tagger.core.models import load_model
    from tagger.core.progress import Progress
    from tagger.core.scan import ScanResult
    from tagger.core.store import Store

    root = folder_arg(args.folder)
    to_stdout = args.json == "-"
    json_path = _json_path(args.json) if args.json else None  # before the long analysis
    loaded = load_model(args.model)
    bar = ProgressBar("analysing", enabled=not args.quiet)
    summary: AnalysisSummary | None = None
    moved = 0
    with Store.open_default() as store:
        try:
            for event in analyze_library(root, store, loaded, jobs=args.jobs):
                if isinstance(event, Progress) and event.stage == "analyse" and event.total:
                    bar.update(event.done, event.total, force=event.done == event.total)
                elif isinstance(event, AnalysisSummary):
                    summary = event
                elif isinstance(event, ScanResult):
                    moved = len(event.moved)
        finally:
            bar.close()
        rows = library_rows(root, store, loaded.model_id)
    skipped = summary.scan_errors if summary is not None else ()
    json_failed = False
    if to_stdout:
        _write_json_lines(sys.stdout, rows, skipped)
    elif json_path is not None:
        try:
            with open(json_path, "w", encoding="utf-8") as f:
                _write_json_lines(f, rows, skipped)
        except OSError as exc:  # e.g. the disk filled up; the results stay in the library
            print(f"mood-tagger: cannot write {shown(args.json)}: {exc}", file=sys.stderr)
            json_failed = True
    counts = mood_counts(rows)  # your label, else the prediction: as the app counts
    no_mood = [r for r in rows if r.no_mood and not r.label]
    # unreadable (labelled or not), or not analysed and not labelled: each row counts once
    errors = [r for r in rows if r.unreadable or (r.mood is None and not r.no_mood)]
    out = sys.stderr if to_stdout else sys.stdout  # stdout holds only the JSON Lines
    out.write(f"{count_text(len(rows), 'audio file')} in {shown(root)}\n")
    if not rows:
        out.write(f"  (Mood Tagger reads {FORMATS_TEXT} files, in sub-folders too)\n")
    for mood in MOODS:
        out.write(f"  {display_name(mood):<11}{counts.get(mood, 0):>6}\n")
    if no_mood:
        out.write(f"  {'No mood':<11}{len(no_mood):>6}  (silent or too short)\n")
        for r in no_mood:
            out.write(f"    {shown(r.path)}: {r.error}\n")
    # and what the scan could not take in: not UTF-8 names, unreadable folders, pipes
    out.write(f"  {'Errors':<11}{len(errors) + len(skipped):>6}\n")
    for r in errors:
        out.write(f"    {shown(r.path)}: {r.error or 'not analysed'}\n")
    for path, msg in skipped:
        out.write(f"    {shown(path)}: {msg} (skipped)\n")
    if summary is not None:
        # ``analysed`` got a mood in this run; ``failed`` did not (as in the app's summary)
        out.write(
            f"analysed {summary.analysed}, {summary.failed} could not be read, "
            f"from cache {summary.cached}"
            + (
                f" ({summary.cached_errors} of them could not be read)"
                if summary.cached_errors
                else ""
            )
            + f", model {loaded.model_id}\n"
        )
        if moved:
            kept = "its mood and label" if moved == 1 else "their moods and labels"
            out.write(f"{count_text(moved, 'moved or renamed file')} kept {kept}\n")
    return 1 if json_failed else 0
