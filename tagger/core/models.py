"""Which model is active: a user model chosen in settings, else the bundled one."""

from __future__ import annotations

import logging
from pathlib import Path

from tagger.core.checkpoint import LoadedModel, load_checkpoint
from tagger.core.errors import CheckpointError
from tagger.core.paths import bundled_model_path
from tagger.core.settings import load_settings

log = logging.getLogger(__name__)


def user_model_setting() -> Path | None:
    """The retrained model named in settings (a hand-edited non-path value is ignored)."""
    user = load_settings().get("active_model")
    return Path(user) if isinstance(user, str) and user else None


def active_model_path() -> Path:
    user = user_model_setting()
    if user is not None and user.is_file():
        return user
    return bundled_model_path()


def load_model(path: str | Path | None = None, notes: list[str] | None = None) -> LoadedModel:
    """Load ``path``, or the active model when None. Raises CheckpointError.

    If the active model is a user model that cannot be loaded (damaged, or from an
    incompatible version), the bundled model is used instead: the app keeps working, and
    the user model comes back if its file is repaired. That is logged as an error and,
    for a caller that shows it its own way, said in ``notes``. A user model whose file is
    missing is logged the same way.
    """
    if path:
        return load_checkpoint(Path(path))
    active = active_model_path()
    user = user_model_setting()
    if user is not None and active != user:
        # The retrained model's file is gone. Logged only: the app's Reset button (which
        # the notes point to) is off while no user model file is there.
        _fall_back(f"Your retrained model {user} is missing, so the bundled model is used", None)
    try:
        return load_checkpoint(active)
    except CheckpointError as exc:
        if active == bundled_model_path():
            raise
        _fall_back(
            f"Your retrained model could not be loaded, so the bundled model is used: {exc}", notes
        )
        return load_checkpoint(bundled_model_path())


def _fall_back(note: str, notes: list[str] | None) -> None:
    log.error(
        "%s. Retrain to make a new one from your labels (they are kept), or run "
        "`mood-tagger retrain --reset` to use the bundled model from now on",
        note,
    )
    if notes is not None:
        notes.append(note)
