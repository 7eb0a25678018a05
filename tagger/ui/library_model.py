"""The library as a Qt item model: a flat table of :class:`LibraryRow` with grouping columns.

Views only ever see :class:`LibraryProxyModel` (mood filter + search). Sorting is done
here on the plain Python list (one ``list.sort`` + ``layoutChanged``) because a
``QSortFilterProxyModel`` comparing 50,000 rows through Python ``lessThan`` calls takes
seconds; the proxy forwards ``sort()`` to this model and keeps its order.

Rows change in batches: :meth:`LibraryModel.update_rows` replaces many rows and emits one
``dataChanged`` per contiguous run, never a reset, so selection and scroll survive.
"""

from __future__ import annotations

import os
import re
from collections.abc import Callable, Iterable
from enum import IntEnum
from pathlib import Path

from PySide6.QtCore import (
    QAbstractTableModel,
    QModelIndex,
    QPersistentModelIndex,
    QRect,
    QSize,
    QSortFilterProxyModel,
    Qt,
)
from PySide6.QtGui import QColor, QFont, QFontMetrics, QPainter, QPalette
from PySide6.QtWidgets import QStyle, QStyledItemDelegate, QStyleOptionViewItem

from tagger.core.library import LibraryRow
from tagger.core.moods import COLOURS, ERROR_COLOUR, MOODS, display_name, parse_mood
from tagger.core.text import search_key, search_terms

_ROOT = QModelIndex()

#: Custom roles.
ROW_ROLE = Qt.ItemDataRole.UserRole + 1  # the LibraryRow
MOOD_ROLE = Qt.ItemDataRole.UserRole + 2  # the mood key shown (label or prediction)
STATUS_ROLE = Qt.ItemDataRole.UserRole + 3  # the Status value


class Column(IntEnum):
    TITLE = 0
    ARTIST = 1
    ALBUM = 2
    MOOD = 3
    CONFIDENCE = 4
    ENERGY = 5
    VALENCE = 6
    TAG = 7
    STATUS = 8


HEADERS = {
    Column.TITLE: "Title",
    Column.ARTIST: "Artist",
    Column.ALBUM: "Album",
    Column.MOOD: "Mood",
    Column.CONFIDENCE: "Confidence",
    Column.ENERGY: "Energy",
    Column.VALENCE: "Valence",
    Column.TAG: "Mood tag in file",
    Column.STATUS: "Status",
}


class Status:
    QUEUED = "queued"
    #: Waiting for an analysis that is not running (it was stopped; a new model).
    NOT_ANALYSED = "not analysed"
    ANALYSING = "analysing"
    DONE = "done"
    CORRECTED = "corrected"
    #: The person's label agrees with the prediction: reviewed, not corrected.
    CONFIRMED = "confirmed"
    WRITTEN = "written"
    ERROR = "error"
    #: Silent or too short: read fine, but there is no mood to give.
    NO_MOOD = "no mood"


#: Every text the Status column can show.
STATUSES = tuple(v for k, v in vars(Status).items() if k.isupper())

#: Sorting by Status follows a song through the work, not the alphabet: waiting, being
#: analysed, what the analysis gave (unreadable, no mood, a prediction), what the person
#: made of it (confirmed, then corrected: the stronger decision), and written to the file.
STATUS_ORDER = (
    Status.NOT_ANALYSED,
    Status.QUEUED,
    Status.ANALYSING,
    Status.ERROR,
    Status.NO_MOOD,
    Status.DONE,
    Status.CONFIRMED,
    Status.CORRECTED,
    Status.WRITTEN,
)
_STATUS_RANK = {s: k for k, s in enumerate(STATUS_ORDER)}


def row_status(row: LibraryRow, analysing: bool = False, queued: bool = True) -> str:
    """The Status column: error > analysing/queued > written > corrected/confirmed > done.

    ``written``: the file's mood tag already says the mood shown (nothing left to write);
    ``corrected``: the person set a label other than the prediction (it wins over it);
    ``confirmed``: the person's label is the predicted mood.
    """
    if row.scores is None:
        if row.no_mood:
            if not row.label:  # a silent song the person gave a mood is just corrected
                return Status.NO_MOOD
        elif row.error:
            return Status.ERROR
        else:
            if analysing:
                return Status.ANALYSING
            return Status.QUEUED if queued else Status.NOT_ANALYSED
    mood = row.mood
    if mood is not None and parse_mood(row.mood_tag) == mood:
        return Status.WRITTEN
    if row.label:
        return Status.CORRECTED if is_correction(row) else Status.CONFIRMED
    return Status.DONE


def is_pending(row: LibraryRow) -> bool:
    """Not analysed (with the active model) yet: no mood, no error, not silent."""
    return row.scores is None and not row.no_mood and not row.error


def is_correction(row: LibraryRow) -> bool:
    """The person's label differs from the prediction (or there is none to agree with: a
    silent or unreadable song given a mood); a label that agrees only confirms it. A song
    not analysed yet (after a retrain, say) has no verdict to correct."""
    return bool(row.label) and row.label != row.predicted_mood and not is_pending(row)


def label_mark(row: LibraryRow) -> str:
    """ " ✎" after a corrected mood, " ✓" after a confirmed one, "" after a prediction."""
    if is_correction(row):
        return " ✎"
    return " ✓" if row.label and not is_pending(row) else ""


def _sort_key(column: int, status: Callable[[LibraryRow], str] = row_status):
    """Key for sorting rows by ``column``: a tuple whose first item says the row has no
    value there (no title, no mood yet, could not be read), so such rows can go last.
    ``status`` gives a row's Status (by :data:`STATUS_ORDER`)."""

    def text(v: str | None) -> tuple[bool, str]:
        return (v is None or v == "", (v or "").casefold())

    def num(v: float | None) -> tuple[bool, float]:
        return (v is None, v or 0.0)

    keys = {
        Column.TITLE: lambda r: text(r.title or Path(r.path).stem),
        Column.ARTIST: lambda r: (*text(r.artist), text(r.album), r.tracknumber or 0, r.path),
        Column.ALBUM: lambda r: (*text(r.album), r.tracknumber or 0, r.path),
        Column.MOOD: lambda r: (
            not r.mood,
            MOODS.index(r.mood) if r.mood else len(MOODS),
            -(r.scores.confidence if r.scores else 0.0),
        ),
        Column.CONFIDENCE: lambda r: num(r.scores.confidence if r.scores else None),
        Column.ENERGY: lambda r: num(r.scores.energy if r.scores else None),
        Column.VALENCE: lambda r: num(r.scores.valence if r.scores else None),
        Column.TAG: lambda r: text(r.mood_tag),
        Column.STATUS: lambda r: (False, _STATUS_RANK[status(r)]),
    }
    return keys[Column(column)]


class LibraryModel(QAbstractTableModel):
    """A flat table over ``list[LibraryRow]``; row identity is ``track_id``."""

    def __init__(self, parent=None) -> None:
        super().__init__(parent)
        self._rows: list[LibraryRow] = []
        self._index: dict[int, int] = {}  # track_id -> row number
        self._analysing: set[int] = set()  # track ids being analysed now
        self._running = False  # an analysis is on its way: songs without a mood are queued
        self._bold = QFont()
        self._bold.setBold(True)
        self._sort: tuple[int, Qt.SortOrder] | None = None
        #: The music folder, as far as the rows tell: the deepest one holding them all.
        self._folder: str | None = None
        # track id -> search text, and the row it is of (two dicts: no tuple per row for
        # the garbage collector to go through, which took longer than making the texts)
        self._search: dict[int, str] = {}
        self._searched: dict[int, LibraryRow] = {}

    # -- access -----------------------------------------------------------------------
    @property
    def rows(self) -> list[LibraryRow]:
        """The rows in display (source) order. Do not mutate."""
        return self._rows

    def row_at(self, n: int) -> LibraryRow:
        return self._rows[n]

    def row_for(self, track_id: int) -> LibraryRow | None:
        n = self._index.get(track_id)
        return None if n is None else self._rows[n]

    def index_for(self, track_id: int, column: int = 0) -> QModelIndex:
        n = self._index.get(track_id)
        return QModelIndex() if n is None else self.index(n, column)

    def status_of(self, row: LibraryRow) -> str:
        return row_status(row, row.track_id in self._analysing, self._running)

    def search_text(self, row: LibraryRow) -> str:
        """What the search box looks in for ``row``, folded by :func:`search_key`: title,
        artist, album and the file's name under the music folder, less its track number
        and extension ("Artist/Album/Title" for ".../Music/Artist/Album/03 Title.mp3"), so
        that a song without tags is found by its names and no song by the folders above.

        The music folder is the deepest one that holds every row (the rows are those under
        the folder opened); kept per row until the row or that folder changes."""
        track_id = row.track_id
        if self._searched.get(track_id) is row:
            return self._search[track_id]
        folder = self._folder or ""
        path = row.path
        name = path[len(folder) :] if path.startswith(folder) else path
        head, sep, file = name.rpartition(os.sep)
        dot = file.rfind(".")
        stem = _TRACK_NUMBER.sub("", file[:dot] if dot > 0 else file, count=1)
        text = search_key(
            f"{row.title or ''}\x00{row.artist or ''}\x00{row.album or ''}\x00{head}{sep}{stem}"
        )
        self._search[track_id] = text
        self._searched[track_id] = row
        return text

    def _widen_folder(self, paths: Iterable[str], folder: str | None) -> bool:
        """Make the music folder the one holding ``folder`` and ``paths``; True if that
        changed it (and so what every row is searched by)."""
        folder = _holding_folder(paths, folder)
        if folder == self._folder:
            return False
        self._folder = folder
        self._search.clear()
        self._searched.clear()
        return True

    def set_running(self, running: bool) -> None:
        """Whether an analysis is running: songs still without a mood are "queued" for
        it, or "not analysed" once it stopped."""
        if running != self._running:
            self._running = running
            self._emit_changed(list(range(len(self._rows))), Column.STATUS, Column.STATUS)

    # -- changes ----------------------------------------------------------------------
    def set_rows(self, rows: Iterable[LibraryRow]) -> None:
        """Replace everything with a new snapshot.

        When the track ids are the same set as now (the common case: a refresh after a
        write or label change) the rows are updated in place; otherwise one reset.
        """
        rows = list(rows)
        if (
            self._rows
            and len(rows) == len(self._rows)
            and all(r.track_id in self._index for r in rows)
        ):
            self.update_rows(rows)
            return
        self.beginResetModel()
        self._rows = rows
        self._search.clear()
        self._searched.clear()
        self._widen_folder((r.path for r in rows), None)
        self._apply_sort()
        self._reindex()
        self._analysing &= set(self._index)
        self.endResetModel()

    def update_rows(self, rows: Iterable[LibraryRow]) -> None:
        """Replace the rows with the same track ids; unknown ones are appended."""
        rows = list(rows)
        widened = self._widen_folder((r.path for r in rows), self._folder) and bool(self._rows)
        changed: list[int] = []
        new: list[LibraryRow] = []
        for r in rows:
            n = self._index.get(r.track_id)
            if n is None:
                new.append(r)
            else:
                self._rows[n] = r
                changed.append(n)
        self._emit_changed(changed)
        if new:
            first = len(self._rows)
            self.beginInsertRows(QModelIndex(), first, first + len(new) - 1)
            for k, r in enumerate(new):
                self._rows.append(r)
                self._index[r.track_id] = first + k
            self.endInsertRows()
        if widened:  # every row's search text changed: a search filters them again
            self.dataChanged.emit(self.index(0, 0), self.index(len(self._rows) - 1, 0))

    def set_analysing(self, track_ids: Iterable[int]) -> None:
        """Mark which tracks are being analysed now (Status column)."""
        new = {t for t in track_ids if t in self._index}
        touched = new ^ self._analysing
        self._analysing = new
        self._emit_changed([self._index[t] for t in touched], Column.STATUS, Column.STATUS)

    def _emit_changed(
        self, rows: list[int], first_col: int = 0, last_col: int = len(Column) - 1
    ) -> None:
        """One ``dataChanged`` per contiguous run of changed rows."""
        if not rows:
            return
        rows = sorted(set(rows))
        start = prev = rows[0]
        for n in [*rows[1:], None]:  # type: ignore[list-item]
            if n is not None and n == prev + 1:
                prev = n
                continue
            self.dataChanged.emit(self.index(start, first_col), self.index(prev, last_col))
            if n is not None:
                start = prev = n

    def _reindex(self) -> None:
        self._index = {r.track_id: n for n, r in enumerate(self._rows)}

    # -- sorting (see the module docstring) -------------------------------------------
    def sort(self, column: int, order: Qt.SortOrder = Qt.SortOrder.AscendingOrder) -> None:
        if column < 0 or column >= len(Column):
            self._sort = None
            return
        self._sort = (column, order)
        self.layoutAboutToBeChanged.emit()
        old_rows = list(self._rows)
        persistent = self.persistentIndexList()
        self._apply_sort()
        self._reindex()
        self.changePersistentIndexList(
            persistent,
            [
                self.index(self._index[old_rows[p.row()].track_id], p.column())
                if 0 <= p.row() < len(old_rows)
                else QModelIndex()
                for p in persistent
            ],
        )
        self.layoutChanged.emit()

    def resort(self, columns: Iterable[int] | None = None) -> None:
        """Sort again by the last chosen column: rows updated in place keep their places
        (the table does not jump while results arrive), so call this once they are in.
        ``columns``: only if sorted by one of these (the ones a change can affect)."""
        if self._sort is not None and (columns is None or self._sort[0] in set(columns)):
            self.sort(*self._sort)

    def _apply_sort(self) -> None:
        if self._sort is None:
            return
        column, order = self._sort
        key = _sort_key(column, self.status_of)
        keyed = [(key(r), r) for r in self._rows]
        # rows without a value (no mood yet, unreadable) stay last in either order
        present = [kr for kr in keyed if not kr[0][0]]
        missing = [kr for kr in keyed if kr[0][0]]
        present.sort(key=lambda kr: kr[0], reverse=order == Qt.SortOrder.DescendingOrder)
        missing.sort(key=lambda kr: kr[0])
        self._rows[:] = [r for _k, r in present + missing]

    # -- QAbstractItemModel -----------------------------------------------------------
    def rowCount(self, parent: QModelIndex | QPersistentModelIndex = _ROOT) -> int:
        return 0 if parent.isValid() else len(self._rows)

    def columnCount(self, parent: QModelIndex | QPersistentModelIndex = _ROOT) -> int:
        return 0 if parent.isValid() else len(Column)

    def headerData(self, section: int, orientation: Qt.Orientation, role: int = 0):
        if orientation == Qt.Orientation.Horizontal and 0 <= section < len(Column):
            if role in (Qt.ItemDataRole.DisplayRole, Qt.ItemDataRole.ToolTipRole):
                return HEADERS[Column(section)]  # the tooltip: in full when it is elided
            if role == Qt.ItemDataRole.TextAlignmentRole and section in _NUMERIC:
                return int(Qt.AlignmentFlag.AlignRight | Qt.AlignmentFlag.AlignVCenter)
        return None

    def flags(self, index: QModelIndex | QPersistentModelIndex) -> Qt.ItemFlag:
        if not index.isValid():
            return Qt.ItemFlag.NoItemFlags
        return Qt.ItemFlag.ItemIsEnabled | Qt.ItemFlag.ItemIsSelectable

    def data(self, index: QModelIndex | QPersistentModelIndex, role: int = 0):
        if not index.isValid() or not (0 <= index.row() < len(self._rows)):
            return None
        r = self._rows[index.row()]
        col = index.column()
        if role == Qt.ItemDataRole.DisplayRole:
            return self._display(r, col)
        if role == ROW_ROLE:
            return r
        if role == MOOD_ROLE:  # no chip for a file that cannot be read, labelled or not
            return None if r.unreadable else r.mood
        if role == STATUS_ROLE:
            return self.status_of(r)
        if role == Qt.ItemDataRole.ToolTipRole:
            if col == Column.TAG and r.tag_error and not r.mood_tag:
                return (
                    f"Mood tag could not be read: {r.tag_error.removeprefix('cannot read tags: ')}"
                )
            if r.error and r.scores is None:
                return f"{r.path}\n{r.error}"
            if col == Column.MOOD and r.mood:
                if is_correction(r) and r.predicted_mood:
                    return (
                        f"Corrected to {display_name(r.label)} "
                        f"(model said {display_name(r.predicted_mood)})"
                    )
                if r.label and is_pending(r):
                    return f"Your label: {display_name(r.label)} (not analysed yet)"
                if r.label and not is_correction(r):
                    return f"Confirmed by you: {display_name(r.label)}"
                return None
            if col in (Column.TITLE, Column.ARTIST, Column.ALBUM):
                return r.path
            if col in _NUMERIC and r.scores is not None and is_correction(r):
                # beside a corrected mood, 93 % read as sure of that mood
                return (
                    f"The model's figures for its own prediction, "
                    f"{display_name(r.predicted_mood)}; your label: {display_name(r.label)}"
                )
            return None
        if role == Qt.ItemDataRole.TextAlignmentRole and col in _NUMERIC:
            return int(Qt.AlignmentFlag.AlignRight | Qt.AlignmentFlag.AlignVCenter)
        if (
            role == Qt.ItemDataRole.ForegroundRole
            and col in (Column.STATUS, Column.MOOD)
            and self.status_of(r) == Status.ERROR
        ):
            return QColor(ERROR_COLOUR)
        if (
            role == Qt.ItemDataRole.ForegroundRole
            and col in _NUMERIC
            and r.scores is not None
            and is_correction(r)
        ):
            return QColor("#6b6b6b")  # the model's, not the mood shown
        if (
            role == Qt.ItemDataRole.FontRole
            and col == Column.MOOD
            and is_correction(r)
            and not r.unreadable
        ):
            return self._bold
        return None

    def _display(self, r: LibraryRow, col: int) -> str | None:
        s = r.scores
        if col == Column.TITLE:
            return r.title or Path(r.path).stem
        if col == Column.ARTIST:
            return r.artist or ""
        if col == Column.ALBUM:
            return r.album or ""
        if col == Column.MOOD:
            if r.mood and not r.unreadable:
                return display_name(r.mood)
            # seen at any window width (the Status column may be scrolled out of view)
            if r.error and s is None:
                return r.no_mood or "can't read"
            return ""
        if col == Column.CONFIDENCE:
            return f"{s.confidence:.0%}" if s else ""
        if col == Column.ENERGY:
            return f"{s.energy:.2f}" if s else ""
        if col == Column.VALENCE:
            return f"{s.valence:.2f}" if s else ""
        if col == Column.TAG:  # blank would read as "no mood tag"
            return r.mood_tag or ("can't read" if r.tag_error else "")
        if col == Column.STATUS:
            return self.status_of(r)
        return None


_NUMERIC = {Column.CONFIDENCE, Column.ENERGY, Column.VALENCE}

#: A file name's leading track number ("03 ", "03 - ", "03.", iTunes' disc-track "1-05 ").
_TRACK_NUMBER = re.compile(r"^\s*(?:\d{1,2}-\d{2,3}\s+|\d{1,3}\s*(?:[-._)]\s*|\s+))(?=\S)")


def _with_sep(folder: str) -> str:
    return folder if not folder or folder.endswith(os.sep) else folder + os.sep


def _holding_folder(paths: Iterable[str], folder: str | None = None) -> str | None:
    """The deepest folder that holds ``folder`` (ending in a separator) and every one of
    ``paths``, ending in a separator; ``""`` if they have none in common, None if there
    is neither."""
    for path in paths:
        if folder is None:
            folder = _with_sep(os.path.dirname(path))
        elif not path.startswith(folder):
            try:
                folder = _with_sep(os.path.commonpath([folder, path]))
            except ValueError:  # one relative, one absolute; other drives
                folder = ""
        if folder == "":
            break
    return folder


class LibraryProxyModel(QSortFilterProxyModel):
    """Mood filter (a set of mood keys) and a search text; keeps the source's order."""

    def __init__(self, parent=None) -> None:
        super().__init__(parent)
        self._moods: frozenset[str] = frozenset(MOODS)
        self._terms: tuple[str, ...] = ()
        self._sort_column = -1
        self._sort_order = Qt.SortOrder.AscendingOrder
        self.setDynamicSortFilter(True)

    @property
    def moods(self) -> frozenset[str]:
        return self._moods

    def set_moods(self, moods: Iterable[str]) -> None:
        """Show only rows whose mood is in ``moods``; all moods = no filter at all."""
        moods = frozenset(moods)
        if moods != self._moods:
            self._change_filter(lambda: setattr(self, "_moods", moods))

    def set_search(self, text: str) -> None:
        """Show only rows holding every word (or "quoted phrase") of ``text``, each in any
        field, ignoring case and accents (see :meth:`LibraryModel.search_text`)."""
        terms = search_terms(text)
        if terms != self._terms:
            self._change_filter(lambda: setattr(self, "_terms", terms))

    def _change_filter(self, change) -> None:
        if hasattr(self, "endFilterChange"):  # Qt >= 6.10; invalidateFilter is deprecated
            self.beginFilterChange()
            change()
            self.endFilterChange(QSortFilterProxyModel.Direction.Rows)
        else:
            change()
            self.invalidateFilter()

    def filterAcceptsRow(self, source_row: int, source_parent) -> bool:
        src = self.sourceModel()
        if not isinstance(src, LibraryModel) or source_row >= len(src.rows):
            return True
        r = src.rows[source_row]
        if len(self._moods) < len(MOODS) and (r.unreadable or r.mood not in self._moods):
            return False
        if self._terms:
            text = src.search_text(r)
            for term in self._terms:
                if term not in text:
                    return False
        return True

    # sorting happens in the source model (fast); the proxy keeps source order
    def sort(self, column: int, order: Qt.SortOrder = Qt.SortOrder.AscendingOrder) -> None:
        self._sort_column, self._sort_order = column, order
        src = self.sourceModel()
        if src is not None:
            src.sort(column, order)

    def sortColumn(self) -> int:
        return self._sort_column

    def sortOrder(self) -> Qt.SortOrder:
        return self._sort_order

    def row_at(self, proxy_row: int) -> LibraryRow | None:
        idx = self.index(proxy_row, 0)
        return idx.data(ROW_ROLE) if idx.isValid() else None


def text_on(colour: QColor) -> QColor:
    """Black or white, whichever reads better on ``colour``."""
    lum = 0.2126 * colour.redF() + 0.7152 * colour.greenF() + 0.0722 * colour.blueF()
    return QColor("#111111") if lum > 0.5 else QColor("#ffffff")


class MoodChipDelegate(QStyledItemDelegate):
    """Paints the mood as a rounded coloured chip: bold with a pencil when corrected, with
    a tick when the person confirmed the prediction."""

    def paint(self, painter: QPainter, option: QStyleOptionViewItem, index: QModelIndex) -> None:
        mood = index.data(MOOD_ROLE)
        if not mood:
            super().paint(painter, option, index)
            return
        opt = QStyleOptionViewItem(option)
        self.initStyleOption(opt, index)
        opt.text = ""
        style = opt.widget.style() if opt.widget else None
        if style is not None:
            style.drawControl(QStyle.ControlElement.CE_ItemViewItem, opt, painter, opt.widget)
        text, corrected = self.chip_text(mood, index.data(ROW_ROLE))
        f = QFont(option.font)
        f.setBold(corrected)
        chip = self.chip_rect(option.rect, f, text)
        fm = QFontMetrics(f)
        text = fm.elidedText(text, Qt.TextElideMode.ElideRight, chip.width() - fm.height() // 3)
        colour = QColor(COLOURS.get(mood, "#888888"))
        painter.save()
        painter.setRenderHint(QPainter.RenderHint.Antialiasing)
        painter.setPen(Qt.PenStyle.NoPen)
        painter.setBrush(colour)
        painter.drawRoundedRect(chip, chip.height() / 2, chip.height() / 2)
        painter.setPen(text_on(colour))
        painter.setFont(f)
        painter.drawText(chip, int(Qt.AlignmentFlag.AlignCenter), text)
        painter.restore()

    @staticmethod
    def chip_text(mood: str, row: LibraryRow | None) -> tuple[str, bool]:
        """(text, bold) of the chip: "Sad ✎" in bold for a correction, "Happy ✓" for a
        prediction the person confirmed, the plain name otherwise."""
        if row is None:
            return display_name(mood), False
        return display_name(mood) + label_mark(row), is_correction(row)

    @staticmethod
    def chip_rect(cell: QRect, font: QFont, text: str) -> QRect:
        """Where the chip for ``text`` in ``font`` (bold when corrected) goes in ``cell``:
        sized to the text as drawn, never wider than the cell."""
        fm = QFontMetrics(font)
        pad = max(4, fm.height() // 3)
        w = min(cell.width() - 2 * pad, fm.horizontalAdvance(text) + 3 * pad)
        h = min(cell.height() - 4, fm.height() + 2)
        return QRect(cell.x() + pad, cell.center().y() - h // 2 + 1, w, h)

    @staticmethod
    def needed_width(font: QFont) -> int:
        """The cell width that fits the widest chip, "Aggressive ✎" in bold (or the
        confirmed "Aggressive ✓", should a font draw the tick wider)."""
        bold = QFont(font)
        bold.setBold(True)
        fm = QFontMetrics(bold)
        text = max(
            fm.horizontalAdvance("Aggressive ✎"),
            QFontMetrics(font).horizontalAdvance("Aggressive ✓"),
        )
        return text + 5 * max(4, fm.height() // 3)

    def sizeHint(self, option: QStyleOptionViewItem, index: QModelIndex) -> QSize:
        s = super().sizeHint(option, index)
        return QSize(max(s.width(), self.needed_width(option.font)), s.height())


def status_colour(status: str, palette: QPalette) -> QColor:
    if status == Status.ERROR:
        return QColor(ERROR_COLOUR)
    return palette.color(QPalette.ColorRole.Text)
