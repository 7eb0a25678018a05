"""Where the app keeps its data and where the bundled resources are.

``MOOD_TAGGER_HOME``, when set, is the base of ALL app data (database, user models,
settings, logs); otherwise the platform's directories from appdirs are used.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

import appdirs

APP_NAME = "mood-tagger"
HOME_ENV = "MOOD_TAGGER_HOME"


@dataclass(frozen=True, slots=True)
class AppDirs:
    data: Path
    config: Path
    cache: Path
    logs: Path

    @property
    def database(self) -> Path:
        return self.data / "library.sqlite3"

    @property
    def user_models(self) -> Path:
        return self.data / "models"

    @property
    def settings_file(self) -> Path:
        return self.config / "settings.json"

    def ensure(self) -> AppDirs:
        """Create the folders the app's data needs. Not ``logs``: the log file is optional,
        and a log folder that cannot be made must not stop the app (the logger skips it)."""
        for p in (self.data, self.config, self.cache, self.user_models):
            p.mkdir(parents=True, exist_ok=True)
        return self


def app_dirs() -> AppDirs:
    """The app's directories (not created; call :meth:`AppDirs.ensure`)."""
    home = os.environ.get(HOME_ENV)
    if home:
        base = Path(home).expanduser()
        return AppDirs(base / "data", base / "config", base / "cache", base / "logs")
    return AppDirs(
        Path(appdirs.user_data_dir(APP_NAME, False)),
        Path(appdirs.user_config_dir(APP_NAME, False)),
        Path(appdirs.user_cache_dir(APP_NAME, False)),
        Path(appdirs.user_log_dir(APP_NAME, False)),
    )


def resources_dir() -> Path:
    """The bundled resources: ``tagger/_resources`` in a wheel, ``resources/`` in a checkout."""
    pkg = Path(__file__).resolve().parent.parent
    installed = pkg / "_resources"
    if installed.is_dir():
        return installed
    return pkg.parent / "resources"


def bundled_model_path() -> Path:
    return resources_dir() / "models" / "mood_cnn.pt"
