"""``mood-tagger label MOOD FILE...``: record the person's mood for files (later wins)."""

from __future__ import annotations

import argparse
import sys

from tagger.commands.common import UsageError, path_arg, shown
from tagger.core.moods import MOODS, display_name, parse_mood
from tagger.core.text import count_text

_CLEAR = {"none", "clear", "-"}


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser(
        "label",
        help="set the mood of files yourself (used by `write` and for retraining)",
        description="Record your mood for each FILE. A label wins over the prediction; "
        "the newest label wins. MOOD is one of "
        + ", ".join(MOODS)
        + " (or Q1..Q4), or 'none' to clear the label.",
    )
    p.add_argument("mood", metavar="MOOD", help=f"{', '.join(MOODS)} or none")
    p.add_argument("files", nargs="+", type=path_arg, metavar="FILE", help="audio files")
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    from tagger.core.errors import FileError, no_mood_reason
    from tagger.core.scan import printable
    from tagger.core.store import Store
    from tagger.core.tagwrite import ensure_tracks

    clear = args.mood.strip().lower() in _CLEAR
    mood = None if clear else parse_mood(args.mood)
    if mood is None and not clear:
        raise UsageError(f"unknown mood {args.mood!r} (choose from {', '.join(MOODS)} or none)")
    failed: list[tuple[str, str]] = []
    done = unlabelled = 0
    with Store.open_default() as store:
        for name in args.files:
            try:
                ids = ensure_tracks([name], store)
            except FileError as exc:
                failed.append((printable(name), str(exc)))
                continue
            for track_id in ids.values():
                if clear and store.label(track_id) is None:
                    unlabelled += 1  # nothing to clear
                    continue
                # as in the app: a file that cannot be read gets no mood (clearing is fine)
                error = store.read_error(track_id) if mood else None
                if error and not no_mood_reason(error):
                    failed.append((printable(name), f"could not be analysed: {error}"))
                    continue
                store.add_label(track_id, mood, "user")
                done += 1
    if mood:
        print(f"labelled {count_text(done, 'file')} as {display_name(mood)}")
    else:
        none = f" ({unlabelled} had no label)" if unlabelled else ""
        print(f"cleared the label of {count_text(done, 'file')}{none}")
    for name, msg in failed:
        print(f"  {shown(name)}: {msg}", file=sys.stderr)
    return 1 if failed else 0
