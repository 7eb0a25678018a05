"""Writing mood tags from the GUI: plan (worker) -> preview dialog -> apply (worker).

The same core code as ``mood-tagger write``: :mod:`tagger.core.tagwrite`'s ``plan_write``,
``apply_write`` and ``undo_last``. Each job opens its own ``Store`` inside the worker.
"""

from __future__ import annotations

import logging
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from PySide6.QtCore import (
    QAbstractTableModel,
    QModelIndex,
    QPersistentModelIndex,
    Qt,
    QTimer,
    Signal,
)
from PySide6.QtGui import QColor
from PySide6.QtWidgets import (
    QAbstractItemView,
    QCheckBox,
    QDialog,
    QDialogButtonBox,
    QHBoxLayout,
    QHeaderView,
    QLabel,
    QSpinBox,
    QTableView,
    QTableWidget,
    QTableWidgetItem,
    QVBoxLayout,
    QWidget,
)

from tagger.core.moods import ERROR_COLOUR
from tagger.core.progress import CancelToken, Progress
from tagger.core.text import count_text, name_in

log = logging.getLogger(__name__)

_ROOT = QModelIndex()


def tagwrite_available() -> bool:
    try:
        import tagger.core.tagwrite  # noqa: F401
    except ImportError:
        return False
    return True


@dataclass(frozen=True, slots=True)
class PlanReady:
    #: The PlannedChanges, then a NoMood note per file without a mood (unreadable, silent):
    #: the preview lists those, as ``mood-tagger write`` does, and never writes them.
    changes: tuple
    #: (path, why) for planned files that cannot be written now (read-only, changed...).
    problems: tuple[tuple[str, str], ...] = ()


def plan_job(
    root: str,
    model_id: str,
    options: Any = None,
    only: tuple[int, ...] | None = None,
    cancel: CancelToken | None = None,
) -> Iterator[Any]:
    """Plan a write like ``mood-tagger write`` with ``options`` (a WriteOptions; None:
    the saved ones); ``only``: just these track ids."""
    from tagger.core.store import Store
    from tagger.core.tagwrite import WriteOptions, plan_write, preflight, without_mood

    opts = options or WriteOptions.from_settings()
    with Store.open_default() as store:
        changes = plan_write(
            Path(root),
            store,
            model_id,
            min_confidence=opts.min_confidence,
            energy_valence=opts.energy_valence,
            keep_existing=False,  # the dialog leaves them out, and so can say how many
            only=frozenset(only) if only is not None else None,
        )
        problems = preflight(changes, store)
        notes = without_mood(root, store, model_id, frozenset(only) if only is not None else None)
    yield PlanReady((*changes, *notes), tuple(problems))


def apply_job(root: str, changes: Sequence[Any], cancel: CancelToken | None = None):
    from tagger.core.store import Store
    from tagger.core.tagwrite import apply_write

    with Store.open_default() as store:
        yield from apply_write(list(changes), store, Path(root), cancel=cancel)


def undo_job(root: str, cancel: CancelToken | None = None):
    """Undo the last write in ``root``, after a scan as ``mood-tagger undo`` does: a file
    moved or renamed since the write takes its journal with it (else: "file not found")."""
    from tagger.core.scan import scan
    from tagger.core.store import Store
    from tagger.core.tagwrite import undo_last

    with Store.open_default() as store:
        for event in scan(root, store, cancel):
            if not isinstance(event, Progress):
                yield event  # the ScanResult: files changed since need analysing again
        yield from undo_last(Path(root), store, cancel=cancel)


def _value(v: Any) -> str:
    return "" if v is None else str(v)


def _is_note(row: Any) -> bool:
    """A file without a mood (a ``NoMood``), listed but never written."""
    return hasattr(row, "kind") and not hasattr(row, "new_value")


def _note_tip(note: Any) -> str:
    if note.kind == "unreadable":
        return f"{note.path}\nCould not be analysed, so there is no mood to write: {note.reason}"
    return f"{note.path}\nNo mood to write: {note.reason}"


#: the score tags' keys in a PlannedChange's ``extra``, and the words the app uses for them
_SCORE_NAMES = (("arousal", "energy"), ("valence", "valence"))


class ChangesModel(QAbstractTableModel):
    """The planned changes as a table (a model, so 50,000 changes open instantly)."""

    HEADERS = ("File", "Old value", "New value", "Confidence", "From")

    def __init__(self, root: Path, confidences: dict[int, float], parent=None) -> None:
        super().__init__(parent)
        self.root = root
        self.confidences = confidences
        self.changes: list[Any] = []
        self.problems: dict[str, str] = {}

    def set_changes(self, changes: Sequence[Any], problems: dict[str, str] | None = None) -> None:
        self.beginResetModel()
        self.changes = list(changes)
        self.problems = dict(problems or {})
        self.endResetModel()

    #: what the "From" column can read
    FROM_VALUES = ("label", "prediction", "can't write", "can't analyse", "silent", "too short")

    def rowCount(self, parent: QModelIndex | QPersistentModelIndex = _ROOT) -> int:
        return 0 if parent.isValid() else len(self.changes)

    def columnCount(self, parent: QModelIndex | QPersistentModelIndex = _ROOT) -> int:
        return 0 if parent.isValid() else len(self.HEADERS)

    def headerData(self, section: int, orientation: Qt.Orientation, role: int = 0):
        if (
            role == Qt.ItemDataRole.DisplayRole
            and orientation == Qt.Orientation.Horizontal
            and 0 <= section < len(self.HEADERS)
        ):
            return self.HEADERS[section]
        return None

    def data(self, index: QModelIndex | QPersistentModelIndex, role: int = 0):
        if not index.isValid() or not 0 <= index.row() < len(self.changes):
            return None
        c = self.changes[index.row()]
        col = index.column()
        if _is_note(c):
            return self._note_data(c, col, role)
        problem = self.problems.get(c.path)
        if role == Qt.ItemDataRole.ToolTipRole:
            if problem:
                return f"{c.path}\nCannot be written: {problem}"
            return str(c.path) if col == 0 else None
        if role == Qt.ItemDataRole.ForegroundRole and problem:
            return QColor(ERROR_COLOUR)
        if role != Qt.ItemDataRole.DisplayRole:
            return None
        if col == 0:
            return name_in(c.path, self.root)
        if col == 1:
            return _value(c.old_value) or "(none)"
        if col == 2:
            extra = getattr(c, "extra", None) or {}
            # named as the option and the tables name them (the tag is MOOD_AROUSAL)
            more = ", ".join(f"{name} {extra[key]}" for key, name in _SCORE_NAMES if key in extra)
            return _value(c.new_value) + (f"  ({more})" if more else "")
        if col == 3:
            conf = self.confidences.get(c.track_id)
            return "" if conf is None else f"{conf:.0%}"
        if col == 4:
            return "can't write" if problem else _value(getattr(c, "source", ""))
        return None

    def _note_data(self, note: Any, col: int, role: int):
        if role == Qt.ItemDataRole.ToolTipRole:
            return _note_tip(note)
        if role == Qt.ItemDataRole.ForegroundRole:
            return QColor(Qt.GlobalColor.gray)
        if role != Qt.ItemDataRole.DisplayRole:
            return None
        if col == 0:
            return name_in(note.path, self.root)
        if col == 2:
            return "(no mood)"
        if col == 4:
            return "can't analyse" if note.kind == "unreadable" else note.kind
        return ""


class WritePreviewDialog(QDialog):
    """Lists every planned change (file, old value, new value) and asks to confirm.

    The options (minimum confidence, energy/valence, keep existing tags) ask the owner to
    plan again through :attr:`replan_requested`; the owner answers with :meth:`set_changes`.
    """

    replan_requested = Signal(object)  # WriteOptions

    def __init__(
        self,
        changes: Sequence[Any],
        root: str,
        parent: QWidget | None = None,
        confidences: dict[int, float] | None = None,
        options: Any = None,
        problems: Sequence[tuple[str, str]] = (),
    ) -> None:
        from tagger.core.tagwrite import WriteOptions

        super().__init__(parent)
        start = options or WriteOptions()
        self.setWindowTitle("Write mood tags")
        self.root = Path(root)
        self.confidences = confidences or {}
        self.changes: list[Any] = []
        lay = QVBoxLayout(self)
        self.intro = QLabel()
        self.intro.setWordWrap(True)
        lay.addWidget(self.intro)

        opts = QHBoxLayout()
        opts.addWidget(QLabel("Write predictions at least"))
        self.min_confidence = QSpinBox()
        self.min_confidence.setRange(0, 100)
        self.min_confidence.setSingleStep(5)
        self.min_confidence.setSuffix(" %")
        self.min_confidence.setValue(round(start.min_confidence * 100))
        self.min_confidence.setToolTip("Your own corrections are always written.")
        opts.addWidget(self.min_confidence)
        opts.addWidget(QLabel("confident"))
        opts.addSpacing(12)
        self.energy_valence = QCheckBox("Also write energy and valence (0-100)")
        self.energy_valence.setChecked(start.energy_valence)
        self.energy_valence.setToolTip(
            "Adds MOOD_AROUSAL / MOOD_VALENCE style tags next to the mood tag."
        )
        opts.addWidget(self.energy_valence)
        opts.addSpacing(12)
        self.keep_existing = QCheckBox("Keep mood tags already in files")
        self.keep_existing.setChecked(start.keep_existing)
        self.keep_existing.setToolTip(
            "Predictions only fill in songs without a mood tag; your own corrections are "
            "always written."
        )
        opts.addWidget(self.keep_existing)
        opts.addStretch(1)
        lay.addLayout(opts)
        self._replan = QTimer(self, singleShot=True, interval=300)
        self._replan.timeout.connect(self._emit_replan)
        self.min_confidence.valueChanged.connect(self._options_changed)
        self.energy_valence.toggled.connect(self._options_changed)
        self.keep_existing.toggled.connect(self._options_changed)

        self.model = ChangesModel(self.root, self.confidences, self)
        self.table = QTableView()
        self.table.setModel(self.model)
        self.table.setEditTriggers(QAbstractItemView.EditTrigger.NoEditTriggers)
        self.table.setSelectionBehavior(QAbstractItemView.SelectionBehavior.SelectRows)
        self.table.verticalHeader().hide()
        self.table.verticalHeader().setSectionResizeMode(QHeaderView.ResizeMode.Fixed)
        self.table.verticalHeader().setDefaultSectionSize(self.fontMetrics().height() + 8)
        self.table.setAlternatingRowColors(True)
        self.table.setWordWrap(False)
        # a cut path keeps its file name in view: "Bob Marley…/01 Track 1.mp3"
        self.table.setTextElideMode(Qt.TextElideMode.ElideMiddle)
        self.table.setShowGrid(False)
        self.table.setTabKeyNavigation(False)  # Tab goes on to the buttons, not cell by cell
        hh = self.table.horizontalHeader()
        hh.setTextElideMode(Qt.TextElideMode.ElideRight)
        hh.setSectionResizeMode(0, QHeaderView.ResizeMode.Stretch)
        em = self.fontMetrics().horizontalAdvance("M")
        for col, width in ((1, 8), (2, 16), (3, 7), (4, 7)):
            hh.setSectionResizeMode(col, QHeaderView.ResizeMode.Interactive)
            # never narrower than the header ("Confidence" was "Confiden…" in 7 em)
            needed = hh.sectionSizeFromContents(col).width()
            self.table.setColumnWidth(col, max(width * em, needed))
        # and as wide as its longest value ("can't analyse" read "can'…lyse" in 7 em)
        fm = self.table.fontMetrics()
        longest = max(fm.horizontalAdvance(v) for v in ChangesModel.FROM_VALUES)
        self.table.setColumnWidth(4, max(self.table.columnWidth(4), longest + 2 * fm.height()))
        lay.addWidget(self.table)
        sb = QDialogButtonBox.StandardButton
        self.buttons = QDialogButtonBox(sb.Ok | sb.Cancel)
        self.ok_button = self.buttons.button(sb.Ok)
        self.ok_button.setDefault(True)
        self.buttons.accepted.connect(self.accept)
        self.buttons.rejected.connect(self.reject)
        lay.addWidget(self.buttons)
        fm = self.fontMetrics()
        self.resize(fm.horizontalAdvance("M") * 76, fm.height() * 26)
        self.set_changes(changes, problems)

    def _fit_new_value_column(self) -> None:
        """Wide enough for the longest value the options can give ("Aggressive (energy
        100, valence 100)" was cut to "Aggressive (arousal 10…"), without measuring every
        row (50,000 changes open at once)."""
        fm = self.table.fontMetrics()
        widest = "Aggressive  (energy 100, valence 100)" if self.energy_valence.isChecked() else ""
        want = max(16 * fm.horizontalAdvance("M"), fm.horizontalAdvance(widest) + 2 * fm.height())
        if self.table.columnWidth(2) < want:
            self.table.setColumnWidth(2, want)

    def cell(self, row: int, column: int) -> str:
        """The text shown at ``(row, column)`` of the preview table."""
        return str(self.model.index(row, column).data() or "")

    def row_count(self) -> int:
        return self.model.rowCount()

    def options(self) -> Any:
        """The WriteOptions the dialog shows."""
        from tagger.core.tagwrite import WriteOptions

        return WriteOptions(
            self.min_confidence.value() / 100,
            self.energy_valence.isChecked(),
            self.keep_existing.isChecked(),
        )

    def _options_changed(self, *_args: object) -> None:
        self.ok_button.setEnabled(False)
        self.intro.setText("Updating the list…")
        self._replan.start()

    def _emit_replan(self) -> None:
        self.replan_requested.emit(self.options())

    def set_changes(self, changes: Sequence[Any], problems: Sequence[tuple[str, str]] = ()) -> None:
        """Show ``changes``; those in ``problems`` are listed as not writable and skipped,
        and files without a mood (NoMood notes among ``changes``) are listed last, in grey."""
        from tagger.core.tagwrite import keeping_existing

        bad = dict(problems)
        notes = [c for c in changes if _is_note(c)]
        changes = [c for c in changes if not _is_note(c)]
        kept = 0
        if self.keep_existing.isChecked():
            before = len(changes)
            changes = keeping_existing(changes)
            kept = before - len(changes)
        self._fit_new_value_column()
        self.changes = [c for c in changes if c.path not in bad]
        #: (path, why) of the files that cannot be written: the write's result lists them
        self.skipped = [(c.path, bad[c.path]) for c in changes if c.path in bad]
        n, skipped = len(self.changes), len(changes) - len(self.changes)
        if n:
            fields = (
                "the mood, energy and valence tags are"
                if self.energy_valence.isChecked()
                else "the mood tag is"
            )
            # a file whose mood tag already holds the mood gets only energy and valence
            scores_only = sum(1 for c in self.changes if c.old_value == c.new_value)
            moods = n - scores_only
            if not scores_only:
                text = f"{count_text(n, 'file')} will get a new mood tag."
            elif not moods:
                text = (
                    f"{count_text(n, 'file')} already {'has' if n == 1 else 'have'} the right "
                    f"mood tag and will get new energy and valence tags."
                )
            else:
                text = (
                    f"{count_text(moods, 'file')} will get a new mood tag, and "
                    f"{count_text(scores_only, 'file')} that already "
                    f"{'has' if scores_only == 1 else 'have'} the right one only new energy "
                    "and valence tags."
                )
            text += (
                f" Only {fields} changed; you can undo this afterwards (Tags ▸ Undo Last Write)."
            )
            corrected = sum(1 for c in self.changes if c.source == "label" and not c.extra)
            if corrected and self.energy_valence.isChecked():  # it wrote them silently
                text += (
                    f" {count_text(corrected, 'song')} you gave another mood than the model "
                    f"{'gets' if corrected == 1 else 'get'} no energy and valence: the "
                    "model's would contradict it."
                )
        elif skipped:
            text = "Nothing can be written."
        elif notes:
            text = "Nothing to write."
        else:
            text = "Nothing to write: every file already has the right mood tag."
        if skipped:
            text += (
                f" {skipped} file{'s' if skipped != 1 else ''} cannot be written and will be "
                "skipped (in red; hover for why)."
            )
        if kept:  # "Keep mood tags already in files" made the list shorter: by how many
            text += (
                f" {count_text(kept, 'file')} keep{'s' if kept == 1 else ''} the mood tag "
                f"{'it has' if kept == 1 else 'they have'} (a prediction would have "
                "replaced it)."
            )
        threshold = self.min_confidence.value() / 100
        low = sum(1 for c in self.confidences.values() if c < threshold)
        if low:  # they are not in the list, so say so: 18 predictions became 16 silently
            text += (
                f" {count_text(low, 'prediction')} under {self.min_confidence.value()} % "
                f"confidence {'is' if low == 1 else 'are'} left out."
            )
        text += _notes_text(notes)
        self.intro.setText(text)
        # problem files first, so they are seen; files without a mood last
        self.model.set_changes([*sorted(changes, key=lambda c: c.path not in bad), *notes], bad)
        self.ok_button.setText(f"Write {n} tag{'s' if n != 1 else ''}")
        self.ok_button.setEnabled(n > 0)


def _notes_text(notes: Sequence[Any]) -> str:
    """What the preview says of the files without a mood (as ``mood-tagger write`` does)."""
    unreadable = sum(1 for n in notes if n.kind == "unreadable")
    quiet = len(notes) - unreadable
    text = ""
    if unreadable:
        text += (
            f" {unreadable} file{'s' if unreadable != 1 else ''} could not be analysed, so "
            "there is no mood to write (in grey; hover for why)."
        )
    if quiet:
        text += (
            f" {quiet} silent or very short file{'s have' if quiet != 1 else ' has'} "
            "no mood to write."
        )
    return text


class WriteResultDialog(QDialog):
    """After a write or undo: how many files changed, which failed and why, and (undo)
    which were kept as they are because their mood tag was changed since the write."""

    def __init__(
        self,
        title: str,
        written: int,
        errors: Sequence[tuple[str, str]],
        parent: QWidget | None = None,
        kept: Sequence[tuple[str, str]] = (),
        root: str | Path | None = None,
    ) -> None:
        """``root``: the music folder; files are named from it ("Artist/Album/01.mp3": a
        bare "01.mp3" could be on any album), in full in their tooltips."""
        super().__init__(parent)
        self.setWindowTitle(title)
        lay = QVBoxLayout(self)
        msg = f"{written} file{'s' if written != 1 else ''} updated."
        if errors:
            msg += f" {len(errors)} could not be changed (they were left untouched)."
        if kept:
            msg += (
                f" {len(kept)} kept as found, not an error: the mood tag was changed "
                "since the write."
            )
        lab = QLabel(msg)
        lab.setWordWrap(True)
        lay.addWidget(lab)
        rows = [(p, e) for p, e in errors] + [(p, f"kept: {e}") for p, e in kept]
        self.table = QTableWidget(len(rows), 2)
        self.table.setHorizontalHeaderLabels(["File", "Why"])
        self.table.verticalHeader().hide()
        self.table.setEditTriggers(QAbstractItemView.EditTrigger.NoEditTriggers)
        for i, (path, why) in enumerate(rows):
            item = QTableWidgetItem(name_in(path, root) if root is not None else Path(path).name)
            item.setToolTip(path)
            self.table.setItem(i, 0, item)
            reason = QTableWidgetItem(why)
            reason.setToolTip(why)
            self.table.setItem(i, 1, reason)
        self.table.setTextElideMode(Qt.TextElideMode.ElideMiddle)
        em = self.fontMetrics().horizontalAdvance("M")
        self.table.horizontalHeader().setResizeContentsPrecision(200)  # 10,000 failures
        self.table.resizeColumnToContents(0)
        self.table.setColumnWidth(0, min(self.table.columnWidth(0), 28 * em))
        self.table.horizontalHeader().setSectionResizeMode(1, QHeaderView.ResizeMode.Stretch)
        self.table.setVisible(bool(rows))
        lay.addWidget(self.table)
        buttons = QDialogButtonBox(QDialogButtonBox.StandardButton.Close)
        buttons.rejected.connect(self.reject)
        buttons.accepted.connect(self.accept)
        lay.addWidget(buttons)
        self.setMinimumWidth(em * 40)
        self.resize(em * 56, self.sizeHint().height())
        self.setWindowModality(Qt.WindowModality.WindowModal)
