"""run_app: the entry point of `mood-tagger [FOLDER]`."""

from __future__ import annotations

from PySide6.QtCore import QTimer
from PySide6.QtWidgets import QApplication

from tagger.core.settings import load_settings
from tagger.ui.app import add_optional_views, run_app
from tagger.ui.main_window import APP_TITLE, MainWindow


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
