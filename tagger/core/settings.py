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


#: The type each known setting must have (the file may be edited by hand); a value of
#: another type is left out, as if unset, so that no caller meets a surprise.
TYPES: dict[str, type | tuple[type, ...]] = {
    "active_model": str,
    "last_folder": str,
    "recent_folders": list,
    "window_geometry": str,
    "splitter_sizes": list,
    "library_sort": list,
    "playlist_export_dir": str,
    "write_min_confidence": (int, float),
    "write_energy_valence": bool,
    "write_keep_existing": bool,
}


def _well_typed(key: str, value: Any) -> bool:
    want = TYPES.get(key)
    if want is None:
        return True
    if isinstance(value, bool) and bool not in (want if isinstance(want, tuple) else (want,)):
        return False  # JSON true is not a number here
    return isinstance(value, want)


def load_settings(path: Path | None = None) -> dict[str, Any]:
    """The settings; {} when there are none or they cannot be read, and without any
    known setting whose value has the wrong type (each is logged)."""
    path = path or app_dirs().settings_file
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        return {}
    except (OSError, ValueError) as exc:
        log.warning("ignoring unreadable settings %s: %s", path, exc)
        return {}
    if not isinstance(data, dict):
        log.warning("ignoring settings %s: not a JSON object", path)
        return {}
    data = {k: v for k, v in data.items() if v is not None}  # null: not set
    bad = [k for k, v in data.items() if not _well_typed(k, v)]
    for key in bad:
        log.warning("ignoring setting %r in %s: %r is not a valid value", key, path, data[key])
    return {k: v for k, v in data.items() if k not in bad}


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
    """Change some settings and save them all; a value of None unsets its setting."""
    s = load_settings()
    s.update(changes)
    s = {k: v for k, v in s.items() if v is not None}
    save_settings(s)
    return s
