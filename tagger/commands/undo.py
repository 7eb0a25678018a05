"""``mood-tagger undo FOLDER``: restore the tags of the last write batch exactly."""

from __future__ import annotations

import argparse
import shlex
import sys
from pathlib import Path

from tagger.commands.common import (
    ProgressBar,
    ctrl_c_stops_between_files,
    folder_arg,
    list_reasons,
    path_arg,
    shown,
)
from tagger.core.text import count_text


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser(
        "undo",
        help="undo the last `write` in a folder (restores the mood tags exactly)",
    )
    p.add_argument(
        "folder", type=path_arg, metavar="FOLDER", help="the folder given to `mood-tagger write`"
    )
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    from tagger.core.scan import scan
    from tagger.core.store import Store
    from tagger.core.tagwrite import WriteOutcome, WriteSummary, summary_text, undo_last

    root = folder_arg(args.folder)
    out = sys.stdout
    failures: list[tuple[str, str]] = []
    kept: list[tuple[str, str]] = []
    summary = None
    restored, total = 0, 0
    bar = ProgressBar("restoring", enabled=not args.quiet)
    with Store.open_default() as store:
        # a scan first (cheap when nothing changed), as `write` and `forget` do: files or
        # folders moved or renamed since the write take their journal with them
        for _event in scan(root, store):
            pass
        open_batches = store.open_write_batches()
        try:
            with ctrl_c_stops_between_files() as cancel:
                for event in undo_last(root, store, cancel):
                    if isinstance(event, WriteOutcome) and event.ok:
                        restored += 1
                    elif isinstance(event, WriteOutcome):
                        (kept if event.kept else failures).append((event.path, event.error or ""))
                    elif isinstance(event, WriteSummary):
                        summary = event
                    elif getattr(event, "stage", "") == "undo":
                        total = event.total
                        if event.done:
                            bar.update(event.done, event.total, force=event.done == event.total)
            if summary is not None and summary.cancelled:
                raise KeyboardInterrupt  # stopped between two files: said below
        except KeyboardInterrupt:  # Ctrl+C: say how far it got, and how to finish
            bar.close()
            if total:
                out.write(
                    f"interrupted: restored {count_text(restored, 'file')} of {total} in "
                    f"{shown(root)}; run `mood-tagger undo {shlex.quote(args.folder)}` again to "
                    "restore the rest\n"
                )
                out.flush()
            raise
        finally:
            bar.close()
    if summary is None or summary.batch_id is None:
        out.write(f"nothing to undo in {shown(root)}\n")
        # a write is undone with the folder it was given: name the ones above or below
        if nearby := _writes_nearby(root, open_batches):
            out.write("the last writes not undone near it were made in:\n")
            for folder in nearby:
                out.write(f"  {shown(folder)}  (mood-tagger undo {shlex.quote(folder)})\n")
        return 0
    # the app's status bar says the same
    already = len(summary.already)
    out.write(
        summary_text("Undo last write", summary.written, len(failures), len(kept), already) + "\n"
    )
    if kept:
        out.write(
            f"{count_text(len(kept), 'file')} kept as {'it is' if len(kept) == 1 else 'they are'} "
            "(changed since the write):\n"
        )
        list_reasons(out, kept, root)
    if failures:
        out.write(
            f"{count_text(len(failures), 'file')} could not be restored "
            "(run undo again to retry):\n"
        )
        list_reasons(out, failures, root)
    return 1 if failures else 0  # a file kept on purpose is not a failure


def _writes_nearby(root: Path, batches: list[tuple[int, str]]) -> list[str]:
    """The folders, newest first, of the writes not undone in a folder inside ``root``
    or containing it (``write Music/A``, then ``undo Music``)."""
    folders: dict[str, None] = {}
    for _id, folder in sorted(batches, reverse=True):
        f = Path(folder)
        if f != root and (f.is_relative_to(root) or root.is_relative_to(f)):
            folders.setdefault(folder)
    return list(folders)[:5]
