"""The playlist builder: filters drive the live preview; export; saved definitions."""

from __future__ import annotations

import xml.etree.ElementTree as ET
from dataclasses import replace
from pathlib import Path
from urllib.parse import urlparse
from urllib.request import url2pathname

import pytest
from PySide6.QtCore import Qt
from PySide6.QtWidgets import QFileDialog, QInputDialog, QScrollArea

from tagger.core.library import LibraryRow
from tagger.core.moods import MoodScores
from tagger.core.playlists import PlaylistSpec, load_definitions, save_definition
from tagger.core.settings import update_settings
from tagger.ui.playlist_view import PlaylistView

m3u8 = pytest.importorskip("m3u8")

P = {
    "happy": (0.7, 0.1, 0.1, 0.1),
    "aggressive": (0.1, 0.6, 0.2, 0.1),
    "sad": (0.05, 0.15, 0.5, 0.3),
    "calm": (0.1, 0.05, 0.25, 0.6),
}


def make_row(root: Path, i: int, mood: str | None, label: str | None = None, artist="Artist"):
    path = root / artist / f"{i:02d} Sœng {i}.flac"
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(b"x")
    return LibraryRow(
        track_id=i,
        path=str(path),
        title=f"Song {i}",
        artist=artist,
        album="Album",
        tracknumber=i,
        duration=120.0 + i,
        mood_tag=None,
        scores=MoodScores(P[mood]) if mood else None,
        label=label,
        error=None if mood else "bad file",
        model_id="m",
    )


@pytest.fixture
def rows(tmp_path):
    moods = ["happy", "aggressive", "sad", "calm", "calm", "happy", "sad", None, "calm"]
    out = [make_row(tmp_path / "music", i, m) for i, m in enumerate(moods, 1)]
    out.append(make_row(tmp_path / "music", 10, "happy", label="calm", artist="Other"))
    return out


@pytest.fixture
def view(qtbot, rows):
    v = PlaylistView()
    qtbot.addWidget(v)
    v.resize(1000, 600)
    v.set_rows(rows)
    return v


def shown(view) -> list[int]:
    m = view.model
    return [m.row_at(i).track_id for i in range(m.rowCount())]


def test_model_is_sound(view, qtmodeltester):
    qtmodeltester.check(view.model)


def test_filters_update_the_preview(view, qtbot, rows):
    assert sorted(shown(view)) == [1, 2, 3, 4, 5, 6, 7, 9, 10]  # the error row never
    with qtbot.waitSignal(view.preview_changed) as sig:
        view.mood_buttons["calm"].click()
    assert sorted(shown(view)) == [4, 5, 9, 10]  # 10 is labelled calm
    assert sig.args[0].track_ids == shown(view)
    with qtbot.waitSignal(view.preview_changed):
        view.mood_buttons["sad"].click()
    assert sorted(shown(view)) == [3, 4, 5, 7, 9, 10]
    with qtbot.waitSignal(view.preview_changed):
        view.energy_lo.setValue(0.2)  # sad .2 (inclusive), calm .15, labelled happy .8
    assert sorted(shown(view)) == [3, 7, 10]
    with qtbot.waitSignal(view.preview_changed):
        view.labelled_only.setChecked(True)
    assert shown(view) == [10]
    with qtbot.waitSignal(view.preview_changed):
        view.labelled_only.setChecked(False)
        view.artist.setText("oth")
    assert shown(view) == [10]
    assert "<b>1 song</b>" in view.summary.text()


def test_order_and_limits(view, qtbot):
    with qtbot.waitSignal(view.preview_changed):
        view.order.setCurrentIndex(view.order.findData("energy-desc"))
    energies = [view.model.row_at(i).scores.energy for i in range(view.model.rowCount())]
    assert energies == sorted(energies, reverse=True)
    assert not view.seed.isEnabled()
    with qtbot.waitSignal(view.preview_changed):
        view.limit.setValue(3)
    assert view.model.rowCount() == 3 and "first 3 of 9" in view.summary.text()
    with qtbot.waitSignal(view.preview_changed):
        view.limit.setValue(0)
        view.max_minutes.setValue(5)  # 300 s: two songs of ~2 min fit
    assert view.model.rowCount() == 2
    with qtbot.waitSignal(view.preview_changed):
        view.max_minutes.setValue(0)
        view.order.setCurrentIndex(view.order.findData("shuffle"))
    assert view.seed.isEnabled()
    first = shown(view)
    with qtbot.waitSignal(view.preview_changed):
        view.seed.setValue(12345)
    with qtbot.waitSignal(view.preview_changed):
        view.seed.setValue(0)
    assert shown(view) == first


def test_min_confidence_is_typed_in_percent(view, qtbot):
    """The box took 0-1 while the tables show "73%" and the Write dialog asks "60 %":
    typing 60 was refused without a word and left the filter off."""
    confidences = {r.track_id: r.scores.confidence for r in view._rows if r.scores}
    view.min_confidence.setFocus()
    view.min_confidence.selectAll()
    with qtbot.waitSignal(view.preview_changed):
        qtbot.keyClicks(view.min_confidence, "60")
    assert view.min_confidence.text() == "60 %"
    assert view.spec().min_confidence == pytest.approx(0.60)
    assert sorted(shown(view)) == sorted(i for i, c in confidences.items() if c >= 0.60)
    assert 0 < len(shown(view)) < len(confidences)  # the filter does something here
    view.set_spec(replace(view.spec(), min_confidence=0.35))  # a saved playlist
    assert view.min_confidence.text() == "35 %"


def test_bad_range_shows_message(view, qtbot):
    """An empty range says why; Export and Play are off (Play stayed on, doing nothing)."""
    view.regenerate()
    assert view.play_button.isEnabled()
    with qtbot.waitSignal(view.preview_changed) as sig:
        view.valence_lo.setValue(0.9)
        view.valence_hi.setValue(0.1)
    assert sig.args[0] is None
    assert view.model.rowCount() == 0 and "empty" in view.summary.text()
    assert not view.export_button.isEnabled() and not view.play_button.isEnabled()


@pytest.mark.parametrize("suffix", [".m3u8", ".xspf"])
def test_export_writes_the_preview(view, qtbot, tmp_path, monkeypatch, suffix):
    with qtbot.waitSignal(view.preview_changed):
        view.mood_buttons["calm"].click()
    dest = tmp_path / "out dir" / f"Calm{suffix}"
    dest.parent.mkdir()
    asked = []

    def ask(parent, caption, start, filters):
        asked.append(start)
        return str(dest), ""

    monkeypatch.setattr(QFileDialog, "getSaveFileName", ask)
    with qtbot.waitSignal(view.exported) as sig:
        view.export_button.click()
    assert sig.args == [str(dest)]
    with qtbot.waitSignal(view.exported):
        view.export_button.click()  # the dialog opens in the last export folder
    assert Path(asked[1]).parent == dest.parent
    expected = [Path(view.model.row_at(i).path) for i in range(view.model.rowCount())]
    if suffix == ".m3u8":
        parsed = m3u8.load(str(dest))
        got = [(dest.parent / s.uri).resolve() for s in parsed.segments]
    else:
        ns = "{http://xspf.org/ns/0/}"
        locs = [t.text for t in ET.parse(dest).getroot().iter(ns + "location")]
        got = [Path(url2pathname(urlparse(u).path)) for u in locs]
    assert got == expected and len(got) == 4


def test_save_load_and_regenerate(view, qtbot, rows, tmp_path, monkeypatch):
    with qtbot.waitSignal(view.preview_changed):
        view.mood_buttons["calm"].click()
        view.order.setCurrentIndex(view.order.findData("smooth"))
        view.limit.setValue(3)
    offered = []

    def get_text(*a, **k):
        offered.append(k.get("text"))
        return "Evening", True

    monkeypatch.setattr(QInputDialog, "getText", get_text)
    view.save_button.click()
    assert offered == ["Calm"]  # named as Export names it (the box was empty)
    assert load_definitions()["Evening"] == PlaylistSpec(
        name="Evening", moods=("calm",), order="smooth", limit=3
    )
    assert view.saved.currentText() == "Evening"
    # change the controls, then load the definition back
    with qtbot.waitSignal(view.preview_changed):
        view.mood_buttons["calm"].click()
        view.mood_buttons["happy"].click()
        view.limit.setValue(0)
    view.load_saved("Evening")
    assert view.mood_buttons["calm"].isChecked() and not view.mood_buttons["happy"].isChecked()
    assert view.order.currentData() == "smooth" and view.limit.value() == 3
    assert view.spec() == load_definitions()["Evening"]
    before = shown(view)
    # the library changes: a new, very calm song appears and the playlist regenerates
    new = make_row(tmp_path / "music", 11, "calm")
    new = replace(new, scores=MoodScores((0.0, 0.0, 0.1, 0.9)))
    view.set_rows([*rows, new])
    assert 11 in shown(view) and len(shown(view)) == 3 and shown(view) != before
    view.delete_button.click()
    assert "Evening" not in load_definitions() and view.saved.count() == 0


def test_playlists_saved_from_the_command_line_appear_when_shown(view, qtbot):
    """`mood-tagger playlist --save` while the app is open: the list has it next time."""
    save_definition(PlaylistSpec(name="Evening", moods=("calm",)))
    view.show()
    assert [view.saved.itemText(i) for i in range(view.saved.count())] == ["Evening"]
    assert view.saved.currentText() == "Evening"  # not the "(none saved yet)" placeholder
    assert view.load_button.isEnabled()
    view.hide()
    save_definition(PlaylistSpec(name="Workout", moods=("aggressive",)))
    view.show()
    assert view.saved.count() == 2 and view.saved.currentText() == "Evening"  # kept
    view.load_button.click()
    assert view.spec().moods == ("calm",)


def test_every_column_fits_a_smaller_window(view, qtbot):
    """The title column gives way: Length was cut off in a window 1152 pixels wide."""
    view.resize(1100, 600)
    view.show()
    qtbot.waitExposed(view)
    header = view.table.horizontalHeader()
    assert header.length() <= view.table.viewport().width()
    assert header.sectionSize(1) >= 100  # the title still shows


def test_the_wheel_over_the_filters_scrolls_them_not_the_order(view, qtbot):
    """Scrolling down the filters with the pointer over Order changed it to Shuffle."""
    from PySide6.QtCore import QPoint, QPointF
    from PySide6.QtGui import QWheelEvent
    from PySide6.QtWidgets import QApplication

    view.resize(1000, 300)  # the filters need scrolling
    view.show()
    qtbot.waitExposed(view)
    bar = view.findChild(QScrollArea).verticalScrollBar()
    assert bar.maximum() > 0 and bar.value() == 0
    before = view.order.currentIndex()

    def wheel(w) -> None:
        centre = QPointF(w.rect().center())
        ev = QWheelEvent(
            centre,
            QPointF(w.mapToGlobal(centre.toPoint())),
            QPoint(0, 0),
            QPoint(0, -120),
            Qt.MouseButton.NoButton,
            Qt.KeyboardModifier.NoModifier,
            Qt.ScrollPhase.NoScrollPhase,
            False,
        )
        QApplication.sendEvent(w, ev)

    wheel(view.order)
    wheel(view.limit)
    assert view.order.currentIndex() == before and view.limit.value() == 0
    assert bar.value() > 0  # the form scrolled instead
    view.order.setFocus()
    qtbot.waitUntil(view.order.hasFocus)
    wheel(view.order)  # clicked into: the wheel is its own
    assert view.order.currentIndex() != before


def test_map_selection_restricts(view, qtbot):
    view.set_map_selection([1, 2, 3, 8])
    assert sorted(shown(view)) == [1, 2, 3]
    assert "4 songs selected" in view.map_label.text()
    with qtbot.waitSignal(view.map_selection_changed) as sig:
        view.map_clear.click()
    assert sig.args == [[]]
    assert len(shown(view)) == 9


def test_wired_to_the_mood_map(view, qtbot, rows):
    from PySide6.QtCore import QRect

    from tagger.ui.mood_map import MoodMapView

    m = MoodMapView()
    qtbot.addWidget(m)
    m.resize(400, 400)
    m.set_rows(rows)
    m.selection_made.connect(view.set_map_selection)
    view.map_selection_changed.connect(m.set_selected_ids)
    d = m.data_rect()
    ids = m.ids_in_rect(QRect(int(d.left()), int(d.top()), int(d.width()), int(d.height() / 2)))
    m.selection_made.emit(ids)  # as after a rubber-band drag over the high-energy half
    assert sorted(shown(view)) == sorted(ids) == [1, 2, 6, 10]
    view.map_clear.click()
    assert m.selected_ids() == []


def test_enter_and_play_button_request_playback(view, qtbot):
    """Enter on a row (Qt sends the same ``activated`` for a double-click) plays it, as
    in the library table; Tab then leaves the table for the buttons (not the next cell),
    and reaches it from the filters without an empty stop between."""
    from PySide6.QtWidgets import QApplication

    view.show()
    qtbot.waitExposed(view)
    view.activateWindow()
    view.table.setFocus()
    qtbot.waitUntil(lambda: QApplication.focusWidget() is view.table)
    qtbot.keyClick(view.table, Qt.Key.Key_Down)
    qtbot.keyClick(view.table, Qt.Key.Key_Down)
    current = view.table.currentIndex().row()
    assert current > 0
    with qtbot.waitSignal(view.play_requested) as sig:
        qtbot.keyClick(view.table, Qt.Key.Key_Return)
    assert sig.args == [view.model.row_at(current).path]
    qtbot.keyClick(view.table, Qt.Key.Key_Tab)
    assert view.table.currentIndex().row() == current
    assert QApplication.focusWidget() is view.play_button
    view.save_button.setFocus()
    qtbot.keyClick(view.save_button, Qt.Key.Key_Tab)
    assert QApplication.focusWidget() is view.table
    view.table.selectRow(2)
    with qtbot.waitSignal(view.play_requested) as sig:
        qtbot.mouseClick(view.play_button, Qt.MouseButton.LeftButton)
    assert sig.args == [view.model.row_at(2).path]


def test_export_starts_in_the_music_folder_named_after_the_moods(view, qtbot, tmp_path):
    assert view.default_export_path() == tmp_path / "music" / "Mood playlist.m3u8"
    with qtbot.waitSignal(view.preview_changed):
        view.mood_buttons["calm"].click()
    with qtbot.waitSignal(view.preview_changed):
        view.mood_buttons["sad"].click()
    assert view.default_export_path().name == "Sad + Calm.m3u8"
    update_settings(playlist_export_dir=str(tmp_path))  # a remembered folder wins
    assert view.default_export_path().parent == tmp_path
    update_settings(playlist_export_dir=str(tmp_path / "gone"))  # unless it is gone
    assert view.default_export_path().parent == tmp_path / "music"


def test_export_proposes_a_file_name_for_any_playlist_name(view, qtbot, tmp_path):
    """A saved playlist's name may hold a slash; the proposed file stays in the folder."""
    update_settings(playlist_export_dir=str(tmp_path))
    view.save_as("Rock/Pop: Ünïcode ☾")
    assert view.default_export_path().parent == tmp_path
    assert view.default_export_path().name.startswith("Rock_Pop")
    assert view.default_export_path().name == "Rock_Pop_ Ünïcode ☾.m3u8"
    # nothing a FAT/exFAT stick or an SMB share refuses, whatever system proposes it
    view.save_as('Björk: happy/sad? <best> "live" | a*b.')
    assert view.default_export_path().name == "Björk_ happy_sad_ _best_ _live_ _ a_b.m3u8"
    view.save_as("..")
    assert view.default_export_path() == tmp_path / "Mood playlist.m3u8"


def test_export_with_a_bare_name_uses_the_chosen_type(view, qtbot, tmp_path, monkeypatch):
    """XSPF picked in the dialog's type list and a name typed without a suffix: the file
    is an XSPF playlist (it was written as .m3u8)."""
    with qtbot.waitSignal(view.preview_changed):
        view.mood_buttons["calm"].click()
    choice = {}

    def ask(parent, caption, start, filters):
        # the person picks a type from the dialog's list, and types a bare name
        picked = next(f for f in filters.split(";;") if choice["kind"] in f.lower())
        return str(tmp_path / "Abend"), picked

    monkeypatch.setattr(QFileDialog, "getSaveFileName", ask)
    for kind in ("xspf", "m3u8"):
        choice["kind"] = kind
        with qtbot.waitSignal(view.exported) as sig:
            view.export_button.click()
        assert sig.args == [str(tmp_path / f"Abend.{kind}")]
    assert ET.parse(tmp_path / "Abend.xspf").getroot().tag.endswith("playlist")


def test_a_map_selection_is_the_playlist_whatever_the_filters(view, qtbot, rows):
    """Filters set, then a rectangle on the map: the playlist is exactly the songs in it
    (the filters are cleared, and it says so). Filters set afterwards narrow it down; the
    summary says how many they leave out and Clear filters brings them back."""
    view.mood_buttons["sad"].click()
    view.mood_buttons["calm"].click()
    view.artist.setText("sigur ros")
    view.order.setCurrentIndex(view.order.findData("energy-desc"))
    view.regenerate()
    assert shown(view) == []
    view.set_map_selection([1, 2, 6, 10])  # what a drag on the mood map does
    assert sorted(shown(view)) == [1, 2, 6, 10]
    assert not any(b.isChecked() for b in view.mood_buttons.values())
    assert view.artist.text() == "" and view.spec().order == "energy-desc"  # order stays
    assert "4 songs</b> from the mood map" in view.summary.text()
    assert "filters were cleared" in view.summary.text()
    assert not view.clear_filters_button.isVisibleTo(view)

    with qtbot.waitSignal(view.preview_changed):
        view.mood_buttons["sad"].click()  # a filter on top: narrows the map's songs
    assert shown(view) == [] and "filters were cleared" not in view.summary.text()
    assert "the filters leave out 4 of the 4 songs picked on the map" in view.summary.text()
    assert view.clear_filters_button.isVisibleTo(view)
    qtbot.mouseClick(view.clear_filters_button, Qt.MouseButton.LeftButton)
    assert sorted(shown(view)) == [1, 2, 6, 10]
    assert not view.clear_filters_button.isVisibleTo(view)


def test_moods_are_marked_as_the_library_table_marks_them(qtbot, tmp_path):
    """A corrected mood read "Calm ✓" here but "Calm ✎" in the library table."""
    root = tmp_path / "music"
    rows = [
        make_row(root, 1, "happy", label="calm"),  # corrected
        make_row(root, 2, "sad", label="sad"),  # confirmed
        make_row(root, 3, "aggressive"),  # predicted only
    ]
    v = PlaylistView()
    qtbot.addWidget(v)
    v.set_rows(rows)
    m = v.model
    moods = {m.row_at(i).track_id: m.index(i, 4).data() for i in range(m.rowCount())}
    assert moods == {1: "Calm ✎", 2: "Sad ✓", 3: "Aggressive"}


def test_a_map_selection_is_not_cut_by_a_song_limit(view):
    """With Max. songs 2, a rectangle over four songs gave "first 2 of 4 matching · the
    other filters were cleared to include them all": the limit was kept."""
    view.limit.setValue(2)
    view.regenerate()
    assert len(shown(view)) == 2
    view.set_map_selection([1, 2, 6, 10])
    assert sorted(shown(view)) == [1, 2, 6, 10]
    assert view.limit.value() == 0 and "first" not in view.summary.text()
    assert "filters were cleared" in view.summary.text()


def test_a_narrow_window_keeps_every_column_in_view(qtbot, rows):
    """At 900 x 600 the title kept its wide size (Qt's Stretch mode does not shrink past
    the other columns), so Artist, Album, Mood and Length sat behind a scrollbar."""
    v = PlaylistView()
    qtbot.addWidget(v)
    v.set_rows(rows)
    v.resize(1600, 800)
    v.show()
    qtbot.wait(50)
    hh = v.table.horizontalHeader()
    wide = hh.sectionSize(1)
    v.resize(880, 560)
    qtbot.waitUntil(lambda: hh.sectionSize(1) < wide, timeout=2000)
    total = sum(hh.sectionSize(c) for c in range(hh.count()))
    assert total <= v.table.viewport().width() + 10


def test_a_playlist_under_a_minute_is_not_0_min():
    from tagger.ui.playlist_view import format_total

    assert format_total(29.4) == "29 s"  # it said "0 min"
    assert format_total(59.6) == "1 min"
    assert format_total(42 * 60 + 10) == "42 min"
    assert format_total(3900) == "1 h 5 min"


@pytest.mark.parametrize("answer", ["No", "Yes"])
def test_export_asks_before_replacing_the_file_it_adds_a_suffix_to(
    view, qtbot, tmp_path, monkeypatch, answer
):
    """ "list.txt" typed: the file written is list.txt.m3u8, which the dialog never asked
    about; an existing one was replaced without a word. And the summary said "exported"
    once more at every export."""
    from PySide6.QtWidgets import QFileDialog, QMessageBox

    target = tmp_path / "list.txt.m3u8"
    target.write_text("keep me\n", encoding="utf-8")
    monkeypatch.setattr(QFileDialog, "getSaveFileName", lambda *a: (str(tmp_path / "list.txt"), ""))
    asked: list[str] = []
    button = getattr(QMessageBox.StandardButton, answer)
    monkeypatch.setattr(
        QMessageBox, "question", lambda p, t, text, *a: asked.append(text) or button
    )
    view.export_button.click()
    assert asked == ["list.txt.m3u8 already exists. Replace it?"]
    if answer == "No":
        assert target.read_text(encoding="utf-8") == "keep me\n"
        return
    assert target.read_text(encoding="utf-8").startswith("#EXTM3U")
    view.export_button.click()
    assert view.summary.text().count(" · exported ") == 1


def test_an_unreadable_saved_playlists_file_is_not_shown_as_none_saved(view):
    from tagger.core.playlists import definitions_path

    view.show()
    assert view.saved.placeholderText() == "(none saved yet)"
    p = definitions_path()
    p.parent.mkdir(parents=True, exist_ok=True)
    p.write_text("{broken", encoding="utf-8")
    view.hide()
    view.show()
    assert view.saved.count() == 0
    assert view.saved.placeholderText() == "(saved playlists unreadable)"
    assert "cannot be read" in view.saved.toolTip()
    save_definition(PlaylistSpec(name="Evening", moods=("calm",)))  # keeps a copy, then saves
    view.hide()
    view.show()
    assert view.saved.currentText() == "Evening" and view.saved.toolTip() == ""


def test_an_800_pixel_window_gives_up_album_before_mood_and_length(qtbot, rows):
    """At 800 x 600 the three text columns' minimums pushed Valence and Length behind a
    scrollbar, with each text column cut to a few letters."""
    v = PlaylistView()
    qtbot.addWidget(v)
    v.set_rows(rows)
    v.resize(790, 560)
    v.show()
    qtbot.waitExposed(v)
    hh = v.table.horizontalHeader()

    def in_view() -> bool:
        return hh.length() <= v.table.viewport().width()

    qtbot.waitUntil(in_view, timeout=2000)
    assert not hh.isSectionHidden(7) and not hh.isSectionHidden(4)  # Length and Mood
    assert hh.isSectionHidden(3) and hh.sectionSize(1) >= 60  # Album went; Title stays
    first = v.model.row_at(0)
    tip = v.model.data(v.model.index(0, 1), Qt.ItemDataRole.ToolTipRole)
    assert first.path in tip and f"{first.artist} — {first.album}" in tip
    v.resize(1400, 700)
    qtbot.waitUntil(lambda: not hh.isSectionHidden(3), timeout=2000)
    assert not hh.isSectionHidden(2) and in_view()
