"""``mood-tagger eval PATH``: score the model on music you labelled by folder.

PATH holds one sub-folder per mood (``happy/ aggressive/ sad/ calm/`` or ``Q1/ .. Q4/``,
any case); every audio file below a sub-folder carries that label. Prints the metrics as
JSON on standard output (the same as the training report) and a readable confusion matrix
on standard error.
"""

from __future__ import annotations

import argparse
import json
import sys

from tagger.commands.common import (
    JOBS_HELP,
    ProgressBar,
    UsageError,
    folder_arg,
    jobs_arg,
    list_reasons,
    path_arg,
    shown,
)
from tagger.core.moods import MOODS, parse_mood


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("eval", help="measure the model on a folder of labelled music")
    p.add_argument(
        "path",
        type=path_arg,
        metavar="PATH",
        help="folder with one sub-folder per mood (happy/.. or Q1/..)",
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


def labelled_files(
    root, ignored: list[str] | None = None, found: list[str] | None = None
) -> list[tuple[str, int]]:
    """(file, mood index) for audio under mood-named sub-folders; other sub-folders' names
    go into ``ignored``, the mood-named ones into ``found``."""
    from tagger.core.scan import is_hidden, iter_audio_files

    files = []
    for sub in sorted(p for p in root.iterdir() if p.is_dir() and not is_hidden(p.name)):
        mood = parse_mood(sub.name)
        if mood is None:
            if ignored is not None:
                ignored.append(sub.name)
            continue
        if found is not None:
            found.append(sub.name)
        files += [(str(f), MOODS.index(mood)) for f in iter_audio_files(sub)]
    return files


def run(args: argparse.Namespace) -> int:
    import numpy as np

    from tagger.core.analysis import analyze_many
    from tagger.core.errors import FileError, no_mood_reason
    from tagger.core.metrics import format_confusion, song_metrics
    from tagger.core.models import load_model

    root = folder_arg(args.path)
    ignored: list[str] = []
    found: list[str] = []
    files = labelled_files(root, ignored, found)
    for name in ignored:
        print(f"ignored sub-folder {name!r}: not a mood name", file=sys.stderr)
    if not files and found:
        names = ", ".join(f"{shown(n)}/" for n in found)
        raise UsageError(f"no audio files in the mood sub-folders of {shown(root)}: {names}")
    if not files:
        raise UsageError(
            f"no labelled audio in {shown(root)}: expected sub-folders named "
            f"{', '.join(MOODS)} or Q1..Q4"
        )
    loaded = load_model(args.model)
    label_of = dict(files)
    probs, labels, errors, no_mood = {}, {}, [], []
    silent_why: dict[str, str] = {}  # the no-mood songs' messages, for stderr
    bar = ProgressBar("evaluating", enabled=not args.quiet)
    for i, (path, result) in enumerate(analyze_many(label_of, loaded, args.jobs), start=1):
        if isinstance(result, FileError) and (reason := no_mood_reason(result.message)):
            # silent or too short: nothing to classify, which is no error (as in `analyze`)
            no_mood.append({"path": path, "no_mood": reason})
            silent_why[path] = result.message
        elif isinstance(result, FileError):
            errors.append({"path": path, "error": result.message})
        else:
            probs[path] = result.scores.probabilities
            labels[path] = label_of[path]
        bar.update(i, len(files), force=i == len(files))
    bar.close()
    if not probs:  # nothing to score: say why, file by file, as the other commands do
        list_reasons(sys.stderr, ((e["path"], e["error"]) for e in errors), root)
        list_reasons(sys.stderr, ((e["path"], silent_why[e["path"]]) for e in no_mood), root)
        if len(files) == 1:
            what = "is silent or too short" if no_mood else "could not be analysed"
            raise UsageError(f"the labelled file {what} (why: above)")
        if not no_mood:
            raise UsageError(
                f"none of the {len(files)} labelled files could be analysed (why: above)"
            )
        parts = [f"{len(no_mood)} silent or too short"]
        if errors:
            parts.append(f"{len(errors)} could not be read")
        raise UsageError(
            f"none of the {len(files)} labelled files has a mood to score "
            f"({', '.join(parts)}; why: above)"
        )
    order = sorted(probs)
    report = song_metrics(np.array([probs[p] for p in order]), np.array([labels[p] for p in order]))
    # songs with nothing to classify are no errors: listed apart, under "no_mood"
    report.update(model=loaded.model_id, errors=errors, no_mood=no_mood)
    print(json.dumps(report, indent=2))  # stdout holds only the JSON: `eval PATH > r.json`
    print(
        f"\nconfusion matrix (rows = true mood, columns = predicted), {report['n']} "
        f"song{'s' if report['n'] != 1 else ''}:\n{format_confusion(report['confusion'])}",
        file=sys.stderr,
    )
    return 0
