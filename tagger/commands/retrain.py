"""``mood-tagger retrain FOLDER [--reset]``: fine-tune on the folder's labels, or go back."""

from __future__ import annotations

import argparse
import shlex
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
from tagger.core.text import count_text


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser(
        "retrain",
        help="fine-tune the model on the moods you labelled in a folder (or --reset)",
        description="Refit the model's final layer on the labels recorded for the songs in "
        "FOLDER (at least 10, of at least two moods; each retrain starts again from the "
        "bundled model, with all your labels), make the result the active model and "
        "re-analyse the folder. A model that gets fewer of your labels right than before "
        "(both estimated on songs held out) is not used unless you pass --force. The "
        "bundled model is never modified; --reset goes back to it.",
    )
    p.add_argument(
        "folder",
        nargs="?",
        type=path_arg,
        metavar="FOLDER",
        help="music folder whose labels to learn from (with --reset: the folder to re-analyse, "
        "if any)",
    )
    p.add_argument("--reset", action="store_true", help="go back to the bundled model")
    p.add_argument(
        "--force",
        action="store_true",
        help="use the retrained model even when it does not look better than before",
    )
    p.add_argument(
        "--jobs",
        type=jobs_arg,
        metavar="N",
        default=None,
        help=JOBS_HELP,
    )
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    from tagger.core.library import AnalysisSummary, analyze_library
    from tagger.core.models import load_model
    from tagger.core.progress import Progress
    from tagger.core.retrain import (
        ModelSaveError,
        RetrainError,
        RetrainResult,
        retrain,
    )
    from tagger.core.store import Store

    out = sys.stdout
    if args.reset and args.force:
        raise UsageError("--force is for a retrain; --reset goes back to the bundled model")
    if args.folder is None:
        if not args.reset:
            raise UsageError("retrain needs the music folder whose labels to learn from")
        if not _reset():
            return 1
        out.write(
            "using the bundled model again (your user models are kept); the app re-analyses "
            "a folder when it opens it, or run: mood-tagger analyze FOLDER\n"
        )
        return 0
    root = folder_arg(args.folder)
    with Store.open_default() as store:
        if args.reset:
            if not _reset():
                return 1
            out.write("using the bundled model again (your user models are kept)\n")
        else:
            result: RetrainResult | None = None
            save_error = ""
            bar = ProgressBar("reading labelled songs", enabled=not args.quiet)
            try:
                for ev in retrain(root, store, keep_if_worse=not args.force):
                    if isinstance(ev, Progress) and ev.stage == "features":
                        bar.update(ev.done, ev.total, force=ev.done == ev.total)
                    elif isinstance(ev, RetrainResult):
                        result = ev
            except ModelSaveError as exc:  # not the person's input: exit status 1
                save_error = str(exc)
            except RetrainError as exc:
                raise UsageError(str(exc)) from None
            finally:
                bar.close()
            if save_error:
                sys.stderr.write(f"mood-tagger: error: {save_error}\n")
                return 1
            assert result is not None
            for path, msg in result.skipped:
                out.write(f"  skipped {shown(path)}: {msg}\n")
            out.write(result.summary() + "\n")
            folder = shlex.quote(args.folder)
            if not result.activated:
                if result.before_is_active:
                    kept = (
                        f"the current model {result.base_model_id} stays active and nothing "
                        "was re-analysed. Label more songs and retrain, or use it anyway with: "
                        f"mood-tagger retrain --force {folder}\n"
                    )
                else:  # a user model is active: it learnt from these labels, unscored
                    kept = (
                        f"your earlier retrained model {result.base_model_id} stays active "
                        "and nothing was re-analysed (it learnt from your labels, so it "
                        f"cannot be scored on them). Go back to {result.before_model}, which "
                        f"did better, with: mood-tagger retrain --reset {folder}; or use the "
                        f"new model anyway with: mood-tagger retrain --force {folder}\n"
                    )
                than = "before" if result.before_is_active else result.before_model
                out.write(
                    f"the retrained model does not look better than {than} on your "
                    f"{result.n_used} labels, so it is not used: " + kept
                )
                return 0
            out.write(f"user model {result.model_id} is now active ({result.model_path})\n")
            if result.looks_worse:
                out.write(
                    "note: it does not look better than before on your labels; label more "
                    f"songs and retrain, or go back with: mood-tagger retrain --reset {folder}\n"
                )
        loaded = load_model()
        bar = ProgressBar("re-analysing", enabled=not args.quiet)
        summary: AnalysisSummary | None = None
        try:
            for ev in analyze_library(root, store, loaded, jobs=args.jobs):
                if isinstance(ev, Progress) and ev.stage == "analyse" and ev.total:
                    bar.update(ev.done, ev.total, force=ev.done == ev.total)
                elif isinstance(ev, AnalysisSummary):
                    summary = ev
        finally:
            bar.close()
        if summary is not None:
            # every song this run looked at: a silent one is re-analysed too, it just has
            # no mood (it was left out of the count)
            redone = summary.total - summary.cached
            silent = f", {summary.no_mood} silent or too short" if summary.no_mood else ""
            out.write(
                f"re-analysed {count_text(redone, 'song')} with model {loaded.model_id} "
                f"({summary.cached} from cache, {count_text(summary.errors, 'error')}{silent})\n"
            )
    return 0


def _reset() -> bool:
    """Go back to the bundled model; False, said on stderr, when the settings cannot be
    saved (a read-only or full settings folder): the active model is then unchanged."""
    from tagger.core.paths import app_dirs
    from tagger.core.retrain import reset_model

    try:
        reset_model()
    except OSError as exc:
        where = app_dirs().settings_file.parent
        sys.stderr.write(
            f"mood-tagger: error: cannot save the settings in {where}: {exc.strerror or exc} "
            "(is the folder read-only or the disk full?); the active model is unchanged\n"
        )
        return False
    return True
