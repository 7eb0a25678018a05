"""``mood-tagger playlist FOLDER ... -o FILE``: a mood playlist as M3U8 or XSPF.

The folder is analysed first (like ``analyze``: only new or changed files are decoded,
the rest comes from the cache), so the playlist always reflects the files on disk.
"""

from __future__ import annotations

import argparse
import sys

from tagger.commands.common import (
    JOBS_HELP,
    ProgressBar,
    UsageError,
    folder_arg,
    jobs_arg,
    path_arg,
    shown,
)
from tagger.core.moods import MOODS, parse_mood
from tagger.core.playlists import ORDERS, PlaylistError, PlaylistSpec
from tagger.core.text import count_text, format_length


def _range(text: str) -> tuple[float, float]:
    try:
        lo, hi = (float(x) for x in text.split(":"))
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected LO:HI (e.g. 0.2:0.6), got {text!r}") from None
    return lo, hi


def _mood(text: str) -> str:
    key = parse_mood(text)
    if key is None:
        raise argparse.ArgumentTypeError(f"unknown mood {text!r} (choose from {', '.join(MOODS)})")
    return key


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser(
        "playlist",
        help="write a mood playlist (M3U8 or XSPF)",
        description="Select songs by mood, energy and valence and write a playlist. "
        "A song's mood is your label if you set one, else the prediction; ranges are "
        "inclusive. The folder is analysed first (cached results are reused).",
    )
    p.add_argument("folder", type=path_arg, metavar="FOLDER", help="music folder")
    p.add_argument(
        "-o",
        "--output",
        required=True,
        type=path_arg,
        metavar="FILE",
        help="FILE.m3u8 or FILE.xspf (FILE.m3u: written as UTF-8 M3U8)",
    )
    p.add_argument(
        "--mood",
        action="append",
        type=_mood,
        metavar="M",
        help=f"keep this mood ({', '.join(MOODS)}); repeat for several (default: all)",
    )
    p.add_argument("--energy", type=_range, metavar="LO:HI", help="energy range within 0..1")
    p.add_argument("--valence", type=_range, metavar="LO:HI", help="valence range within 0..1")
    p.add_argument(
        "--min-confidence", type=float, metavar="X", help="minimum confidence (labels count as 1)"
    )
    p.add_argument("--artist", help="artist contains this text (any case)")
    p.add_argument("--album", help="album contains this text (any case)")
    p.add_argument(
        "--labelled-only", action="store_true", default=None, help="only songs you labelled"
    )
    p.add_argument("--order", choices=ORDERS, help="default: energy-asc")
    p.add_argument("--seed", type=int, help="shuffle seed (default 0)")
    p.add_argument("--limit", type=int, metavar="N", help="at most N songs")
    p.add_argument("--max-minutes", type=float, metavar="M", help="at most M minutes in total")
    p.add_argument("--title", help="playlist title (XSPF; default: the saved name or file name)")
    p.add_argument(
        "--saved",
        metavar="NAME",
        help="start from a playlist saved in the app (or with --save); other flags override it",
    )
    p.add_argument("--save", metavar="NAME", help="also save this definition under NAME")
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


def _spec_from_args(args: argparse.Namespace) -> PlaylistSpec:
    """The saved definition (``--saved``) or the defaults, overridden by the flags given."""
    from dataclasses import replace

    from tagger.core.playlists import load_definitions

    spec = PlaylistSpec()
    if args.saved:
        problems: list[str] = []
        saved = load_definitions(problems=problems)
        if args.saved not in saved:
            known = ", ".join(saved) or "none"
            text = f"no saved playlist named {args.saved!r} (saved: {known})"
            if problems:  # not "none saved" when the file is there but unreadable
                text += "; " + "; ".join(problems)
            raise PlaylistError(text)
        spec = saved[args.saved]
    changes = {
        "moods": tuple(dict.fromkeys(args.mood)) if args.mood else None,
        "energy": args.energy,
        "valence": args.valence,
        "min_confidence": args.min_confidence,
        "artist": args.artist,
        "album": args.album,
        "labelled_only": args.labelled_only,
        "order": args.order,
        "seed": args.seed,
        "limit": args.limit,
        "max_minutes": args.max_minutes,
        "name": args.save or args.title,
    }
    spec = replace(spec, **{k: v for k, v in changes.items() if v is not None})
    return spec.validate()


def _left_out_text(unread: int, no_mood: int) -> str:
    """What the playlist left out: "6 songs could not be read and 3 have no mood (silent or
    too short); left out"; either part alone when the other is 0."""
    silent = "(silent or too short)"
    if not no_mood:
        return f"{count_text(unread, 'song')} could not be read and {_was(unread)} left out"
    if not unread:
        has = "has" if no_mood == 1 else "have"
        return f"{count_text(no_mood, 'song')} {has} no mood {silent} and {_was(no_mood)} left out"
    has = "has" if no_mood == 1 else "have"
    return (
        f"{count_text(unread, 'song')} could not be read and {no_mood} {has} no mood {silent};"
        " left out"
    )


def _was(n: int) -> str:
    return "was" if n == 1 else "were"


def run(args: argparse.Namespace) -> int:
    from tagger.core.library import analyze_library, library_rows
    from tagger.core.models import load_model
    from tagger.core.playlists import (
        build_playlist,
        check_output_folder,
        definitions_path,
        playlist_format,
        save_definition,
        write_playlist,
    )
    from tagger.core.progress import Progress
    from tagger.core.store import Store

    if args.save is not None and not args.save.strip():
        raise UsageError("--save needs a name for the playlist definition")

    try:
        spec = _spec_from_args(args)
        playlist_format(args.output)
        check_output_folder(args.output)  # before the (possibly long) analysis
    except PlaylistError as exc:
        raise UsageError(str(exc)) from None
    root = folder_arg(args.folder)
    loaded = load_model(args.model)
    bar = ProgressBar("analysing", enabled=not args.quiet)
    with Store.open_default() as store:
        try:
            for event in analyze_library(root, store, loaded, jobs=args.jobs):
                if isinstance(event, Progress) and event.stage == "analyse" and event.total:
                    bar.update(event.done, event.total, force=event.done == event.total)
        finally:
            bar.close()
        rows = library_rows(root, store, loaded.model_id)
    playlist = build_playlist(rows, spec)
    # left out, as they have no scores: songs that could not be read (or were not analysed),
    # and silent or too short ones, which are no error (said apart, as `analyze` does)
    no_mood = sum(1 for r in rows if r.scores is None and r.no_mood)
    errors = sum(1 for r in rows if r.scores is None and not r.no_mood)
    save_failed = False
    if args.save:
        try:
            save_definition(spec)
        except OSError as exc:  # a read-only or full data folder; the playlist is still written
            print(
                f"mood-tagger: error: cannot save the playlist definition {spec.name!r} in "
                f"{definitions_path()}: {exc.strerror or exc} (is the folder read-only or "
                "the disk full?)",
                file=sys.stderr,
            )
            save_failed = True
    if not playlist.rows:
        if playlist.matched:  # the filters let songs through; the length limit did not
            why = (
                f"{count_text(playlist.matched, 'song')} match, but the first is longer "
                f"than --max-minutes {spec.max_minutes:g}"
            )
        else:
            why = f"no songs match (of {len(rows)} in {shown(root)})"
        print(f"mood-tagger: {why}; nothing written", file=sys.stderr)
        return 1
    try:
        path = write_playlist(args.output, playlist.rows, title=args.title or spec.name)
    except PlaylistError as exc:
        raise UsageError(str(exc)) from None
    except OSError as exc:
        print(
            f"mood-tagger: cannot write {shown(args.output)}: {exc.strerror or exc}",
            file=sys.stderr,
        )
        return 1
    n = len(playlist.rows)
    out = sys.stdout
    out.write(
        f"wrote {count_text(n, 'song')} ({format_length(playlist.seconds)}) to {shown(path)}"
        f" — {playlist.matched} matched, {len(rows)} in the folder\n"
    )
    if errors or no_mood:
        out.write(f"  {_left_out_text(errors, no_mood)}\n")
    return 1 if save_failed else 0
