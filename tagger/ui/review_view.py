"""Review moods one song at a time, least confident first; retrain from the decisions.

A standalone widget: the main window adds it with ``add_view(widget, "Review")``, calls
:meth:`ReviewView.set_rows` when the library changes, listens to :attr:`labelled` to
refresh, and re-analyses when :attr:`model_changed` fires (a new user model, or None for
the bundled one).

Keys (when the view has focus): 1 Happy, 2 Aggressive, 3 Sad, 4 Calm, Enter = the
prediction is right, Left/Right or K/J = previous/next, Space = play/pause,
Ctrl+Z = undo the last decision. Every decision is written to the store at once.
"""

from __future__ import annotations

import logging
import sqlite3
from bisect import bisect_left
from collections.abc import Callable
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

import numpy as np
from PySide6.QtCore import Qt, Signal
from PySide6.QtGui import QImage, QKeyEvent, QPixmap
from PySide6.QtWidgets import (
    QApplication,
    QCheckBox,
    QComboBox,
    QGridLayout,
    QGroupBox,
    QHBoxLayout,
    QLabel,
    QMessageBox,
    QProgressBar,
    QPushButton,
    QSizePolicy,
    QSlider,
    QVBoxLayout,
    QWidget,
)

from tagger.core.library import LibraryRow
from tagger.core.models import active_model_path
from tagger.core.moods import COLOURS, MOODS, display_name
from tagger.core.paths import bundled_model_path
from tagger.core.progress import Progress
from tagger.core.retrain import (
    MIN_LABELS,
    MIN_MOODS,
    RetrainConfig,
    RetrainError,
    RetrainResult,
    activate,
    can_retrain,
    reset_model,
)
from tagger.core.store import Store, write_failed_text
from tagger.core.text import count_text, format_length
from tagger.ui.db_errors import label_not_saved
from tagger.ui.playback import Player
from tagger.ui.review_workers import (
    GeneratorWorker,
    JobFailed,
    SpectrogramReady,
    retrain_job,
    spectrogram_job,
)
from tagger.ui.wrapped_text import WrappedTextView

log = logging.getLogger(__name__)

MOOD_KEYS = {Qt.Key.Key_1: "happy", Qt.Key.Key_2: "aggressive", Qt.Key.Key_3: "sad",
             Qt.Key.Key_4: "calm"}  # fmt: skip
ALL = "__all__"
SEP = "\x1f"


def group_key(artist: str, album: str | None = None) -> str:
    """Combo data for an artist, or one of its albums (strings survive QVariant)."""
    return artist if album is None else f"{artist}{SEP}{album}"


@dataclass(frozen=True, slots=True)
class Decision:
    """One saved decision, so Ctrl+Z can take it back."""

    label_id: int
    track_id: int
    mood: str
    previous: str | None


def _colormap() -> np.ndarray:
    """A 256-entry dark-blue -> magenta -> yellow lookup table (RGB uint8)."""
    x = np.linspace(0.0, 1.0, 256)
    r = np.clip(1.6 * x - 0.1, 0, 1)
    g = np.clip(1.8 * x - 0.8, 0, 1)
    b = np.clip(0.35 + 1.2 * x - 1.7 * x**2 + 0.9 * x**3, 0, 1)
    return (np.stack([r, g, b], axis=1) * 255).astype(np.uint8)


_CMAP = _colormap()


def spectrogram_image(db: np.ndarray, floor: float = 80.0) -> QImage:
    """log-mel dB ``(mels, frames)`` -> an RGB image, low frequencies at the bottom."""
    top = float(db.max()) if db.size else 0.0
    norm = np.clip((db - (top - floor)) / floor, 0.0, 1.0)
    rgb = np.ascontiguousarray(_CMAP[(norm[::-1] * 255).astype(np.uint8)])
    h, w, _ = rgb.shape
    return QImage(rgb.data, w, h, 3 * w, QImage.Format.Format_RGB888).copy()


#: The spectrogram's frame while a song is shown (dark, as the picture is).
_SPECTROGRAM_STYLE = "background: #111; color: #aaa;"


class ReviewView(QWidget):
    """A queue of songs to confirm or correct, with audio preview and retraining."""

    labelled = Signal(int, object)  # track_id, mood (None after an undo cleared it)
    model_changed = Signal(object)  # path of the new active model, or None = bundled
    retrain_finished = Signal(object)  # RetrainResult, or None (failed / cancelled)

    def __init__(
        self,
        store: Store,
        root: str | Path,
        loaded_model_getter: Callable[[], Any] | None = None,
        parent: QWidget | None = None,
        retrain_config: RetrainConfig | None = None,
        player: Player | None = None,
    ) -> None:
        super().__init__(parent)
        self.store = store
        self.root = Path(root).expanduser().resolve()
        self._model_getter = loaded_model_getter
        self._retrain_config = retrain_config
        self._rows: list[LibraryRow] = []
        self._labels: dict[int, str | None] = {}  # this session's view of the labels
        self._queue: list[LibraryRow] = []
        self._index = 0
        # The song the person is on, by id: a rebuilt queue (new rows, a re-analysis, a
        # filter) shows it again wherever it now sits. While it waits to be re-analysed it
        # is out of the queue for a while; it is kept and shown again once it is back.
        self._wanted: int | None = None
        self._wanted_key: tuple[float, str] | None = None  # its place in the queue order
        # Until the person has moved in the queue or seen the view, there is no song to
        # stay on: a queue rebuilt while the view is hidden (results coming in during the
        # analysis) starts at its top, the least confident song.
        self._chosen = False
        # Each song's last row with a mood: while it waits for its re-analysis (after
        # Retrain, or a rescan of a changed file) it stays in the queue with that mood,
        # marked as such, so the view does not empty for the whole re-analysis.
        self._last_scored: dict[int, LibraryRow] = {}
        self._stale: set[int] = set()
        self._undo: list[Decision] = []
        self._session_ids: set[int] = set()  # decided here: they stay in the queue
        self._media_key: tuple[int, str] | None = None  # song whose audio/spectrogram is shown
        self._song_seconds = 0.0  # its length, from the scan
        self._spec_worker: GeneratorWorker | None = None
        self._retrain_worker: GeneratorWorker | None = None
        self.player = player or Player(self)
        self.setFocusPolicy(Qt.FocusPolicy.StrongFocus)
        self._build_ui()
        self.player.position_changed.connect(self._on_player_position_changed)
        self.player.playing_changed.connect(self._on_player_playing_changed)
        self.player.clip_loaded.connect(self._on_player_clip_loaded)
        self.player.errored.connect(self._on_player_errored)
        self._update_playback_enabled()
        self._refresh_retrain()
        self._show_current()

    # -- layout -------------------------------------------------------------------------
    def _build_ui(self) -> None:
        self.unreviewed_check = QCheckBox("Only unreviewed")
        self.unreviewed_check.setChecked(True)
        self.mood_combo = QComboBox()
        self.mood_combo.addItem("All moods", ALL)
        for m in MOODS:
            self.mood_combo.addItem(display_name(m), m)
        self.group_combo = QComboBox()
        self.group_combo.addItem("All artists and albums", ALL)
        self.queue_label = QLabel()
        filters = QHBoxLayout()
        filters.addWidget(QLabel("Predicted:"))
        filters.addWidget(self.mood_combo)
        filters.addWidget(self.group_combo, 1)
        filters.addWidget(self.unreviewed_check)
        filters.addStretch(0)
        filters.addWidget(self.queue_label)
        self.unreviewed_check.toggled.connect(self._on_filter_changed)
        self.mood_combo.currentIndexChanged.connect(self._on_filter_changed)
        self.group_combo.currentIndexChanged.connect(self._on_filter_changed)

        # A long title or album wraps instead of widening the whole view (which pushed the
        # mood buttons and the queue out of the window), and one with no space in it, a
        # file name, breaks anywhere instead of being cut off at the edge.
        self.title_label = WrappedTextView()
        font = self.title_label.font()
        font.setPointSizeF(font.pointSizeF() * 1.5)
        font.setBold(True)
        self.title_label.setFont(font)
        self.meta_label = WrappedTextView()
        for label in (self.title_label, self.meta_label):
            # selectable with the mouse, never focused: the review keys (arrows, J/K,
            # 1-4) keep going to the view after a click on the title
            label.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
            label.setFocusPolicy(Qt.FocusPolicy.NoFocus)
            policy = label.sizePolicy()
            policy.setHorizontalPolicy(QSizePolicy.Policy.Ignored)
            label.setSizePolicy(policy)
        self.prediction_label = QLabel()
        self.status_label = QLabel()
        self.bars: dict[str, QProgressBar] = {}
        bars = QGridLayout()
        for i, m in enumerate(MOODS):
            bar = QProgressBar()
            bar.setRange(0, 100)
            bar.setFormat("%p%")
            bar.setStyleSheet(  # a chunk style alone puts the text at the top left
                "QProgressBar { border: 1px solid #b8b8b8; border-radius: 3px;"
                " background: white; text-align: center; }"
                f" QProgressBar::chunk {{ background: {COLOURS[m]}; }}"
            )
            bars.addWidget(QLabel(f"{display_name(m)}"), i, 0)
            bars.addWidget(bar, i, 1)
            self.bars[m] = bar
        self.spectrogram = QLabel("Spectrogram")
        self.spectrogram.setAlignment(Qt.AlignmentFlag.AlignCenter)
        self.spectrogram.setMinimumHeight(140)
        self.spectrogram.setSizePolicy(QSizePolicy.Policy.Ignored, QSizePolicy.Policy.Ignored)
        self.spectrogram.setStyleSheet(_SPECTROGRAM_STYLE)
        self._spec_pixmap: QPixmap | None = None

        # playback
        self.play_button = QPushButton("Play")
        self.seek_slider = QSlider(Qt.Orientation.Horizontal)
        self.seek_slider.setRange(0, 0)
        self.time_label = QLabel("0:00 / 0:00")
        self.volume_slider = QSlider(Qt.Orientation.Horizontal)
        self.volume_slider.setRange(0, 100)
        self.volume_slider.setValue(round(self.player.volume * 100))
        self.volume_slider.setMaximumWidth(110)
        self.playback_message = QLabel()
        self.playback_message.setWordWrap(True)
        self.playback_message.setStyleSheet("color: #b35c00;")
        self.play_button.clicked.connect(self.player.toggle)
        self.seek_slider.setSingleStep(5000)  # the wheel and a click beside the handle
        self.seek_slider.setPageStep(15_000)
        self.seek_slider.sliderReleased.connect(self._on_seek_slider_released)
        self.seek_slider.actionTriggered.connect(self._on_seek_slider_action_triggered)
        self.volume_slider.valueChanged.connect(self._on_volume_slider_value_changed)
        play = QHBoxLayout()
        play.addWidget(self.play_button)
        play.addWidget(self.seek_slider, 1)
        play.addWidget(self.time_label)
        play.addWidget(QLabel("Volume"))
        play.addWidget(self.volume_slider)

        # decisions
        self.mood_buttons: dict[str, QPushButton] = {}
        decide = QHBoxLayout()
        for i, m in enumerate(MOODS, 1):
            b = QPushButton(f"{i}  {display_name(m)}")
            b.setStyleSheet(f"QPushButton {{ border-left: 6px solid {COLOURS[m]}; padding: 6px; }}")
            b.clicked.connect(lambda _=False, m=m: self.decide(m))
            decide.addWidget(b)
            self.mood_buttons[m] = b
        self.confirm_button = QPushButton("Enter  Prediction is right")
        self.confirm_button.clicked.connect(self.confirm)
        decide.addWidget(self.confirm_button)
        nav = QHBoxLayout()
        self.prev_button = QPushButton("Previous (K / ←)")
        self.next_button = QPushButton("Next (J / →)")
        self.undo_button = QPushButton("Undo (Ctrl+Z)")
        self.prev_button.clicked.connect(self.previous)
        self.next_button.clicked.connect(self.next)
        self.undo_button.clicked.connect(self.undo)
        nav.addWidget(self.prev_button)
        nav.addWidget(self.next_button)
        nav.addStretch(1)
        nav.addWidget(self.undo_button)

        # retraining
        self.retrain_button = QPushButton()
        self.reset_button = QPushButton("Reset to bundled model")
        self.cancel_button = QPushButton("Cancel")
        self.retrain_progress = QProgressBar()
        # its count is in a label: Fusion drew the text just past the filled end white on
        # white
        self.retrain_progress.setTextVisible(False)
        self.retrain_progress.setVisible(False)
        self.retrain_stage = QLabel()
        self.retrain_stage.setVisible(False)
        self.cancel_button.setVisible(False)
        self.retrain_message = QLabel(self._model_in_use())
        self.retrain_message.setWordWrap(True)
        self.retrain_button.clicked.connect(self.start_retrain)
        self.reset_button.clicked.connect(self.reset_to_bundled)
        self.cancel_button.clicked.connect(self.cancel_retrain)
        retrain_box = QGroupBox("Teach the model your taste")
        rl = QVBoxLayout(retrain_box)
        rb = QHBoxLayout()
        rb.addWidget(self.retrain_button)
        rb.addWidget(self.reset_button)
        rb.addWidget(self.retrain_stage)
        rb.addWidget(self.retrain_progress, 1)
        rb.addWidget(self.cancel_button)
        rl.addLayout(rb)
        rl.addWidget(self.retrain_message)

        info = QVBoxLayout()
        info.addWidget(self.title_label)
        info.addWidget(self.meta_label)
        info.addWidget(self.prediction_label)
        info.addWidget(self.status_label)
        info.addLayout(bars)
        top = QHBoxLayout()
        top.addLayout(info, 1)
        lay = QVBoxLayout(self)
        lay.addLayout(filters)
        lay.addLayout(top)
        lay.addWidget(self.spectrogram, 1)
        lay.addLayout(play)
        lay.addWidget(self.playback_message)
        lay.addLayout(decide)
        lay.addLayout(nav)
        lay.addWidget(retrain_box)
        # The keys belong to the view: a click on a button, slider or filter leaves the
        # focus where it was (a clicked "3  Sad" button kept it, and Space then labelled
        # the next song Sad). Tab still reaches every control, for the keyboard-only.
        # (Only now are the controls children of the view: their layouts are installed.)
        for kind in (QPushButton, QSlider, QComboBox, QCheckBox):
            for w in self.findChildren(kind):
                w.setFocusPolicy(Qt.FocusPolicy.TabFocus)

    # -- data ---------------------------------------------------------------------------
    def set_rows(self, rows: list[LibraryRow]) -> None:
        """A new library snapshot (stays on the current song, see :meth:`_rebuild_queue`)."""
        self._stale = set()
        fresh = []
        for r in rows:
            last = self._last_scored.get(r.track_id)
            if r.scores is not None:
                self._last_scored[r.track_id] = r
            elif not r.error and last is not None and last.path == r.path:
                r = replace(last, label=r.label, mood_tag=r.mood_tag)
                self._stale.add(r.track_id)
            fresh.append(r)
        self._rows = fresh
        # a label on a file that cannot be read is nothing to learn from (retrain skips it)
        self._labels = {r.track_id: r.label for r in self._rows if not r.unreadable}
        self._fill_group_combo()
        self._rebuild_queue()
        self._refresh_retrain()  # labels may have come from elsewhere (the CLI, another view)

    def set_store(self, store: Any) -> None:
        """The window opened another database (the old one was deleted or replaced): its
        label ids mean nothing there, so this session's Ctrl+Z history goes."""
        self.store = store
        self._undo.clear()
        self._session_ids.clear()
        self._refresh_retrain()

    def set_root(self, root: str | Path) -> None:
        self.root = Path(root).expanduser().resolve()
        self._undo.clear()
        self._session_ids.clear()
        self._wanted = self._wanted_key = None
        self._chosen = self.isVisible()
        self._last_scored.clear()
        self.set_rows([])
        if not self.retraining:  # the last folder's retrain news is stale here
            self.retrain_message.setText(self._model_in_use())

    @staticmethod
    def _model_in_use() -> str:
        """Which model the moods come from, for a fresh start (nothing else said it)."""
        if active_model_path() != bundled_model_path():
            return "In use: your retrained model (Reset to bundled model goes back)."
        return "In use: the model that came with the app."

    def _fill_group_combo(self) -> None:
        keep = self.group_combo.currentData()
        groups = sorted(
            {(r.artist or "", r.album or "") for r in self._rows if r.artist or r.album}
        )
        artists = sorted({a for a, _ in groups if a})
        self.group_combo.blockSignals(True)
        self.group_combo.clear()
        self.group_combo.addItem("All artists and albums", ALL)
        for a in artists:
            self.group_combo.addItem(a, group_key(a))
            for a2, album in groups:
                if a2 == a and album:
                    self.group_combo.addItem(f"    {album}", group_key(a, album))
        i = self.group_combo.findData(keep)
        self.group_combo.setCurrentIndex(max(0, i))
        self.group_combo.blockSignals(False)

    def _matches(self, r: LibraryRow, unreviewed: bool = True) -> bool:
        """In the queue under the filters (``unreviewed``: "Only unreviewed" too)."""
        if r.scores is None:
            return False
        if (
            unreviewed
            and self.unreviewed_check.isChecked()
            and self._labels.get(r.track_id) is not None
            and r.track_id not in self._session_ids
        ):
            # reviewed earlier, or labelled elsewhere (the library table, the command
            # line), even the song shown: "Only unreviewed" means it. Songs decided here
            # stay in place until the filters change (a new queue).
            return False
        mood = self.mood_combo.currentData()
        if mood != ALL and r.predicted_mood != mood:
            return False
        group = self.group_combo.currentData()
        if group not in (ALL, None):
            artist, _, album = group.partition(SEP)
            if (r.artist or "") != artist or (album and (r.album or "") != album):
                return False
        return True

    def _rebuild_queue(self, first: bool = False) -> None:
        """Rebuild the queue and stay on the wanted song if it is in it.

        When it is not, show its neighbour: the song now at its place in the queue order
        (``first``: the top of the queue). A song waiting for its re-analysis stays wanted
        and is shown again once it has its new mood; any other missing one gives way to
        the neighbour for good.
        """
        wanted = self._wanted
        self._queue = sorted((r for r in self._rows if self._matches(r)), key=_queue_key)
        ids = [r.track_id for r in self._queue]
        if not self._chosen and not self.isVisible():
            self._index = 0
            self._remember_current()
        elif wanted is not None and wanted in ids:
            self._index = ids.index(wanted)
            self._remember_current()  # its confidence may have changed
        else:
            if first or self._wanted_key is None:
                self._index = 0
            else:
                keys = [_queue_key(r) for r in self._queue]
                self._index = min(bisect_left(keys, self._wanted_key), max(0, len(keys) - 1))
            if wanted is None or not self._awaits_analysis(wanted):
                self._remember_current()
        self._show_current()

    def _awaits_analysis(self, track_id: int) -> bool:
        """In the library with no mood yet and no error: queued for (re-)analysis."""
        row = next((r for r in self._rows if r.track_id == track_id), None)
        return row is not None and (row.scores is None or track_id in self._stale) and not row.error

    def _remember_current(self) -> None:
        row = self.current_row()
        self._wanted = row.track_id if row is not None else None
        self._wanted_key = _queue_key(row) if row is not None else None

    def _on_filter_changed(self, *_: object) -> None:
        """New filters: a new queue, without the songs decided so far when "Only
        unreviewed" is ticked; stay on the song if they keep it, else start at the top."""
        self._session_ids.clear()
        self._rebuild_queue(first=True)

    # -- queue navigation ---------------------------------------------------------------
    def queue(self) -> list[LibraryRow]:
        return list(self._queue)

    def current_row(self) -> LibraryRow | None:
        return self._queue[self._index] if 0 <= self._index < len(self._queue) else None

    def label_of(self, track_id: int) -> str | None:
        return self._labels.get(track_id)

    def next(self) -> None:
        if self._index < len(self._queue) - 1:
            self._move_to(self._index + 1)

    def previous(self) -> None:
        if self._index > 0:
            self._move_to(self._index - 1)

    def go_to(self, track_id: int) -> bool:
        for i, r in enumerate(self._queue):
            if r.track_id == track_id:
                self._move_to(i)
                return True
        return False

    def _move_to(self, index: int) -> None:
        """The person moved in the queue: that song is the one to stay on."""
        self._chosen = True
        self._index = index
        self._remember_current()
        self._show_current()

    def review_track(self, track_id: int, play: bool = False) -> bool:
        """Show ``track_id`` (clearing the filters when they hide it); ``play``: start it.

        What a double-click on a song elsewhere (playlist, mood map, library) does. False
        when the song has no mood to review (not analysed, unreadable or silent).
        """
        if not any(r.track_id == track_id for r in self._queue):
            for combo in (self.mood_combo, self.group_combo):
                combo.blockSignals(True)
                combo.setCurrentIndex(0)  # all moods / all artists and albums
                combo.blockSignals(False)
            self.unreviewed_check.blockSignals(True)
            self.unreviewed_check.setChecked(False)
            self.unreviewed_check.blockSignals(False)
            self._rebuild_queue()
        if not self.go_to(track_id):
            return False
        if play:
            self.player.play()  # starts once the clip is decoded; a no-op without audio
        return True

    # -- decisions ----------------------------------------------------------------------
    def decide(self, mood: str) -> None:
        """Label the current song ``mood`` (saved at once) and move on."""
        row = self.current_row()
        if row is None:
            return
        previous = self._labels.get(row.track_id)
        try:
            label_id = self.store.add_label(row.track_id, mood, "review")
        except sqlite3.Error as exc:  # locked by another program, read-only, disk full
            log.warning("label not saved: %s", exc)
            label_not_saved(self, exc)
            return  # the song stays, so the person can try again
        self._labels[row.track_id] = mood
        self._undo.append(Decision(label_id, row.track_id, mood, previous))
        self._session_ids.add(row.track_id)
        self.labelled.emit(row.track_id, mood)
        self._refresh_retrain()
        self._move_to(min(self._index + 1, len(self._queue) - 1))

    def confirm(self) -> None:
        row = self.current_row()
        if row is not None and row.predicted_mood:
            self.decide(row.predicted_mood)

    def undo(self) -> None:
        """Take back the last decision of this session and go back to that song."""
        if not self._undo:
            return
        d = self._undo[-1]
        try:
            self.store.remove_label_entry(d.label_id)
        except sqlite3.Error as exc:
            log.warning("label not taken back: %s", exc)
            QMessageBox.warning(
                self, "Label not taken back", f"The label stays: {write_failed_text(exc)}."
            )
            return
        self._undo.pop()
        self._labels[d.track_id] = d.previous
        self.labelled.emit(d.track_id, d.previous)
        self._refresh_retrain()
        # back to that song, even where the filters now hide it (Ctrl+Z took back a
        # label out of sight, and a second one another)
        if not self.review_track(d.track_id):
            self._show_current()

    @property
    def can_undo(self) -> bool:
        return bool(self._undo)

    def keyPressEvent(self, event: QKeyEvent) -> None:
        key = event.key()
        mods = event.modifiers()
        if key == Qt.Key.Key_Z and mods & Qt.KeyboardModifier.ControlModifier:
            self.undo()
        elif key in MOOD_KEYS and not mods & Qt.KeyboardModifier.ControlModifier:
            self.decide(MOOD_KEYS[key])
        elif key in (Qt.Key.Key_Return, Qt.Key.Key_Enter):
            self.confirm()
        elif key in (Qt.Key.Key_Right, Qt.Key.Key_Down, Qt.Key.Key_J):
            self.next()
        elif key in (Qt.Key.Key_Left, Qt.Key.Key_Up, Qt.Key.Key_K):
            self.previous()
        elif key == Qt.Key.Key_Space:
            self.player.toggle()
        else:
            super().keyPressEvent(event)
            return
        event.accept()

    # -- showing a song -----------------------------------------------------------------
    def _show_current(self) -> None:
        row = self.current_row()
        n = len(self._queue)
        self.queue_label.setText(f"{self._index + 1 if n else 0} of {n} in queue")
        has = row is not None
        for w in [*self.mood_buttons.values(), self.confirm_button]:
            w.setEnabled(has)
        self.prev_button.setEnabled(has and self._index > 0)
        self.next_button.setEnabled(has and self._index < n - 1)
        self.undo_button.setEnabled(bool(self._undo))
        # no song: no "0 %" bars and no empty black picture under "Nothing to review"
        # (hidden, they took the width the wrapped texts are laid out in)
        for bar in self.bars.values():
            bar.setTextVisible(has)
        self.spectrogram.setStyleSheet(_SPECTROGRAM_STYLE if has else "")
        if row is None:
            self.title_label.setText("Nothing to review")
            if not self._rows:
                text = "Analyse a folder, or change the filters above."
            elif any(
                (r.scores is None or r.track_id in self._stale) and not r.error for r in self._rows
            ):
                # true whether an analysis runs or was stopped (then F5 goes on)
                text = (
                    "Songs not analysed yet appear here as they get their moods "
                    "(File > Rescan Folder, F5, if the analysis was stopped)."
                )
            elif any(self._matches(r, unreviewed=False) for r in self._rows):
                text = "Every song matching the filters is reviewed."
            else:
                text = "No analysed song matches these filters."
            self.meta_label.setText(text)
            self.prediction_label.clear()
            self.status_label.clear()
            for bar in self.bars.values():
                bar.setValue(0)
            self._set_spectrogram(None, "")
            self.player.stop()
            self._media_key = None
            self._song_seconds = 0.0
            self.seek_slider.setRange(0, 0)
            self.time_label.setText("0:00 / 0:00")
            return
        self.title_label.setText(row.title or Path(row.path).stem)
        self.meta_label.setText(
            f"{row.artist or 'Unknown artist'} — {row.album or 'Unknown album'}"
        )
        s = row.scores
        assert s is not None
        colour = COLOURS[s.mood]
        stale = " — being analysed again…" if row.track_id in self._stale else ""
        self.prediction_label.setText(
            f"Predicted: <b style='color:{colour}'>{display_name(s.mood)}</b> "
            f"({s.confidence:.0%} confident){stale}"
        )
        label = self._labels.get(row.track_id)
        if label is None:
            self.status_label.setText("Not reviewed yet")
        elif label == s.mood:
            self.status_label.setText(f"Reviewed: {display_name(label)} (confirmed)")
        else:
            self.status_label.setText(f"Reviewed: corrected to <b>{display_name(label)}</b>")
        for m, p in s.as_dict().items():
            self.bars[m].setValue(round(p * 100))
        self._song_seconds = row.duration or 0.0
        if self._media_key == (row.track_id, row.path):
            return  # same song (a library refresh): keep the spectrogram and playback
        self._media_key = (row.track_id, row.path)
        # the song's length from the scan, until its clip is decoded (or for good, when
        # playback is off: "0:00 / 0:00" read as an empty song)
        self.seek_slider.setRange(0, int(self._song_seconds * 1000))
        self.seek_slider.setValue(0)
        self.time_label.setText(f"0:00 / {format_length(self._song_seconds)}")
        self._load_spectrogram(row)
        starts = row.window_starts
        start_at = starts[len(starts) // 2] if starts else 0.0
        was_playing = self.player.playing
        self.player.load(row.path, start_at, play=was_playing)

    def _load_spectrogram(self, row: LibraryRow) -> None:
        self._set_spectrogram(None, "Computing the spectrogram…")
        if self._spec_worker is not None:
            self._spec_worker.cancel()
        loaded = self._model_getter() if self._model_getter else None
        if loaded is None:
            self._set_spectrogram(None, "Spectrogram unavailable (no model loaded)")
            return
        w = GeneratorWorker(spectrogram_job, row.track_id, row.path, loaded)
        w.signals.yielded.connect(lambda ev, w=w: self._on_spectrogram_yielded(w, ev))
        w.signals.finished.connect(lambda _c, w=w: self._on_spectrogram_finished(w))
        self._spec_worker = w
        w.start()

    def _on_spectrogram_yielded(self, w: GeneratorWorker, ev: object) -> None:
        row = self.current_row()
        if w is not self._spec_worker or row is None:
            return
        if isinstance(ev, SpectrogramReady) and ev.track_id == row.track_id:
            self._set_spectrogram(QPixmap.fromImage(spectrogram_image(ev.image)), "")
        elif isinstance(ev, JobFailed):
            self._set_spectrogram(None, f"No spectrogram: {ev.message}")

    def _on_spectrogram_finished(self, w: GeneratorWorker) -> None:
        if w is self._spec_worker:
            self._spec_worker = None

    @property
    def spectrogram_shown(self) -> bool:
        return self._spec_pixmap is not None

    def _set_spectrogram(self, pixmap: QPixmap | None, text: str) -> None:
        self._spec_pixmap = pixmap
        if pixmap is None:
            self.spectrogram.setPixmap(QPixmap())
            self.spectrogram.setText(text)
        else:
            self._scale_spectrogram()

    def _scale_spectrogram(self) -> None:
        if self._spec_pixmap is not None:
            self.spectrogram.setPixmap(
                self._spec_pixmap.scaled(
                    self.spectrogram.size(),
                    Qt.AspectRatioMode.IgnoreAspectRatio,
                    Qt.TransformationMode.SmoothTransformation,
                )
            )

    def showEvent(self, event) -> None:
        """Shown: the song on screen is the one to stay on from now on."""
        super().showEvent(event)
        self._chosen = True

    def resizeEvent(self, event) -> None:
        super().resizeEvent(event)
        self._scale_spectrogram()

    # -- playback -----------------------------------------------------------------------
    def _update_playback_enabled(self) -> None:
        ok = self.player.available
        for w in (self.play_button, self.seek_slider, self.volume_slider):
            w.setEnabled(ok)
        reason = self.player.unavailable_reason
        self.playback_message.setText(reason or "")
        self.playback_message.setVisible(bool(reason))

    def _song_length(self) -> float:
        """The song's length: the scan's, or what is decoded (a long song's preview is a
        10-minute stretch of it)."""
        clip = self.player.clip
        return max(self._song_seconds, clip.duration if clip else 0.0)

    def _on_player_clip_loaded(self, clip: Any) -> None:
        self.seek_slider.setRange(0, int(self._song_length() * 1000))
        self._update_playback_enabled()  # this song plays: clear the last one's error

    def _on_player_position_changed(self, seconds: float) -> None:
        if not self.seek_slider.isSliderDown():
            self.seek_slider.setValue(int(seconds * 1000))
        self.time_label.setText(
            f"{format_length(max(0, int(seconds)))} / {format_length(self._song_length())}"
        )

    def seek(self, seconds: float) -> None:
        """Play from ``seconds`` into the song; outside the decoded stretch of a long song,
        that part is decoded first (from there, as a new song's preview is)."""
        clip = self.player.clip
        outside = clip is not None and not clip.offset - 0.5 <= seconds <= clip.duration + 0.5
        if clip is not None and outside and seconds < self._song_length():
            self.player.load(clip.path, seconds, play=self.player.playing)
            return
        self.player.seek(seconds)

    def _on_player_playing_changed(self, playing: bool) -> None:
        self.play_button.setText("Pause" if playing else "Play")
        if playing:
            self._update_playback_enabled()  # it plays again: the last error is over

    def _on_player_errored(self, message: str) -> None:
        self._update_playback_enabled()
        self.playback_message.setText(message)
        self.playback_message.setVisible(True)
        if self.player.clip is None:  # not the last song's place and length
            self.seek_slider.setRange(0, 0)
            self.time_label.setText("0:00 / 0:00")

    def _on_seek_slider_released(self) -> None:
        self.seek(self.seek_slider.value() / 1000)

    def _on_seek_slider_action_triggered(self, _action: int) -> None:
        """A click beside the handle, the wheel: seek there (a drag seeks on release)."""
        if not self.seek_slider.isSliderDown():
            self.seek(self.seek_slider.sliderPosition() / 1000)

    def _on_volume_slider_value_changed(self, value: int) -> None:
        self.player.set_volume(value / 100)

    # -- retraining ---------------------------------------------------------------------
    def n_labels(self) -> int:
        """Labelled songs in the folder: from the rows (which carry the newest label) and
        this view's decisions since, so no database query on the GUI thread."""
        return sum(1 for mood in self._labels.values() if mood)

    @property
    def retraining(self) -> bool:
        return self._retrain_worker is not None

    def _refresh_retrain(self) -> None:
        n = self.n_labels()
        moods = {m for m in self._labels.values() if m}
        if n < MIN_LABELS:
            more = MIN_LABELS - n
            text = f"Retrain: label {more} more song{'s' if more > 1 else ''}"
            tip = f"Label at least {MIN_LABELS} songs, of at least two moods, to retrain."
        elif len(moods) < MIN_MOODS:
            text = "Retrain: label a song of another mood"
            tip = (
                f"All your labels are {display_name(next(iter(moods)))}: a model taught one "
                "mood only learns to say it more. Label some songs of another mood too."
            )
        else:
            text, tip = f"Retrain from {n} labels", ""
        self.retrain_button.setText(text)
        self.retrain_button.setEnabled(can_retrain(self._labels.values()) and not self.retraining)
        self.retrain_button.setToolTip(tip)
        user_model = active_model_path() != bundled_model_path()
        self.reset_button.setEnabled(user_model and not self.retraining)
        self.reset_button.setToolTip(
            "Go back to the model that came with the app"
            if user_model
            else "The model that came with the app is the one in use"
        )

    def start_retrain(self) -> None:
        if self.retraining or not can_retrain(self._labels.values()):
            return
        loaded = self._model_getter() if self._model_getter else None
        model_path = str(loaded.path) if loaded is not None else None
        w = GeneratorWorker(
            retrain_job, str(self.root), str(self.store.path), model_path, self._retrain_config
        )
        w.signals.progress.connect(self._on_retrain_progress)
        w.signals.yielded.connect(self._on_retrain_yielded)
        w.signals.errored.connect(self._on_retrain_errored)
        w.signals.finished.connect(self._on_retrain_finished)
        self._retrain_worker = w
        self._retrain_result: RetrainResult | None = None
        self.retrain_progress.setRange(0, 0)
        self.retrain_progress.setVisible(True)
        self.cancel_button.setVisible(True)
        self.retrain_message.setText("Reading your labelled songs…")
        self._keep_keys()
        self._refresh_retrain()
        w.start()

    def _keep_keys(self) -> None:
        """The Retrain or Cancel button pressed from the keyboard is about to be disabled or
        hidden: the view takes the focus back (Qt would hand it to the next control, the
        Cancel button, which the next Space - play/pause - would press)."""
        focused = QApplication.focusWidget()
        if focused in (self.retrain_button, self.reset_button, self.cancel_button):
            self.setFocus(Qt.FocusReason.OtherFocusReason)

    def cancel_retrain(self) -> None:
        if self._retrain_worker is not None:
            self._retrain_worker.cancel()
            self.retrain_message.setText("Cancelling…")

    def _on_retrain_progress(self, ev: Progress) -> None:
        self.retrain_progress.setRange(0, max(1, ev.total))
        self.retrain_progress.setValue(ev.done)
        stage = "Reading songs" if ev.stage == "features" else "Fine-tuning and checking"
        self.retrain_progress.setFormat(f"{stage}: %v/%m")  # what a screen reader says
        self.retrain_stage.setText(f"{stage}: {ev.done} / {ev.total}")
        self.retrain_stage.setVisible(True)
        if ev.stage != "features" and self.retrain_message.text() != "Cancelling…":
            # it still said "Reading your labelled songs…" beside "Fine-tuning: 0/6"
            self.retrain_message.setText("Fine-tuning the model on your labels, and checking it…")

    def _on_retrain_yielded(self, ev: object) -> None:
        if isinstance(ev, RetrainResult):
            self._retrain_result = ev
            if ev.activated:
                self._say_retrained(ev)
        elif isinstance(ev, JobFailed):
            self.retrain_message.setText(f"Retraining did not run: {ev.message}")

    def _estimate_text(self, ev: RetrainResult) -> str:
        skipped = (
            f" ({count_text(len(ev.skipped), 'unreadable song')} skipped)" if ev.skipped else ""
        )
        return (
            f"Accuracy on your labels, estimated on songs it did not learn from: "
            f"<b>{ev.before:.0%}</b> with {ev.before_model} → <b>{ev.after:.0%}</b> after "
            f"retraining ({ev.n_used} songs){skipped}."
        )

    def _say_retrained(self, ev: RetrainResult) -> None:
        self.retrain_message.setText(
            f"Your model is active. {self._estimate_text(ev)} The library is re-analysed "
            "with it."
            + (
                " It does not look better than before: label more songs, or reset to "
                "the bundled model."
                if ev.looks_worse
                else ""
            )
        )

    def _ask_use_worse(self, ev: RetrainResult) -> str:
        """Ask what to do with a retrained model that scored lower than before: "new" (use
        it), "bundled" (go back to the model it lost to, when that is not the active one:
        a user model is active) or "keep" (the default)."""
        scores = (
            f"The retrained model got {ev.after:.0%} of your {ev.n_used} labelled songs "
            f"right, against {ev.before:.0%} with {ev.before_model} (each estimated on "
            "songs it did not learn from). It does not look better."
        )
        if ev.before_is_active:
            question = "Keep the current model, or use the new one anyway?"
        else:
            question = (
                "Your earlier retrained model is in use; it learnt from your labels, so it "
                "cannot be scored on them. Go back to the bundled model, keep your earlier "
                "model, or use the new one anyway?"
            )
        box = QMessageBox(
            QMessageBox.Icon.Question,
            "Use the retrained model?",
            f"{scores}\n\n{question}",
            parent=self,
        )
        use = box.addButton("Use New Model", QMessageBox.ButtonRole.AcceptRole)
        bundled = None
        if not ev.before_is_active:
            bundled = box.addButton("Use Bundled Model", QMessageBox.ButtonRole.DestructiveRole)
        keep = box.addButton("Keep Current Model", QMessageBox.ButtonRole.RejectRole)
        box.setDefaultButton(keep)
        box.setEscapeButton(keep)
        box.exec()
        clicked = box.clickedButton()
        return "new" if clicked is use else "bundled" if clicked is bundled else "keep"

    def _on_retrain_errored(self, message: str) -> None:
        self.retrain_message.setText(f"Retraining failed: {message}")

    def _on_retrain_finished(self, cancelled: bool) -> None:
        self._keep_keys()
        self._retrain_worker = None
        self.retrain_progress.setVisible(False)
        self.retrain_stage.setVisible(False)
        self.cancel_button.setVisible(False)
        result = getattr(self, "_retrain_result", None)
        if cancelled and result is None:
            self.retrain_message.setText("Retraining cancelled; the model is unchanged.")
        if result is not None and not result.activated:
            result = self._decide_on_worse(result)
        self._refresh_retrain()
        self.retrain_finished.emit(result)
        if result is not None:
            self.model_changed.emit(str(result.model_path))

    def _decide_on_worse(self, ev: RetrainResult) -> RetrainResult | None:
        """A held-back model (it scored lower): ask; activate it, go back to the bundled
        model, or keep the current one."""
        choice = self._ask_use_worse(ev)
        if choice == "bundled":
            if self.reset_to_bundled():
                self.retrain_message.setText(
                    f"Using the bundled model again: the retrained one did not do better. "
                    f"{self._estimate_text(ev)} The library is re-analysed with it."
                )
            return None
        if choice != "new":
            self.retrain_message.setText(
                f"Kept the current model: the retrained one does not look better. "
                f"{self._estimate_text(ev)} Label more songs and retrain."
            )
            return None
        try:
            used = activate(ev)
        except RetrainError as exc:  # ModelSaveError: disk full, read-only folder
            self.retrain_message.setText(f"Retraining failed: {exc}")
            return None
        self._say_retrained(used)
        return used

    def reset_to_bundled(self) -> bool:
        """Go back to the bundled model; False (and said in the view) when it could not."""
        if self.retraining:
            return False
        self._keep_keys()
        try:
            reset_model()
        except OSError as exc:  # a read-only or full settings folder
            log.warning("could not go back to the bundled model: %s", exc)
            self.retrain_message.setText(
                "Could not go back to the bundled model: the settings cannot be saved "
                f"({exc.strerror or exc}). Is the settings folder read-only or the disk "
                "full? The current model stays in use."
            )
            return False
        self.retrain_message.setText(
            "Using the bundled model again; the library is re-analysed with it."
        )
        self._refresh_retrain()
        self.model_changed.emit(None)
        return True

    # -- lifetime -----------------------------------------------------------------------
    def shutdown(self, timeout_ms: int = 10_000) -> bool:
        """Cancel background work and wait for it (call before closing)."""
        import time

        from PySide6.QtWidgets import QApplication

        self.player.shutdown()
        workers = [
            w
            for w in (self._spec_worker, self._retrain_worker, self.player.decode_worker)
            if w is not None
        ]
        for w in workers:
            w.cancel()
        deadline = time.monotonic() + timeout_ms / 1000
        while any(not w.done for w in workers) and time.monotonic() < deadline:
            QApplication.processEvents()
            time.sleep(0.01)
        return all(w.done for w in workers)


def _queue_key(row: LibraryRow) -> tuple[float, str]:
    """Least confident first; the path breaks ties."""
    assert row.scores is not None
    return (row.scores.confidence, row.path)
