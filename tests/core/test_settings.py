"""Settings: a hand-edited file with wrong values is read as if they were unset."""

from __future__ import annotations

import json
import logging

import pytest

from tagger.core.models import active_model_path
from tagger.core.paths import app_dirs, bundled_model_path
from tagger.core.settings import load_settings, update_settings
from tagger.core.tagwrite import WriteOptions


def _write(data) -> None:
    path = app_dirs().settings_file
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(data), encoding="utf-8")


def test_values_of_the_wrong_type_are_left_out_with_a_warning(caplog):
    _write(
        {
            "last_folder": 7,
            "recent_folders": 3,
            "window_geometry": ["x"],
            "active_model": 1,
            "write_energy_valence": "false",
            "write_keep_existing": 1,
            "write_min_confidence": True,
            "playlist_export_dir": "/music/lists",
            "something_new": {"kept": True},
        }
    )
    with caplog.at_level(logging.WARNING):
        s = load_settings()
    assert s == {"playlist_export_dir": "/music/lists", "something_new": {"kept": True}}
    assert "'write_energy_valence'" in caplog.text and "'last_folder'" in caplog.text


def test_a_string_false_does_not_turn_writing_energy_on():
    """``bool("false")`` is True: a hand-written "false" wrote energy and valence."""
    _write({"write_energy_valence": "false", "write_keep_existing": "no"})
    opts = WriteOptions.from_settings()
    assert opts.energy_valence is False and opts.keep_existing is False
    _write({"write_energy_valence": True, "write_min_confidence": 0.5})
    opts = WriteOptions.from_settings()
    assert opts.energy_valence is True and opts.min_confidence == pytest.approx(0.5)


def test_a_bad_active_model_value_falls_back_to_the_bundled_model():
    _write({"active_model": ["not", "a", "path"]})
    assert active_model_path() == bundled_model_path()


@pytest.mark.parametrize("data", [[1, 2], None, "text"])
def test_settings_that_are_not_an_object_are_ignored_with_a_warning(data, caplog):
    _write(data)
    with caplog.at_level(logging.WARNING):
        assert load_settings() == {}
    assert "not a JSON object" in caplog.text


def test_updating_keeps_good_values_and_drops_bad_ones():
    _write({"last_folder": 7, "playlist_export_dir": "/x"})
    update_settings(recent_folders=["/a"])
    saved = json.loads(app_dirs().settings_file.read_text(encoding="utf-8"))
    assert saved == {"playlist_export_dir": "/x", "recent_folders": ["/a"]}


def test_a_setting_saved_as_unset_is_no_warning(caplog):
    """The window saves ``splitter_sizes=None`` when the split was never dragged: every
    later start warned ten times that None "is not a valid value"."""
    update_settings(splitter_sizes=[600, 300], library_sort=[1, 0])
    update_settings(splitter_sizes=None, library_sort=None, last_folder="/music")
    raw = json.loads(app_dirs().settings_file.read_text(encoding="utf-8"))
    assert raw == {"last_folder": "/music"}  # unset, not stored as null
    _write({"splitter_sizes": None, "last_folder": "/music"})  # as earlier versions saved
    with caplog.at_level(logging.WARNING):
        assert load_settings() == {"last_folder": "/music"}
    assert caplog.text == ""
