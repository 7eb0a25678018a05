"""``mood-tagger forget --missing FOLDER``: forget the songs whose files are gone.

The library keeps a deleted song (its mood, your label, its tag-write history) in case the
file comes back; this is the way to let go of them. A folder that is not there (a drive
not connected) is refused, so it never wipes the library.
"""

from __future__ import annotations

import argparse
import sys

from tagger.commands.common import UsageError, folder_arg, list_reasons, path_arg, rel_path, shown
from tagger.core.text import count_text


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser(
        "forget",
        help="forget songs whose files are missing (their moods and labels)",
        description="Forget the songs of FOLDER whose files are no longer there (deleted, or "
        "moved out of the folder): their moods, your labels and their tag-write history. "
        "The folder is scanned first, so moved or renamed files keep theirs. A folder that "
        "is not there, or shows no audio files at all (a drive that is not connected), is "
        "refused and nothing is forgotten.",
    )
    p.add_argument(
        "--missing",
        action="store_true",
        required=True,
        help="forget the songs whose files are missing (the only kind, for now)",
    )
    p.add_argument("folder", type=path_arg, metavar="FOLDER", help="music folder")
    p.add_argument(
        "--dry-run", action="store_true", help="list the songs that would be forgotten, keep them"
    )
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    from tagger.core.errors import FolderUnavailable
    from tagger.core.library import MissingSongs, find_missing, forget_missing
    from tagger.core.store import Store

    try:
        root = folder_arg(args.folder)
    except UsageError as exc:
        raise UsageError(f"{exc}; nothing was forgotten") from None
    out = sys.stdout
    missing = None
    with Store.open_default() as store:
        try:
            for event in find_missing(root, store):
                if isinstance(event, MissingSongs):
                    missing = event
        except FolderUnavailable as exc:
            raise UsageError(str(exc)) from None
        assert missing is not None
        n, labelled = len(missing.paths), missing.labelled
        with_labels = f" ({labelled} with your label)" if labelled else ""
        if not n:
            out.write(f"no songs are missing from {shown(root)}; nothing to forget\n")
        elif args.dry_run:
            out.write(
                f"dry run: {count_text(n, 'song')} missing from {shown(root)} "
                f"would be forgotten{with_labels}:\n"
            )
            for path in missing.paths:
                out.write(f"  {rel_path(path, root)}\n")
        else:
            n = forget_missing(store, missing)
            out.write(f"forgot {count_text(n, 'song')} missing from {shown(root)}{with_labels}\n")
    if missing.unreadable:
        n = len(missing.unreadable)
        out.write(
            f"{count_text(n, 'folder or file', 'folders or files')} could not be read; "
            f"{'its' if n == 1 else 'their'} songs are kept:\n"
        )
        list_reasons(out, missing.unreadable, root)
    return 0
