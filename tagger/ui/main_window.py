"""The main window: library table + detail pane, background analysis, tag writing.

Extension points for other views (review, playlists, mood map):

* :meth:`MainWindow.add_view` ``(widget, title)`` adds a tab beside the Library tab.
* Whenever rows change (analysis results, label changes, tag writes) every added view
  that has a ``set_rows(rows: list[LibraryRow])`` method gets the new snapshot (while
  analysing, at most once a second; always once when analysis ends).
* :meth:`MainWindow.refresh_rows` re-reads ``library_rows`` from :attr:`MainWindow.store`
  (the GUI thread's own ``Store``); :meth:`MainWindow.set_label` shows one label just
  stored (cheap); :meth:`MainWindow.set_model` switches model and re-analyses.
* Views with ``set_root(path)`` hear about a newly opened folder; views with
  ``shutdown(timeout_ms)`` are asked to stop their work when the window closes.
* :attr:`MainWindow.root`, :attr:`MainWindow.model_id`, :attr:`MainWindow.loaded` and
  :attr:`MainWindow.rows` describe the open library; :meth:`MainWindow.select_track`
  shows a track in the Library tab; :meth:`MainWindow.selected_rows` is the selection.
* Signals: ``rows_changed``, ``analysis_started``, ``track_analysed(TrackAnalysed)``,
  ``analysis_finished(cancelled)``, ``write_finished(WriteSummary | None)``,
  ``track_activated(track_id)`` (a double-click or Enter on a library row);
  :meth:`MainWindow.show_view` brings a view's tab to the front.
* Background work for a view goes through :class:`tagger.ui.workers.GeneratorWorker`.

``tagger.ui.app.add_optional_views`` constructs ``ReviewView(window)``,
``PlaylistView(window)`` and ``MoodMapView(window)`` when those modules exist.
"""

from __future__ import annotations

import contextlib
import dataclasses
import logging
import sqlite3
import time
from itertools import pairwise
from pathlib import Path
from typing import Any

from PySide6.QtCore import (
    QByteArray,
    QEvent,
    QItemSelectionModel,
    QModelIndex,
    QSize,
    QStandardPaths,
    Qt,
    QTimer,
    Signal,
)
from PySide6.QtGui import QAction, QActionGroup, QColor, QIcon, QKeySequence, QPainter, QPixmap
from PySide6.QtWidgets import (
    QAbstractItemView,
    QApplication,
    QDockWidget,
    QFileDialog,
    QFrame,
    QHBoxLayout,
    QHeaderView,
    QLabel,
    QLineEdit,
    QListWidget,
    QListWidgetItem,
    QMainWindow,
    QMenu,
    QMessageBox,
    QProgressBar,
    QPushButton,
    QScrollArea,
    QSizePolicy,
    QSplitter,
    QStackedWidget,
    QTabBar,
    QTableView,
    QTabWidget,
    QToolButton,
    QVBoxLayout,
    QWidget,
)

from tagger.core.audio import FORMATS_TEXT
from tagger.core.errors import no_mood_reason
from tagger.core.library import (
    AnalysisSummary,
    LibraryRow,
    TrackAnalysed,
    library_rows,
    mood_counts,
)
from tagger.core.moods import COLOURS, ERROR_COLOUR, MOODS, display_name
from tagger.core.progress import Progress
from tagger.core.scan import ScanResult
from tagger.core.settings import load_settings, update_settings
from tagger.core.store import Store, StoreError
from tagger.core.text import count_text, name_in
from tagger.ui.db_errors import GUI_DB_TIMEOUT, label_not_saved
from tagger.ui.detail_pane import DetailPane
from tagger.ui.elided_label import ElidedLabel
from tagger.ui.library_model import (
    HEADERS,
    ROW_ROLE,
    STATUSES,
    Column,
    LibraryModel,
    LibraryProxyModel,
    MoodChipDelegate,
    is_pending,
)
from tagger.ui.log_view import LogView
from tagger.ui.workers import (
    GeneratorWorker,
    ModelFailed,
    ModelReady,
    RowsLoaded,
    analysis_job,
    wait_for_all,
)

log = logging.getLogger(__name__)

APP_TITLE = "Mood Tagger"
MAX_RECENT = 10
#: Title keeps at least this many ems while the other columns can give way.
TITLE_MIN_EM = 14
#: how wide Artist and Album grow (ems) where the table has room to spare
WIDE_NAME_EM = 20
#: Widths (ems) the other columns may shrink to in a small window, below their header
#: labels (elided, in full in their tooltips). Mood keeps its chip width.
SQUEEZED_EM = {
    Column.ARTIST: 6,
    Column.ALBUM: 6,
    Column.CONFIDENCE: 5,
    Column.ENERGY: 4.5,
    Column.VALENCE: 4.5,
    Column.TAG: 7,
    Column.STATUS: 6.5,
}
#: ...and in a window too small even for those, the narrowest the number columns get
#: before the table scrolls. Mood and Status keep their contents' width, and Artist and
#: Album their squeezed one: at 3.5 ems they read "Bj…", "Ho…" and said nothing.
FLOOR_EM = 3.5
FLOOR_KEEPS = (Column.MOOD, Column.STATUS, Column.ARTIST, Column.ALBUM)
#: The details pane's share of the Library tab unless dragged, and its widest (ems) then.
DETAIL_SHARE = 0.22
DETAIL_MAX_EM = 30
#: The most of the Library tab the details pane may take (dragged, or in a small window).
DETAIL_MAX_SHARE = 0.3


def mood_icon(mood: str, size: int = 14) -> QIcon:
    pm = QPixmap(size * 2, size * 2)
    pm.setDevicePixelRatio(2.0)
    pm.fill(Qt.GlobalColor.transparent)
    p = QPainter(pm)
    p.setRenderHint(QPainter.RenderHint.Antialiasing)
    p.setPen(Qt.PenStyle.NoPen)
    p.setBrush(QColor(COLOURS[mood]))
    p.drawEllipse(1, 1, size - 2, size - 2)
    p.end()
    return QIcon(pm)


def _file_key(path: Path) -> tuple[int, int] | None:
    """Which file ``path`` is now (device, inode); None if there is none."""
    try:
        st = path.stat()
    except OSError:
        return None
    return st.st_dev, st.st_ino


def default_folder(folder: str | Path | None) -> Path | None:
    """The folder to open: the given one, else the last used, else the platform's music
    folder if it exists, else None (the empty state)."""
    if folder:
        return Path(folder).expanduser()
    last = load_settings().get("last_folder")
    if last and Path(last).is_dir():
        return Path(last)
    music = QStandardPaths.writableLocation(QStandardPaths.StandardLocation.MusicLocation)
    if music and Path(music).is_dir():
        return Path(music)
    return None


class EmptyState(QWidget):
    """Shown when no folder is open: one big button."""

    def __init__(self, on_open, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        lay = QVBoxLayout(self)
        lay.addStretch(2)
        title = QLabel("Find the mood of every song in your music folder")
        f = title.font()
        f.setPointSizeF(f.pointSizeF() * 1.6)
        title.setFont(f)
        title.setAlignment(Qt.AlignmentFlag.AlignCenter)
        title.setWordWrap(True)
        lay.addWidget(title)
        hint = QLabel(
            "Mood Tagger listens to a few seconds of each song on this computer and sorts "
            "them into Happy, Aggressive, Sad and Calm. Nothing is changed in your files "
            "until you choose to write tags."
        )
        hint.setAlignment(Qt.AlignmentFlag.AlignCenter)
        hint.setWordWrap(True)
        lay.addWidget(hint)
        lay.addSpacing(18)
        self.button = QPushButton("Open music folder…")
        bf = self.button.font()
        bf.setPointSizeF(bf.pointSizeF() * 1.4)
        self.button.setFont(bf)
        fm = self.button.fontMetrics()
        self.button.setMinimumSize(
            fm.horizontalAdvance(self.button.text()) + 4 * fm.height(), int(2.4 * fm.height())
        )
        self.button.setDefault(True)
        self.button.clicked.connect(on_open)
        row = QHBoxLayout()
        row.addStretch(1)
        row.addWidget(self.button)
        row.addStretch(1)
        lay.addLayout(row)
        self.message = QLabel("")
        self.message.setAlignment(Qt.AlignmentFlag.AlignCenter)
        self.message.setStyleSheet(f"color: {ERROR_COLOUR};")
        self.message.setWordWrap(True)
        lay.addWidget(self.message)
        lay.addStretch(3)


class LibraryTableView(QTableView):
    """The library table: fixed row heights and column widths so 50k rows stay fast."""

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setSelectionBehavior(QAbstractItemView.SelectionBehavior.SelectRows)
        self.setSelectionMode(QAbstractItemView.SelectionMode.ExtendedSelection)
        self.setAlternatingRowColors(True)
        self.setSortingEnabled(True)
        self.setShowGrid(False)
        self.setWordWrap(False)
        self.setTabKeyNavigation(False)
        self.setEditTriggers(QAbstractItemView.EditTrigger.NoEditTriggers)
        self.setVerticalScrollMode(QAbstractItemView.ScrollMode.ScrollPerPixel)
        vh = self.verticalHeader()
        vh.hide()
        vh.setSectionResizeMode(QHeaderView.ResizeMode.Fixed)
        vh.setDefaultSectionSize(self.fontMetrics().height() + 10)
        self.horizontalHeader().setHighlightSections(False)
        # a narrow column shows "Con…", not a clipped "nfidence" (Qt's default: no eliding)
        self.horizontalHeader().setTextElideMode(Qt.TextElideMode.ElideRight)
        self.horizontalHeader().setSortIndicatorShown(True)
        self.horizontalHeader().setSortIndicator(-1, Qt.SortOrder.AscendingOrder)
        self.setAccessibleName("Library")
        self._width_levels: list[dict[int, int]] = []
        self._auto_widths = False  # fit_columns on resizes, until a column is resized by hand
        self._fitting = False
        self.horizontalHeader().sectionResized.connect(self._on_header_section_resized)

    def set_default_widths(self) -> None:
        """Title stretches; the rest get widths in ems (sane on any DPI), narrower while
        the table is too narrow for them and a readable Title (see :meth:`fit_columns`)."""
        em = self.fontMetrics().horizontalAdvance("M")
        widths = {
            Column.ARTIST: 11,
            Column.ALBUM: 11,
            Column.MOOD: 9,
            Column.CONFIDENCE: 6,
            Column.ENERGY: 5,
            Column.VALENCE: 5,
            Column.TAG: 8,
            Column.STATUS: 6,
        }
        hh = self.horizontalHeader()
        hh.setStretchLastSection(False)
        hh.setMinimumSectionSize(3 * em)
        hfm = hh.fontMetrics()
        # every status in full ("confirmed" is wider than 6 em in some fonts)
        status_w = max(self.fontMetrics().horizontalAdvance(t) for t in STATUSES) + em
        defaults: dict[int, int] = {}
        for col, w in widths.items():
            hh.setSectionResizeMode(col, QHeaderView.ResizeMode.Interactive)
            label = HEADERS[Column(col)]
            # room for the header text and the sort arrow
            width = max(w * em, hfm.horizontalAdvance(label) + 3 * em)
            if col == Column.MOOD:  # the widest chip, "Aggressive ✎" in bold
                width = max(width, MoodChipDelegate.needed_width(self.font()))
            if col == Column.STATUS:
                width = max(width, status_w)
            defaults[col] = width
            self.setColumnWidth(col, width)
        hh.setSectionResizeMode(Column.TITLE, QHeaderView.ResizeMode.Stretch)
        # narrower: just the header labels; narrowest: their contents (labels elided)
        labels = {
            c: w if c == Column.MOOD else min(w, hh.sectionSizeHint(c)) for c, w in defaults.items()
        }
        contents = {
            c: min(w, round(SQUEEZED_EM[c] * em)) if c in SQUEEZED_EM else w
            for c, w in labels.items()
        }
        # the Status texts stay whole, like the mood chips
        st = Column.STATUS
        labels[st] = min(defaults[st], max(labels[st], status_w))
        contents[st] = min(labels[st], max(contents[st], status_w))
        # a small window: the rest give way further (elided) before Title does
        floor = {
            c: w if c in FLOOR_KEEPS else min(w, round(FLOOR_EM * em)) for c, w in contents.items()
        }
        self._width_levels = [defaults, labels, contents, floor]
        self._auto_widths = True
        self.fit_columns()

    def fit_columns(self) -> None:
        """Leave Title at least TITLE_MIN_EM ems: the other columns give way, in
        proportion, first down to their header labels, then to their contents. Stops once
        the person has resized a column themselves."""
        if not self._auto_widths or not self._width_levels:
            return
        em = self.fontMetrics().horizontalAdvance("M")
        title = TITLE_MIN_EM * em
        room = self.viewport().width() - title
        widths = fit_widths(self._width_levels, room)
        # a wide table: Artist and Album share the room Title does not need ("Barenaked
        # Lad…" beside a half-empty Title column), each up to WIDE_NAME_EM
        spare = room - sum(widths.values())
        for col in (Column.ARTIST, Column.ALBUM):
            if spare > 0:
                widths[col] = min(
                    max(widths[col], round(WIDE_NAME_EM * em)), widths[col] + spare // 4
                )
        hh = self.horizontalHeader()
        self._fitting = True
        try:
            for col, width in widths.items():
                if self.columnWidth(col) != width:
                    self.setColumnWidth(col, width)
            # Too narrow even so: Title keeps its minimum and the table scrolls sideways
            # (stretched, Title got what was left: 3 ems, or the whole view with every
            # other column pushed out of sight).
            mode = QHeaderView.ResizeMode.Stretch
            if sum(widths.values()) > room:
                mode = QHeaderView.ResizeMode.Fixed
            if hh.sectionResizeMode(Column.TITLE) != mode:
                hh.setSectionResizeMode(Column.TITLE, mode)
            if mode == QHeaderView.ResizeMode.Fixed and self.columnWidth(Column.TITLE) != title:
                self.setColumnWidth(Column.TITLE, title)
        finally:
            self._fitting = False

    def _on_header_section_resized(self, index: int, _old: int, _new: int) -> None:
        if not self._fitting and index != Column.TITLE:  # Title stretches by itself
            self._auto_widths = False

    def resizeEvent(self, event) -> None:  # the viewport's resizes come here too
        super().resizeEvent(event)
        self.fit_columns()


def fit_widths(levels: list[dict[int, int]], room: int) -> dict[int, int]:
    """Column widths that fit ``room`` pixels: between the first two adjacent ``levels``
    (widest first) that bracket it, each column shrunk in proportion to what it can give;
    the last level when even that is too wide."""
    for wide, narrow in pairwise(levels):
        lo, hi = sum(narrow.values()), sum(wide.values())
        if lo <= room:
            t = 1.0 if hi <= room else (room - lo) / (hi - lo)
            return {c: narrow[c] + int(t * (wide[c] - narrow[c])) for c in wide}
    return dict(levels[-1])


class SearchLineEdit(QLineEdit):
    """The library search box: Esc clears the text typed in it (what Esc does in a desktop
    search field), instead of reaching the window's Stop Analysis shortcut. Esc in an
    empty box goes on to the window and stops an analysis as anywhere else: Esc backs
    out of the innermost thing first, and a stop keeps every result so far."""

    def _clears(self, event) -> bool:
        return (
            event.key() == Qt.Key.Key_Escape
            and event.modifiers() == Qt.KeyboardModifier.NoModifier
            and bool(self.text())
        )

    def event(self, event) -> bool:
        if event.type() == QEvent.Type.ShortcutOverride and self._clears(event):
            event.accept()  # the key comes to keyPressEvent, not to the shortcut
            return True
        return super().event(event)

    def keyPressEvent(self, event) -> None:
        if self._clears(event):
            self.clear()
            event.accept()
            return
        super().keyPressEvent(event)


class LibrarySplitter(QSplitter):
    """The table beside the details pane, which takes :data:`DETAIL_SHARE` of the width
    (at most :data:`DETAIL_MAX_EM` ems) or the share it was dragged to, and never more
    than :data:`DETAIL_MAX_SHARE`: the table gets most of the width at any window size
    and display scale (a 3:1 stretch with a 260-px floor gave the pane ~40% of a small
    window)."""

    def __init__(self, table: QWidget, detail: QWidget) -> None:
        super().__init__(Qt.Orientation.Horizontal)
        self.addWidget(table)
        self.addWidget(detail)
        self.setStretchFactor(0, 1)
        self.setStretchFactor(1, 0)
        self.setChildrenCollapsible(False)
        self._detail = detail
        #: The pane's share of the width chosen by dragging (or a saved split); None: default.
        self.detail_share: float | None = None
        self.splitterMoved.connect(self._on_splitter_moved)

    def set_detail_share(self, share: float | None) -> None:
        self.detail_share = share
        self._fit(self.width())

    def detail_width(self, total: int) -> int:
        """The pane's width in a splitter ``total`` pixels wide."""
        if self.detail_share is None:
            em = self.fontMetrics().horizontalAdvance("M")
            want = min(round(total * DETAIL_SHARE), DETAIL_MAX_EM * em)
        else:
            want = round(total * self.detail_share)
        lo = self._detail.minimumWidth()
        return max(lo, min(want, round(total * DETAIL_MAX_SHARE)))

    def _fit(self, total: int) -> None:
        lo = self._detail.minimumWidth()
        self._detail.setMaximumWidth(max(lo, round(total * DETAIL_MAX_SHARE)))  # drags too
        detail = self.detail_width(total)
        if self.sizes()[1] != detail:
            self.setSizes([max(1, total - detail), detail])

    def _on_splitter_moved(self, _pos: int, _index: int) -> None:
        sizes = self.sizes()
        self.detail_share = sizes[1] / max(1, sum(sizes))

    def resizeEvent(self, event) -> None:
        self._fit(event.size().width())
        super().resizeEvent(event)


class MainWindow(QMainWindow):
    """The app's window. ``model`` is a checkpoint path, a LoadedModel or None (active)."""

    analysis_started = Signal()
    track_analysed = Signal(object)  # TrackAnalysed, as results arrive
    analysis_finished = Signal(bool)  # cancelled
    rows_changed = Signal()  # any row changed (results, refresh, writes)
    write_finished = Signal(object)  # the WriteSummary (or None on failure)
    forget_finished = Signal(object)  # how many missing songs were forgotten (None: none)
    track_activated = Signal(int)  # track id: a double-click / Enter on a library row

    def __init__(
        self,
        folder: str | Path | None = None,
        model: Any = None,
        jobs: int | None = None,
        auto_analyse: bool = True,
        parent: QWidget | None = None,
    ) -> None:
        super().__init__(parent)
        self.setAcceptDrops(True)  # drop a music folder on the window to open it
        self.model_arg = model
        self.jobs = jobs
        self.auto_analyse = auto_analyse
        self.root: Path | None = None
        self.loaded: Any = None
        self.model_id: str = ""
        from tagger.core.checkpoint import LoadedModel

        if isinstance(model, LoadedModel):  # already loaded: rows can show at once
            self.loaded, self.model_id = model, model.model_id
        #: The GUI thread's store (workers open their own). It waits at most 3 s for
        #: another process's write: longer would freeze the window.
        self.store = Store.open_default(timeout=GUI_DB_TIMEOUT)
        self._store_file = _file_key(self.store.path)
        self.recovery_box: QMessageBox | None = None
        if self.store.recovered_from is not None:
            QTimer.singleShot(0, self._tell_store_recovered)
        self._views: list[QWidget] = []
        self._analysis: GeneratorWorker | None = None
        self._jobs_running: list[GeneratorWorker] = []
        self._busy_box: QMessageBox | None = None  # "please wait", closed once idle
        #: track id -> (predicted mood, mood tag) before a change of model (set_model)
        self._moods_before_model: dict[int, tuple[str | None, str | None]] = {}
        self._pending: list[TrackAnalysed] = []
        self._queue: list[int] = []  # track ids waiting for analysis, in order
        self._queue_pos = 0
        self._finished_ids: set[int] = set()
        self._analyse_started: float | None = None
        self._analyse_base = 0
        self._errors: dict[str, str] = {}
        self._scan_errors: list[tuple[str, str]] = []
        self._moved = 0  # files the last scan found moved or renamed
        self._gone = 0  # songs the last scan no longer found (they left the table)
        self._model_why = ""  # said once the model set by set_model() is loaded
        self._last_view_push = 0.0
        self._closing = False
        #: the store's data_version when the rows were last read (None: never)
        self._seen_version: int | None = None
        self._detail_shown_analysis: str | None = None

        self.library_model = LibraryModel(self)
        self.proxy = LibraryProxyModel(self)
        self.proxy.setSourceModel(self.library_model)

        self._flush_timer = QTimer(self, singleShot=True, interval=100)
        self._flush_timer.timeout.connect(self._flush_results)
        self._views_timer = QTimer(self, singleShot=True, interval=1000)
        self._views_timer.timeout.connect(self._push_to_views)
        self._counts_timer = QTimer(self, singleShot=True, interval=500)
        self._counts_timer.timeout.connect(self._update_counts)
        self._search_timer = QTimer(self, singleShot=True, interval=200)
        self._search_timer.timeout.connect(self._apply_search)

        self._build_ui()
        if self.loaded is not None:
            self.detail.set_model(self.loaded)
        self._build_actions()
        self._build_status_bar()
        self._restore_geometry()
        self._restore_sort()
        self._update_title()

        target = Path(folder).expanduser() if folder else None
        if target is not None:
            QTimer.singleShot(0, lambda: self.open_folder(target))
        else:
            self.stack.setCurrentWidget(self.empty)
            last = load_settings().get("last_folder")
            if last and not Path(last).is_dir():  # an unplugged drive, a renamed folder
                self.empty.message.setText(
                    f"The folder you used last, {last}, is not available (moved, renamed or "
                    "on a drive that is not connected). Open it again once it is back, or "
                    "choose another."
                )

    # -- construction -----------------------------------------------------------------
    def _build_ui(self) -> None:
        self.table = LibraryTableView()
        self.table.setModel(self.proxy)
        self.table.setItemDelegateForColumn(Column.MOOD, MoodChipDelegate(self.table))
        self.table.set_default_widths()
        self.table.selectionModel().currentRowChanged.connect(self._on_table_current_changed)
        self.table.activated.connect(self._on_table_activated)
        self.table.selectionModel().selectionChanged.connect(self._update_selection_actions)
        self.detail = DetailPane()

        self.splitter = LibrarySplitter(self.table, self.detail)

        self.tabs = QTabWidget()
        self.tabs.setDocumentMode(True)
        self.tabs.addTab(self.splitter, "Library")
        self.tabs.currentChanged.connect(self._on_tab_changed)

        self.empty = EmptyState(self.choose_folder)
        self.stack = QStackedWidget()
        self.stack.addWidget(self.empty)
        self.stack.addWidget(self.tabs)
        self.setCentralWidget(self.stack)

        self.errors_list = QListWidget()
        self.errors_list.setAccessibleName("Files that could not be analysed")
        self.errors_list.itemActivated.connect(self._on_errors_list_item_activated)
        self.errors_dock = QDockWidget("Errors", self)
        self.errors_dock.setObjectName("errors_dock")
        self.errors_dock.setWidget(self.errors_list)
        self.addDockWidget(Qt.DockWidgetArea.BottomDockWidgetArea, self.errors_dock)
        self.errors_dock.hide()

        self.log_view = LogView()
        self.log_dock = QDockWidget("Log", self)
        self.log_dock.setObjectName("log_dock")
        self.log_dock.setWidget(self.log_view)
        self.addDockWidget(Qt.DockWidgetArea.BottomDockWidgetArea, self.log_dock)
        self.tabifyDockWidget(self.errors_dock, self.log_dock)
        self.log_dock.hide()
        self._no_dock_tab_focus()
        for dock in (self.errors_dock, self.log_dock):
            dock.visibilityChanged.connect(
                lambda visible, d=dock: visible or QTimer.singleShot(0, lambda: self._refocus(d))
            )

    def _refocus(self, dock: QDockWidget) -> None:
        """A dock closed while it had the keys: they go back to the open tab's page (Qt
        gave them to the next widget in line, the search box, where Review's 1-4 typed
        a search and switched to the Library)."""
        fw = QApplication.focusWidget()
        if dock.isVisible() or self._closing:
            return
        if fw is None or fw is self.search or dock.isAncestorOf(fw) or not fw.isVisible():
            page = self.tabs.currentWidget()
            if page is self.splitter:
                page = self.table
            if page is not None:
                page.setFocus()

    def _no_dock_tab_focus(self) -> None:
        """The tab bars QMainWindow makes for tabbed docks take no keyboard focus: while
        the docks are hidden Qt parks them off-screen, where a Tab press would vanish."""
        for bar in self.findChildren(QTabBar, options=Qt.FindChildOption.FindDirectChildrenOnly):
            bar.setFocusPolicy(Qt.FocusPolicy.NoFocus)

    def childEvent(self, event) -> None:
        super().childEvent(event)
        if event.type() == QEvent.Type.ChildPolished and isinstance(event.child(), QTabBar):
            event.child().setFocusPolicy(Qt.FocusPolicy.NoFocus)  # docks tabbed later on

    def _build_actions(self) -> None:
        mb = self.menuBar()
        file_menu = mb.addMenu("&File")
        self.open_action = QAction("&Open Folder…", self)
        self.open_action.setShortcut(QKeySequence.StandardKey.Open)
        self.open_action.triggered.connect(self.choose_folder)
        file_menu.addAction(self.open_action)
        self.recent_menu = file_menu.addMenu("Open &Recent")
        self.recent_menu.aboutToShow.connect(self._fill_recent_menu)
        self._fill_recent_menu()
        self.reanalyse_action = QAction("&Rescan Folder", self)
        self.reanalyse_action.setShortcut(QKeySequence.StandardKey.Refresh)
        self.reanalyse_action.triggered.connect(self.start_analysis)
        file_menu.addAction(self.reanalyse_action)
        self.cancel_action = QAction("&Stop Analysis", self)
        self.cancel_action.setShortcut(QKeySequence(Qt.Key.Key_Escape))
        self.cancel_action.setShortcutContext(Qt.ShortcutContext.WindowShortcut)
        self.cancel_action.triggered.connect(self.cancel_analysis)
        self.cancel_action.setEnabled(False)
        file_menu.addAction(self.cancel_action)
        self.forget_missing_action = QAction("&Forget Missing Songs…", self)
        self.forget_missing_action.setToolTip(
            "Forget the songs whose files are no longer in the folder, with their labels"
        )
        self.forget_missing_action.triggered.connect(self.forget_missing_songs)
        file_menu.addAction(self.forget_missing_action)
        file_menu.addSeparator()
        quit_action = QAction("&Quit", self)
        # The platform's Quit key where it has one; Ctrl+Q where it has none (Windows, a
        # bare X11 session), so the menu always shows a shortcut.
        quit_keys = QKeySequence.keyBindings(QKeySequence.StandardKey.Quit)
        quit_action.setShortcuts(quit_keys or [QKeySequence("Ctrl+Q")])
        quit_action.triggered.connect(self.close)
        file_menu.addAction(quit_action)

        tags_menu = mb.addMenu("&Tags")
        self.write_action = QAction("&Write Mood Tags…", self)
        self.write_action.setShortcut(QKeySequence("Ctrl+Shift+W"))
        self.write_action.triggered.connect(self.write_tags)
        tags_menu.addAction(self.write_action)
        self.write_selection_action = QAction("Write Mood Tags for &Selected Songs…", self)
        self.write_selection_action.triggered.connect(lambda: self.write_tags(selection_only=True))
        tags_menu.addAction(self.write_selection_action)
        self.undo_write_action = QAction("&Undo Last Write", self)
        self.undo_write_action.triggered.connect(self.undo_last_write)
        tags_menu.addAction(self.undo_write_action)
        tags_menu.addSeparator()
        # Labelling from the table: a whole album at once (the Review tab is song by song).
        self.label_menu = QMenu("Set &Mood of Selected Songs", self)
        self.label_actions: dict[str | None, QAction] = {}
        for i, mood in enumerate(MOODS, start=1):
            a = QAction(mood_icon(mood), display_name(mood), self)
            a.setShortcut(QKeySequence(f"Alt+{i}"))
            a.triggered.connect(lambda _c=False, m=mood: self.label_selected(m))
            self.label_actions[mood] = a
            self.label_menu.addAction(a)
        self.label_menu.addSeparator()
        clear = QAction("&Clear My Label", self)
        clear.setShortcut(QKeySequence("Alt+0"))
        clear.triggered.connect(lambda: self.label_selected(None))
        self.label_actions[None] = clear
        self.label_menu.addAction(clear)
        for a in self.label_actions.values():  # the keys work where the songs are picked
            a.setShortcutContext(Qt.ShortcutContext.WidgetWithChildrenShortcut)
            self.table.addAction(a)
        tags_menu.addMenu(self.label_menu)
        self.listen_action = QAction("&Listen", self)
        self.listen_action.triggered.connect(self._listen_to_current)
        self.table.setContextMenuPolicy(Qt.ContextMenuPolicy.CustomContextMenu)
        self.table.customContextMenuRequested.connect(self._on_table_context_menu)

        view_menu = mb.addMenu("&View")
        self.find_action = QAction("&Find…", self)
        self.find_action.setShortcut(QKeySequence.StandardKey.Find)
        self.find_action.triggered.connect(self._focus_search)
        view_menu.addAction(self.find_action)
        log_action = self.log_dock.toggleViewAction()
        log_action.setText("&Log")
        for dock in (self.errors_dock, self.log_dock):
            # the two docks share a tab bar: the one just asked for comes to the front
            action = dock.toggleViewAction()
            action.triggered.connect(lambda checked, d=dock: checked and d.raise_())
            view_menu.addAction(action)
        self.detail_action = QAction("&Details Pane", self, checkable=True, checked=True)
        self.detail_action.toggled.connect(self.detail.setVisible)
        view_menu.addAction(self.detail_action)
        view_menu.addSeparator()
        # Library / Review / Playlists / Mood map from the keyboard, shown in the menu (Qt's
        # own Ctrl+Tab works too, but only while the tab bar's page has the focus)
        self.next_tab_action = QAction("&Next Tab", self)
        self.next_tab_action.setShortcut(QKeySequence("Ctrl+PgDown"))
        self.next_tab_action.triggered.connect(lambda: self._step_tab(1))
        self.prev_tab_action = QAction("&Previous Tab", self)
        self.prev_tab_action.setShortcut(QKeySequence("Ctrl+PgUp"))
        self.prev_tab_action.triggered.connect(lambda: self._step_tab(-1))
        for a in (self.next_tab_action, self.prev_tab_action):
            a.setShortcutContext(Qt.ShortcutContext.WindowShortcut)
            view_menu.addAction(a)
        view_menu.addSeparator()

        help_menu = mb.addMenu("&Help")
        about = QAction("&About Mood Tagger", self)
        about.triggered.connect(self._about)
        help_menu.addAction(about)

        tb = self.addToolBar("Main")
        tb.setObjectName("main_toolbar")
        tb.setMovable(False)
        tb.setToolButtonStyle(Qt.ToolButtonStyle.ToolButtonTextBesideIcon)
        icon = self.fontMetrics().height()
        tb.setIconSize(QSize(icon, icon))
        tb.addAction(self.open_action)
        tb.addAction(self.write_action)
        tb.addSeparator()
        tb.addWidget(QLabel(" Show: "))
        self.mood_actions: dict[str, QAction] = {}
        group = QActionGroup(self)
        group.setExclusive(False)
        for k, mood in enumerate(MOODS, start=1):
            a = QAction(mood_icon(mood), display_name(mood), self, checkable=True, checked=True)
            a.setShortcut(QKeySequence(f"Ctrl+{k}"))
            a.setToolTip(
                f"Show {display_name(mood)} songs in the library table (Ctrl+{k}). Songs "
                "without a mood (unreadable, not analysed yet) show while every mood does."
            )
            a.toggled.connect(self._on_mood_filter_toggled)
            group.addAction(a)
            tb.addAction(a)
            view_menu.addAction(a)
            self.mood_actions[mood] = a
        tb.addSeparator()
        self.search = SearchLineEdit()
        self.search.setPlaceholderText("Search title, artist, album (Ctrl+F)")
        self.search.setClearButtonEnabled(True)
        self.search.setAccessibleName("Search")
        self.search.setMaximumWidth(self.fontMetrics().horizontalAdvance("M") * 24)
        self.search.textChanged.connect(lambda _t: self._search_timer.start())
        self.search.textEdited.connect(lambda _t: self.tabs.setCurrentIndex(0))
        self.search.returnPressed.connect(self._on_search_return_pressed)
        tb.addWidget(self.search)
        self._update_actions()

    def _build_status_bar(self) -> None:
        sb = self.statusBar()
        self.counts_label = QLabel()
        self.counts_label.setTextFormat(Qt.TextFormat.RichText)
        self.errors_button = QToolButton()
        self.errors_button.setAutoRaise(True)
        self.errors_button.clicked.connect(self._show_errors)
        self.errors_button.hide()
        self.progress = QProgressBar()
        self.progress.setMaximumWidth(self.fontMetrics().horizontalAdvance("M") * 16)
        self.progress.setFormat("%v / %m")
        # the count is in the label beside it: Fusion drew the part of the text just past
        # the bar's filled end white on white ("30 / 60" with a missing slash)
        self.progress.setTextVisible(False)
        self.eta_label = QLabel()
        self.cancel_button = QPushButton("Cancel")
        self.cancel_button.setToolTip("Stop analysing (Esc); results so far are kept")
        self.cancel_button.clicked.connect(self.cancel_analysis)
        self.message_label = ElidedLabel()
        # the message gives way (cut with "…", full text in its tooltip); the counts never do
        self.message_label.setSizePolicy(QSizePolicy.Policy.Ignored, QSizePolicy.Policy.Preferred)
        self.message_label.setMinimumWidth(0)
        self._message_timer = QTimer(self, singleShot=True)
        self._message_timer.timeout.connect(self.message_label.clear)
        sb.addWidget(self.counts_label)
        sb.addWidget(self.message_label, 1)
        sb.addPermanentWidget(self.errors_button)
        sb.addPermanentWidget(self.eta_label)
        sb.addPermanentWidget(self.progress)
        sb.addPermanentWidget(self.cancel_button)
        self._set_busy(False)

    def _restore_sort(self) -> None:
        """The library table's sort column and order, as the person left them."""
        saved = load_settings().get("library_sort")
        if (
            isinstance(saved, list)
            and len(saved) == 2
            and all(isinstance(x, int) for x in saved)
            and 0 <= saved[0] < len(Column)
            and saved[1] in (0, 1)
        ):
            self.table.sortByColumn(saved[0], Qt.SortOrder(saved[1]))

    def _restore_geometry(self) -> None:
        s = load_settings()
        geo = s.get("window_geometry")
        restored = False
        if isinstance(geo, str) and geo.isascii():
            restored = self.restoreGeometry(QByteArray.fromBase64(geo.encode("ascii")))
        split = s.get("splitter_sizes")
        if not (
            isinstance(split, list) and len(split) == 2 and all(isinstance(x, int) for x in split)
        ):
            split = None
        screen = self.screen() or QApplication.primaryScreen()
        avail = screen.availableGeometry() if screen else None
        if not restored:
            em = self.fontMetrics().horizontalAdvance("M")
            w, h = 140 * em, 56 * self.fontMetrics().height()
            if avail is not None:
                w, h = min(w, int(avail.width() * 0.9)), min(h, int(avail.height() * 0.9))
            self.resize(w, h)
        elif avail is not None and (self.width() > avail.width() or self.height() > avail.height()):
            # saved on a bigger screen (a laptop undocked): fit it, or the status bar and
            # the bottom of the views would be out of reach
            self.resize(
                min(self.width(), int(avail.width() * 0.95)),
                min(self.height(), int(avail.height() * 0.95)),
            )
            self.move(avail.topLeft())
        self.fit_splitter(split)

    def fit_splitter(self, saved: list[int] | None = None) -> None:
        """Share the Library tab between the table and the details pane (see
        :class:`LibrarySplitter`); ``saved``: the sizes of a split dragged by hand, whose
        proportion is kept at any window size or display scale."""
        share = None
        if saved and len(saved) == 2 and min(saved) >= 0 and sum(saved) > 0:
            share = saved[1] / sum(saved)
        self.splitter.set_detail_share(share)

    # -- public API (see the module docstring) ----------------------------------------
    @property
    def rows(self) -> list[LibraryRow]:
        """The current library rows (a copy)."""
        return list(self.library_model.rows)

    def add_view(self, widget: QWidget, title: str, scrollable: bool = False) -> int:
        """Add ``widget`` as a tab beside Library; it gets ``set_rows`` calls if it has one.

        ``scrollable``: show it in a scroll area, so that a tall view (the review form) does
        not force a window taller than a small laptop screen.
        """
        self._views.append(widget)
        page: QWidget = widget
        if scrollable:
            area = QScrollArea()
            area.setWidgetResizable(True)
            area.setFrameShape(QFrame.Shape.NoFrame)
            area.setWidget(widget)
            area.setFocusProxy(widget)  # keys (the review shortcuts) go to the view itself
            page = area
        idx = self.tabs.addTab(page, title)
        if self.library_model.rows:
            self._push_view(widget)
        return idx

    def _step_tab(self, step: int) -> None:
        """Go to the next (``step`` 1) or previous (-1) tab, round the end."""
        n = self.tabs.count()
        if n and self.stack.currentWidget() is self.tabs:
            self.tabs.setCurrentIndex((self.tabs.currentIndex() + step) % n)

    def refresh_rows(self) -> None:
        """Re-read every row from the store (after labels or tags changed elsewhere).

        Runs ``library_rows`` on the GUI thread: fine for one action, too slow to call
        per keypress on a huge library — use :meth:`set_label` for single label changes.
        """
        if self.root is None or self._closing:
            return
        try:
            self._seen_version = self.store.data_version()  # before: a change meanwhile counts
        except sqlite3.Error:
            self._seen_version = None
        rows = library_rows(self.root, self.store, self.model_id)
        self._rows_arrived(rows)
        self._resort()

    def follow_other_changes(self) -> bool:
        """Show what another program changed in the library since the rows were read:
        ``mood-tagger write``, ``undo``, ``label`` or ``forget`` run in a terminal while the
        app is open. Called when the window becomes active; only while nothing runs here
        (a running job refreshes the rows when it ends). True if the rows were re-read."""
        if self._closing or self._jobs_running:
            return False
        if _file_key(self.store.path) != self._store_file:
            self._reopen_store()
            return True
        if self.root is None:
            return False
        try:
            version = self.store.data_version()
        except sqlite3.Error:
            return False
        if version == self._seen_version:
            return False
        self.refresh_rows()
        return True

    def _reopen_store(self) -> None:
        """The database file was deleted or replaced while open (the app's data folder
        cleared to start afresh, say): labels would go on into the deleted file and be lost
        at exit. Open the one now there (a new one if none) and scan the folder into it."""
        log.warning(
            "the library database %s was deleted or replaced; opening it again", self.store.path
        )
        try:
            store = Store.open_default(timeout=GUI_DB_TIMEOUT)
        except (StoreError, sqlite3.Error) as exc:
            log.error("cannot open the library database again: %s", exc)
            return
        self.store.close()
        self.store, self._store_file = store, _file_key(store.path)
        for v in self._views:
            fn = getattr(v, "set_store", None)
            if callable(fn):
                fn(store)
        self._seen_version = None
        if store.recovered_from is not None:
            self._tell_store_recovered()
        elif self.isVisible():  # the status bar's line would be gone once the scan ends
            box = QMessageBox(
                QMessageBox.Icon.Warning,
                APP_TITLE,
                "The library database was deleted or replaced by another program while the "
                "app was open. The app now uses the database that is there (a new, empty one "
                "if there is none), so songs it does not know are analysed again.\n\n"
                f"Database: {store.path}",
                QMessageBox.StandardButton.Ok,
                self,
            )
            box.open()
            self.recovery_box = box
        log.info("opened the library database again: %s", store.path)
        if self.root is not None:
            self.refresh_rows()
            self.start_analysis()

    def changeEvent(self, event) -> None:
        super().changeEvent(event)
        if event.type() == QEvent.Type.ActivationChange and self.isActiveWindow():
            self.follow_other_changes()

    def set_label(self, track_id: int, mood: str | None) -> None:
        """Show a label that was just stored for ``track_id`` (None: label cleared).

        Cheap: one row changes; other views get the rows at most once a second.
        """
        self.set_labels({track_id: mood})

    def set_labels(self, labels: dict[int, str | None]) -> None:
        """:meth:`set_label` for many songs, in one model update."""
        new = []
        for track_id, mood in labels.items():
            old = self.library_model.row_for(track_id)
            if old is not None and old.label != mood:
                new.append(dataclasses.replace(old, label=mood))
        if not new:
            return
        self.library_model.update_rows(new)
        self._resort((Column.MOOD, Column.STATUS))  # what a label changes
        shown = self.detail.row
        changed = {r.track_id: r for r in new}
        if shown is not None and shown.track_id in changed:
            self._show_detail(changed[shown.track_id])
        if not self._counts_timer.isActive():
            self._counts_timer.start()
        self._schedule_views()
        self.rows_changed.emit()

    def set_model(self, model: Any = None, why: str = "") -> None:
        """Use another model (a checkpoint path, a LoadedModel, or None = the active one)
        and analyse the open folder with it (results of each model are cached). ``why``
        is said in the status bar with the model's name once it is loaded: the moods of
        every song go while the library is re-analysed, whichever tab the person is on."""
        from tagger.core.checkpoint import LoadedModel

        self.model_arg = model
        self._model_why = why
        # to say, once the library is analysed again, how many songs the new model hears
        # otherwise (retraining changed unreviewed songs without a word)
        self._moods_before_model = {
            r.track_id: (r.predicted_mood, r.mood_tag) for r in self.library_model.rows if r.scores
        }
        if isinstance(model, LoadedModel):
            self.loaded, self.model_id = model, model.model_id
        else:
            self.loaded, self.model_id = None, ""
        if self.root is not None:
            self.start_analysis()

    # -- folders ----------------------------------------------------------------------
    def choose_folder(self) -> None:
        start = str(self.root or default_folder(None) or Path.home())
        path = QFileDialog.getExistingDirectory(self, "Open music folder", start)
        if path:
            self.open_folder(path)

    def open_folder(self, folder: str | Path) -> bool:
        """Show ``folder`` and start analysing it; False (and a message) if it is unusable."""
        path = Path(folder).expanduser()
        try:
            path = path.resolve()
            ok = path.is_dir()
        except OSError:
            ok = False
        if not ok:
            msg = f"The folder {path} does not exist or cannot be opened."
            log.warning(msg)
            if self.root is None:
                self.empty.message.setText(msg)
                self.stack.setCurrentWidget(self.empty)
            else:
                self.say(msg, 8000)
            return False
        self.cancel_analysis()
        self.root = path
        self._errors.clear()
        self._scan_errors.clear()
        self.errors_list.clear()
        self._update_errors_button()
        self.library_model.set_rows([])
        self._show_detail(None)
        for v in self._views:  # views that care about the folder itself
            fn = getattr(v, "set_root", None)
            if callable(fn):
                try:
                    fn(path)
                except Exception:
                    log.exception("view %r failed to take the new folder", v)
        self.stack.setCurrentWidget(self.tabs)
        self._update_title()
        self._remember(path)
        self._update_actions()
        if self.auto_analyse:
            self.start_analysis()
        else:
            self.refresh_rows()
        self.table.setFocus()
        return True

    def _remember(self, path: Path) -> None:
        s = load_settings()
        recent = [p for p in s.get("recent_folders", []) if isinstance(p, str) and p != str(path)]
        recent.insert(0, str(path))
        try:
            update_settings(last_folder=str(path), recent_folders=recent[:MAX_RECENT])
        except OSError as exc:  # a read-only settings folder: the folder still opens
            log.warning("could not remember the folder in the settings: %s", exc)

    def _fill_recent_menu(self) -> None:
        self.recent_menu.clear()
        recent = [p for p in load_settings().get("recent_folders", []) if isinstance(p, str)]
        for p in recent:
            a = self.recent_menu.addAction(p)
            a.triggered.connect(lambda _c=False, p=p: self.open_folder(p))
            a.setEnabled(Path(p).is_dir())
        if not recent:
            none = self.recent_menu.addAction("No recent folders")
            none.setEnabled(False)

    def _update_title(self) -> None:
        if self.root is None:
            self.setWindowTitle(APP_TITLE)
        else:
            self.setWindowTitle(f"{APP_TITLE} — {self.root.name or self.root}")

    # -- analysis ---------------------------------------------------------------------
    @property
    def analysing(self) -> bool:
        return self._analysis is not None and not self._analysis.done

    def start_analysis(self) -> None:
        """Scan the open folder and analyse what has no valid prediction (in a worker)."""
        if self.root is None:
            return
        self.cancel_analysis()
        if self.model_arg is None and self.loaded is not None:
            from tagger.core.models import active_model_path

            if self.loaded.path != active_model_path():
                # `mood-tagger retrain` (or --reset) changed the active model since it
                # was loaded: follow it, as the command line does
                self.loaded, self.model_id = None, ""
        w = GeneratorWorker(analysis_job, str(self.root), self.loaded or self.model_arg, self.jobs)
        w.signals.yielded.connect(lambda ev, w=w: self._on_analysis_yielded(w, ev))
        w.signals.progress.connect(lambda ev, w=w: self._on_analysis_progress(w, ev))
        w.signals.errored.connect(lambda msg, w=w: self._on_analysis_errored(w, msg))
        w.signals.finished.connect(lambda c, w=w: self._on_analysis_finished(w, c))
        self._analysis = w
        self._jobs_running.append(w)
        self.library_model.set_running(True)
        self._pending.clear()
        self._queue, self._queue_pos = [], 0
        self._finished_ids = set()
        self._analyse_started = None
        self.progress.setRange(0, 0)
        self.eta_label.setText("Scanning…")
        self._set_busy(True)
        w.start()
        self.analysis_started.emit()

    def cancel_analysis(self) -> None:
        if self._analysis is not None and not self._analysis.done:
            self._analysis.cancel()
            self.eta_label.setText("Stopping…")

    def _on_analysis_yielded(self, w: GeneratorWorker, ev: object) -> None:
        if w is not self._analysis:
            return
        if isinstance(ev, TrackAnalysed):
            self.track_analysed.emit(ev)
            self._pending.append(ev)
            if not self._flush_timer.isActive():
                self._flush_timer.start()
        elif isinstance(ev, RowsLoaded):
            if self.root is not None and Path(ev.root) == self.root:
                self._rows_arrived(list(ev.rows))
                self._queue = [
                    r.track_id for r in self.library_model.rows if r.scores is None and not r.error
                ]
                self._queue_pos = 0
        elif isinstance(ev, ModelReady):
            self.loaded = ev.loaded
            self.model_id = ev.model_id
            self.detail.set_model(ev.loaded)
            why, self._model_why = self._model_why, ""
            self.say(
                f"{why} (model: {ev.name})" if why else f"Model: {ev.name}", 15000 if why else 5000
            )
            if ev.fallback:
                self._add_error("(mood model)", ev.fallback)
                self.say(ev.fallback, 15000)
        elif isinstance(ev, ModelFailed):
            self._add_error("(mood model)", ev.message)
            QMessageBox.warning(
                self, APP_TITLE, f"The mood model could not be loaded:\n\n{ev.message}"
            )
        elif isinstance(ev, ScanResult):
            self._scan_errors = list(ev.errors)
            self._moved = len(ev.moved)
            self._gone = ev.removed
            for path, msg in ev.errors:
                self._add_error(path, msg)
        elif isinstance(ev, AnalysisSummary):
            self._flush_results()
            if ev.cancelled:
                return  # said when the worker finishes (a stop may come before the summary)
            if ev.total == 0:
                text = (
                    f"No audio files in {ev.root}. Mood Tagger reads {FORMATS_TEXT} files, "
                    "in sub-folders too."
                )
                self.say(text)  # stays: the empty table has nothing else to say
                return
            else:
                # the parts add up to the total: unreadable and silent songs are counted
                # once, after the brackets, whether they failed now or in an earlier run
                reused = max(0, ev.total - ev.errors - ev.no_mood - ev.analysed)
                text = (
                    f"Done: {count_text(ev.total, 'song')} ({ev.analysed} analysed, "
                    f"{reused} from cache)."
                )
                if ev.errors:
                    text += f" {ev.errors} could not be read"
                    if ev.cached_errors:  # not retried until the file changes
                        text += f" ({ev.cached_errors} as in an earlier run)"
                    text += "."
                if ev.no_mood:
                    text += f" {ev.no_mood} silent or too short to have a mood."
                if self._moved:
                    text += f" {self._moved} moved or renamed kept their moods and labels."
                if self._gone:  # they left the table without a word
                    text += (
                        f" {count_text(self._gone, 'song')} no longer on disk: kept "
                        "until File > Forget Missing Songs…"
                    )
                text += self._model_change_text()
            self.say(text, 15000)

    def _model_change_text(self) -> str:
        """After a change of model: how many predicted moods changed, and how many of
        those songs hold the old one in a mood tag (a write brings them up to date)."""
        before, self._moods_before_model = self._moods_before_model, {}
        changed = stale = 0
        for r in self.library_model.rows:
            old = before.get(r.track_id)
            if old is None or r.scores is None or old[0] == r.predicted_mood:
                continue
            changed += 1
            tag = (r.mood_tag or "").strip().lower()
            if not r.label and tag and tag == (old[0] or "") and tag != r.predicted_mood:
                stale += 1
        if not before:
            return ""
        text = f" The new model changed the mood of {count_text(changed, 'song')}"
        if stale:
            text += (
                f"; {stale} of them {'has' if stale == 1 else 'have'} the old mood in "
                f"{'its' if stale == 1 else 'their'} tag (Tags > Write Mood Tags updates it)"
            )
        return text + "."

    def _on_analysis_progress(self, w: GeneratorWorker, ev: Progress) -> None:
        if w is not self._analysis:
            return
        if ev.stage == "scan":
            self.progress.setRange(0, 0)
            self.eta_label.setText(f"Scanning… {count_text(ev.done, 'file')}")
            return
        if self._analyse_started is None:
            self._analyse_started = time.monotonic()
            self._analyse_base = ev.done
            self._advance_analysing()
        self.progress.setRange(0, max(1, ev.total))
        self.progress.setValue(ev.done)
        self.progress.setFormat(f"{ev.done} / {ev.total}")
        elapsed = time.monotonic() - self._analyse_started
        left = ev.total - ev.done
        if ev.done > self._analyse_base and left > 0:
            eta = elapsed / (ev.done - self._analyse_base) * left
            self.eta_label.setText(f"Analysing {ev.done} / {ev.total} · {_duration(eta)} left")
        elif left > 0:
            self.eta_label.setText(f"Analysing {ev.done} / {ev.total}…")
        else:
            self.eta_label.setText("")

    def _on_analysis_errored(self, w: GeneratorWorker, msg: str) -> None:
        self._add_error("(analysis)", msg)
        if w is self._analysis:
            self.say(f"Analysis failed: {msg}", 15000)

    def _on_analysis_finished(self, w: GeneratorWorker, cancelled: bool) -> None:
        if w in self._jobs_running:
            self._jobs_running.remove(w)
        if w is not self._analysis:
            return
        self._flush_results()
        self.library_model.resort()  # the new results, in the order the table shows
        self._update_counts()
        self.library_model.set_analysing(())
        self.library_model.set_running(False)
        self._update_detail_analysis()
        self._set_busy(False)
        if cancelled:
            # counted from the rows: the summary (which the worker may stop before) counts
            # unreadable files among the cached ones
            rows = self.library_model.rows
            have = sum(1 for r in rows if r.scores is not None)
            waiting = sum(1 for r in rows if is_pending(r))
            text = f"Stopped: {have} of {count_text(len(rows), 'song')} have a predicted mood"
            if waiting:  # they say "queued" no more: nothing is running
                text += f"; {waiting} not analysed yet (Rescan Folder, F5, goes on)"
            self.say(text + ".", 15000)
        self._push_to_views()
        if not self._jobs_running:
            self._close_busy_box()
        self.analysis_finished.emit(cancelled)

    def _tell_busy(self, text: str) -> None:
        """Say that an action must wait, in a box that closes itself once nothing runs
        (a modal box would go on saying "please wait" after the wait is over)."""
        self._close_busy_box()
        box = QMessageBox(QMessageBox.Icon.Information, APP_TITLE, text, parent=self)
        box.setAttribute(Qt.WidgetAttribute.WA_DeleteOnClose)
        box.open()
        self._busy_box = box

    def _close_busy_box(self) -> None:
        box, self._busy_box = self._busy_box, None
        if box is not None:
            with contextlib.suppress(RuntimeError):  # closed by the person and deleted
                box.close()

    def _flush_results(self) -> None:
        """Apply buffered results to the model in one batch (one dataChanged per run)."""
        self._flush_timer.stop()
        if not self._pending:
            return
        events, self._pending = self._pending, []
        updated = []
        for ev in events:
            old = self.library_model.row_for(ev.track_id)
            self._finished_ids.add(ev.track_id)
            if old is None:
                continue
            updated.append(
                dataclasses.replace(
                    old,
                    scores=ev.scores,
                    error=ev.error,
                    model_id=self.model_id if ev.scores else old.model_id,
                    window_starts=ev.window_starts,
                )
            )
            if ev.error and not no_mood_reason(ev.error):  # silence is not an error
                self._add_error(ev.path, ev.error)
        self.library_model.update_rows(updated)
        self._advance_analysing()
        if not self._counts_timer.isActive():  # counting 50k rows 10x a second is waste
            self._counts_timer.start()
        cur = self.detail.row
        if cur is not None:
            new = self.library_model.row_for(cur.track_id)
            if new is not None and new != cur:
                self._show_detail(new)
        self._schedule_views()
        self.rows_changed.emit()

    def _advance_analysing(self) -> None:
        """Mark the next few queued tracks as 'analysing' (the pipeline takes them in order)."""
        if self._analyse_started is None:
            return
        from tagger.core.analysis import default_jobs

        while (
            self._queue_pos < len(self._queue)
            and self._queue[self._queue_pos] in self._finished_ids
        ):
            self._queue_pos += 1
        k = self.jobs if self.jobs else default_jobs()
        ahead = [
            t
            for t in self._queue[self._queue_pos : self._queue_pos + 4 * k]
            if t not in self._finished_ids
        ][: max(1, k)]
        self.library_model.set_analysing(ahead)
        self._update_detail_analysis()

    # -- rows -------------------------------------------------------------------------
    def _rows_arrived(self, rows: list[LibraryRow]) -> None:
        current = self.detail.row
        selected = [r.track_id for r in self.selected_rows()]
        self.library_model.set_rows(rows)
        if current is not None and not self.table.currentIndex().isValid():
            # a reset (a rescan found new or gone songs) dropped the selection while the
            # pane went on showing its song: select it, and the rest, again
            self._reselect(current.track_id, selected)
        for r in rows:
            if r.unreadable:
                self._add_error(r.path, r.error)
            elif r.path in self._errors:
                self._remove_error(r.path)
        self._update_counts()
        if current is not None:
            self._show_detail(self.library_model.row_for(current.track_id))
        self._push_to_views()
        self.rows_changed.emit()

    def _reselect(self, current_id: int, track_ids: list[int]) -> None:
        """Make ``current_id`` current and select ``track_ids`` (those still shown)."""
        idx = self.proxy.mapFromSource(self.library_model.index_for(current_id))
        if not idx.isValid():
            return
        sel = self.table.selectionModel()
        sel.setCurrentIndex(idx, QItemSelectionModel.SelectionFlag.NoUpdate)
        flags = QItemSelectionModel.SelectionFlag.Select | QItemSelectionModel.SelectionFlag.Rows
        for tid in {current_id, *track_ids}:
            i = self.proxy.mapFromSource(self.library_model.index_for(tid))
            if i.isValid():
                sel.select(i, flags)

    def _resort(self, columns: tuple[int, ...] | None = None) -> None:
        """Keep the chosen sort order after the person changed rows (a label, a write),
        unlike while results stream in: the selection and the current song go with their
        rows, and the current song stays in sight if it was."""
        current = self.table.currentIndex()
        in_sight = current.isValid() and self.table.viewport().rect().intersects(
            self.table.visualRect(current)
        )
        self.library_model.resort(columns)
        current = self.table.currentIndex()
        if in_sight and current.isValid():
            self.table.scrollTo(current)

    def _detail_analysis(self, row: LibraryRow | None) -> str | None:
        """Status.QUEUED / ANALYSING while the running analysis is still to give ``row``
        its mood, for the details pane (None: no analysis is getting to it)."""
        if row is None or row.scores is not None or row.error or not self.analysing:
            return None
        return self.library_model.status_of(row)

    def _show_detail(self, row: LibraryRow | None) -> None:
        self._detail_shown_analysis = analysis = self._detail_analysis(row)
        self.detail.show_row(row, analysis)

    def _update_detail_analysis(self) -> None:
        """Say in the details pane that its song's analysis began or ended (its row is
        the same: only the Status changed)."""
        row = self.detail.row
        if row is not None and self._detail_analysis(row) != self._detail_shown_analysis:
            self._show_detail(row)

    def _schedule_views(self) -> None:
        if not self._views_timer.isActive():
            self._views_timer.start()

    def _push_to_views(self) -> None:
        self._views_timer.stop()
        for v in self._views:
            self._push_view(v)

    def _push_view(self, v: QWidget) -> None:
        fn = getattr(v, "set_rows", None)
        if callable(fn):
            try:
                fn(list(self.library_model.rows))
            except Exception:  # another view's bug must not break the library
                log.exception("view %r failed to take the new rows", v)

    def _update_counts(self) -> None:
        self._counts_timer.stop()
        rows = self.library_model.rows
        # "3 of 21 songs" while a search or toggle hides some, and the moods of those 3
        # (they counted all 21 beside a table of 3); only where they are hidden: Review
        # and Playlists show every song whatever the Library's search
        shown = self.proxy.rowCount()
        songs = count_text(len(rows), "song")
        counted: Any = rows
        if shown != len(rows) and self.tabs.currentIndex() == 0:
            songs = f"{shown} of {songs}"
            counted = (self.proxy.row_at(i) for i in range(shown))
        counts = mood_counts(counted)
        parts = [
            f'<span style="color:{COLOURS[m]}">●</span>&nbsp;{display_name(m)} {counts.get(m, 0)}'
            for m in MOODS
        ]
        self.counts_label.setText(f"{songs} &nbsp; " + " &nbsp; ".join(parts))

    # -- errors -----------------------------------------------------------------------
    def _add_error(self, path: str, message: str) -> None:
        if self._errors.get(path) == message:
            return
        if path in self._errors:
            self._remove_error(path)
        self._errors[path] = message
        # where in the folder: "01 Empty.mp3" alone could be on any album
        name = name_in(path, self.root) if self.root is not None else Path(path).name
        item = QListWidgetItem(f"{name} — {message}")
        item.setToolTip(path)
        item.setData(Qt.ItemDataRole.UserRole, path)
        # in path order, as the folder reads, not in the order the workers finished
        at = self.errors_list.count()
        while at and self.errors_list.item(at - 1).data(Qt.ItemDataRole.UserRole) > path:
            at -= 1
        self.errors_list.insertItem(at, item)
        self._update_errors_button()

    def _remove_error(self, path: str) -> None:
        self._errors.pop(path, None)
        for i in range(self.errors_list.count()):
            if self.errors_list.item(i).data(Qt.ItemDataRole.UserRole) == path:
                self.errors_list.takeItem(i)
                break
        self._update_errors_button()

    @property
    def errors(self) -> dict[str, str]:
        """path -> message of every file (or job) that failed."""
        return dict(self._errors)

    def _update_errors_button(self) -> None:
        n = len(self._errors)
        self.errors_button.setText(f"⚠ {n} error{'s' if n != 1 else ''}")
        self.errors_button.setToolTip("Show the files that could not be analysed")
        self.errors_button.setVisible(n > 0)

    def _show_errors(self) -> None:
        if not self.errors_dock.isVisible():
            self.resizeDocks(
                [self.errors_dock], [8 * self.fontMetrics().height()], Qt.Orientation.Vertical
            )
        self.errors_dock.show()
        self.errors_dock.raise_()
        self.errors_list.setFocus()

    def _on_errors_list_item_activated(self, item: QListWidgetItem) -> None:
        path = item.data(Qt.ItemDataRole.UserRole)
        for r in self.library_model.rows:
            if r.path == path:
                self.select_track(r.track_id)
                break

    def select_track(self, track_id: int) -> None:
        src = self.library_model.index_for(track_id)
        idx = self.proxy.mapFromSource(src)
        if idx.isValid():
            self.table.selectionModel().setCurrentIndex(
                idx,
                QItemSelectionModel.SelectionFlag.ClearAndSelect
                | QItemSelectionModel.SelectionFlag.Rows,
            )
            self.table.scrollTo(idx)

    # -- filter / search / selection --------------------------------------------------
    def _on_mood_filter_toggled(self, _checked: bool) -> None:
        moods = [m for m, a in self.mood_actions.items() if a.isChecked()]
        self._refilter(lambda: self.proxy.set_moods(moods))

    def _apply_search(self) -> None:
        self._search_timer.stop()
        text = self.search.text()
        self._refilter(lambda: self.proxy.set_search(text))

    def _refilter(self, change) -> None:
        """Change the table's filter keeping the selected song selected and in view; when
        it is hidden, select nothing (Qt would make a neighbour current, and the details
        pane would show a song the person never picked) and show the top."""
        cur = self.table.currentIndex()
        row = cur.data(ROW_ROLE) if cur.isValid() else None
        change()
        if row is not None:
            idx = self.proxy.mapFromSource(self.library_model.index_for(row.track_id))
            if idx.isValid():
                if self.table.currentIndex() != idx:
                    self.select_track(row.track_id)
                self.table.scrollTo(idx, QAbstractItemView.ScrollHint.PositionAtCenter)
            else:
                self.table.selectionModel().clear()  # current and selection
                self._show_detail(None)
                self.table.scrollToTop()
        else:
            self.table.scrollToTop()
        self._update_counts()

    def _on_search_return_pressed(self) -> None:
        self._apply_search()
        if self.proxy.rowCount():
            self.table.setFocus()
            if not self.table.currentIndex().isValid():
                self.table.selectRow(0)

    def _focus_search(self) -> None:
        self.tabs.setCurrentIndex(0)  # the search filters the library: show it
        self.search.setFocus()
        self.search.selectAll()

    def _on_tab_changed(self, index: int) -> None:
        """Leaving the Library tab takes the keys out of the search box (it filters the
        library only), or the Review keys 1-4, J/K, Enter would type into it instead."""
        page = self.tabs.widget(index)
        if index != 0 and page is not None and QApplication.focusWidget() is self.search:
            page.setFocus()
        self._update_counts()  # "3 of 21 songs" holds on the Library tab only

    def _on_table_current_changed(self, current: QModelIndex, _prev: QModelIndex) -> None:
        sel = self.table.selectionModel()
        # Ctrl/Shift+click: Qt makes the row current first and then toggles or extends
        # the selection itself (selecting the row here made Ctrl's toggle deselect it)
        extending = QApplication.keyboardModifiers() & (
            Qt.KeyboardModifier.ControlModifier | Qt.KeyboardModifier.ShiftModifier
        )
        if (
            current.isValid()
            and not extending
            and not sel.isRowSelected(current.row(), QModelIndex())
        ):
            # focus alone makes a row current: select it so the highlight matches the pane
            sel.select(
                current,
                QItemSelectionModel.SelectionFlag.ClearAndSelect
                | QItemSelectionModel.SelectionFlag.Rows,
            )
        row = current.data(ROW_ROLE) if current.isValid() else None
        self._show_detail(row)

    def _on_table_activated(self, index: QModelIndex) -> None:
        row = index.data(ROW_ROLE) if index.isValid() else None
        if row is not None:
            self.track_activated.emit(row.track_id)

    def _listen_to_current(self) -> None:
        self._on_table_activated(self.table.currentIndex())

    def _on_table_context_menu(self, pos) -> None:
        if not self.table.indexAt(pos).isValid():
            return
        menu = QMenu(self)
        menu.addAction(self.listen_action)
        menu.addSeparator()
        menu.addMenu(self.label_menu)
        menu.addAction(self.write_selection_action)
        menu.exec(self.table.viewport().mapToGlobal(pos))

    def label_selected(self, mood: str | None) -> int:
        """Label every selected song ``mood`` (None: clear the person's label), as the
        Review tab and ``mood-tagger label`` do. Unreadable files are skipped. Returns how
        many songs were labelled."""
        QApplication.setOverrideCursor(Qt.CursorShape.WaitCursor)  # 50,000 songs: ~2 s
        try:
            selected = self.selected_rows()
            rows = [r for r in selected if not r.unreadable and r.label != mood]
            try:
                self.store.add_labels((r.track_id for r in rows), mood)
            except sqlite3.Error as exc:
                failed = exc
            else:
                failed = None
                self.set_labels({r.track_id: mood for r in rows})
        finally:
            QApplication.restoreOverrideCursor()
        if failed is not None:
            log.warning("labels not saved: %s", failed)
            label_not_saved(self, failed, len(rows))
            return 0
        unreadable = sum(1 for r in selected if r.unreadable)
        same = len(selected) - unreadable - len(rows)
        if mood:
            text = f"{count_text(len(rows), 'song')} marked {display_name(mood)}."
        else:
            text = f"Cleared your label of {count_text(len(rows), 'song')}."
        if same:
            text += f" {same} had {'that label' if mood else 'none'} already."
        if unreadable:  # as the Review tab and `mood-tagger label` do
            text += f" {unreadable} could not be read: skipped."
        self.say(text, 8000)
        return len(rows)

    def show_view(self, widget: QWidget) -> None:
        """Bring the tab of a view added with :meth:`add_view` to the front."""
        for i in range(self.tabs.count()):
            page = self.tabs.widget(i)
            if page is widget or (isinstance(page, QScrollArea) and page.widget() is widget):
                self.tabs.setCurrentIndex(i)
                return

    def selected_rows(self) -> list[LibraryRow]:
        """The selected rows, in table order. Read from the selection's ranges:
        ``selectedRows()`` asks every cell for its flags (3 s for 50,000 rows)."""
        numbers: set[int] = set()
        for rng in self.table.selectionModel().selection():
            numbers.update(range(rng.top(), rng.bottom() + 1))
        rows = (self.proxy.index(n, 0).data(ROW_ROLE) for n in sorted(numbers))
        return [r for r in rows if r is not None]

    # -- tag writing ------------------------------------------------------------------
    def _update_actions(self) -> None:
        from tagger.ui.write_dialog import tagwrite_available

        has = self.root is not None
        can_write = has and tagwrite_available()
        self.write_action.setEnabled(can_write)
        self._update_selection_actions()
        self.undo_write_action.setEnabled(can_write and self._has_write_to_undo())
        self.reanalyse_action.setEnabled(has)
        self.forget_missing_action.setEnabled(has)  # it did nothing without a folder
        for a in self.mood_actions.values():
            a.setEnabled(has)
        self.search.setEnabled(has)
        if not tagwrite_available():
            self.write_action.setToolTip("Tag writing is not available in this build")

    def _update_selection_actions(self, *_args: object) -> None:
        from tagger.ui.write_dialog import tagwrite_available

        busy = not self.write_action.isEnabled()  # a write or its planning is under way
        selected = self.table.selectionModel().hasSelection()
        self.write_selection_action.setEnabled(
            self.root is not None and tagwrite_available() and not busy and selected
        )
        self.label_menu.setEnabled(self.root is not None and selected)

    def _has_write_to_undo(self) -> bool:
        if self.root is None or self._closing:
            return False
        try:
            return self.store.last_write_batch(self.root) is not None
        except Exception:  # an older store without the journal methods
            log.debug("cannot read the write journal", exc_info=True)
            return False

    def _run_job(self, func, *args, on_event, on_done) -> GeneratorWorker:
        w = GeneratorWorker(func, *args)
        w.signals.yielded.connect(on_event)
        w.signals.progress.connect(self._on_job_progress)
        w.signals.errored.connect(lambda msg: self._add_error("(tag write)", msg))
        w.signals.finished.connect(lambda c, w=w: (self._job_done(w), on_done(c)))
        self._jobs_running.append(w)
        w.start()
        return w

    def _job_done(self, w: GeneratorWorker) -> None:
        if w in self._jobs_running:
            self._jobs_running.remove(w)
        if not self._jobs_running and not self.analysing:
            self._close_busy_box()

    def _on_job_progress(self, ev: Progress) -> None:
        self.progress.show()
        self.progress.setRange(0, max(1, ev.total))
        self.progress.setValue(ev.done)
        self.progress.setFormat(f"{ev.done} / {ev.total}")
        self.eta_label.show()
        waiting = ev.stage == "wait"  # another process is writing the same library
        self.eta_label.setText(
            "Waiting for another write to finish…"
            if waiting
            else f"Writing tags {ev.done} / {ev.total}…"
        )

    def write_tags(
        self, _checked: bool = False, confirm: bool = True, selection_only: bool = False
    ) -> None:
        """Plan the write (worker), show the preview, then apply it (worker);
        ``selection_only``: just the songs selected in the library table."""
        from tagger.core.tagwrite import WriteOptions
        from tagger.ui.write_dialog import tagwrite_available

        if self.root is None or not tagwrite_available() or not self.model_id:
            return
        if self.analysing:
            self._tell_busy("Please wait for the analysis to finish (or stop it) first.")
            return
        only = None
        if selection_only:
            only = tuple(r.track_id for r in self.selected_rows())
            if not only:
                return
        self.write_action.setEnabled(False)
        self._update_selection_actions()
        root = str(self.root)
        opts = WriteOptions.from_settings()
        self._plan(
            root,
            opts,
            lambda changes, problems: (
                self._update_actions(),
                self._show_preview(root, changes, confirm, opts, problems, only),
            ),
            only,
        )

    def _plan(self, root: str, opts: Any, then, only: tuple[int, ...] | None = None) -> None:
        """Run ``plan_write`` in a worker; ``then(changes)`` on the GUI thread."""
        from tagger.ui.write_dialog import PlanReady, plan_job

        plans: list = []
        problems: list = []

        def on_event(ev_: object) -> None:
            if isinstance(ev_, PlanReady):
                plans.extend(ev_.changes)
                problems.extend(ev_.problems)

        self._run_job(
            plan_job,
            root,
            self.model_id,
            opts,
            only,
            on_event=on_event,
            on_done=lambda _c: then(plans, problems),
        )

    def _show_preview(
        self,
        root: str,
        changes: list,
        confirm: bool,
        opts: Any = None,
        problems: list | None = None,
        only: tuple[int, ...] | None = None,
    ) -> None:
        from tagger.ui.write_dialog import WritePreviewDialog

        confidences = {
            r.track_id: r.scores.confidence
            for r in self.library_model.rows
            if r.scores is not None and not r.label and (only is None or r.track_id in only)
        }
        dlg = WritePreviewDialog(changes, root, self, confidences, opts, problems or ())
        if only is not None:
            dlg.setWindowTitle(f"Write mood tags: {count_text(len(only), 'selected song')}")

        def replan(asked: Any) -> None:
            def show(new: list, new_problems: list) -> None:
                if self.preview_dialog is dlg and dlg.options() == asked:
                    dlg.set_changes(new, new_problems)

            self._plan(root, asked, show, only)

        dlg.replan_requested.connect(replan)
        self.preview_dialog = dlg
        ok = dlg.exec() == WritePreviewDialog.DialogCode.Accepted if confirm else True
        self.preview_dialog = None
        changes = dlg.changes
        if ok:
            try:
                dlg.options().save()
            except OSError as exc:  # a read-only settings folder: the write still runs
                log.warning("could not save the write options: %s", exc)
                self.say(f"Could not save the write options as defaults: {exc}", 15000)
        if ok and changes:
            self._apply(root, changes, dlg.skipped)
        else:
            self.write_finished.emit(None)

    def _apply(self, root: str, changes: list, skipped: list | None = None) -> None:
        """Write ``changes``; ``skipped``: (path, why) of the files the preview found
        unwritable, reported with the write's own failures (they went unmentioned)."""
        from tagger.ui.write_dialog import apply_job

        self._start_write_job(apply_job, (root, changes), "Write mood tags", skipped or [])

    def undo_last_write(self, _checked: bool = False, confirm: bool = True) -> None:
        from tagger.ui.write_dialog import tagwrite_available, undo_job

        if self.root is None or not tagwrite_available():
            return
        if confirm:
            batch = self.store.last_write_batch(self.root)
            # the GUI thread: a count, not every journal entry of a large batch decoded
            n = self.store.written_count(batch) if batch is not None else 0
            files = f" of {count_text(n, 'file')}" if n else ""
            answer = QMessageBox.question(
                self,
                APP_TITLE,
                f"Put back the mood tags{files} as they were before the last write?",
            )
            if answer != QMessageBox.StandardButton.Yes:
                return
        self._start_write_job(undo_job, (str(self.root),), "Undo last write")

    def _start_write_job(
        self, func, args: tuple, title: str, skipped: list[tuple[str, str]] = ()
    ) -> None:
        summary: list = []
        failures: list[tuple[str, str]] = []
        kept: list[tuple[str, str]] = []  # undo: left as they are on purpose, not failures
        self.write_action.setEnabled(False)
        self.write_selection_action.setEnabled(False)
        self.undo_write_action.setEnabled(False)
        self._set_busy(True, cancellable=False)

        changed: list[int] = []  # files an undo's scan found changed: analysed after it

        def on_event(ev: object) -> None:
            name = type(ev).__name__
            if name == "WriteOutcome" and not ev.ok:
                (kept if ev.kept else failures).append((str(ev.path), str(ev.error)))
            elif name == "WriteSummary":
                summary.append(ev)
            elif name == "ScanResult":
                changed.append(ev.new_or_changed)

        def on_done(_cancelled: bool) -> None:
            self._set_busy(False)
            self._update_actions()
            self.refresh_rows()
            s = summary[0] if summary else None
            written = int(getattr(s, "written", 0) or 0)
            errs = failures or [(str(p), str(e)) for p, e in (getattr(s, "errors", None) or ())]
            errs = [(str(p), f"not written: {e}") for p, e in skipped] + errs
            left = kept or [(str(p), str(e)) for p, e in (getattr(s, "kept", None) or ())]
            self.last_write_result = (title, written, errs)
            self.last_write_kept = left
            from tagger.core.tagwrite import summary_text

            already = len(getattr(s, "already", None) or ())
            text = summary_text(title, written, len(errs), len(left), already)
            # in View > Log (and the log file) too: what happened to which file, later on
            log.info("%s", text)
            for p, e in errs:
                log.warning("%s: %s: %s", title, p, e)
                self._add_error(p, f"{title}: {e}")
            for p, e in left:
                log.info("%s: %s: kept: %s", title, p, e)
            self.say(text, 15000)
            if (errs or left) and self.isVisible() and not self._closing:
                from tagger.ui.write_dialog import WriteResultDialog

                WriteResultDialog(title, written, errs, self, kept=left, root=self.root).open()
            self.write_finished.emit(s)
            if sum(changed) and not self._closing:
                self.start_analysis()  # as F5 would: they show "not analysed" till then

        self._run_job(func, *args, on_event=on_event, on_done=on_done)

    def forget_missing_songs(self, _checked: bool = False) -> None:
        """Find the songs whose files are gone from the folder (worker: scan first), say
        how many songs and labels that is, and forget them if the person agrees."""
        from tagger.ui.forget import (
            ForgetRefused,
            Forgotten,
            find_missing_job,
            forget_job,
            forget_question,
        )

        if self.root is None:
            self.forget_finished.emit(None)
            return
        if self.analysing or self._jobs_running:
            self._tell_busy("Please wait for the analysis or tag write to finish first.")
            self.forget_finished.emit(None)
            return
        self.forget_missing_action.setEnabled(False)
        self._set_busy(True, cancellable=False)
        self.progress.setRange(0, 0)
        self.eta_label.setText("Looking for missing songs…")
        found: list = []

        def finish(count: int | None, refresh: bool = True) -> None:
            self._set_busy(False)
            self.forget_missing_action.setEnabled(self.root is not None)
            if count:
                self.say(f"Forgot {count_text(count, 'missing song')}.", 15000)
            if refresh:
                self.refresh_rows()  # the scan may have found new or moved files
            self.forget_finished.emit(count)

        def confirm(_cancelled: bool) -> None:
            ev = found[-1] if found else None
            if isinstance(ev, ForgetRefused):
                QMessageBox.warning(self, APP_TITLE, ev.message)
                finish(None, refresh=False)
                return
            if ev is not None and not ev.paths:
                QMessageBox.information(
                    self, APP_TITLE, f"No songs are missing from {ev.root}: nothing to forget."
                )
            elif ev is not None:
                answer = QMessageBox.question(self, APP_TITLE, forget_question(ev))
                if answer == QMessageBox.StandardButton.Yes:
                    self._run_job(
                        forget_job,
                        ev,
                        on_event=found.append,
                        on_done=lambda _c: finish(
                            found[-1].count if isinstance(found[-1], Forgotten) else None
                        ),
                    )
                    return
            finish(None)

        self._run_job(find_missing_job, str(self.root), on_event=found.append, on_done=confirm)

    # -- misc -------------------------------------------------------------------------
    def _set_busy(self, busy: bool, cancellable: bool = True) -> None:
        self.progress.setVisible(busy)
        self.cancel_button.setVisible(busy and cancellable)
        self.cancel_action.setEnabled(busy and cancellable)
        self.eta_label.setVisible(busy)
        if not busy:
            self.eta_label.setText("")

    def say(self, text: str, timeout_ms: int = 0) -> None:
        """A message in the status bar (beside the mood counts, which stay visible): on one
        line, so a message of several lines (an error's traceback text) cannot push the
        status bar up over the window; the tooltip has it as it was."""
        self.message_label.setText(" ".join(text.split()))
        self.message_label.setToolTip(text)
        if timeout_ms:
            self._message_timer.start(timeout_ms)
        else:
            self._message_timer.stop()

    def _tell_store_recovered(self) -> None:
        """The library database was damaged and replaced: say so once, without blocking."""
        box = QMessageBox(
            QMessageBox.Icon.Warning,
            APP_TITLE,
            "The library database was damaged, so a new one was started. Your music files "
            "are untouched; songs are analysed again.\n\nYour earlier mood labels and the "
            f"undo history are in the damaged copy, kept at:\n{self.store.recovered_from}",
            QMessageBox.StandardButton.Ok,
            self,
        )
        box.open()
        self.recovery_box = box

    def _about(self) -> None:
        from tagger import __version__

        name = ""
        if self.loaded is not None:
            name = f"<p>Model: {Path(str(self.loaded.path)).name} ({self.model_id[:12]})</p>"
        QMessageBox.about(
            self,
            f"About {APP_TITLE}",
            f"<h3>{APP_TITLE} {__version__}</h3><p>Classifies the mood of your music "
            "(Happy, Aggressive, Sad, Calm) with a small neural network that runs on "
            f"this computer.</p>{name}"
            "<p>Sound features: <a href='https://github.com/jordipons/musicnn'>musicnn</a> "
            "by Jordi Pons and Xavier Serra (ISC licence). The mood layer was trained on the "
            "4Q audio emotion dataset (Panda, Malheiro &amp; Paiva, 2018).</p>",
        )

    def shutdown(self, timeout_ms: int = 5000) -> bool:
        """Cancel every background job and wait for them (bounded). True if all stopped."""
        self._closing = True
        if self._analysis is not None:
            self._analysis.cancel()
        for w in list(self._jobs_running):
            w.cancel()
        self.detail.cancel_all()
        for v in self._views:
            fn = getattr(v, "shutdown", None)
            if callable(fn):
                try:
                    fn(timeout_ms)
                except Exception:
                    log.exception("view %r failed to shut down", v)
        ok = wait_for_all(timeout_ms)
        if not ok:
            log.warning("background work did not stop within %d ms", timeout_ms)
        return ok

    @staticmethod
    def dropped_folder(mime) -> Path | None:
        """The local folder a drag carries (a dropped file stands for its folder)."""
        urls = [u for u in mime.urls() if u.isLocalFile()] if mime.hasUrls() else []
        if not urls:
            return None
        path = Path(urls[0].toLocalFile())
        return path if path.is_dir() else (path.parent if path.is_file() else None)

    def dragEnterEvent(self, event) -> None:
        if self.dropped_folder(event.mimeData()) is not None:
            event.acceptProposedAction()
        else:
            event.ignore()

    def dropEvent(self, event) -> None:
        folder = self.dropped_folder(event.mimeData())
        if folder is None:
            event.ignore()
            return
        event.acceptProposedAction()
        self.open_folder(folder)

    def closeEvent(self, event) -> None:
        try:
            geo = bytes(self.saveGeometry().toBase64()).decode("ascii")
            # only a split dragged by hand is kept (else the default share applies)
            split = self.splitter.sizes() if self.splitter.detail_share is not None else None
            col = self.proxy.sortColumn()
            order = self.proxy.sortOrder().value
            sort = [col, order] if col >= 0 else None
            update_settings(window_geometry=geo, splitter_sizes=split, library_sort=sort)
        except OSError as exc:
            log.warning("could not save window settings: %s", exc)
        self.shutdown()
        self.log_view.detach()
        self.store.close()
        super().closeEvent(event)


def _duration(seconds: float) -> str:
    seconds = max(0, round(seconds))
    if seconds < 60:
        return f"{seconds} s"
    m, s = divmod(seconds, 60)
    if m < 60:
        return f"{m} min {s:02d} s"
    h, m = divmod(m, 60)
    return f"{h} h {m:02d} min"
