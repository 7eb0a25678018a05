"""run_app: the entry point of `mood-tagger [FOLDER]`."""

from __future__ import annotations

from PySide6.QtCore import QTimer
from PySide6.QtWidgets import QApplication

from tagger.core.settings import load_settings
from tagger.ui.app import add_optional_views, run_app
from tagger.ui.main_window import APP_TITLE, MainWindow
from tests.ui.fakes import FakeStream


def test_run_app_opens_the_folder_and_quits_cleanly(qapp, small_library, tiny_model_path):
    seen = {}

    def poll() -> None:
        wins = [w for w in QApplication.topLevelWidgets() if isinstance(w, MainWindow)]
        if wins and wins[0].isVisible() and wins[0].root is not None:
            w = wins[0]
            seen["title"] = w.windowTitle()
            seen["tabs"] = w.tabs.count()
            w.close()
            return
        QTimer.singleShot(20, poll)

    QTimer.singleShot(0, poll)
    assert run_app(str(small_library), model=tiny_model_path) == 0
    assert seen["title"] == f"{APP_TITLE} — {small_library.name}"
    assert load_settings()["last_folder"] == str(small_library.resolve())


def test_optional_views_are_skipped_when_absent(make_window):
    window = make_window(None)
    before = window.tabs.count()
    add_optional_views(window)  # review/playlist modules may or may not be installed
    assert window.tabs.count() >= before


def test_review_tab_scrolls_on_a_small_screen_and_keeps_its_keys(qtbot, make_window):
    """The review form is taller than a 1366x768 laptop allows: its tab scrolls instead of
    forcing the window taller, and the review keys still reach it."""
    from PySide6.QtWidgets import QScrollArea

    from tagger.ui.review_view import ReviewView

    window = make_window(None)
    add_optional_views(window)
    review = window.findChild(ReviewView)
    page = next(
        window.tabs.widget(i)
        for i in range(window.tabs.count())
        if window.tabs.tabText(i) == "Review"
    )
    assert isinstance(page, QScrollArea) and page.widget() is review
    assert window.minimumSizeHint().height() < review.minimumSizeHint().height()
    assert page.focusProxy() is review  # focusing the tab focuses the view


def test_saved_playlist_buttons_fit_a_1024_by_700_window(qtbot, make_window, small_library):
    """At 1024 x 700 the Playlists form shows its last row (Load / Save as / Delete) whole:
    the mood map's three-line hint pushed the buttons out of sight."""
    from tagger.ui.playlist_view import PlaylistView

    window = make_window(small_library, auto_analyse=False)
    add_optional_views(window)
    playlist = window.findChild(PlaylistView)
    qtbot.waitUntil(lambda: window.root is not None)
    window.tabs.setCurrentIndex(
        next(i for i in range(window.tabs.count()) if window.tabs.tabText(i) == "Playlists")
    )
    window.resize(1024, 700)
    window.show()
    qtbot.waitUntil(lambda: playlist.isVisible())
    QApplication.processEvents()
    viewport = playlist.form_scroll.viewport()
    for button in (playlist.load_button, playlist.save_button, playlist.delete_button):
        bottom = button.mapTo(viewport, button.rect().bottomLeft()).y()
        assert 0 < bottom < viewport.height(), button.text()
    assert "Mood Map" in playlist.map_label.toolTip()  # the hint moved there


def test_unwritable_app_folder_is_explained_not_a_crash(qapp, monkeypatch, tmp_path):
    """MOOD_TAGGER_HOME (or the default data folder) cannot be created: a message box
    says why and the app exits with status 1."""
    from PySide6.QtWidgets import QMessageBox

    blocker = tmp_path / "a file"
    blocker.write_text("not a folder")
    monkeypatch.setenv("MOOD_TAGGER_HOME", str(blocker / "home"))
    shown = []
    monkeypatch.setattr(QMessageBox, "critical", lambda *a, **k: shown.append(a[2]))
    assert run_app(None) == 1
    assert shown and "cannot create the app's data folder" in shown[0]


def test_a_double_clicked_song_opens_in_review_and_plays(
    qtbot, make_window, small_library, monkeypatch
):
    """Library rows (double-click / Enter), playlist rows, the playlist's Play button and
    mood-map points all ask to hear a song: it opens in the Review tab and plays, even
    when the review filters hid it."""
    from types import SimpleNamespace

    from tagger.ui import playback
    from tagger.ui.mood_map import MoodMapView
    from tagger.ui.playlist_view import PlaylistView
    from tagger.ui.review_view import ReviewView, group_key

    fake_sd = SimpleNamespace(query_devices=lambda kind=None: {}, OutputStream=FakeStream)
    monkeypatch.setattr(playback, "import_sounddevice", lambda: fake_sd)
    window = make_window(auto_analyse=True)
    add_optional_views(window)
    with qtbot.waitSignal(window.analysis_finished, timeout=120_000):
        window.open_folder(small_library)
    review = window.findChild(ReviewView)
    playlist = window.findChild(PlaylistView)
    mood_map = window.findChild(MoodMapView)
    rows = window.rows
    review_tab = next(i for i in range(window.tabs.count()) if window.tabs.tabText(i) == "Review")

    def heard(row) -> None:
        assert window.tabs.currentIndex() == review_tab
        assert review.current_row().track_id == row.track_id
        qtbot.waitUntil(lambda: review.player.playing, timeout=30_000)
        assert review.player.clip.path == row.path
        review.player.pause()
        window.tabs.setCurrentIndex(0)

    # a library row, activated as by a double-click or Enter
    target = rows[3]
    window.select_track(target.track_id)
    window.table.activated.emit(window.table.currentIndex())
    heard(target)

    # a playlist row, though the review filters hide it now
    other = next(r for r in rows if r.artist != target.artist)
    review.group_combo.setCurrentIndex(review.group_combo.findData(group_key(target.artist)))
    assert all(r.track_id != other.track_id for r in review.queue())
    playlist.play_requested.emit(other.path)
    heard(other)

    # a point on the mood map
    mood_map.play_requested.emit(rows[0].path)
    heard(rows[0])


def test_review_keys_reach_the_review_tab_after_a_search(qtbot, make_window, small_library):
    """Search the library, then click the Review tab and press 1: the song is labelled;
    the key does not type into the library's search box (silently filtering the library).
    Ctrl+F, or typing in the search box, brings the Library tab back."""
    from PySide6.QtCore import Qt

    from tagger.ui.review_view import ReviewView

    window = make_window(auto_analyse=True)
    add_optional_views(window)
    window.show()
    qtbot.waitExposed(window)
    window.activateWindow()
    with qtbot.waitSignal(window.analysis_finished, timeout=120_000):
        window.open_folder(small_library)
    review = window.findChild(ReviewView)
    window.find_action.trigger()
    qtbot.waitUntil(lambda: QApplication.focusWidget() is window.search)
    window.show_view(review)  # as a click on its tab does
    row = review.current_row()
    qtbot.keyClick(QApplication.focusWidget(), Qt.Key.Key_1)
    assert window.search.text() == ""
    assert review.label_of(row.track_id) == "happy"

    window.find_action.trigger()
    assert window.tabs.currentIndex() == 0
    window.show_view(review)
    window.search.setFocus()  # a click into the search box while on the Review tab
    qtbot.keyClicks(window.search, "track")
    assert window.tabs.currentIndex() == 0


def test_review_stays_on_its_song_through_a_re_analysis(
    qtbot, make_window, small_library, tmp_path
):
    """Retrain activates a new model and the library is re-analysed: every mood goes and
    comes back in a new order, and the Review tab is still on the song it showed. The
    status bar, seen from every tab, says why the moods went."""
    import torch

    from tagger.core.checkpoint import save_checkpoint
    from tagger.core.features import FeatureConfig
    from tagger.core.model import MoodCNN
    from tagger.ui.review_view import ReviewView

    torch.manual_seed(1)
    other = tmp_path / "other.pt"  # stands in for the retrained model
    save_checkpoint(other, MoodCNN(channels=(4, 8), dropout=0.0).eval(), FeatureConfig(), {})
    window = make_window(auto_analyse=True)
    add_optional_views(window)
    with qtbot.waitSignal(window.analysis_finished, timeout=120_000):
        window.open_folder(small_library)
    review = window.findChild(ReviewView)
    song = review.queue()[7]
    assert review.go_to(song.track_id)
    said: list[str] = []
    say = window.say
    window.say = lambda text, timeout_ms=0: (said.append(text), say(text, timeout_ms))
    from tagger.core.settings import update_settings

    with qtbot.waitSignal(window.analysis_finished, timeout=120_000):
        update_settings(active_model=str(other))  # what a finished retrain does
        review.model_changed.emit(str(other))
    assert any(t.startswith("Your retrained model is active") for t in said), said
    assert window.model_id != song.model_id
    assert review.current_row().track_id == song.track_id
    assert review.current_row().model_id == window.model_id


def test_a_rectangle_on_the_mood_map_becomes_the_playlist(make_window, tmp_path):
    """The drag's songs go to the Playlists view, whose filters give way; the status bar
    points there; clearing it in Playlists clears the map's highlight too."""
    from tagger.ui.mood_map import MoodMapView
    from tagger.ui.playlist_view import PlaylistView
    from tests.ui.test_playlist_view import make_row

    rows = [make_row(tmp_path, i, m) for i, m in enumerate(["sad", "calm", "happy"], 1)]
    window = make_window(None)
    add_optional_views(window)
    playlist = window.findChild(PlaylistView)
    mood_map = window.findChild(MoodMapView)
    for v in (playlist, mood_map):
        v.set_rows(rows)
    playlist.mood_buttons["sad"].click()
    mood_map.selection_made.emit([2, 3])  # as after a drag
    assert sorted(r.track_id for r in playlist.playlist().rows) == [2, 3]
    assert "2 songs from the mood map" in window.message_label.text()
    assert mood_map.selected_ids() == [2, 3]
    playlist.map_clear.click()
    assert mood_map.selected_ids() == []


def test_the_app_starts_with_badly_typed_settings(make_window, small_library):
    """A hand-edited settings file (``"last_folder": 7``, a number for the recent list, a
    geometry that is not base64 text) stopped the app at start with a TypeError: in the
    folder to open, the window's geometry and the Open Recent menu."""
    import json

    from tagger.core.paths import app_dirs
    from tagger.ui.main_window import default_folder

    path = app_dirs().settings_file
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(
        json.dumps({"last_folder": 7, "recent_folders": 3, "window_geometry": "é"}),
        encoding="utf-8",
    )
    folder = default_folder(None)
    assert folder is None or folder.is_dir()
    window = make_window(folder)
    window.show()
    assert window.isVisible()
    assert window.open_folder(small_library)  # and the recent list is written afresh
    assert json.loads(path.read_text(encoding="utf-8"))["recent_folders"] == [
        str(small_library.resolve())
    ]


def test_the_window_follows_a_model_change_made_on_the_command_line(
    qtbot, make_window, small_library, tmp_path
):
    """`mood-tagger retrain` (or --reset) in a terminal while the app is open: F5 or
    opening a folder kept analysing with the model loaded at start, while the Review tab
    already said "your retrained model" is in use."""
    import torch

    from tagger.core.checkpoint import load_checkpoint, save_checkpoint
    from tagger.core.features import FeatureConfig
    from tagger.core.model import MoodCNN
    from tagger.core.paths import bundled_model_path
    from tagger.core.settings import load_settings, save_settings, update_settings

    torch.manual_seed(2)
    other = tmp_path / "retrained.pt"
    save_checkpoint(other, MoodCNN(channels=(4, 8), dropout=0.0).eval(), FeatureConfig(), {})
    other_id = load_checkpoint(other).model_id
    bundled_id = load_checkpoint(bundled_model_path()).model_id
    window = make_window(model=None, auto_analyse=True)  # the active model, as the app runs
    with qtbot.waitSignal(window.analysis_finished, timeout=120_000):
        window.open_folder(small_library)
    assert window.model_id == bundled_id
    update_settings(active_model=str(other))  # what `mood-tagger retrain` does
    with qtbot.waitSignal(window.analysis_finished, timeout=120_000):
        window.start_analysis()  # F5
    assert window.model_id == other_id
    assert {r.model_id for r in window.rows if r.scores is not None} == {other_id}
    save_settings({k: v for k, v in load_settings().items() if k != "active_model"})  # --reset
    with qtbot.waitSignal(window.analysis_finished, timeout=120_000):
        window.open_folder(small_library)
    assert window.model_id == bundled_id


def test_without_audio_the_playlists_play_button_says_it_opens_review(make_window, monkeypatch):
    """▶ Play took the person to the Review tab, where nothing could play (no PortAudio)."""
    from tagger.ui import playback
    from tagger.ui.playlist_view import PlaylistView

    def missing():
        raise OSError("PortAudio library not found")

    monkeypatch.setattr(playback, "import_sounddevice", missing)
    window = make_window(None)
    add_optional_views(window)
    button = window.findChild(PlaylistView).play_button
    assert button.text() == "Open in Review"
    assert "PortAudio" in button.toolTip()

    class Sounddevice:  # a machine with an output device
        OutputStream = FakeStream

        @staticmethod
        def query_devices(kind=None):
            return {"default_samplerate": 44100.0}

    monkeypatch.setattr(playback, "import_sounddevice", lambda: Sounddevice)
    window = make_window(None)
    add_optional_views(window)
    assert window.findChild(PlaylistView).play_button.text() == "▶ Play"
