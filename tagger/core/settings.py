"""User settings: a small JSON file in the app's config dir, saved atomically."""

from __future__ import annotations

import json
import logging
import os
import tempfile
from pathlib import Path
from typing import Any

from tagger.core.paths import app_dirs

log = logging.getLogger(__name__)


def load_settings(path: Path | None = None) -> dict[str, Any]:
    path = path or app_dirs().settings_file
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
        return data if isinstance(data, dict) else {}
    except FileNotFoundError:
        return {}
    except (OSError, ValueError) as exc:
        log.warning("ignoring unreadable settings %s: %s", path, exc)
        return {}


def save_settings(settings: dict[str, Any], path: Path | None = None) -> None:
    path = path or app_dirs().settings_file
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=".settings-", suffix=".json")
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as f:
            json.dump(settings, f, indent=2, ensure_ascii=False)
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def update_settings(**changes: Any) -> dict[str, Any]:
    s = load_settings()
    s.update(changes)
    save_settings(s)
    return s
