"""The mood map: every analysed song as a point at (valence, energy), coloured by mood.

Drawn by hand (not QGraphicsView) so 20,000 points stay smooth: the points are painted
once into a cached pixmap (rebuilt on resize / new rows / new selection) and the hover
highlight and rubber band are painted on top. Hover uses a uniform grid over the pixel
positions, so finding the point under the mouse looks at a few cells only.
"""

from __future__ import annotations

import html
import logging
from collections.abc import Sequence

import numpy as np
from PySide6.QtCore import QPoint, QPointF, QRect, QRectF, QSize, Qt, Signal
from PySide6.QtGui import (
    QColor,
    QFont,
    QFontMetricsF,
    QKeyEvent,
    QMouseEvent,
    QPainter,
    QPaintEvent,
    QPen,
    QPixmap,
    QResizeEvent,
)
from PySide6.QtWidgets import QApplication, QSizePolicy, QToolTip, QWidget

from tagger.core.library import LibraryRow
from tagger.core.moods import COLOURS, MOODS, display_name

log = logging.getLogger(__name__)

#: Where each mood's quadrant lies: (valence high?, energy high?).
QUADRANT_OF = {
    "happy": (True, True),
    "aggressive": (False, True),
    "sad": (False, False),
    "calm": (True, False),
}


class MoodMapView(QWidget):
    """Scatter plot of the library on valence (x) by energy (y).

    Signals: ``play_requested(path)`` on a click on a point, ``selection_made(track_ids)``
    after a rubber-band drag (an empty list clears, also on Escape).
    """

    play_requested = Signal(str)
    selection_made = Signal(list)

    MARGINS = (48, 16, 16, 40)  # left, top, right, bottom
    POINT_SIZE = 6.0
    PAD = 6.0  # inset of the 0..1 data area inside the frame
    HOVER_RADIUS = 8.0
    CELL = 16  # grid cell size in pixels for the hover lookup

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setMouseTracking(True)
        self.setFocusPolicy(Qt.FocusPolicy.StrongFocus)
        self.setSizePolicy(QSizePolicy.Policy.Expanding, QSizePolicy.Policy.Expanding)
        self.setMinimumSize(240, 200)
        self._rows: list[LibraryRow] = []
        self._valence = np.zeros(0)
        self._energy = np.zeros(0)
        self._mood_idx = np.zeros(0, dtype=np.int8)
        self._ids = np.zeros(0, dtype=np.int64)
        self._selected = np.zeros(0, dtype=bool)
        self._px = np.zeros(0)
        self._py = np.zeros(0)
        self._grid_order = np.zeros(0, dtype=np.int64)
        self._grid_keys = np.zeros(0, dtype=np.int64)
        self._grid_cols = 1
        self._cache: QPixmap | None = None
        self._hover: int | None = None
        self._press: QPoint | None = None
        self._band: QRect | None = None

    # -- data ---------------------------------------------------------------------------

    def set_rows(self, rows: Sequence[LibraryRow]) -> None:
        """Show ``rows`` (rows without scores are left out). Keeps the selected track ids."""
        keep = set(self.selected_ids())
        self._rows = [r for r in rows if r.scores is not None]
        n = len(self._rows)
        self._valence = np.fromiter((r.scores.valence for r in self._rows), float, n)  # type: ignore[union-attr]
        self._energy = np.fromiter((r.scores.energy for r in self._rows), float, n)  # type: ignore[union-attr]
        mood_pos = {m: i for i, m in enumerate(MOODS)}
        self._mood_idx = np.fromiter((mood_pos[r.mood] for r in self._rows), np.int8, n)  # type: ignore[index]
        self._ids = np.fromiter((r.track_id for r in self._rows), np.int64, n)
        self._selected = np.isin(self._ids, list(keep)) if keep else np.zeros(n, dtype=bool)
        self._hover = None
        self._layout_points()

    def rows(self) -> list[LibraryRow]:
        return list(self._rows)

    def set_selected_ids(self, ids: Sequence[int]) -> None:
        """Highlight these tracks (no signal)."""
        self._selected = np.isin(self._ids, np.asarray(list(ids), dtype=np.int64))
        self._invalidate()

    def selected_ids(self) -> list[int]:
        return [int(i) for i in self._ids[self._selected]]

    # -- geometry -----------------------------------------------------------------------

    def plot_rect(self) -> QRectF:
        left, top, right, bottom = self.MARGINS
        return QRectF(
            left, top, max(1, self.width() - left - right), max(1, self.height() - top - bottom)
        )

    def _label_font(self) -> QFont:
        font = QFont(self.font())
        font.setPointSizeF(font.pointSizeF() * 1.15)
        font.setBold(True)
        return font

    def data_rect(self) -> QRectF:
        """Where valence 0..1 and energy 0..1 lie: the plot inset so edge points show whole,
        with a band at the top and bottom for the quadrant names, so that no point (the
        most confident songs sit in the corners) is ever hidden under a name."""
        band = QFontMetricsF(self._label_font()).height() + 8 + self.PAD
        return self.plot_rect().adjusted(self.PAD, band, -self.PAD, -band)

    def to_pixel(self, valence: float, energy: float) -> QPointF:
        r = self.data_rect()
        return QPointF(r.left() + valence * r.width(), r.top() + (1.0 - energy) * r.height())

    def _layout_points(self) -> None:
        r = self.data_rect()
        self._px = r.left() + self._valence * r.width()
        self._py = r.top() + (1.0 - self._energy) * r.height()
        cols = max(1, int(self.width() // self.CELL) + 1)
        cx = np.clip((self._px // self.CELL).astype(np.int64), 0, cols - 1)
        cy = np.clip((self._py // self.CELL).astype(np.int64), 0, None)
        keys = cy * cols + cx
        self._grid_order = np.argsort(keys, kind="stable")
        self._grid_keys = keys[self._grid_order]
        self._grid_cols = cols
        self._invalidate()

    def index_at(self, pos: QPoint | QPointF) -> int | None:
        """Index of the nearest point within :attr:`HOVER_RADIUS` pixels of ``pos``."""
        if not len(self._px):
            return None
        x, y, rad, c = float(pos.x()), float(pos.y()), self.HOVER_RADIUS, self.CELL
        cols = self._grid_cols
        x0, x1 = max(0, int((x - rad) // c)), min(cols - 1, int((x + rad) // c))
        y0, y1 = max(0, int((y - rad) // c)), int((y + rad) // c)
        if x0 > x1 or y1 < y0:
            return None
        parts = []
        for cy in range(y0, y1 + 1):
            lo = np.searchsorted(self._grid_keys, cy * cols + x0, "left")
            hi = np.searchsorted(self._grid_keys, cy * cols + x1, "right")
            if hi > lo:
                parts.append(self._grid_order[lo:hi])
        if not parts:
            return None
        cand = np.concatenate(parts)
        d = (self._px[cand] - x) ** 2 + (self._py[cand] - y) ** 2
        k = int(np.argmin(d))
        return int(cand[k]) if d[k] <= rad * rad else None

    def row_at(self, pos: QPoint | QPointF) -> LibraryRow | None:
        i = self.index_at(pos)
        return None if i is None else self._rows[i]

    def ids_in_rect(self, rect: QRectF | QRect) -> list[int]:
        """Track ids of the points inside ``rect`` (pixels, edges included)."""
        rect = QRectF(rect).normalized()
        inside = (
            (self._px >= rect.left())
            & (self._px <= rect.right())
            & (self._py >= rect.top())
            & (self._py <= rect.bottom())
        )
        return [int(i) for i in self._ids[inside]]

    @staticmethod
    def tooltip_text(row: LibraryRow) -> str:
        """The hover text: title, artist/album, mood (label or prediction), energy, valence,
        and what a click does."""
        s = row.scores
        title = row.title or row.path.replace("\\", "/").rsplit("/", 1)[-1]
        who = " — ".join(x for x in (row.artist, row.album) if x)
        how = "your label" if row.label else f"predicted, {s.confidence:.0%} sure" if s else ""
        lines = [f"<b>{html.escape(title)}</b>"]
        if who:
            lines.append(html.escape(who))
        lines.append(f"{html.escape(display_name(row.mood))} ({how})")
        if s:
            lines.append(f"energy {s.energy:.2f} · valence {s.valence:.2f}")
        lines.append("<i>click to listen</i>")
        return "<br>".join(lines)

    # -- painting -----------------------------------------------------------------------

    def sizeHint(self) -> QSize:
        return QSize(520, 460)

    def _invalidate(self) -> None:
        self._cache = None
        self.update()

    def _render_cache(self) -> QPixmap:
        dpr = self.devicePixelRatioF()
        pm = QPixmap(QSize(max(1, int(self.width() * dpr)), max(1, int(self.height() * dpr))))
        pm.setDevicePixelRatio(dpr)
        pal = self.palette()
        pm.fill(pal.window().color())
        p = QPainter(pm)
        p.setRenderHint(QPainter.RenderHint.Antialiasing)
        r = self.plot_rect()
        text = pal.windowText().color()
        base = pal.base().color()
        half_w, half_h = r.width() / 2, r.height() / 2
        counts = (
            np.bincount(self._mood_idx, minlength=len(MOODS)) if len(self._mood_idx) else [0] * 4
        )
        font = self._label_font()
        labels: list[tuple[QRectF, str, bool, bool, int]] = []
        for i, mood in enumerate(MOODS):
            right, upper = QUADRANT_OF[mood]
            q = QRectF(
                r.left() + (half_w if right else 0),
                r.top() + (0 if upper else half_h),
                half_w,
                half_h,
            )
            tint = QColor(COLOURS[mood])
            tint.setAlphaF(0.10)
            p.fillRect(q, base)
            p.fillRect(q, tint)
            labels.append((q, mood, right, upper, int(counts[i])))
        # axes
        p.setFont(self.font())
        grid = QColor(text)
        grid.setAlphaF(0.35)
        p.setPen(QPen(grid, 1, Qt.PenStyle.DashLine))
        p.drawLine(QPointF(r.center().x(), r.top()), QPointF(r.center().x(), r.bottom()))
        p.drawLine(QPointF(r.left(), r.center().y()), QPointF(r.right(), r.center().y()))
        p.setPen(QPen(grid, 1))
        p.drawRect(r)
        p.setPen(text)
        fm = p.fontMetrics()
        d = self.data_rect()
        for v in (0.0, 0.5, 1.0):
            x = d.left() + v * d.width()
            p.drawText(
                QRectF(x - 20, r.bottom() + 2, 40, fm.height()),
                int(Qt.AlignmentFlag.AlignHCenter),
                f"{v:g}",
            )
            y = d.top() + (1 - v) * d.height()
            p.drawText(
                QRectF(0, y - fm.height() / 2, r.left() - 6, fm.height()),
                int(Qt.AlignmentFlag.AlignRight | Qt.AlignmentFlag.AlignVCenter),
                f"{v:g}",
            )
        p.drawText(
            QRectF(r.left(), r.bottom() + fm.height(), r.width(), fm.height() + 4),
            int(Qt.AlignmentFlag.AlignHCenter),
            "Valence (negative → positive)",
        )
        p.save()
        p.translate(12, r.center().y())
        p.rotate(-90)
        p.drawText(
            QRectF(-r.height() / 2, -fm.height() / 2 - 2, r.height(), fm.height() + 4),
            int(Qt.AlignmentFlag.AlignHCenter),
            "Energy (low → high)",
        )
        p.restore()
        # points, one batch per mood
        if len(self._px):
            p.setClipRect(r.adjusted(-4, -4, 4, 4))
            size = self.POINT_SIZE if len(self._px) < 5000 else self.POINT_SIZE - 2
            for i, mood in enumerate(MOODS):
                sel = self._mood_idx == i
                if not sel.any():
                    continue
                c = QColor(COLOURS[mood])
                c.setAlphaF(0.85 if len(self._px) < 5000 else 0.6)
                pen = QPen(c, size)
                pen.setCapStyle(Qt.PenCapStyle.RoundCap)
                p.setPen(pen)
                p.drawPoints(
                    [QPointF(x, y) for x, y in zip(self._px[sel], self._py[sel], strict=True)]
                )
            if self._selected.any():
                ring = QPen(text, 1.5)
                p.setPen(ring)
                p.setBrush(Qt.BrushStyle.NoBrush)
                rad = size / 2 + 2
                for x, y in zip(self._px[self._selected], self._py[self._selected], strict=True):
                    p.drawEllipse(QPointF(x, y), rad, rad)
        else:
            p.setPen(text)
            p.drawText(r, int(Qt.AlignmentFlag.AlignCenter), "No analysed songs yet")
        # quadrant names in the bands above and below the data area (see data_rect)
        p.setClipping(False)
        p.setFont(font)
        fm = p.fontMetrics()
        chip = QColor(base)
        chip.setAlphaF(0.8)
        for q, mood, right, upper, count in labels:
            colour = QColor(COLOURS[mood])
            if base.lightness() > 128:
                colour = colour.darker(115)
            label = f"{display_name(mood)}  {count}"
            w, h = fm.horizontalAdvance(label) + 10, fm.height() + 4
            x = q.right() - w - 4 if right else q.left() + 4
            y = q.top() + 4 if upper else q.bottom() - h - 4
            box = QRectF(x, y, w, h)
            p.setPen(Qt.PenStyle.NoPen)
            p.setBrush(chip)
            p.drawRoundedRect(box, 4, 4)
            p.setPen(colour)
            p.drawText(box, int(Qt.AlignmentFlag.AlignCenter), label)
        p.end()
        return pm

    def paintEvent(self, event: QPaintEvent) -> None:
        if self._cache is None:
            self._cache = self._render_cache()
        p = QPainter(self)
        p.drawPixmap(0, 0, self._cache)
        p.setRenderHint(QPainter.RenderHint.Antialiasing)
        if self._hover is not None and self._hover < len(self._px):
            c = QColor(COLOURS[MOODS[self._mood_idx[self._hover]]])
            p.setBrush(c)
            p.setPen(QPen(self.palette().windowText().color(), 2))
            p.drawEllipse(QPointF(self._px[self._hover], self._py[self._hover]), 6, 6)
        if self._band is not None:
            hl = self.palette().highlight().color()
            fill = QColor(hl)
            fill.setAlphaF(0.2)
            p.setBrush(fill)
            p.setPen(QPen(hl, 1))
            p.drawRect(self._band)
        p.end()

    def resizeEvent(self, event: QResizeEvent) -> None:
        super().resizeEvent(event)
        self._layout_points()

    # -- mouse --------------------------------------------------------------------------

    def _set_hover(self, idx: int | None, global_pos: QPoint | None = None) -> None:
        if idx == self._hover:
            return
        self._hover = idx
        if idx is None:
            QToolTip.hideText()
        elif global_pos is not None:
            QToolTip.showText(global_pos, self.tooltip_text(self._rows[idx]), self)
        self.update()

    def mousePressEvent(self, event: QMouseEvent) -> None:
        if event.button() == Qt.MouseButton.LeftButton:
            self._press = event.position().toPoint()
            self._band = None
        super().mousePressEvent(event)

    def mouseMoveEvent(self, event: QMouseEvent) -> None:
        pos = event.position().toPoint()
        dragging = self._press is not None and bool(event.buttons() & Qt.MouseButton.LeftButton)
        if dragging and (
            self._band is not None
            or (pos - self._press).manhattanLength() >= QApplication.startDragDistance()
        ):
            self._band = QRect(self._press, pos).normalized()
            self._set_hover(None)
            self.update()
            return
        self._set_hover(self.index_at(pos), event.globalPosition().toPoint())

    def mouseReleaseEvent(self, event: QMouseEvent) -> None:
        if event.button() != Qt.MouseButton.LeftButton or self._press is None:
            return super().mouseReleaseEvent(event)
        pos = event.position().toPoint()
        if self._band is not None:
            band = QRect(self._press, pos).normalized()
            self._band = None
            ids = self.ids_in_rect(band)
            self.set_selected_ids(ids)
            self.selection_made.emit(ids)
        else:
            idx = self.index_at(pos)
            if idx is not None:
                self.play_requested.emit(self._rows[idx].path)
        self._press = None
        self.update()
        return None

    def leaveEvent(self, event) -> None:
        self._set_hover(None)
        super().leaveEvent(event)

    def keyPressEvent(self, event: QKeyEvent) -> None:
        if event.key() == Qt.Key.Key_Escape and self._selected.any():
            self.set_selected_ids([])
            self.selection_made.emit([])
            return
        super().keyPressEvent(event)
