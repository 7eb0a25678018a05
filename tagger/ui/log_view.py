"""Recent log records in the window (a dock): what went wrong without opening a terminal.

A :class:`logging.Handler` may be called from any thread; it forwards formatted records
through a queued Qt signal, so only the GUI thread touches the widget.
"""

from __future__ import annotations

import logging

from PySide6.QtCore import QObject, Signal
from PySide6.QtGui import QFontDatabase
from PySide6.QtWidgets import QPlainTextEdit, QWidget

MAX_LINES = 2000


class _Bridge(QObject):
    record = Signal(str)


class QtLogHandler(logging.Handler):
    """Sends formatted records to :class:`LogView` (thread-safe)."""

    def __init__(self, level: int = logging.INFO) -> None:
        super().__init__(level)
        self.bridge = _Bridge()
        self.setFormatter(
            logging.Formatter("%(asctime)s %(levelname)s %(name)s: %(message)s", "%H:%M:%S")
        )

    def emit(self, record: logging.LogRecord) -> None:
        try:
            self.bridge.record.emit(self.format(record))
        except RuntimeError:  # the window is gone while a worker still logs
            pass
        except Exception:
            self.handleError(record)


class LogView(QPlainTextEdit):
    """Read-only view of the last :data:`MAX_LINES` log lines; detaches on close."""

    def __init__(self, parent: QWidget | None = None, level: int = logging.INFO) -> None:
        super().__init__(parent)
        self.setReadOnly(True)
        self.setMaximumBlockCount(MAX_LINES)
        self.setFont(QFontDatabase.systemFont(QFontDatabase.SystemFont.FixedFont))
        self.setAccessibleName("Log")
        self.handler = QtLogHandler(level)
        self.handler.bridge.record.connect(self.appendPlainText)
        logging.getLogger().addHandler(self.handler)
        if logging.getLogger().level > level:
            logging.getLogger().setLevel(level)

    def detach(self) -> None:
        logging.getLogger().removeHandler(self.handler)
