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

from PySide6.QtCore import Qt
from PySide6.QtWidgets import (
    QAbstractItemView,
    QDialog,
    QDialogButtonBox,
    QHeaderView,
    QLabel,
    QTableWidget,
    QTableWidgetItem,
    QVBoxLayout,
    QWidget,
)

from tagger.core.progress import CancelToken

log = logging.getLogger(__name__)


def tagwrite_available() -> bool:
    try:
        import tagger.core.tagwrite  # noqa: F401
    except ImportError:
        return False
    return True


@dataclass(frozen=True, slots=True)
class PlanReady:
    changes: tuple  # PlannedChange


def plan_job(
    root: str,
    model_id: str,
    min_confidence: float = 0.0,
    energy_valence: bool | None = None,
    cancel: CancelToken | None = None,
) -> Iterator[Any]:
    """Plan a write like ``mood-tagger write`` (energy/valence from the settings)."""
    from tagger.core.store import Store
    from tagger.core.tagwrite import energy_valence_setting, plan_write

    if energy_valence is None:
        energy_valence = energy_valence_setting()

    with Store.open_default() as store:
        changes = plan_write(
            Path(root),
            store,
            model_id,
            min_confidence=min_confidence,
            energy_valence=energy_valence,
        )
    yield PlanReady(tuple(changes))


def apply_job(root: str, changes: Sequence[Any], cancel: CancelToken | None = None):
    from tagger.core.store import Store
    from tagger.core.tagwrite import apply_write

    with Store.open_default() as store:
        yield from apply_write(list(changes), store, Path(root), cancel=cancel)


def undo_job(root: str, cancel: CancelToken | None = None):
    from tagger.core.store import Store
    from tagger.core.tagwrite import undo_last

    with Store.open_default() as store:
        yield from undo_last(Path(root), store, cancel=cancel)


def _value(v: Any) -> str:
    return "" if v is None else str(v)


class WritePreviewDialog(QDialog):
    """Lists every planned change (file, old value, new value) and asks to confirm."""

    def __init__(self, changes: Sequence[Any], root: str, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setWindowTitle("Write mood tags")
        self.changes = list(changes)
        n = len(self.changes)
        lay = QVBoxLayout(self)
        if n:
            text = (
                f"{n} file{'s' if n != 1 else ''} will get a new mood tag. Only the mood "
                "tag is changed; you can undo this afterwards (Tags ▸ Undo last write)."
            )
        else:
            text = "Every file already has the right mood tag: nothing to write."
        intro = QLabel(text)
        intro.setWordWrap(True)
        lay.addWidget(intro)
        self.table = QTableWidget(n, 4)
        self.table.setHorizontalHeaderLabels(["File", "Old value", "New value", "From"])
        self.table.setEditTriggers(QAbstractItemView.EditTrigger.NoEditTriggers)
        self.table.setSelectionBehavior(QAbstractItemView.SelectionBehavior.SelectRows)
        self.table.verticalHeader().hide()
        self.table.verticalHeader().setDefaultSectionSize(self.fontMetrics().height() + 8)
        self.table.setAlternatingRowColors(True)
        self.table.setWordWrap(False)
        rootp = Path(root)
        for i, c in enumerate(self.changes):
            p = Path(c.path)
            try:
                shown = str(p.relative_to(rootp))
            except ValueError:
                shown = str(p)
            item = QTableWidgetItem(shown)
            item.setToolTip(str(p))
            self.table.setItem(i, 0, item)
            self.table.setItem(i, 1, QTableWidgetItem(_value(c.old_value) or "(none)"))
            self.table.setItem(i, 2, QTableWidgetItem(_value(c.new_value)))
            self.table.setItem(i, 3, QTableWidgetItem(_value(getattr(c, "source", ""))))
        hh = self.table.horizontalHeader()
        hh.setSectionResizeMode(0, QHeaderView.ResizeMode.Stretch)
        for col in (1, 2, 3):
            hh.setSectionResizeMode(col, QHeaderView.ResizeMode.ResizeToContents)
        lay.addWidget(self.table)
        sb = QDialogButtonBox.StandardButton
        buttons = QDialogButtonBox(sb.Cancel | (sb.Ok if n else sb.NoButton))
        ok = buttons.button(QDialogButtonBox.StandardButton.Ok)
        if ok is not None:
            ok.setText(f"Write {n} tag{'s' if n != 1 else ''}")
            ok.setDefault(True)
        buttons.accepted.connect(self.accept)
        buttons.rejected.connect(self.reject)
        self.buttons = buttons
        lay.addWidget(buttons)
        fm = self.fontMetrics()
        self.resize(fm.horizontalAdvance("M") * 70, fm.height() * 24)


class WriteResultDialog(QDialog):
    """After a write or undo: how many files changed and which failed, and why."""

    def __init__(
        self,
        title: str,
        written: int,
        errors: Sequence[tuple[str, str]],
        parent: QWidget | None = None,
    ) -> None:
        super().__init__(parent)
        self.setWindowTitle(title)
        lay = QVBoxLayout(self)
        msg = f"{written} file{'s' if written != 1 else ''} updated."
        if errors:
            msg += f" {len(errors)} could not be changed (they were left untouched):"
        lab = QLabel(msg)
        lab.setWordWrap(True)
        lay.addWidget(lab)
        self.table = QTableWidget(len(errors), 2)
        self.table.setHorizontalHeaderLabels(["File", "Error"])
        self.table.verticalHeader().hide()
        self.table.setEditTriggers(QAbstractItemView.EditTrigger.NoEditTriggers)
        for i, (path, err) in enumerate(errors):
            item = QTableWidgetItem(Path(path).name)
            item.setToolTip(path)
            self.table.setItem(i, 0, item)
            self.table.setItem(i, 1, QTableWidgetItem(err))
        self.table.horizontalHeader().setSectionResizeMode(1, QHeaderView.ResizeMode.Stretch)
        self.table.setVisible(bool(errors))
        lay.addWidget(self.table)
        buttons = QDialogButtonBox(QDialogButtonBox.StandardButton.Close)
        buttons.rejected.connect(self.reject)
        buttons.accepted.connect(self.accept)
        lay.addWidget(buttons)
        self.setMinimumWidth(self.fontMetrics().horizontalAdvance("M") * 40)
        self.setWindowModality(Qt.WindowModality.WindowModal)
