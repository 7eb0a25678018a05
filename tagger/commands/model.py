"""``mood-tagger model``: which model is active (bundled or retrained), and how to go back."""

from __future__ import annotations

import argparse
import datetime as dt
import sys


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser(
        "model",
        help="show which model is active: the bundled one or your retrained one",
        description="Show the model the app and the commands use: the bundled model, or "
        "the one `mood-tagger retrain` made from your labels (what it learnt from, and its "
        "estimated accuracy). A retrained model that is missing or cannot be loaded is said, "
        "with the bundled model standing in. `mood-tagger retrain --reset` goes back to the "
        "bundled model.",
    )
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    from tagger.core.checkpoint import model_id_of
    from tagger.core.models import load_model, user_model_setting
    from tagger.core.paths import bundled_model_path

    out = sys.stdout
    user = user_model_setting()
    notes: list[str] = []
    loaded = load_model(notes=notes)
    if user is not None and not user.is_file():
        notes.append(f"your retrained model {user} is missing")
    bundled_id = model_id_of(bundled_model_path().read_bytes())
    if loaded.path == bundled_model_path():
        out.write(f"active model: the bundled model {loaded.model_id}\n  file: {loaded.path}\n")
        if notes:
            out.write(
                f"  standing in: {notes[0][0].lower()}{notes[0][1:]}\n"
                "  retrain to make a new one from your labels, or run `mood-tagger retrain "
                "--reset` to use the bundled model from now on\n"
            )
        return 0
    prov = loaded.provenance
    saved = dt.datetime.fromtimestamp(loaded.path.stat().st_mtime).strftime("%Y-%m-%d %H:%M")
    kind = "your retrained model" if prov.get("kind") == "user" else "the model"
    out.write(f"active model: {kind} {loaded.model_id}\n  file: {loaded.path} (saved {saved})\n")
    counts = prov.get("label_counts")
    est = prov.get("estimate")
    if isinstance(counts, dict) and isinstance(est, dict):
        moods = ", ".join(f"{m} {n}" for m, n in counts.items() if n)
        out.write(
            f"  learnt from {prov.get('n_used')} labelled songs ({moods}); accuracy on them, "
            f"cross-validated: {est.get('before', 0):.0%} before -> {est.get('after', 0):.0%}\n"
        )
    anchor = prov.get("anchor_model_id")
    if anchor and anchor != bundled_id:
        out.write(
            f"  built on another bundled model ({anchor}) than this app's ({bundled_id}): "
            "retrain to rebuild it on this one\n"
        )
    out.write("  go back to the bundled model with: mood-tagger retrain --reset\n")
    return 0
