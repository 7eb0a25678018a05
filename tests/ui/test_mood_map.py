"""The mood map: rubber-band selection, hover tooltip, click to play, many points."""

from __future__ import annotations

import numpy as np
import pytest
from PySide6.QtCore import QPoint, Qt
from PySide6.QtTest import QTest
from PySide6.QtWidgets import QToolTip

from tagger.core.library import LibraryRow
from tagger.core.moods import MoodScores
from tagger.ui.mood_map import MoodMapView


def row_at(i: int, valence: float, energy: float, **kw) -> LibraryRow:
    """A row whose scores give exactly (about) this valence and energy."""
    # happy + aggressive = energy, happy + calm = valence; pick happy = min/2-ish, rest >= 0
    h = min(valence, energy) / 2
    a, c = energy - h, valence - h
    s = 1.0 - h - a - c
    if s < 0:  # too much mass: move it into happy
        h, a, c, s = (valence + energy - 1.0), 1.0 - valence, 1.0 - energy, 0.0
    probs = tuple(max(0.0, float(x)) for x in (h, a, s, c))
    return LibraryRow(
        track_id=i,
        path=f"/music/a/{i}.mp3",
        title=kw.get("title", f"Song {i}"),
        artist=kw.get("artist", "Artist"),
        album="Album",
        tracknumber=None,
        duration=180.0,
        mood_tag=None,
        scores=MoodScores(probs),  # type: ignore[arg-type]
        label=kw.get("label"),
        error=None,
        model_id="m",
    )


@pytest.fixture
def view(qtbot):
    v = MoodMapView()
    qtbot.addWidget(v)
    v.resize(520, 440)
    v.show()
    qtbot.waitExposed(v)
    return v


def test_row_helper_hits_valence_and_energy():
    for v, e in [(0.1, 0.9), (0.8, 0.7), (0.3, 0.2), (0.95, 0.05), (0.5, 0.5)]:
        s = row_at(0, v, e).scores
        assert s.valence == pytest.approx(v) and s.energy == pytest.approx(e)


def test_rubber_band_selects_exactly_the_points_inside(view, qtbot):
    rng = np.random.default_rng(1)
    rows = [
        row_at(i, float(v), float(e)) for i, (v, e) in enumerate(rng.random((400, 2)) * 0.98 + 0.01)
    ]
    rows.append(
        LibraryRow(999, "/x.mp3", None, None, None, None, None, None, None, None, "bad", None)
    )
    view.set_rows(rows)
    assert len(view.rows()) == 400  # the error row is not drawn
    r = view.data_rect()
    p1 = QPoint(int(r.left() + 0.2 * r.width()), int(r.top() + 0.15 * r.height()))
    p2 = QPoint(int(r.left() + 0.65 * r.width()), int(r.top() + 0.6 * r.height()))
    # the data rectangle those pixels stand for (valence left..right, energy bottom..top)
    v0, v1 = (p1.x() - r.left()) / r.width(), (p2.x() - r.left()) / r.width()
    e1, e0 = 1 - (p1.y() - r.top()) / r.height(), 1 - (p2.y() - r.top()) / r.height()
    margin = 1.0 / r.width() + 1.0 / r.height()
    rows = [
        x
        for x in rows
        if x.scores is None
        or (
            min(abs(x.scores.valence - b) for b in (v0, v1)) > margin
            and min(abs(x.scores.energy - b) for b in (e0, e1)) > margin
        )
    ]
    view.set_rows(rows)
    expected = sorted(
        x.track_id
        for x in rows
        if x.scores and v0 <= x.scores.valence <= v1 and e0 <= x.scores.energy <= e1
    )
    assert 10 < len(expected) < len(rows) - 10
    with qtbot.waitSignal(view.selection_made) as sig:
        QTest.mousePress(view, Qt.MouseButton.LeftButton, Qt.KeyboardModifier.NoModifier, p1)
        QTest.mouseMove(view, (p1 + p2) / 2)
        QTest.mouseMove(view, p2)
        QTest.mouseRelease(view, Qt.MouseButton.LeftButton, Qt.KeyboardModifier.NoModifier, p2)
    assert sorted(sig.args[0]) == expected
    assert sorted(view.selected_ids()) == expected
    # the selection survives new rows; Escape clears it
    view.set_rows(rows)
    assert sorted(view.selected_ids()) == expected
    with qtbot.waitSignal(view.selection_made) as sig:
        QTest.keyClick(view, Qt.Key.Key_Escape)
    assert sig.args[0] == [] and view.selected_ids() == []


def test_hover_shows_the_track_and_click_plays_it(view, qtbot):
    rows = [
        row_at(1, 0.2, 0.8, title="Angry <Song>", artist="Band & Co"),
        row_at(2, 0.8, 0.2, title="Quiet", label="calm"),
        row_at(3, 0.81, 0.21, title="Near quiet"),
    ]
    view.set_rows(rows)
    pt = view.to_pixel(0.2, 0.8).toPoint()
    QTest.mouseMove(view, pt + QPoint(2, 1))
    qtbot.waitUntil(lambda: view.row_at(pt) is not None and QToolTip.isVisible())
    text = QToolTip.text()
    assert "Angry &lt;Song&gt;" in text and "Band &amp; Co" in text and "Aggressive" in text
    assert "energy 0.80" in text and "valence 0.20" in text
    assert "your label" in view.tooltip_text(rows[1])
    assert "click to listen" in view.tooltip_text(rows[1])
    # far from every point: nothing under the mouse, no tooltip
    empty = view.to_pixel(0.5, 0.5).toPoint()
    assert view.row_at(empty) is None
    QTest.mouseMove(view, empty)
    qtbot.waitUntil(lambda: not QToolTip.isVisible())
    # nearest point wins when two are close
    q = view.to_pixel(0.8, 0.2).toPoint()
    assert view.row_at(q).track_id == 2
    with qtbot.waitSignal(view.play_requested) as sig:
        QTest.mouseClick(view, Qt.MouseButton.LeftButton, Qt.KeyboardModifier.NoModifier, q)
    assert sig.args == ["/music/a/2.mp3"]
    with qtbot.assertNotEmitted(view.play_requested):
        QTest.mouseClick(view, Qt.MouseButton.LeftButton, Qt.KeyboardModifier.NoModifier, empty)


def test_many_points_and_lookup_matches_brute_force(view, qtbot):
    rng = np.random.default_rng(5)
    pts = rng.random((20000, 2))
    view.set_rows([row_at(i, float(v), float(e)) for i, (v, e) in enumerate(pts)])
    view.grab()  # paints all points once without error
    vals = np.array([(r.scores.valence, r.scores.energy) for r in view.rows()])
    px = np.array([view.to_pixel(v, e).x() for v, e in vals])
    py = np.array([view.to_pixel(v, e).y() for v, e in vals])
    for _ in range(300):
        pos = QPoint(int(rng.integers(0, view.width())), int(rng.integers(0, view.height())))
        got = view.index_at(pos)
        d = (px - pos.x()) ** 2 + (py - pos.y()) ** 2
        best = int(np.argmin(d))
        if d[best] <= view.HOVER_RADIUS**2:
            assert got is not None and d[got] == pytest.approx(d[best])
        else:
            assert got is None


def test_resize_keeps_lookup_right(view, qtbot):
    view.set_rows([row_at(1, 0.3, 0.3), row_at(2, 0.7, 0.9)])
    view.resize(800, 600)
    qtbot.waitUntil(lambda: view.width() == 800)
    assert view.row_at(view.to_pixel(0.7, 0.9).toPoint()).track_id == 2
    assert view.ids_in_rect(view.rect()) == [1, 2]


def test_corner_points_are_not_hidden_by_the_quadrant_names(view):
    """The most confident songs sit in the corners, where the quadrant names are drawn."""
    from PySide6.QtGui import QColor

    from tagger.ui.mood_map import COLOURS

    corners = {"aggressive": (0.0, 1.0), "happy": (1.0, 1.0), "sad": (0.0, 0.0), "calm": (1.0, 0.0)}
    view.set_rows([row_at(i, v, e) for i, (v, e) in enumerate(corners.values())])
    image = view.grab().toImage()
    dpr = image.devicePixelRatio()
    for mood, (v, e) in corners.items():
        pt = view.to_pixel(v, e)
        got = image.pixelColor(int(pt.x() * dpr), int(pt.y() * dpr))
        want = QColor(COLOURS[mood])
        diff = max(abs(got.red() - want.red()), abs(got.green() - want.green()))
        assert diff < 60, (mood, got.name(), want.name())
