"""``mood-tagger write FOLDER``: write each song's mood (label, else prediction) to its tags.

The folder must have been analysed (``mood-tagger analyze FOLDER``) with the active
model; ``write`` does not run the analysis itself, it says so and stops.
"""

from __future__ import annotations

import argparse
import shlex
import sys
from pathlib import Path
from typing import TextIO

from tagger.commands.common import (
    ProgressBar,
    UsageError,
    ctrl_c_stops_between_files,
    folder_arg,
    list_reasons,
    path_arg,
    rel_path,
    shown,
)
from tagger.core.text import count_text

#: Files gone from disk are named up to this many per run, then counted.
MAX_MISSING_LISTED = 10


def _list_some(out: TextIO, paths: list[str], root: Path) -> None:
    """The first :data:`MAX_MISSING_LISTED` of ``paths``, then how many more."""
    for path in paths[:MAX_MISSING_LISTED]:
        out.write(f"  {rel_path(path, root)}\n")
    if len(paths) > MAX_MISSING_LISTED:
        out.write(f"  ... and {len(paths) - MAX_MISSING_LISTED} more\n")


def _is(items: list) -> str:
    return "is" if len(items) == 1 else "are"


def _was(items: list) -> str:
    return "was" if len(items) == 1 else "were"


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser(
        "write",
        help="write the moods into the files' tags (label, else prediction)",
        description="Write each song's mood into its tags: your label if there is one, "
        "else the prediction of the active model. Only the mood field changes. "
        "Undo with `mood-tagger undo FOLDER`.",
    )
    p.add_argument(
        "folder",
        type=path_arg,
        metavar="FOLDER",
        help="music folder (analysed before with `mood-tagger analyze`)",
    )
    p.add_argument(
        "--dry-run", action="store_true", help="print each change (file: old -> new), write nothing"
    )
    p.add_argument(
        "--min-confidence",
        type=float,
        default=0.0,
        metavar="X",
        help="skip predictions whose confidence is under X (0-1); labels are always written",
    )
    p.add_argument(
        "--energy-valence",
        action=argparse.BooleanOptionalAction,
        default=None,
        help="also write MOOD_AROUSAL / MOOD_VALENCE (0-100); default: the "
        "write_energy_valence setting (the app's choice)",
    )
    p.add_argument(
        "--keep-existing",
        action=argparse.BooleanOptionalAction,
        default=None,
        help="leave a mood tag already in a file alone (predictions only fill in; labels "
        "are always written); default: the write_keep_existing setting (the app's choice)",
    )
    p.add_argument(
        "--model", type=path_arg, metavar="FILE", help="model file (default: the active model)"
    )
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    from tagger.core.analysis import ANALYSIS_VERSION
    from tagger.core.models import load_model
    from tagger.core.scan import ScanResult, scan
    from tagger.core.store import Store
    from tagger.core.tagwrite import (
        WriteOptions,
        WriteOutcome,
        WriteSummary,
        apply_write,
        keeping_existing,
        plan_write,
        preflight,
        without_mood,
    )

    if not 0.0 <= args.min_confidence <= 1.0:
        raise UsageError("--min-confidence must be between 0 and 1")
    root = folder_arg(args.folder)
    saved = WriteOptions.from_settings()  # the flags' defaults (not --min-confidence's)
    energy_valence = saved.energy_valence if args.energy_valence is None else args.energy_valence
    keep_existing = saved.keep_existing if args.keep_existing is None else args.keep_existing
    model_id = load_model(args.model).model_id
    out = sys.stdout
    failures: list[tuple[str, str]] = []
    with Store.open_default() as store:
        result = None
        for event in scan(root, store):  # cheap when nothing changed; finds deleted files
            if isinstance(event, ScanResult):
                result = event
        assert result is not None
        tracks = store.tracks_under(root)
        # every run says so, not just the one whose scan saw them go; not failures:
        # there is no file to write to
        missing = store.missing_under(root, model_id, ANALYSIS_VERSION)
        # what the scan could not read (a folder, a link to a drive not connected) is
        # skipped, as `analyze` skips it: a note, not a failure of the write
        skipped = result.errors
        preds = store.predictions_under(root, model_id, ANALYSIS_VERSION)
        labels = store.labels_under(root)
        unanalysed = [p for p in tracks if p not in preds and p not in labels]
        # no mood to write: listed as notes, as in the app's preview; not failures
        notes = without_mood(root, store, model_id)
        unreadable = [n for n in notes if n.kind == "unreadable"]
        no_mood = [n for n in notes if n.kind != "unreadable"]
        if tracks and len(unanalysed) == len(tracks):
            raise UsageError(
                f"{shown(root)} has not been analysed with the active model; "
                f"run `mood-tagger analyze {shlex.quote(args.folder)}` first"
            )
        every = plan_write(root, store, model_id, args.min_confidence, energy_valence)
        changes = keeping_existing(every) if keep_existing else every
        kept = len(every) - len(changes)  # to say how many keeping them spared
        # a symlink in the library: one file, two tracks, written once (not a failure)
        same_file = [(p, c.path) for c in changes for p in c.same_file]
        if args.dry_run:
            problems = dict(preflight(changes, store))
            failures += list(problems.items())
            changes = [c for c in changes if c.path not in problems]
            for c in changes:
                extra = ""
                if c.extra:
                    extra = f" (energy {c.extra['arousal']}, valence {c.extra['valence']})"
                old = shown(c.old_value) if c.old_value else "(none)"  # a tag may hold a newline
                out.write(f"{rel_path(c.path, root)}: {old} -> {shown(c.new_value)}{extra}\n")
            out.write(
                f"dry run: {count_text(len(changes), 'file')} would be written, nothing changed\n"
            )
        else:
            bar = ProgressBar("writing", enabled=not args.quiet)
            summary = None
            done = 0
            try:
                with ctrl_c_stops_between_files() as cancel:
                    for event in apply_write(changes, store, root, cancel):
                        if isinstance(event, WriteOutcome):
                            if event.ok:
                                done += 1
                            else:
                                failures.append((event.path, event.error or "failed"))
                        elif isinstance(event, WriteSummary):
                            summary = event
                        elif getattr(event, "stage", "") == "write" and event.done:
                            bar.update(event.done, event.total, force=event.done == event.total)
                if summary is not None and summary.cancelled:
                    raise KeyboardInterrupt  # stopped between two files: said below
            except KeyboardInterrupt:  # Ctrl+C: say what was written, and how to undo it
                bar.close()
                out.write(
                    f"interrupted: wrote the mood of {count_text(done, 'file')} in {shown(root)}"
                    f" of {len(changes)}\n"
                )
                if done:
                    out.write(f"undo with: mood-tagger undo {shlex.quote(args.folder)}\n")
                out.flush()
                raise
            finally:
                bar.close()
            written = summary.written if summary else 0
            out.write(f"wrote the mood of {count_text(written, 'file')} in {shown(root)}\n")
            if written:
                out.write(f"undo with: mood-tagger undo {shlex.quote(args.folder)}\n")
    if unanalysed:
        out.write(
            f"{count_text(len(unanalysed), 'file')} not analysed yet {_was(unanalysed)} skipped "
            f"(run `mood-tagger analyze {shlex.quote(args.folder)}`):\n"
        )
        _list_some(out, sorted(unanalysed), root)
    if missing:
        out.write(
            f"{count_text(len(missing), 'file')} analysed or labelled before {_is(missing)} "
            "no longer on disk (deleted, or moved out of the folder), nothing to write to:\n"
        )
        _list_some(out, missing, root)
    if unreadable:
        out.write(
            f"{count_text(len(unreadable), 'file')} could not be analysed, so "
            f"{'it has' if len(unreadable) == 1 else 'they have'} no mood to write "
            f"(left as {'it is' if len(unreadable) == 1 else 'they are'}):\n"
        )
        list_reasons(out, ((n.path, n.reason) for n in unreadable), root)
    if no_mood:
        out.write(
            f"{count_text(len(no_mood), 'silent or very short file')} "
            f"{'has' if len(no_mood) == 1 else 'have'} no mood to write:\n"
        )
        list_reasons(out, ((n.path, n.reason) for n in no_mood), root)
    if kept:
        out.write(
            f"{count_text(kept, 'file')} that already {'has' if kept == 1 else 'have'} a mood tag "
            f"{'was' if kept == 1 else 'were'} left as {'it is' if kept == 1 else 'they are'}\n"
        )
    if same_file:
        out.write(
            f"{count_text(len(same_file), 'path')} "
            f"{'leads' if len(same_file) == 1 else 'lead'} to a file listed under another path:\n"
        )
        for path, other in same_file:
            out.write(f"  {rel_path(path, root)}: same file as {rel_path(other, root)}\n")
    if skipped:
        out.write(
            f"{count_text(len(skipped), 'folder or file', 'folders or files')} could not be "
            "read and had nothing written:\n"
        )
        list_reasons(out, skipped, root)
    if failures:
        what = "cannot be written" if args.dry_run else "failed"
        out.write(f"{count_text(len(failures), 'file')} {what}:\n")
        list_reasons(out, failures, root)
        return 1
    return 0
