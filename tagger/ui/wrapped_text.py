"""A selectable, word-wrapped text that breaks a word too long for its line anywhere."""

from __future__ import annotations

import math

from PySide6.QtCore import QSize, Qt
from PySide6.QtGui import QResizeEvent, QTextDocument, QTextOption
from PySide6.QtWidgets import QFrame, QSizePolicy, QTextEdit, QWidget


class WrappedTextView(QTextEdit):
    """Selectable plain text that looks like a word-wrapped QLabel but also breaks a word
    too long for the line anywhere (a QLabel breaks only between words, so one long file
    name made the pane wider than its minimum, scrolling sideways). Nothing is inserted
    to wrap: what is copied is the text as set."""

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setReadOnly(True)
        self.setFrameShape(QFrame.Shape.NoFrame)
        self.viewport().setAutoFillBackground(False)
        self.setHorizontalScrollBarPolicy(Qt.ScrollBarPolicy.ScrollBarAlwaysOff)
        self.setVerticalScrollBarPolicy(Qt.ScrollBarPolicy.ScrollBarAlwaysOff)
        self.setWordWrapMode(QTextOption.WrapMode.WrapAtWordBoundaryOrAnywhere)
        self.setTextInteractionFlags(
            Qt.TextInteractionFlag.TextSelectableByMouse
            | Qt.TextInteractionFlag.TextSelectableByKeyboard
        )
        self.setFocusPolicy(Qt.FocusPolicy.ClickFocus)  # not a stop for Tab, like a label
        self.document().setDocumentMargin(0)
        policy = QSizePolicy(QSizePolicy.Policy.Preferred, QSizePolicy.Policy.Preferred)
        policy.setHeightForWidth(True)
        self.setSizePolicy(policy)

    def setText(self, text: str) -> None:
        self.setPlainText(text)
        self._fit_height()
        self.updateGeometry()

    def _fit_height(self) -> None:
        """At least as tall as the text wrapped at the width given: a layout short of
        room (the Review form in a short window) otherwise squeezed it, cutting lines off,
        where a scroll area around it can scroll instead."""
        height = self.heightForWidth(self.width())
        if height != self.minimumHeight():
            self.setMinimumHeight(height)

    def resizeEvent(self, event: QResizeEvent) -> None:
        super().resizeEvent(event)
        if event.size().width() != event.oldSize().width():
            self._fit_height()

    def text(self) -> str:
        return self.toPlainText()

    def hasHeightForWidth(self) -> bool:
        return True

    def _laid_out(self, width: float) -> QTextDocument:
        """The text laid out ``width`` px wide (-1: unwrapped), apart from the one shown."""
        doc = self.document().clone()  # owned by Python: freed when dropped
        doc.setDefaultFont(self.font())
        doc.setDocumentMargin(self.document().documentMargin())
        doc.setDefaultTextOption(self.document().defaultTextOption())
        doc.setTextWidth(width)
        return doc

    def heightForWidth(self, width: int) -> int:
        doc = self._laid_out(max(1, width - 2 * self.frameWidth()))
        height = math.ceil(doc.size().height()) + 2 * self.frameWidth()
        return max(height, self.fontMetrics().height())

    def sizeHint(self) -> QSize:
        width = math.ceil(self._laid_out(-1).idealWidth()) + 2 * self.frameWidth()
        return QSize(width, self.heightForWidth(width))

    def minimumSizeHint(self) -> QSize:
        """A few letters wide and a line high: the layout asks :meth:`heightForWidth`
        for the height at the width it gives (a scroll area grows its widget to the
        minimum, so the height of the text wrapped at the minimum width left a gap)."""
        return QSize(4 * self.fontMetrics().horizontalAdvance("M"), self.sizeHint().height())
