"""Entry point of the desktop app: ``mood-tagger`` / ``mood-tagger FOLDER``."""

from __future__ import annotations

import logging
import signal
import sys
from pathlib import Path
from typing import Any

from PySide6.QtCore import Qt, QTimer
from PySide6.QtGui import QGuiApplication
from PySide6.QtWidgets import QApplication, QMessageBox

from tagger.core.errors import StoreError
from tagger.ui.main_window import APP_TITLE, MainWindow, default_folder

log = logging.getLogger(__name__)


def create_application(argv: list[str] | None = None) -> QApplication:
    """The QApplication (reused if one exists), with high-DPI friendly settings."""
    app = QApplication.instance()
    if app is None:
        QGuiApplication.setHighDpiScaleFactorRoundingPolicy(
            Qt.HighDpiScaleFactorRoundingPolicy.PassThrough
        )
        app = QApplication(argv if argv is not None else sys.argv[:1])
    app.setApplicationName("Mood Tagger")
    app.setOrganizationName("mood-tagger")
    app.setDesktopFileName("mood-tagger")
    return app  # type: ignore[return-value]


def add_optional_views(window: MainWindow) -> None:
    """Plug in the review, playlist and mood-map views when they are installed.

    Each is optional: a missing module or a failing constructor is logged and skipped.
    """
    try:
        from tagger.ui.review_view import ReviewView  # type: ignore[import-not-found]
    except ImportError:
        ReviewView = None
    review = None
    if ReviewView is not None:
        try:
            review = ReviewView(
                window.store, window.root or Path.home(), lambda: window.loaded, parent=window
            )
            review.labelled.connect(lambda track_id, mood: window.set_label(track_id, mood))
            review.model_changed.connect(
                lambda path: window.set_model(
                    None,  # the active model, which that now is: it follows later changes
                    why=(
                        "Your retrained model is active: the library is re-analysed with it"
                        " (its accuracy is in the Review tab)"
                        if path
                        else "Back to the bundled model: the library is re-analysed with it"
                    ),
                )
            )
            window.add_view(review, "Review", scrollable=True)
        except Exception:
            log.exception("could not add the review view")
    playlist = mood_map = None
    try:
        from tagger.ui.playlist_view import PlaylistView  # type: ignore[import-not-found]

        playlist = PlaylistView(window)
        window.add_view(playlist, "Playlists")
    except ImportError:
        pass
    except Exception:
        log.exception("could not add the playlist view")
    try:
        from tagger.ui.mood_map import MoodMapView  # type: ignore[import-not-found]

        mood_map = MoodMapView(window)
        window.add_view(mood_map, "Mood Map")
    except ImportError:
        pass
    except Exception:
        log.exception("could not add the mood map")
    if playlist is not None and mood_map is not None:
        try:
            _wire_map_to_playlist(window, mood_map, playlist)
        except (AttributeError, TypeError):
            log.debug("mood map selection not wired to the playlist view")
    if review is not None:
        _wire_listening(window, review, [v for v in (playlist, mood_map) if v is not None])


def _wire_map_to_playlist(window: MainWindow, mood_map: Any, playlist: Any) -> None:
    """A rectangle dragged on the map becomes the playlist (its filters cleared); the
    status bar points there. Clearing it in the Playlists view clears it on the map."""

    def selected(track_ids: list[int]) -> None:
        playlist.set_map_selection(track_ids)
        if track_ids:
            n = len(track_ids)
            window.say(f"{n} song{'' if n == 1 else 's'} from the mood map: see Playlists.", 8000)

    mood_map.selection_made.connect(selected)
    playlist.map_selection_changed.connect(mood_map.set_selected_ids)


def _wire_listening(window: MainWindow, review: Any, views: list[Any]) -> None:
    """A double-click on a song (library row, playlist row, mood-map point, the playlist's
    Play button) opens it in the Review tab, playing: the one place with a player."""

    def listen(track_id: int) -> None:
        if review.review_track(track_id, play=True):
            window.show_view(review)
        else:
            window.say("That song has no mood to review.", 4000)

    def listen_path(path: str) -> None:
        row = next((r for r in window.library_model.rows if r.path == path), None)
        if row is not None:
            listen(row.track_id)

    window.track_activated.connect(listen)
    for view in views:
        view.play_requested.connect(listen_path)
    reason = review.player.unavailable_reason
    for view in views:
        button = getattr(view, "play_button", None)
        if reason and button is not None:
            # it took the person to Review, where nothing played: say what it does there
            button.setText("Open in Review")
            button.setToolTip(f"Review the selected song's mood. {reason}")


def run_app(folder: str | None = None, model: Any = None) -> int:
    """Open the main window on ``folder`` (else the last/music folder, else empty state)."""
    app = create_application()
    target = default_folder(folder)
    if folder and (target is None or not Path(target).is_dir()):
        log.warning("folder %s does not exist", folder)
    try:
        window = MainWindow(target, model=model)
    except StoreError as exc:  # no usable library database: nothing can work, say why
        log.error("%s", exc)
        QMessageBox.critical(None, APP_TITLE, f"Mood Tagger cannot start:\n\n{exc}")
        return 1
    add_optional_views(window)
    window.show()
    # let Ctrl+C in the terminal close the window cleanly
    signal.signal(signal.SIGINT, lambda *_: window.close())
    timer = QTimer()
    timer.start(250)
    timer.timeout.connect(lambda: None)
    return app.exec()
