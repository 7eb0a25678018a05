"""The playlist builder: filters on the left, a live preview on the right, export and
saved definitions. All selection logic is :mod:`tagger.core.playlists`; this is wiring."""

from __future__ import annotations

import logging
import os
from collections.abc import Sequence
from dataclasses import replace
from pathlib import Path
from typing import Any, ClassVar

from PySide6.QtCore import (
    QAbstractTableModel,
    QCoreApplication,
    QEvent,
    QModelIndex,
    QObject,
    QPersistentModelIndex,
    QSignalBlocker,
    Qt,
    QTimer,
    Signal,
)
from PySide6.QtGui import QColor
from PySide6.QtWidgets import (
    QAbstractItemView,
    QAbstractSpinBox,
    QCheckBox,
    QComboBox,
    QDoubleSpinBox,
    QFileDialog,
    QFormLayout,
    QGridLayout,
    QGroupBox,
    QHBoxLayout,
    QHeaderView,
    QInputDialog,
    QLabel,
    QLineEdit,
    QMessageBox,
    QPushButton,
    QScrollArea,
    QSpinBox,
    QSplitter,
    QTableView,
    QVBoxLayout,
    QWidget,
)

from tagger.core.library import LibraryRow
from tagger.core.moods import COLOURS, ERROR_COLOUR, MOODS, display_name
from tagger.core.playlists import (
    FORMATS,
    ORDER_NAMES,
    ORDERS,
    Playlist,
    PlaylistError,
    PlaylistIndex,
    PlaylistSpec,
    delete_definition,
    load_definitions,
    save_definition,
    write_playlist,
)
from tagger.core.settings import load_settings, update_settings
from tagger.core.text import count_text, format_length
from tagger.ui.library_model import label_mark

log = logging.getLogger(__name__)

#: The song filters at PlaylistSpec's defaults, which let every song through (order,
#: length and the map selection aside).
_FILTER_FIELDS = (
    "moods",
    "energy",
    "valence",
    "min_confidence",
    "artist",
    "album",
    "labelled_only",
)
NO_FILTERS = {k: getattr(PlaylistSpec(), k) for k in _FILTER_FIELDS}

_Index = QModelIndex | QPersistentModelIndex


def format_total(seconds: float) -> str:
    """A playlist's length: "1 h 5 min", "42 min", and under a minute "29 s" (not "0 min")."""
    if round(seconds) < 60:
        return f"{max(0, round(seconds))} s"
    minutes = round(seconds / 60)
    h, m = divmod(minutes, 60)
    return f"{h} h {m} min" if h else f"{m} min"


M3U8_FILTER = "M3U8 playlist (*.m3u8)"
XSPF_FILTER = "XSPF playlist (*.xspf)"


#: Characters a proposed file name leaves out: those Windows, FAT/exFAT (the USB stick
#: a playlist is copied to with its music) and SMB shares refuse, on every system.
_NOT_IN_NAMES = '/\\:*?"<>|'


def _file_name(name: str) -> str:
    """``name`` as a file name: a saved playlist called "Rock/Pop" is proposed as
    "Rock_Pop.m3u8", not as "Pop.m3u8" in a folder "Rock" that does not exist; and no
    leading dot, which would hide the file."""
    cleaned = "".join("_" if c in _NOT_IN_NAMES or ord(c) < 32 else c for c in name)
    # Windows also drops a trailing dot or space, so "Calm." would be saved as "Calm"
    return cleaned.strip().lstrip(".").rstrip(". ").strip() or "Mood playlist"


class PlaylistTableModel(QAbstractTableModel):
    """The preview: rows of a :class:`Playlist` in play order (read-only)."""

    HEADERS = ("#", "Title", "Artist", "Album", "Mood", "Energy", "Valence", "Length")

    def __init__(self, parent: Any = None) -> None:
        super().__init__(parent)
        self._rows: list[LibraryRow] = []

    def set_rows(self, rows: Sequence[LibraryRow]) -> None:
        self.beginResetModel()
        self._rows = list(rows)
        self.endResetModel()

    def row_at(self, row: int) -> LibraryRow:
        return self._rows[row]

    def rowCount(self, parent: _Index = QModelIndex()) -> int:  # noqa: B008
        return 0 if parent.isValid() else len(self._rows)

    def columnCount(self, parent: _Index = QModelIndex()) -> int:  # noqa: B008
        return 0 if parent.isValid() else len(self.HEADERS)

    def headerData(
        self, section: int, orientation: Qt.Orientation, role: int = Qt.ItemDataRole.DisplayRole
    ) -> Any:
        if (
            role == Qt.ItemDataRole.DisplayRole
            and orientation == Qt.Orientation.Horizontal
            and 0 <= section < len(self.HEADERS)
        ):
            return self.HEADERS[section]
        return None

    def data(self, index: _Index, role: int = Qt.ItemDataRole.DisplayRole) -> Any:
        if not index.isValid() or not 0 <= index.row() < len(self._rows):
            return None
        r = self._rows[index.row()]
        col = index.column()
        if role == Qt.ItemDataRole.DisplayRole:
            s = r.scores
            if col == 0:
                return str(index.row() + 1)
            if col == 1:
                return r.title or Path(r.path).stem
            if col == 2:
                return r.artist or ""
            if col == 3:
                return r.album or ""
            if col == 4:
                return display_name(r.mood) + label_mark(r)  # as the library table marks it
            if col == 5:
                return f"{s.energy:.2f}" if s else ""
            if col == 6:
                return f"{s.valence:.2f}" if s else ""
            if col == 7:
                return format_length(r.duration) if r.duration else ""
        elif role == Qt.ItemDataRole.DecorationRole and col == 4 and r.mood:
            return QColor(COLOURS[r.mood])
        elif role == Qt.ItemDataRole.ToolTipRole:  # whole, where a narrow table cuts it
            who = " — ".join(x for x in (r.artist, r.album) if x)
            title = r.title or Path(r.path).stem
            return f"{title}\n{who}\n{r.path}" if who else f"{title}\n{r.path}"
        elif role == Qt.ItemDataRole.TextAlignmentRole and col in (0, 5, 6, 7):
            return int(Qt.AlignmentFlag.AlignRight | Qt.AlignmentFlag.AlignVCenter)
        return None


def has_filters(spec: PlaylistSpec) -> bool:
    """Whether ``spec`` leaves any song out by mood, range, confidence, artist, album or
    label (the map selection, order and length aside)."""
    return any(getattr(spec, k) != v for k, v in NO_FILTERS.items())


def _range_boxes(parent: QWidget) -> tuple[QDoubleSpinBox, QDoubleSpinBox, QWidget]:
    box = QWidget(parent)
    lay = QHBoxLayout(box)
    lay.setContentsMargins(0, 0, 0, 0)
    lo, hi = QDoubleSpinBox(box), QDoubleSpinBox(box)
    for sb, v in ((lo, 0.0), (hi, 1.0)):
        sb.setRange(0.0, 1.0)
        sb.setDecimals(2)
        sb.setSingleStep(0.05)
        sb.setValue(v)
        sb.setMaximumWidth(80)
    lay.addWidget(lo)
    lay.addWidget(QLabel("to", box))
    lay.addWidget(hi)
    lay.addStretch(1)
    return lo, hi, box


class _WheelScrollsForm(QObject):
    """A wheel turned over the filters scrolls them: a spin box or list under the pointer
    takes it only once clicked into (scrolling the form changed the Order on the way)."""

    def __init__(self, scroll: QScrollArea) -> None:
        super().__init__(scroll)
        self._scroll = scroll

    def eventFilter(self, obj: QObject, event: QEvent) -> bool:
        if event.type() == QEvent.Type.Wheel and isinstance(obj, QWidget) and not obj.hasFocus():
            QCoreApplication.sendEvent(self._scroll.verticalScrollBar(), event)
            return True
        return False


class _TextColumnsFit(QObject):
    """Title, Artist and Album share what the table's width leaves (200:140:140, at least
    60 pixels each), so a narrow window still shows Mood, Energy and Length. Where even
    that does not fit, Album and then Artist are hidden until there is room again (a
    cell's tooltip has the whole entry). Qt's Stretch mode kept the title at its widest,
    pushing the rest behind a scrollbar."""

    SHARES: ClassVar[dict[int, int]] = {1: 200, 2: 140, 3: 140}
    #: the text columns given up first when there is no room for them
    GIVE_UP: ClassVar[tuple[int, ...]] = (3, 2)
    MIN_WIDTH = 60

    def __init__(self, table: QTableView) -> None:
        super().__init__(table)
        self._table = table
        table.viewport().installEventFilter(self)

    def eventFilter(self, obj: QObject, event: QEvent) -> bool:
        if event.type() == QEvent.Type.Resize:
            self.fit()
        return False

    def fit(self) -> None:
        hh = self._table.horizontalHeader()
        fixed = sum(
            hh.sectionSize(c)
            for c in range(hh.count())
            if c not in self.SHARES and not hh.isSectionHidden(c)
        )
        room = max(0, self._table.viewport().width() - fixed)
        shown = list(self.SHARES)
        for col in self.GIVE_UP:
            if room >= self.MIN_WIDTH * len(shown):
                break
            shown.remove(col)
        for col in self.SHARES:
            self._table.setColumnHidden(col, col not in shown)
        total = sum(self.SHARES[c] for c in shown)
        for col in shown:
            hh.resizeSection(col, max(self.MIN_WIDTH, room * self.SHARES[col] // total))


class PlaylistView(QWidget):
    """Build a mood playlist with a live preview. Call :meth:`set_rows` when the library
    changes; :meth:`set_map_selection` makes it the tracks selected on the mood map."""

    play_requested = Signal(str)
    #: emitted after the preview was rebuilt (with the new :class:`Playlist`)
    preview_changed = Signal(object)
    exported = Signal(str)
    #: the mood-map restriction changed (track ids; [] when cleared), e.g. to update the map
    map_selection_changed = Signal(list)

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self._rows: list[LibraryRow] = []
        self._index = PlaylistIndex(())
        self._map_ids: tuple[int, ...] | None = None
        self._map_cleared_filters = False  # say so until a control changes
        self._playlist: Playlist | None = None
        self._name = ""  # the saved definition shown, if any
        self._timer = QTimer(self)
        self._timer.setSingleShot(True)
        self._timer.setInterval(120)
        self._timer.timeout.connect(self.regenerate)
        self._build()
        self._reload_saved()
        self.regenerate()

    # -- construction -------------------------------------------------------------------

    def _build(self) -> None:
        form_box = QWidget(self)
        form_lay = QVBoxLayout(form_box)
        form_lay.setContentsMargins(6, 6, 6, 6)  # room for the last row at 1024 x 700

        moods = QGroupBox("Moods (none ticked: all)", form_box)
        mlay = QGridLayout(moods)
        self.mood_buttons: dict[str, QPushButton] = {}
        for i, m in enumerate(MOODS):
            b = QPushButton(display_name(m), moods)
            b.setCheckable(True)
            c = COLOURS[m]
            b.setStyleSheet(
                f"QPushButton {{ border: 2px solid {c}; border-radius: 10px; padding: 3px 8px; }}"
                f"QPushButton:checked {{ background: {c}; color: black; font-weight: bold; }}"
            )
            b.toggled.connect(self._changed)
            mlay.addWidget(b, i // 2, i % 2)
            self.mood_buttons[m] = b
        form_lay.addWidget(moods)

        filters = QGroupBox("Filters", form_box)
        fl = QFormLayout(filters)
        self.energy_lo, self.energy_hi, w = _range_boxes(filters)
        fl.addRow("Energy", w)
        self.valence_lo, self.valence_hi, w = _range_boxes(filters)
        fl.addRow("Valence", w)
        # in percent, as the tables show confidence and the Write dialog asks for it
        self.min_confidence = QSpinBox(filters)
        self.min_confidence.setRange(0, 100)
        self.min_confidence.setSingleStep(5)
        self.min_confidence.setSuffix(" %")
        self.min_confidence.setSpecialValueText("any")
        fl.addRow("Min. confidence", self.min_confidence)
        self.artist = QLineEdit(filters)
        self.artist.setPlaceholderText("contains…")
        self.artist.setClearButtonEnabled(True)
        fl.addRow("Artist", self.artist)
        self.album = QLineEdit(filters)
        self.album.setPlaceholderText("contains…")
        self.album.setClearButtonEnabled(True)
        fl.addRow("Album", self.album)
        self.labelled_only = QCheckBox("Only songs I labelled", filters)
        fl.addRow("", self.labelled_only)
        self.map_label = QLabel(filters)
        self.map_label.setWordWrap(True)
        self.map_label.setToolTip(
            "Drag across the Mood Map tab to pick songs by energy and valence; Clear to use "
            "all songs again"
        )
        self.map_clear = QPushButton("Clear", filters)
        self.map_clear.clicked.connect(lambda: self.set_map_selection(None))
        mw = QWidget(filters)
        ml = QHBoxLayout(mw)
        ml.setContentsMargins(0, 0, 0, 0)
        ml.addWidget(self.map_label, 1)
        ml.addWidget(self.map_clear)
        fl.addRow("Map", mw)
        form_lay.addWidget(filters)

        order = QGroupBox("Order and length", form_box)
        ol = QFormLayout(order)
        self.order = QComboBox(order)
        self.order.setSizeAdjustPolicy(
            QComboBox.SizeAdjustPolicy.AdjustToMinimumContentsLengthWithIcon
        )
        self.order.setMinimumContentsLength(16)
        for key in ORDERS:
            self.order.addItem(ORDER_NAMES[key], key)
        ol.addRow("Order", self.order)
        self.seed = QSpinBox(order)
        self.seed.setRange(0, 2_000_000_000)
        self.reseed = QPushButton("New", order)
        self.reseed.setToolTip("Another shuffle")
        self.reseed.clicked.connect(
            lambda: self.seed.setValue((self.seed.value() * 7919 + 1) % 1_000_003)
        )
        sw = QWidget(order)
        sl = QHBoxLayout(sw)
        sl.setContentsMargins(0, 0, 0, 0)
        sl.addWidget(self.seed, 1)
        sl.addWidget(self.reseed)
        ol.addRow("Shuffle seed", sw)
        self.limit = QSpinBox(order)
        self.limit.setRange(0, 100_000)
        self.limit.setSpecialValueText("no limit")
        ol.addRow("Max. songs", self.limit)
        self.max_minutes = QSpinBox(order)
        self.max_minutes.setRange(0, 100_000)
        self.max_minutes.setSuffix(" min")
        self.max_minutes.setSpecialValueText("no limit")
        ol.addRow("Max. length", self.max_minutes)
        form_lay.addWidget(order)

        saved = QGroupBox("Saved playlists", form_box)
        svl = QVBoxLayout(saved)
        self.saved = QComboBox(saved)
        self.saved.setPlaceholderText("(none saved yet)")
        svl.addWidget(self.saved)
        row = QHBoxLayout()
        self.load_button = QPushButton("Load", saved)
        self.save_button = QPushButton("Save as…", saved)
        self.delete_button = QPushButton("Delete", saved)
        for b in (self.load_button, self.save_button, self.delete_button):
            row.addWidget(b)
        svl.addLayout(row)
        self.load_button.clicked.connect(self._on_load_button_clicked)
        self.save_button.clicked.connect(self._on_save_button_clicked)
        self.delete_button.clicked.connect(self._on_delete_button_clicked)
        form_lay.addWidget(saved)
        form_lay.addStretch(1)

        for sb in (
            self.energy_lo,
            self.energy_hi,
            self.valence_lo,
            self.valence_hi,
            self.min_confidence,
        ):
            sb.valueChanged.connect(self._changed)
        for sp in (self.seed, self.limit, self.max_minutes):
            sp.valueChanged.connect(self._changed)
        for le in (self.artist, self.album):
            le.textChanged.connect(self._changed)
        self.labelled_only.toggled.connect(self._changed)
        self.order.currentIndexChanged.connect(self._changed)

        scroll = self.form_scroll = QScrollArea(self)
        scroll.setWidgetResizable(True)
        scroll.setWidget(form_box)
        scroll.setHorizontalScrollBarPolicy(Qt.ScrollBarPolicy.ScrollBarAlwaysOff)
        # not a Tab stop of its own (an empty one between the filters and the preview); it
        # still scrolls to the control Tab reaches
        scroll.setFocusPolicy(Qt.FocusPolicy.NoFocus)
        scroll.setMinimumWidth(340)
        scroll.setMaximumWidth(420)
        wheel = _WheelScrollsForm(scroll)
        for w in form_box.findChildren(QAbstractSpinBox) + form_box.findChildren(QComboBox):
            w.setFocusPolicy(Qt.FocusPolicy.StrongFocus)  # not focused by the wheel either
            w.installEventFilter(wheel)

        right = QWidget(self)
        rl = QVBoxLayout(right)
        rl.setContentsMargins(0, 0, 0, 0)
        self.summary = QLabel(right)
        self.summary.setWordWrap(True)
        self.summary.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        self.clear_filters_button = QPushButton("Clear filters", right)
        self.clear_filters_button.setToolTip(
            "Moods, energy, valence, confidence, artist, album and 'only labelled' back to all"
        )
        self.clear_filters_button.clicked.connect(self.clear_filters)
        self.clear_filters_button.setVisible(False)
        top = QHBoxLayout()
        top.addWidget(self.summary, 1)
        top.addWidget(self.clear_filters_button)
        rl.addLayout(top)
        self.model = PlaylistTableModel(self)
        self.table = QTableView(right)
        self.table.setModel(self.model)
        self.table.setSelectionBehavior(QAbstractItemView.SelectionBehavior.SelectRows)
        self.table.setSelectionMode(QAbstractItemView.SelectionMode.SingleSelection)
        self.table.verticalHeader().hide()
        self.table.verticalHeader().setDefaultSectionSize(self.fontMetrics().height() + 8)
        self.table.setAlternatingRowColors(True)
        self.table.setWordWrap(False)
        self.table.setTabKeyNavigation(False)  # Tab goes on to Play / Export, not cell by cell
        hh = self.table.horizontalHeader()
        hh.setTextElideMode(Qt.TextElideMode.ElideRight)
        hh.setSectionResizeMode(QHeaderView.ResizeMode.Interactive)
        for col, width in enumerate((40, 200, 140, 140, 110, 60, 60, 60)):
            self.table.setColumnWidth(col, width)
        hh.setStretchLastSection(False)
        self._fit_columns = _TextColumnsFit(self.table)  # the text columns give way
        # a double-click or Enter, as in the library table
        self.table.activated.connect(self._on_table_activated)
        rl.addWidget(self.table, 1)
        buttons = QHBoxLayout()
        self.play_button = QPushButton("▶ Play", right)
        self.play_button.setToolTip("Listen to the selected song (it opens in the Review tab)")
        self.play_button.clicked.connect(self._on_play_button_clicked)
        self.export_button = QPushButton("Export…", right)
        self.export_button.clicked.connect(self._on_export_button_clicked)
        buttons.addWidget(self.play_button)
        buttons.addStretch(1)
        buttons.addWidget(self.export_button)
        rl.addLayout(buttons)

        split = QSplitter(Qt.Orientation.Horizontal, self)
        split.addWidget(scroll)
        split.addWidget(right)
        split.setStretchFactor(1, 1)
        lay = QVBoxLayout(self)
        lay.setContentsMargins(4, 4, 4, 4)
        lay.addWidget(split)
        self._update_map_label()
        self._update_enabled()

    # -- public API ---------------------------------------------------------------------

    def showEvent(self, event) -> None:
        """Saved playlists may have come meanwhile from ``mood-tagger playlist --save``."""
        super().showEvent(event)
        self._reload_saved(select=self.saved.currentText() or None)

    def set_rows(self, rows: Sequence[LibraryRow]) -> None:
        """The library changed: rebuild the preview from ``rows``."""
        self._rows = list(rows)
        self._index = PlaylistIndex(self._rows)
        self.regenerate()

    def set_map_selection(
        self, track_ids: Sequence[int] | None, keep_filters: bool = False
    ) -> None:
        """Make the playlist of exactly these tracks (a rectangle on the mood map): the
        song filters and the length limits go back to "all" (the order stays), and the
        summary says so. ``keep_filters``: narrow the current filters down instead. None
        or [] clears."""
        ids = tuple(track_ids) if track_ids else None
        spec = replace(self.spec(), track_ids=ids)
        limited = spec.limit is not None or spec.max_minutes is not None
        cleared = bool(ids) and not keep_filters and (has_filters(spec) or limited)
        if cleared:  # a Max. songs of 5 kept 5 of 7 songs picked, "filters cleared" or not
            spec = replace(spec, **NO_FILTERS, limit=None, max_minutes=None)
            log.debug("mood map selection of %d songs: filters cleared", len(ids or ()))
        self._map_cleared_filters = cleared
        self.set_spec(spec)
        self.map_selection_changed.emit(list(ids or ()))

    def clear_filters(self) -> None:
        """Let every song through the filters again (order, length and the map stay)."""
        self.set_spec(replace(self.spec(), **NO_FILTERS))

    def playlist(self) -> Playlist | None:
        return self._playlist

    def spec(self) -> PlaylistSpec:
        """The definition the controls describe now."""
        moods = tuple(m for m, b in self.mood_buttons.items() if b.isChecked())

        def rng(lo: QDoubleSpinBox, hi: QDoubleSpinBox) -> tuple[float, float] | None:
            a, b = lo.value(), hi.value()
            return None if a <= 0.0 and b >= 1.0 else (a, b)

        return PlaylistSpec(
            name=self._name,
            moods=moods,
            energy=rng(self.energy_lo, self.energy_hi),
            valence=rng(self.valence_lo, self.valence_hi),
            min_confidence=self.min_confidence.value() / 100 or None,
            artist=self.artist.text().strip(),
            album=self.album.text().strip(),
            labelled_only=self.labelled_only.isChecked(),
            order=self.order.currentData(),
            seed=self.seed.value(),
            limit=self.limit.value() or None,
            max_minutes=float(self.max_minutes.value()) or None,
            track_ids=self._map_ids,
        )

    def set_spec(self, spec: PlaylistSpec) -> None:
        """Show ``spec`` in the controls and rebuild once."""
        widgets = [
            *self.mood_buttons.values(),
            self.energy_lo,
            self.energy_hi,
            self.valence_lo,
            self.valence_hi,
            self.min_confidence,
            self.artist,
            self.album,
            self.labelled_only,
            self.order,
            self.seed,
            self.limit,
            self.max_minutes,
        ]
        blockers = [QSignalBlocker(w) for w in widgets]
        for m, b in self.mood_buttons.items():
            b.setChecked(m in spec.moods)
        self.energy_lo.setValue(spec.energy[0] if spec.energy else 0.0)
        self.energy_hi.setValue(spec.energy[1] if spec.energy else 1.0)
        self.valence_lo.setValue(spec.valence[0] if spec.valence else 0.0)
        self.valence_hi.setValue(spec.valence[1] if spec.valence else 1.0)
        self.min_confidence.setValue(round((spec.min_confidence or 0.0) * 100))
        self.artist.setText(spec.artist)
        self.album.setText(spec.album)
        self.labelled_only.setChecked(spec.labelled_only)
        self.order.setCurrentIndex(max(0, self.order.findData(spec.order)))
        self.seed.setValue(spec.seed)
        self.limit.setValue(spec.limit or 0)
        self.max_minutes.setValue(round(spec.max_minutes or 0))
        del blockers
        self._name = spec.name
        self._map_ids = spec.track_ids
        self._update_map_label()
        self._update_enabled()
        self.regenerate()

    def regenerate(self) -> None:
        """Rebuild the preview now (normally called shortly after a control changed)."""
        self._timer.stop()
        try:
            pl = self._index.build(self.spec())
        except PlaylistError as exc:
            self._playlist = None
            self.model.set_rows([])
            self.summary.setText(f"<span style='color:{ERROR_COLOUR}'>{exc}</span>")
            self.export_button.setEnabled(False)
            self.play_button.setEnabled(False)
            self.preview_changed.emit(None)
            return
        self._playlist = pl
        self.model.set_rows(pl.rows)
        analysed = len(self._index.items)
        left_out = 0  # songs the filters keep out of it although they were picked on the map
        if not self._rows:
            text = "Open a music folder to build playlists."
        else:
            n = len(pl.rows)
            text = f"<b>{n} song{'' if n == 1 else 's'}</b>"
            if self._map_ids:
                text += " from the mood map"
            text += f" · {format_total(pl.seconds)}"
            if pl.matched != len(pl.rows):
                text += f" · first {len(pl.rows)} of {pl.matched} matching"
            if self._map_ids:
                ids = set(self._map_ids)
                on_map = sum(1 for it in self._index.items if it.row.track_id in ids)
                left_out = on_map - pl.matched
                if left_out:
                    text += (
                        f" · <span style='color:{ERROR_COLOUR}'>the filters leave out "
                        f"{left_out} of the {count_text(on_map, 'song')} picked on the map</span>"
                    )
                elif self._map_cleared_filters:
                    text += " · the other filters were cleared to include them all"
            else:
                text += f" · {count_text(analysed, 'analysed song')} in the library"
        self.summary.setText(text)
        spec = self.spec()
        self.clear_filters_button.setVisible(
            has_filters(spec) and (left_out > 0 or (bool(self._rows) and not pl.matched))
        )
        self.export_button.setEnabled(bool(pl.rows))
        self.play_button.setEnabled(bool(pl.rows))
        self.preview_changed.emit(pl)

    def export_to(self, path: str | Path) -> Path:
        """Write the current preview to ``path`` (.m3u8 or .xspf). Raises PlaylistError/OSError."""
        rows = self._playlist.rows if self._playlist else ()
        out = write_playlist(path, rows, title=self.spec().name)
        self.exported.emit(str(out))
        return out

    # -- slots --------------------------------------------------------------------------

    def _changed(self, *_: object) -> None:
        self._map_cleared_filters = False
        self._update_enabled()
        self._timer.start()

    def _update_enabled(self) -> None:
        shuffle = self.order.currentData() == "shuffle"
        self.seed.setEnabled(shuffle)
        self.reseed.setEnabled(shuffle)
        has = self.saved.count() > 0
        self.load_button.setEnabled(has)
        self.delete_button.setEnabled(has)

    def _update_map_label(self) -> None:
        if self._map_ids:
            n = len(self._map_ids)
            self.map_label.setText(f"{n} song{'' if n == 1 else 's'} selected")
            self.map_clear.setEnabled(True)
        else:
            # one line, so that the saved playlists fit under it at 1024 x 700 (the hint
            # took three lines there, and pushed their buttons out of sight)
            self.map_label.setText("all songs")
            self.map_clear.setEnabled(False)

    def _reload_saved(self, select: str | None = None) -> None:
        problems: list[str] = []
        with QSignalBlocker(self.saved):
            self.saved.clear()
            for name in load_definitions(problems=problems):
                self.saved.addItem(name)
            # a file that cannot be read is not "none saved yet": say so where one looks
            self.saved.setPlaceholderText(
                "(saved playlists unreadable)" if problems else "(none saved yet)"
            )
            self.saved.setToolTip("\n".join(problems))
            # one is always chosen when there are any: the placeholder says "none saved yet"
            found = self.saved.findText(select) if select is not None else -1
            self.saved.setCurrentIndex(max(0, found) if self.saved.count() else -1)
        self._update_enabled()

    def _selected_row(self) -> LibraryRow | None:
        idx = self.table.selectionModel().currentIndex()
        if idx.isValid():
            return self.model.row_at(idx.row())
        return self.model.row_at(0) if self.model.rowCount() else None

    def _on_table_activated(self, index: QModelIndex) -> None:
        if index.isValid():
            self.play_requested.emit(self.model.row_at(index.row()).path)

    def _on_play_button_clicked(self) -> None:
        row = self._selected_row()
        if row is not None:
            self.play_requested.emit(row.path)

    def suggested_name(self) -> str:
        """The playlist's name: the saved one shown, else its moods ("Calm + Sad")."""
        spec = self.spec()
        return spec.name or " + ".join(display_name(m) for m in spec.moods) or "Mood playlist"

    def default_export_path(self) -> Path:
        """Where the export dialog starts: the last export folder, else the music folder
        (relative M3U8 paths then work in any player), named after the playlist or moods."""
        name = self.suggested_name()
        remembered = load_settings().get("playlist_export_dir")
        folder = Path(remembered) if remembered and Path(remembered).is_dir() else None
        if folder is None and self._rows:
            try:
                common = Path(os.path.commonpath([r.path for r in self._rows]))
            except ValueError:  # different drives
                common = None
            if common is not None and not common.is_dir():
                common = common.parent  # a library of one song
            folder = common if common is not None and common.is_dir() else None
        return (folder or Path.home()) / f"{_file_name(name)}.m3u8"

    def _on_export_button_clicked(self) -> None:
        path, chosen = QFileDialog.getSaveFileName(
            self,
            "Export playlist",
            str(self.default_export_path()),
            f"{M3U8_FILTER};;{XSPF_FILTER}",
        )
        if not path:
            return
        if Path(path).suffix.lower() not in FORMATS:  # a bare name: the chosen type's suffix
            path += ".xspf" if chosen == XSPF_FILTER else ".m3u8"
            # the dialog asked about replacing the name as typed, not this one
            if Path(path).exists() and (
                QMessageBox.question(
                    self,
                    "Export playlist",
                    f"{Path(path).name} already exists. Replace it?",
                    QMessageBox.StandardButton.Yes | QMessageBox.StandardButton.No,
                    QMessageBox.StandardButton.No,
                )
                != QMessageBox.StandardButton.Yes
            ):
                return
        try:
            out = self.export_to(path)
        except (PlaylistError, OSError) as exc:
            QMessageBox.warning(self, "Export playlist", f"Could not write {path}:\n{exc}")
            return
        try:
            update_settings(playlist_export_dir=str(out.parent))
        except OSError as exc:
            log.warning("could not remember the export folder: %s", exc)
        n = len(self._playlist.rows) if self._playlist else 0
        base = self.summary.text().split(" · exported ")[0]  # said once, not once per export
        self.summary.setText(base + f" · exported {count_text(n, 'song')} to {out.name}")

    def _on_save_button_clicked(self) -> None:
        # named as Export names it (the box was empty for a new playlist)
        name, ok = QInputDialog.getText(self, "Save playlist", "Name:", text=self.suggested_name())
        if ok and name.strip():
            self.save_as(name.strip())

    def save_as(self, name: str) -> None:
        """Save the current controls as the definition ``name``."""
        try:
            save_definition(replace(self.spec(), name=name))
        except (PlaylistError, OSError) as exc:
            QMessageBox.warning(self, "Save playlist", str(exc))
            return
        self._name = name
        self._reload_saved(select=name)

    def load_saved(self, name: str) -> None:
        """Show the saved definition ``name`` and regenerate it from the current library."""
        spec = load_definitions().get(name)
        if spec is None:
            self._reload_saved()
            return
        with QSignalBlocker(self.saved):
            self.saved.setCurrentIndex(max(0, self.saved.findText(name)))
        self._map_cleared_filters = False
        self.set_spec(spec)

    def _on_load_button_clicked(self) -> None:
        if self.saved.count():
            self.load_saved(self.saved.currentText())

    def _on_delete_button_clicked(self) -> None:
        name = self.saved.currentText()
        if name and delete_definition(name):
            self._reload_saved()
