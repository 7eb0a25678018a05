"""Telling the person that a change could not be saved in the library database."""

from __future__ import annotations

import sqlite3

from PySide6.QtWidgets import QMessageBox, QWidget

from tagger.core.store import write_failed_text
from tagger.core.text import count_text

#: Seconds the GUI thread's store waits for another process's write (a CLI `analyze`
#: saves a prediction in milliseconds; a minute-long lock would freeze the window).
GUI_DB_TIMEOUT = 3.0


def label_not_saved(parent: QWidget, exc: sqlite3.Error, n: int = 1) -> None:
    """A modal warning: the label(s) were not saved, and why."""
    what = "Your label was" if n == 1 else f"Your labels of {count_text(n, 'song')} were"
    QMessageBox.warning(
        parent,
        "Label not saved",
        f"{what} not saved: {write_failed_text(exc)}.",
    )
