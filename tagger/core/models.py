"""Which model is active: a user model chosen in settings, else the bundled one."""

from __future__ import annotations

from pathlib import Path

from tagger.core.checkpoint import LoadedModel, load_checkpoint
from tagger.core.paths import bundled_model_path
from tagger.core.settings import load_settings


def active_model_path() -> Path:
    user = load_settings().get("active_model")
    if user and Path(user).is_file():
        return Path(user)
    return bundled_model_path()


def load_model(path: str | Path | None = None) -> LoadedModel:
    """Load ``path``, or the active model when None. Raises CheckpointError."""
    return load_checkpoint(Path(path) if path else active_model_path())
