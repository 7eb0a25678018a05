"""The detail pane: everything about the selected track.

Mood probabilities as bars, energy and valence meters, the log-mel spectrogram of the
segments the model listened to (computed by a worker: decoding never runs on the GUI
thread), the file path and the state of its mood tag.
"""

from __future__ import annotations

import logging
from collections import OrderedDict
from pathlib import Path
from typing import Any

from PySide6.QtCore import QRectF, QSize, Qt, QTimer
from PySide6.QtGui import (
    QColor,
    QFont,
    QFontMetrics,
    QImage,
    QPainter,
    QPalette,
    QPixmap,
)
from PySide6.QtWidgets import (
    QFormLayout,
    QLabel,
    QScrollArea,
    QSizePolicy,
    QStyle,
    QVBoxLayout,
    QWidget,
)

from tagger.core.library import LibraryRow
from tagger.core.moods import COLOURS, ERROR_COLOUR, MOODS, display_name
from tagger.core.text import format_length
from tagger.ui.library_model import Status, text_on
from tagger.ui.workers import GeneratorWorker, SpectrogramReady, spectrogram_job
from tagger.ui.wrapped_text import WrappedTextView

log = logging.getLogger(__name__)


class BarsWidget(QWidget):
    """Horizontal labelled bars (value 0..1 each), painted with QPainter."""

    def __init__(self, parent: QWidget | None = None, percent: bool = True) -> None:
        super().__init__(parent)
        self._items: list[tuple[str, float, QColor, bool]] = []
        #: "42%" (probabilities) or "0.42" (energy and valence, as the tables show them)
        self.percent = percent
        self.setSizePolicy(QSizePolicy.Policy.Expanding, QSizePolicy.Policy.Fixed)

    def set_items(self, items: list[tuple[str, float, QColor, bool]]) -> None:
        """``(label, value 0..1, colour, emphasised)`` per bar."""
        self._items = items
        self.updateGeometry()
        self.update()

    def value_text(self, value: float) -> str:
        """The figure drawn beside a bar."""
        return f"{value:.0%}" if self.percent else f"{value:.2f}"

    def items(self) -> list[tuple[str, float, QColor, bool]]:
        return list(self._items)

    def _row_height(self) -> int:
        return self.fontMetrics().height() + 8

    def sizeHint(self) -> QSize:
        return QSize(240, max(1, len(self._items)) * self._row_height() + 2)

    def minimumSizeHint(self) -> QSize:
        """Room for the widest label, a short bar and "100%" (a fixed 160 px cut the
        percentages off in a narrow pane)."""
        label_w, pct_w = self._text_widths()
        bar_w = 4 * self.fontMetrics().horizontalAdvance("M")
        return QSize(label_w + pct_w + bar_w, self.sizeHint().height())

    def _text_widths(self) -> tuple[int, int]:
        """(label column, percentage column) widths, in bold: the emphasised row is."""
        bold = QFont(self.font())
        bold.setBold(True)
        fm = QFontMetrics(bold)
        labels = [t for t, *_ in self._items] or ["Aggressive"]
        return max(fm.horizontalAdvance(t) for t in labels) + 10, fm.horizontalAdvance("100%") + 8

    def paintEvent(self, event) -> None:
        p = QPainter(self)
        p.setRenderHint(QPainter.RenderHint.Antialiasing)
        label_w, pct_w = self._text_widths()
        rh = self._row_height()
        track = self.palette().color(QPalette.ColorRole.Mid)
        track.setAlpha(70)
        text = self.palette().color(QPalette.ColorRole.WindowText)
        for k, (label, value, colour, strong) in enumerate(self._items):
            y = k * rh
            f = QFont(self.font())
            f.setBold(strong)
            p.setFont(f)
            p.setPen(text)
            p.drawText(
                QRectF(0, y, label_w, rh),
                int(Qt.AlignmentFlag.AlignLeft | Qt.AlignmentFlag.AlignVCenter),
                label,
            )
            bar_w = max(10.0, self.width() - label_w - pct_w)
            bar = QRectF(label_w, y + 4, bar_w, rh - 8)
            p.setPen(Qt.PenStyle.NoPen)
            p.setBrush(track)
            p.drawRoundedRect(bar, 3, 3)
            fill = QRectF(bar.x(), bar.y(), bar.width() * max(0.0, min(1.0, value)), bar.height())
            p.setBrush(colour)
            p.drawRoundedRect(fill, 3, 3)
            p.setPen(text)
            p.drawText(
                QRectF(label_w + bar_w, y, pct_w, rh),
                int(Qt.AlignmentFlag.AlignRight | Qt.AlignmentFlag.AlignVCenter),
                self.value_text(value),
            )
        p.end()


class SpectrogramLabel(QLabel):
    """Shows an RGB image stretched to the width available, at a fixed height.

    The height never depends on the width: in a scroll area that feedback (taller ->
    scrollbar -> narrower -> shorter -> no scrollbar -> ...) recurses until the stack
    overflows.
    """

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self._pixmap: QPixmap | None = None
        self._scaled_for: tuple[int, int] | None = None
        self.setAlignment(Qt.AlignmentFlag.AlignCenter)
        self.setSizePolicy(QSizePolicy.Policy.Ignored, QSizePolicy.Policy.Fixed)
        self.setFixedHeight(max(100, 8 * self.fontMetrics().height()))

    def set_rgb(self, rgb) -> None:
        h, w, _ = rgb.shape
        img = QImage(rgb.data, w, h, 3 * w, QImage.Format.Format_RGB888).copy()
        self._pixmap = QPixmap.fromImage(img)
        self._scaled_for = None
        self.setText("")
        self._rescale()

    def clear_image(self, text: str = "") -> None:
        self._pixmap = None
        self._scaled_for = None
        self.setPixmap(QPixmap())
        self.setText(text)

    def has_image(self) -> bool:
        return self._pixmap is not None

    def resizeEvent(self, event) -> None:
        super().resizeEvent(event)
        self._rescale()

    def _rescale(self) -> None:
        if self._pixmap is None or self.width() <= 1:
            return
        size = (self.width(), self.height())
        if size == self._scaled_for:
            return
        self._scaled_for = size
        scaled = self._pixmap.scaled(
            size[0],
            size[1],
            Qt.AspectRatioMode.IgnoreAspectRatio,
            Qt.TransformationMode.SmoothTransformation,
        )
        super().setPixmap(scaled)


def tag_text(row: LibraryRow) -> str:
    """The "Mood tag:" line: the tag in the file, or why the file's tags are unknown."""
    if row.tag_error:
        why = row.tag_error.removeprefix("cannot read tags: ")
        if row.unreadable and row.error and why in row.error:
            return "unknown (the file cannot be read)"  # the reason is said below, once
        return f"could not be read ({why})"
    return f"“{row.mood_tag}”" if row.mood_tag else "none written"


def _chip(mood: str) -> str:
    """A mood name on its colour, as rich text."""
    colour = QColor(COLOURS[mood])
    return (
        f'<span style="background:{colour.name()}; color:{text_on(colour).name()};">'
        f"&nbsp;{display_name(mood)}&nbsp;</span>"
    )


#: What the pane says of a song without a mood yet, by where it is in the analysis.
_PENDING = {Status.QUEUED: "Waiting to be analysed…", Status.ANALYSING: "Analysing…"}


class DetailPane(QWidget):
    """Details of one :class:`LibraryRow`; call :meth:`show_row` (None clears)."""

    CACHE_SIZE = 16

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self._row: LibraryRow | None = None
        self._analysis: str | None = None  # where the shown song is in an analysis
        self._loaded: Any = None
        self._worker: GeneratorWorker | None = None
        self._workers: list[GeneratorWorker] = []
        self._cache: OrderedDict[str, SpectrogramReady] = OrderedDict()
        self._stopped = False
        self._debounce = QTimer(self, singleShot=True, interval=150)
        self._debounce.timeout.connect(self._start_spectrogram)

        self.title = WrappedTextView()  # it may be a file name with no space in it
        f = self.title.font()
        f.setPointSizeF(f.pointSizeF() * 1.35)
        f.setBold(True)
        self.title.setFont(f)
        self.subtitle = QLabel()
        self.subtitle.setWordWrap(True)
        self.mood_label = QLabel()
        self.mood_label.setTextFormat(Qt.TextFormat.RichText)
        self.mood_label.setWordWrap(True)  # "(your label; the model said …)" can be long
        self.probs = BarsWidget()
        self.probs.setAccessibleName("Mood probabilities")
        self.axes = BarsWidget(percent=False)
        self.axes.setAccessibleName("Energy and valence")
        self.spectrogram = SpectrogramLabel()
        self.spectrogram.setAccessibleName("Spectrogram of the analysed segments")
        self.spec_caption = QLabel()
        self.spec_caption.setWordWrap(True)
        small = self.spec_caption.font()
        small.setPointSizeF(small.pointSizeF() * 0.9)
        self.spec_caption.setFont(small)
        self.path_label = WrappedTextView()
        self.path_label.setAccessibleName("File path")
        self.tag_label = QLabel()
        self.tag_label.setWordWrap(True)
        self.error_label = QLabel()
        self.error_label.setWordWrap(True)
        self.error_label.setStyleSheet(f"color: {ERROR_COLOUR};")
        self.placeholder = QLabel("Select a track to see its mood in detail.")
        self.placeholder.setAlignment(Qt.AlignmentFlag.AlignCenter)
        self.placeholder.setWordWrap(True)

        body = QWidget()
        lay = QVBoxLayout(body)
        lay.addWidget(self.title)
        lay.addWidget(self.subtitle)
        lay.addSpacing(6)
        lay.addWidget(self.mood_label)
        lay.addWidget(self.probs)
        lay.addSpacing(6)
        lay.addWidget(self.axes)
        lay.addSpacing(6)
        lay.addWidget(self.spectrogram)
        lay.addWidget(self.spec_caption)
        form = QFormLayout()
        form.setFieldGrowthPolicy(QFormLayout.FieldGrowthPolicy.AllNonFixedFieldsGrow)
        form.addRow("File:", self.path_label)
        # "File:" on the first line of a path that wraps, not centred on it
        file_label = form.labelForField(self.path_label)
        across = file_label.alignment() & Qt.AlignmentFlag.AlignHorizontal_Mask
        file_label.setAlignment(across | Qt.AlignmentFlag.AlignTop)
        form.addRow("Mood tag:", self.tag_label)
        lay.addLayout(form)
        lay.addWidget(self.error_label)
        lay.addStretch(1)
        self._body = body

        scroll = QScrollArea()
        scroll.setWidgetResizable(True)
        scroll.setFrameShape(QScrollArea.Shape.NoFrame)
        scroll.setWidget(body)
        outer = QVBoxLayout(self)
        outer.setContentsMargins(0, 0, 0, 0)
        outer.addWidget(self.placeholder)
        outer.addWidget(scroll)
        self._scroll = scroll
        # what the body needs (the bars: "Aggressive" in bold, a bar, "100%") beside a
        # vertical scroll bar, so that nothing is cut off or scrolls sideways
        sb = scroll.style().pixelMetric(QStyle.PixelMetric.PM_ScrollBarExtent, None, scroll)
        self.setMinimumWidth(body.minimumSizeHint().width() + sb)
        self.show_row(None)

    def set_model(self, loaded: Any) -> None:
        """The loaded model whose feature settings the spectrogram uses."""
        self._loaded = loaded
        self._cache.clear()
        if self._row is not None:
            self.show_row(self._row, self._analysis)

    @property
    def row(self) -> LibraryRow | None:
        return self._row

    def show_row(self, row: LibraryRow | None, analysis: str | None = None) -> None:
        """Show ``row``; ``analysis``: ``Status.QUEUED`` or ``Status.ANALYSING`` while an
        analysis that will give it a mood runs (None: none is running for it)."""
        same_track = (
            row is not None
            and self._row is not None
            and row.path == self._row.path
            and self.spectrogram.has_image()
        )
        self._row, self._analysis = row, analysis
        self.placeholder.setVisible(row is None)
        self._scroll.setVisible(row is not None)
        if row is None:
            self._cancel_worker()
            return
        self.title.setText(row.title or Path(row.path).stem)
        self.subtitle.setText(" — ".join(x for x in (row.artist, row.album) if x) or "")
        s = row.scores
        if s is not None:
            chip = _chip(row.mood or s.mood)
            if row.label and row.label != s.mood:
                text = (
                    f"{chip}&nbsp; your label; the model said {display_name(s.mood)}, "
                    f"{s.confidence:.0%} confident"
                )
            elif row.label:
                text = f"{chip}&nbsp; your label; the model agrees, {s.confidence:.0%} confident"
            else:
                text = f"{chip}&nbsp; {s.confidence:.0%} confident"
            self.mood_label.setText(text)
            self.probs.set_items(
                [
                    (display_name(m), p, QColor(COLOURS[m]), m == s.mood)
                    for m, p in zip(MOODS, s.probabilities, strict=True)
                ]
            )
            accent = self.palette().color(QPalette.ColorRole.Highlight)
            self.axes.set_items(
                [("Energy", s.energy, accent, False), ("Valence", s.valence, accent, False)]
            )
            self.probs.show()
            self.axes.show()
        else:
            reason = row.no_mood
            if reason == "silent":
                text = "No mood: the song is silent."
            elif reason:
                text = f"No mood: {row.error}."
            else:
                text = (
                    "Could not analyse."
                    if row.error
                    else _PENDING.get(analysis or "", "Not analysed yet.")
                )
            if row.label:
                text = f"{_chip(row.label)}&nbsp; your label. {text}"
            self.mood_label.setText(text)
            self.probs.hide()
            self.axes.hide()
        self.path_label.setText(row.path)
        self.tag_label.setText(tag_text(row))
        self.error_label.setText(row.error or "")
        self.error_label.setVisible(row.unreadable)
        if s is None:
            # the picture is of what the model listened to: none without a prediction (a
            # song waiting for its re-analysis kept the old one beside "Not analysed yet")
            self._cancel_worker()
            pending = "" if row.error else "No spectrogram until the song is analysed."
            self.spectrogram.clear_image(pending)
            self.spec_caption.setText("")
            return
        if same_track:
            return
        self._cancel_worker()
        cached = self._cache.get(row.path)
        if cached is not None:
            self._show_spectrogram(cached)
        elif self._loaded is None:
            self.spectrogram.clear_image("")
            self.spec_caption.setText("")
        else:
            self.spectrogram.clear_image("Loading spectrogram…")
            self.spec_caption.setText("")
            self._debounce.start()

    def _cancel_worker(self) -> None:
        self._debounce.stop()
        if self._worker is not None:
            self._worker.cancel()
            self._worker = None

    def _start_spectrogram(self) -> None:
        if self._stopped or self._row is None or self._row.scores is None or self._loaded is None:
            return
        w = GeneratorWorker(spectrogram_job, self._row.path, self._loaded)
        w.signals.yielded.connect(self._on_worker_yielded)
        w.signals.finished.connect(lambda _c, w=w: self._forget(w))
        self._worker = w
        self._workers.append(w)
        w.start()

    def _forget(self, w: GeneratorWorker) -> None:
        if w in self._workers:
            self._workers.remove(w)

    def cancel_all(self) -> None:
        """Stop for good (the window is closing): cancel the running jobs and start no
        new one, not even the one a selection change just before asked for."""
        self._stopped = True
        self._debounce.stop()
        for w in self._workers:
            w.cancel()

    def _on_worker_yielded(self, event: object) -> None:
        if not isinstance(event, SpectrogramReady):
            return
        if event.error is None:
            self._cache[event.path] = event
            while len(self._cache) > self.CACHE_SIZE:
                self._cache.popitem(last=False)
        row = self._row
        if row is not None and row.path == event.path and row.scores is not None:
            self._show_spectrogram(event)

    def _show_spectrogram(self, ev: SpectrogramReady) -> None:
        if ev.error:
            self.spectrogram.clear_image("No spectrogram")
            self.spec_caption.setText(ev.error)
            return
        self.spectrogram.set_rgb(ev.rgb)
        starts = ", ".join(format_length(t) for t in ev.starts)
        n = len(ev.starts)
        self.spec_caption.setText(
            f"Log-mel spectrogram of the {n} segment{'s' if n != 1 else ''} the model "
            f"listened to (starting at {starts} of {format_length(ev.duration)})."
        )

    def spectrogram_shown_for(self) -> str | None:
        """Path whose spectrogram is on screen (for tests)."""
        if self._row is not None and self.spectrogram.has_image():
            return self._row.path
        return None
