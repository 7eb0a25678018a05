"""The main window end to end (offscreen): analysis, cancel, filters, errors, views."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from PySide6.QtCore import QStandardPaths, Qt
from PySide6.QtGui import QAction
from PySide6.QtWidgets import QApplication, QWidget

from tagger.core.moods import MOODS, display_name
from tagger.core.settings import load_settings, update_settings
from tagger.ui.library_model import ROW_ROLE, Column, Status
from tagger.ui.main_window import APP_TITLE, default_folder
from tests.audio_factory import write_bad_files

TIMEOUT = 120_000  # ms; analysis of a few short files on a busy 2-core machine


def wait_analysed(qtbot, window, folder):
    with qtbot.waitSignal(window.analysis_finished, timeout=TIMEOUT) as blocker:
        window.open_folder(folder)
    return blocker.args[0]


def test_open_library_analyses_every_song(qtbot, make_window, library):
    window = make_window(auto_analyse=True)
    window.show()
    cancelled = wait_analysed(qtbot, window, library)
    assert cancelled is False
    assert window.windowTitle() == f"{APP_TITLE} — {library.name}"
    rows = window.rows
    good = [r for r in rows if "Broken Artist" not in r.path]
    bad = [r for r in rows if "Broken Artist" in r.path]
    assert len(good) == 7 and len(bad) == 4
    model = window.library_model
    for r in good:
        assert r.mood in MOODS
        idx = model.index_for(r.track_id, Column.MOOD)
        assert idx.data() == r.mood.capitalize()
        assert model.index_for(r.track_id, Column.STATUS).data() == Status.DONE
    # every corrupt file is an error row, with its message as tooltip and in the list
    for r in bad:
        status = model.index_for(r.track_id, Column.STATUS)
        assert status.data() == Status.ERROR
        assert r.error and r.error in status.data(Qt.ItemDataRole.ToolTipRole)
        assert model.index_for(r.track_id, Column.MOOD).data() == "can't read"
        assert window.errors[r.path] == r.error
    assert window.errors_list.count() == 4
    items = [window.errors_list.item(i).text() for i in range(4)]
    assert all(t.startswith("Broken Artist/") for t in items), items  # not the name alone
    paths = [window.errors_list.item(i).data(Qt.ItemDataRole.UserRole) for i in range(4)]
    assert paths == sorted(paths)  # in folder order, whichever worker finished first
    assert window.errors_button.isVisibleTo(window)
    # the counts in the status bar add up
    text = window.counts_label.text()
    assert text.startswith("11 songs")
    assert window.message_label.text() == (
        "Done: 11 songs (7 analysed, 0 from cache). 4 could not be read."
    )
    # opened again: nothing is analysed, and the unreadable files are still counted, once
    wait_analysed(qtbot, window, library)
    assert window.message_label.text() == (
        "Done: 11 songs (0 analysed, 7 from cache). 4 could not be read (4 as in an earlier run)."
    )
    # the settings remember the folder
    s = load_settings()
    assert s["last_folder"] == str(library.resolve())
    assert s["recent_folders"][0] == str(library.resolve())
    window._add_error(str(library / "0 first.mp3"), "test")  # a result before the others
    assert window.errors_list.item(0).data(Qt.ItemDataRole.UserRole).endswith("0 first.mp3")


def test_one_song_reads_as_one_song(qtbot, make_window, tmp_path):
    """The status bar said "1 songs" and "Done: 1 songs (...)"."""
    from tests.audio_factory import write_audio

    folder = tmp_path / "music"
    write_audio(folder / "Artist" / "Album" / "01 Only.wav", 3.0)
    window = make_window(auto_analyse=True)
    wait_analysed(qtbot, window, folder)
    assert window.counts_label.text().startswith("1 song ")
    assert window.message_label.text().startswith("Done: 1 song (1 analysed, 0 from cache).")


def test_silent_song_is_listed_as_no_mood_not_as_an_error(qtbot, make_window, small_library):
    import numpy as np
    import soundfile as sf

    silent = small_library / "Band 0" / "Record" / "13 Silence.wav"
    sf.write(silent, np.zeros((44100 * 20, 2), np.float32), 44100)
    window = make_window()
    wait_analysed(qtbot, window, small_library)
    assert window.message_label.text() == (
        "Done: 13 songs (12 analysed, 0 from cache). 1 silent or too short to have a mood."
    )
    row = next(r for r in window.rows if r.path == str(silent))
    model = window.library_model
    assert model.index_for(row.track_id, Column.MOOD).data() == "silent"
    assert model.index_for(row.track_id, Column.STATUS).data() == Status.NO_MOOD
    assert window.errors_list.count() == 0 and not window.errors_button.isVisibleTo(window)
    window.detail.show_row(row)
    assert window.detail.mood_label.text() == "No mood: the song is silent."
    assert not window.detail.error_label.isVisibleTo(window.detail)
    import dataclasses

    window.detail.show_row(dataclasses.replace(row, label="calm"))
    text = window.detail.mood_label.text()
    assert "Calm" in text and "your label. No mood: the song is silent." in text
    # a corrected song: the model's confidence is the model's, not the label's
    other = next(r for r in window.rows if r.scores is not None)
    wrong = next(m for m in MOODS if m != other.scores.mood)
    window.detail.show_row(dataclasses.replace(other, label=wrong))
    text = window.detail.mood_label.text()
    said = other.scores.mood.capitalize()
    assert f"your label; the model said {said}, {other.scores.confidence:.0%} confident" in text
    wait_analysed(qtbot, window, small_library)  # from the cache: still counted, still no error
    assert window.message_label.text() == (
        "Done: 13 songs (0 analysed, 12 from cache). 1 silent or too short to have a mood."
    )
    assert window.errors_list.count() == 0


def test_renamed_folder_keeps_moods_and_labels(qtbot, make_window, small_library, tmp_path):
    from tagger.core.store import Store

    window = make_window()
    wait_analysed(qtbot, window, small_library)
    first = {Path(r.path).name: r.scores for r in window.rows}
    with Store.open_default() as store:
        track = store.track(small_library / "Band 0" / "Record" / "01 Track 0.wav")
        store.add_label(track.id, "sad")
    renamed = small_library.rename(tmp_path / "Small (renamed)")
    wait_analysed(qtbot, window, renamed)
    assert window.message_label.text() == (
        "Done: 12 songs (0 analysed, 12 from cache). "
        "12 moved or renamed kept their moods and labels."
    )
    assert {Path(r.path).name: r.scores for r in window.rows} == first
    assert next(r for r in window.rows if r.path.endswith("01 Track 0.wav")).label == "sad"


def test_second_open_uses_the_cache(qtbot, make_window, small_library):
    w1 = make_window()
    wait_analysed(qtbot, w1, small_library)
    first = {r.path: r.scores for r in w1.rows}
    w2 = make_window()
    events = []
    w2.track_analysed.connect(events.append)
    with qtbot.waitSignal(w2.analysis_finished, timeout=TIMEOUT):
        w2.open_folder(small_library)
    assert events == []
    second = {r.path: r.scores for r in w2.rows}
    assert second.keys() == first.keys()
    for path, scores in first.items():
        assert second[path].probabilities == pytest.approx(scores.probabilities)


def test_cancel_mid_way(qtbot, make_window, small_library):
    window = make_window()
    got = []

    def on_event(ev):
        got.append(ev)
        window.cancel_analysis()

    window.track_analysed.connect(on_event)
    with qtbot.waitSignal(window.analysis_finished, timeout=TIMEOUT) as blocker:
        window.open_folder(small_library)
    assert blocker.args == [True]
    rows = window.rows
    done = [r for r in rows if r.scores is not None]
    assert 1 <= len(done) < len(rows) == 12
    statuses = {window.library_model.status_of(r) for r in rows if r.scores is None}
    assert statuses == {Status.NOT_ANALYSED}  # "queued" said an analysis was on its way
    assert not window.progress.isVisibleTo(window)
    # a rescan picks up where it stopped
    window.track_analysed.disconnect(on_event)
    with qtbot.waitSignal(window.analysis_finished, timeout=TIMEOUT) as blocker:
        window.start_analysis()
    assert blocker.args == [False]
    assert all(r.scores is not None for r in window.rows)


def test_esc_in_the_search_box_clears_it_before_it_stops_the_analysis(
    qtbot, make_window, small_library
):
    """Esc while the search box holds text clears the search and the analysis goes on; Esc
    with the box empty, or with the table focused, stops the analysis (the Esc of Cancel)."""
    window = make_window(auto_analyse=False)
    window.show()
    window.open_folder(small_library)
    window.activateWindow()
    stops = []
    window.cancel_action.triggered.connect(lambda: stops.append(window.analysing))
    seen = []

    def on_first_result(_ev):
        window.track_analysed.disconnect(on_first_result)
        window.search.setFocus()
        qtbot.keyClicks(window.search, "track 1")
        qtbot.keyClick(window.search, Qt.Key.Key_Escape)
        seen.append((window.search.text(), list(stops)))
        qtbot.keyClick(window.search, Qt.Key.Key_Escape)  # empty now: goes on to Cancel
        seen.append((window.search.text(), list(stops)))

    window.track_analysed.connect(on_first_result)
    with qtbot.waitSignal(window.analysis_finished, timeout=TIMEOUT) as blocker:
        window.start_analysis()
    assert seen == [("", []), ("", [True])]
    assert blocker.args == [True]
    qtbot.waitUntil(lambda: window.proxy.rowCount() == 12, timeout=5000)  # search cleared
    # Esc in the table stops an analysis too
    window.table.setFocus()

    def on_next_result(_ev):
        window.track_analysed.disconnect(on_next_result)
        qtbot.keyClick(window.table, Qt.Key.Key_Escape)

    window.track_analysed.connect(on_next_result)
    with qtbot.waitSignal(window.analysis_finished, timeout=TIMEOUT) as blocker:
        window.start_analysis()
    assert stops == [True, True] and blocker.args == [True]


def test_stopped_counts_only_songs_with_a_mood(qtbot, make_window, small_library):
    """A stop after a rescan: an unreadable file's cached error is not a song with a mood."""
    import os

    write_bad_files(small_library / "Bad")
    window = make_window()
    wait_analysed(qtbot, window, small_library)
    for f in small_library.glob("Band */Record/*.wav"):  # changed: analysed again
        st = f.stat()
        os.utime(f, ns=(st.st_atime_ns, st.st_mtime_ns + 10**9))

    def on_event(_ev):
        window.cancel_analysis()

    window.track_analysed.connect(on_event)
    with qtbot.waitSignal(window.analysis_finished, timeout=TIMEOUT) as blocker:
        window.start_analysis()
    assert blocker.args == [True]
    have = sum(r.scores is not None for r in window.rows)
    assert 1 <= have < 12
    waiting = 12 - have
    assert window.message_label.text() == (
        f"Stopped: {have} of 16 songs have a predicted mood; "
        f"{waiting} not analysed yet (Rescan Folder, F5, goes on)."
    )


def test_counts_leave_out_unreadable_files_even_labelled(qtbot, make_window, small_library):
    """A label made before the first scan on a file that turns out unreadable: the song
    shows as an error and is not counted under that mood."""
    from tagger.cli import main

    bad = write_bad_files(small_library / "Bad")
    assert main(["label", "happy", str(bad["empty"])]) == 0  # not analysed yet: taken
    window = make_window()
    wait_analysed(qtbot, window, small_library)
    happy = sum(r.mood == "happy" and r.scores is not None for r in window.rows)
    shown = re.search(r"Happy (\d+)", window.counts_label.text().replace("&nbsp;", " "))
    assert shown and int(shown.group(1)) == happy


def test_mood_filter_and_search_through_the_toolbar(qtbot, make_window, small_library):
    window = make_window()
    wait_analysed(qtbot, window, small_library)
    proxy = window.proxy
    total = proxy.rowCount()
    assert total == 12
    by_mood = {m: sum(r.mood == m for r in window.rows) for m in MOODS}
    keep = max(by_mood, key=by_mood.get)
    for m, action in window.mood_actions.items():
        if m != keep:
            action.trigger()  # untick
    assert proxy.rowCount() == by_mood[keep]
    assert {proxy.row_at(i).mood for i in range(proxy.rowCount())} == {keep}
    n = by_mood[keep]
    assert window.counts_label.text().startswith(f"{n} of 12 songs " if n < 12 else "12 songs ")
    for m, action in window.mood_actions.items():
        if m != keep:
            action.trigger()
    assert proxy.rowCount() == total
    qtbot.keyClicks(window.search, '"track 1"')  # Track 1, Track 10, Track 11
    qtbot.waitUntil(lambda: proxy.rowCount() == 3, timeout=5000)
    # the mood counts are those of the songs shown (they counted all 12 beside 3 rows)
    text = window.counts_label.text().replace("&nbsp;", " ")
    assert text.startswith("3 of 12 songs ")
    counted = {m: int(re.search(rf"{display_name(m)} (\d+)", text).group(1)) for m in MOODS}
    assert counted == {m: sum(proxy.row_at(i).mood == m for i in range(3)) for m in MOODS}
    titles = sorted(proxy.index(i, Column.TITLE).data() for i in range(3))
    assert titles == ["Track 1", "Track 10", "Track 11"]
    assert window.counts_label.text().startswith("3 of 12 songs ")  # not "12 songs"
    other = window.add_view(QWidget(), "Other")  # as Review and Playlists are added
    window.tabs.setCurrentIndex(other)  # they show every song, whatever the search
    assert window.counts_label.text().startswith("12 songs ")
    window.tabs.setCurrentIndex(0)
    assert window.counts_label.text().startswith("3 of 12 songs ")
    window.search.clear()
    qtbot.waitUntil(lambda: proxy.rowCount() == total, timeout=5000)
    assert window.counts_label.text().startswith("12 songs ")


def test_detail_pane_shows_scores_and_spectrogram(qtbot, make_window, small_library):
    window = make_window()
    window.show()
    wait_analysed(qtbot, window, small_library)
    window.table.selectRow(2)
    row = window.table.currentIndex().data(ROW_ROLE)
    assert window.detail.row == row
    assert window.detail.title.text() == row.title
    bars = window.detail.probs.items()
    assert [b[0].lower() for b in bars] == list(MOODS)
    assert [b[1] for b in bars] == pytest.approx(list(row.scores.probabilities))
    assert [b[1] for b in window.detail.axes.items()] == pytest.approx(
        [row.scores.energy, row.scores.valence]
    )
    assert row.path in window.detail.path_label.text()
    qtbot.waitUntil(lambda: window.detail.spectrogram_shown_for() == row.path, timeout=30_000)
    assert "segment" in window.detail.spec_caption.text()
    # regression: the errors dock + resizes once sent the spectrogram's height into a
    # width/scrollbar feedback loop that overflowed the stack
    window._show_errors()
    for w, h in ((900, 500), (700, 400), (1300, 800), (640, 360)):
        window.resize(w, h)
        QApplication.processEvents()
    assert window.detail.spectrogram_shown_for() == row.path
    # the narrowest pane (a small window) has room for the bars whole ("100%" and all)
    # beside its vertical scroll bar
    detail = window.detail
    qtbot.waitUntil(lambda: detail.width() == detail.minimumWidth())
    scroll = detail._scroll
    assert scroll.verticalScrollBar().isVisible()
    assert scroll.viewport().width() >= detail.probs.minimumSizeHint().width()
    assert detail.probs.width() >= detail.probs.minimumSizeHint().width()


def test_details_of_a_file_whose_tags_cannot_be_read_say_so(qtbot, make_window, tmp_path):
    """A zero-byte or junk file: "Mood tag: could not be read (why)", not "none written"
    (which says the file was read and has no mood tag)."""
    from tagger.core.store import Store

    bad = write_bad_files(tmp_path / "Bad" / "Album")
    window = make_window()
    wait_analysed(qtbot, window, tmp_path / "Bad")
    with Store.open_default() as store:
        tag_errors = {str(p): store.track(p).tag_error for p in bad.values()}
    assert tag_errors[str(bad["empty"])] and tag_errors[str(bad["text"])]
    for path, tag_error in tag_errors.items():
        window.select_track(next(r.track_id for r in window.rows if r.path == path))
        assert window.detail.row.path == path
        text = window.detail.tag_label.text()
        track_id = next(r.track_id for r in window.rows if r.path == path)
        cell = window.library_model.index_for(track_id, Column.TAG)
        shown = cell.data(Qt.ItemDataRole.DisplayRole)
        tip = cell.data(Qt.ItemDataRole.ToolTipRole)
        if tag_error:
            reason = tag_error.removeprefix("cannot read tags: ")
            row = window.detail.row
            if row.error and reason in row.error:  # said once, in red below
                assert text == "unknown (the file cannot be read)"
                assert window.detail.error_label.text() == row.error
            else:
                assert text == f"could not be read ({reason})"
            # the table's column too: blank read as "no mood tag in the file"
            assert shown == "can't read" and tip == f"Mood tag could not be read: {reason}"
        else:  # read fine (the audio is what is broken): no mood tag in it
            assert text == "none written"
            assert shown == ""


def test_details_pane_during_a_reanalysis_shows_no_stale_picture(
    qtbot, make_window, small_library, tmp_path
):
    """After a model switch (what Retrain does) the shown song waits for its new mood: the
    pane says it is waiting or being analysed, with no probabilities and no spectrogram
    (it said "Not analysed yet." beside the old picture); once analysed, both come back."""
    import torch

    from tagger.core.checkpoint import save_checkpoint
    from tagger.core.features import FeatureConfig
    from tagger.core.model import MoodCNN

    window = make_window()
    window.show()
    wait_analysed(qtbot, window, small_library)
    window.table.selectRow(2)
    detail = window.detail
    path = detail.row.path
    qtbot.waitUntil(lambda: detail.spectrogram_shown_for() == path, timeout=30_000)
    torch.manual_seed(1)
    retrained = tmp_path / "retrained.pt"
    save_checkpoint(retrained, MoodCNN(channels=(4, 8), dropout=0.0).eval(), FeatureConfig(), {})
    seen = []

    def look() -> None:
        row = detail.row
        if row is not None and row.path == path and row.scores is None:
            seen.append(
                (
                    detail.mood_label.text(),
                    detail.probs.isVisibleTo(detail) or detail.axes.isVisibleTo(detail),
                    detail.spectrogram.has_image(),
                    detail.spec_caption.text(),
                )
            )

    window.rows_changed.connect(look)
    window.library_model.dataChanged.connect(lambda *_a: look())  # "analysing" marks
    with qtbot.waitSignal(window.analysis_finished, timeout=TIMEOUT):
        window.set_model(retrained)
    assert seen, "the song was never shown waiting for its re-analysis"
    for text, bars, picture, caption in seen:
        assert text in ("Waiting to be analysed…", "Analysing…")
        assert not bars and not picture and caption == ""
    assert detail.row.scores is not None and detail.row.model_id == window.model_id
    assert detail.probs.isVisibleTo(detail)
    qtbot.waitUntil(lambda: detail.spectrogram_shown_for() == path, timeout=30_000)


def test_added_views_get_rows_and_refresh_reads_labels(qtbot, make_window, small_library):
    class Probe(QWidget):
        def __init__(self):
            super().__init__()
            self.calls = []

            self.roots = []
            self.stopped = []

        def set_rows(self, rows):
            self.calls.append(rows)

        def set_root(self, root):
            self.roots.append(root)

        def shutdown(self, timeout_ms):
            self.stopped.append(timeout_ms)

    window = make_window()
    probe = Probe()
    window.add_view(probe, "Probe")
    assert window.tabs.count() == 2 and window.tabs.tabText(1) == "Probe"
    wait_analysed(qtbot, window, small_library)
    assert probe.calls and len(probe.calls[-1]) == 12
    assert all(r.scores is not None for r in probe.calls[-1])
    # another view changes a label in the store, then asks for a refresh
    target = window.rows[0]
    other = next(m for m in MOODS if m != target.mood)
    window.store.add_label(target.track_id, other)
    window.refresh_rows()
    row = window.library_model.row_for(target.track_id)
    assert row.mood == other
    assert window.library_model.status_of(row) == Status.CORRECTED
    assert probe.calls[-1][0].label == other
    assert probe.roots == [small_library.resolve()]
    # a single label change (as the review view makes them) is cheap and reaches views
    second = window.rows[1]
    window.store.add_label(second.track_id, "sad")
    window.set_label(second.track_id, "sad")
    assert window.library_model.row_for(second.track_id).mood == "sad"
    qtbot.waitUntil(lambda: probe.calls[-1][1].label == "sad", timeout=5000)
    window.close()
    assert probe.stopped


def test_empty_state_without_a_folder(qtbot, make_window, monkeypatch, tmp_path):
    monkeypatch.setattr(
        QStandardPaths, "writableLocation", staticmethod(lambda _loc: str(tmp_path / "nope"))
    )
    assert default_folder(None) is None
    window = make_window(None)
    window.show()
    assert window.stack.currentWidget() is window.empty
    assert window.empty.button.isVisible()
    assert window.windowTitle() == APP_TITLE
    assert not window.write_action.isEnabled()
    assert not window.forget_missing_action.isEnabled()  # it was enabled and did nothing
    # a missing folder keeps the empty state and says why
    assert window.open_folder(tmp_path / "missing") is False
    assert window.stack.currentWidget() is window.empty
    assert "does not exist" in window.empty.message.text()


def test_empty_state_says_when_the_last_folder_is_gone(qtbot, make_window, monkeypatch, tmp_path):
    monkeypatch.setattr(
        QStandardPaths, "writableLocation", staticmethod(lambda _loc: str(tmp_path / "nope"))
    )
    update_settings(last_folder=str(tmp_path / "USB drive" / "Music"))
    assert default_folder(None) is None
    window = make_window(None)
    window.show()
    assert window.stack.currentWidget() is window.empty
    text = window.empty.message.text()
    assert str(tmp_path / "USB drive" / "Music") in text and "not available" in text


def test_default_folder_prefers_last_then_music(monkeypatch, tmp_path):
    music = tmp_path / "Music"
    music.mkdir()
    monkeypatch.setattr(QStandardPaths, "writableLocation", staticmethod(lambda _loc: str(music)))
    assert default_folder(None) == music
    last = tmp_path / "last"
    last.mkdir()
    update_settings(last_folder=str(last))
    assert default_folder(None) == last
    assert default_folder(str(tmp_path)) == Path(tmp_path)


def test_quit_while_analysing_stops_the_worker(qtbot, make_window, small_library):
    window = make_window()
    window.show()
    with qtbot.waitSignal(window.track_analysed, timeout=TIMEOUT):
        window.open_folder(small_library)
    assert window.analysing
    window.close()  # cancels, then waits (bounded) for the worker
    assert not window.analysing
    assert any(r.scores is None for r in window.rows)


def test_recent_folders_menu_lists_opened_folders(qtbot, make_window, tmp_path):
    a, b = tmp_path / "A music", tmp_path / "B music"
    a.mkdir()
    b.mkdir()
    window = make_window(auto_analyse=False)
    window.open_folder(a)
    window.open_folder(b)
    window.open_folder(a)
    window._fill_recent_menu()
    texts = [act.text() for act in window.recent_menu.actions()]
    assert texts == [str(a.resolve()), str(b.resolve())]
    window.recent_menu.actions()[1].trigger()
    assert window.root == b.resolve()
    assert window.windowTitle() == f"{APP_TITLE} — B music"


def test_a_folder_opens_when_the_settings_cannot_be_saved(make_window, tmp_path, monkeypatch):
    """A read-only settings folder: the folder still opens (it is just not remembered)."""
    import tagger.core.settings as settings

    music = tmp_path / "music"
    music.mkdir()

    def read_only(*a, **kw):
        raise PermissionError(13, "Permission denied", str(tmp_path))

    window = make_window(auto_analyse=False)
    monkeypatch.setattr(settings, "save_settings", read_only)
    window.open_folder(music)
    assert window.root == music.resolve()
    assert "last_folder" not in load_settings()


def test_log_dock_shows_records_from_any_thread(qtbot, make_window):
    import logging
    import threading

    window = make_window(None)
    t = threading.Thread(target=lambda: logging.getLogger("tagger.test").warning("from a worker"))
    t.start()
    t.join()
    qtbot.waitUntil(lambda: "from a worker" in window.log_view.toPlainText(), timeout=5000)


def test_view_menu_brings_the_asked_dock_to_the_front(qtbot, make_window):
    """Errors and Log share a tab bar: View > Log with Errors open shows the log."""
    window = make_window(None)
    window.show()

    def seen(w: QWidget) -> bool:  # a dock behind the other's tab is parked off-screen
        return w.isVisible() and not w.visibleRegion().isEmpty()

    errors_action = window.errors_dock.toggleViewAction()
    log_action = window.log_dock.toggleViewAction()
    errors_action.trigger()
    qtbot.waitUntil(lambda: seen(window.errors_list))
    log_action.trigger()
    qtbot.waitUntil(lambda: seen(window.log_view))
    assert not seen(window.errors_list)
    errors_action.trigger()  # hidden, then asked for again: in front again
    errors_action.trigger()
    qtbot.waitUntil(lambda: seen(window.errors_list))
    assert not seen(window.log_view)


def test_rescan_after_the_folder_went_away(qtbot, make_window, small_library, tmp_path):
    """An unplugged drive: the rescan says so plainly and keeps what was shown."""
    import shutil

    root = tmp_path / "lib"
    shutil.copytree(small_library, root)
    window = make_window()
    window.show()
    wait_analysed(qtbot, window, root)
    shown = len(window.rows)
    root.rename(tmp_path / "moved")
    with qtbot.waitSignal(window.analysis_finished, timeout=TIMEOUT):
        window.reanalyse_action.trigger()
    assert window.message_label.text() == f"Analysis failed: folder not found: {root}"
    assert len(window.rows) == shown  # the last results stay on screen


def test_dropping_a_folder_opens_it(qtbot, make_window, small_library, tmp_path):
    from PySide6.QtCore import QMimeData, QPointF, QUrl
    from PySide6.QtGui import QDragEnterEvent, QDropEvent

    window = make_window(None)
    window.show()
    keep: list[QMimeData] = []  # an event does not own its mime data: keep it alive

    def mime(*paths) -> QMimeData:
        m = QMimeData()
        m.setUrls([QUrl.fromLocalFile(str(p)) for p in paths])
        keep.append(m)
        return m

    def enter(m: QMimeData) -> bool:
        ev = QDragEnterEvent(
            QPointF(5, 5),
            Qt.DropAction.CopyAction,
            m,
            Qt.MouseButton.LeftButton,
            Qt.KeyboardModifier.NoModifier,
        )
        window.dragEnterEvent(ev)
        return ev.isAccepted()

    text = QMimeData()
    text.setText("not a folder")
    assert not enter(text)
    assert not enter(mime(tmp_path / "missing"))
    a_file = next(p for p in small_library.rglob("*") if p.is_file())
    assert enter(mime(a_file))  # a file stands for its folder
    assert enter(mime(small_library))
    data = mime(small_library)
    drop = QDropEvent(
        QPointF(5, 5),
        Qt.DropAction.CopyAction,
        data,
        Qt.MouseButton.LeftButton,
        Qt.KeyboardModifier.NoModifier,
    )
    with qtbot.waitSignal(window.analysis_finished, timeout=TIMEOUT):
        window.dropEvent(drop)
    assert window.root == small_library.resolve()
    assert len(window.rows) > 0


def test_damaged_library_database_is_replaced_with_a_warning(qtbot, make_window):
    from tagger.core.paths import app_dirs

    db = app_dirs().ensure().database
    db.write_bytes(b"\x00garbage" * 500)
    window = make_window(None)
    window.show()
    qtbot.waitUntil(lambda: window.recovery_box is not None and window.recovery_box.isVisible())
    text = window.recovery_box.text()
    assert "damaged" in text and str(window.store.recovered_from) in text
    assert window.store.recovered_from.read_bytes() == b"\x00garbage" * 500
    window.recovery_box.accept()


def test_damaged_user_model_is_replaced_by_the_bundled_one(
    qtbot, make_window, small_library, tmp_path
):
    from tagger.core.paths import bundled_model_path

    damaged = tmp_path / "user-model.pt"
    damaged.write_bytes(b"\x00" * 300)
    update_settings(active_model=str(damaged))
    window = make_window(model=None)  # no model given: the active one
    window.show()
    wait_analysed(qtbot, window, small_library)
    assert window.loaded.path == bundled_model_path()
    assert all(r.scores is not None for r in window.rows)  # analysis went on
    assert "could not be loaded" in window.errors["(mood model)"]


def test_geometry_saved_on_a_bigger_screen_is_fitted_to_this_one(qtbot, make_window, monkeypatch):
    from tagger.ui.main_window import MainWindow

    update_settings(window_geometry="AAAA")  # any saved geometry
    # Offscreen Qt fits a restored geometry itself; X11 without a window manager does not.
    # Restore it the way X11 does: at the saved size, whatever the screen.
    monkeypatch.setattr(
        MainWindow, "restoreGeometry", lambda self, _d: self.resize(5000, 4000) or True
    )
    window = make_window(None)
    window.show()
    avail = window.screen().availableGeometry()
    assert window.width() <= avail.width() and window.height() <= avail.height()
    assert avail.contains(window.geometry().topLeft())


def test_a_folder_without_audio_says_so(qtbot, make_window, tmp_path):
    (tmp_path / "docs").mkdir()
    (tmp_path / "docs" / "notes.txt").write_text("no music here")
    window = make_window()
    window.show()
    wait_analysed(qtbot, window, tmp_path)
    assert window.rows == []
    text = window.message_label.text()
    assert text.startswith(f"No audio files in {tmp_path.resolve()}") and "FLAC" in text


def test_label_the_selected_songs_from_the_table(qtbot, make_window, library):
    """Tags > Set Mood of Selected Songs (also on the table's context menu) labels a whole
    selection at once, like the Review tab; Clear My Label takes it back."""
    from PySide6.QtCore import QItemSelectionModel

    from tagger.core.store import Store

    window = make_window(auto_analyse=True)
    window.show()
    wait_analysed(qtbot, window, library)
    assert not window.label_menu.isEnabled()  # nothing selected
    good = [r for r in window.rows if r.scores is not None]
    bad = next(r for r in window.rows if r.unreadable)
    sel = window.table.selectionModel()
    flags = QItemSelectionModel.SelectionFlag.Select | QItemSelectionModel.SelectionFlag.Rows
    for r in (good[0], good[1], bad):
        sel.select(window.proxy.mapFromSource(window.library_model.index_for(r.track_id)), flags)
    assert window.label_menu.isEnabled()
    window.label_actions["calm"].trigger()
    with Store.open_default() as store:
        labels = store.labels_under(library)
    assert labels == {good[0].path: "calm", good[1].path: "calm"}  # not the unreadable one
    by_id = {r.track_id: r for r in window.rows}
    assert by_id[good[0].track_id].label == "calm" and by_id[good[1].track_id].label == "calm"
    # it said "2 songs marked Calm" with the unreadable one skipped without a word
    assert window.message_label.text() == ("2 songs marked Calm. 1 could not be read: skipped.")
    window.label_actions["calm"].trigger()
    assert window.message_label.text().startswith("0 songs marked Calm. 2 had that label")
    window.label_actions[None].trigger()
    with Store.open_default() as store:
        assert store.labels_under(library) == {}
    assert window.message_label.text().startswith("Cleared your label of 2 songs.")
    window.label_actions[None].trigger()  # it said "0 song(s) marked unlabelled."
    assert window.message_label.text().startswith("Cleared your label of 0 songs. 2 had none")
    assert all(r.label is None for r in window.rows)
    # the same from the keyboard, in the table: Alt+1..4 label, Alt+0 clears
    window.activateWindow()
    window.table.setFocus()
    qtbot.waitUntil(lambda: window.table.hasFocus(), timeout=5000)
    qtbot.keyClick(window.table, Qt.Key.Key_3, Qt.KeyboardModifier.AltModifier)
    with Store.open_default() as store:
        assert store.labels_under(library) == {good[0].path: "sad", good[1].path: "sad"}
    qtbot.keyClick(window.table, Qt.Key.Key_0, Qt.KeyboardModifier.AltModifier)
    with Store.open_default() as store:
        assert store.labels_under(library) == {}


def test_table_sorted_before_analysis_is_in_order_once_it_is_done(
    qtbot, make_window, small_library
):
    """Sorted by confidence while songs are still queued (or before a re-analysis): the
    results arrive in place, and once analysis is done the rows are in that order."""
    window = make_window()
    window.table.sortByColumn(Column.CONFIDENCE, Qt.SortOrder.DescendingOrder)
    wait_analysed(qtbot, window, small_library)
    proxy = window.proxy
    shown = [proxy.row_at(i).scores.confidence for i in range(proxy.rowCount())]
    assert len(shown) == 12
    assert shown == sorted(shown, reverse=True)


def test_table_keeps_its_sort_order_after_a_label_and_a_write(qtbot, make_window, small_library):
    """Sorted by a column that a label or a write changes (Status, Mood tag), the table is
    in that order again afterwards, with the selection and the details on the same song."""
    from tagger.ui.library_model import STATUS_ORDER

    window = make_window()
    window.show()
    wait_analysed(qtbot, window, small_library)
    proxy = window.proxy

    def shown(column):
        return [proxy.index(i, column).data() for i in range(proxy.rowCount())]

    window.table.sortByColumn(Column.STATUS, Qt.SortOrder.AscendingOrder)
    assert set(shown(Column.STATUS)) == {Status.DONE}
    window.table.selectRow(3)
    target = proxy.row_at(3)
    wrong = next(m for m in MOODS if m != target.mood)
    window.label_actions[wrong].trigger()  # corrected: after every "done" song
    assert shown(Column.STATUS) == sorted(shown(Column.STATUS), key=STATUS_ORDER.index)
    assert shown(Column.STATUS)[-1] == Status.CORRECTED
    current = window.table.currentIndex()
    assert current.row() == proxy.rowCount() - 1
    assert current.data(ROW_ROLE).track_id == target.track_id
    assert [r.track_id for r in window.selected_rows()] == [target.track_id]
    assert window.detail.row.track_id == target.track_id and window.detail.row.label == wrong
    # sorted by the mood tag in the files (none yet), then every song is written
    window.table.sortByColumn(Column.TAG, Qt.SortOrder.AscendingOrder)
    with qtbot.waitSignal(window.write_finished, timeout=TIMEOUT) as blocker:
        window.write_tags(confirm=False)
    assert blocker.args[0].written == 12
    tags = shown(Column.TAG)
    assert all(tags) and tags == sorted(tags)
    current = window.table.currentIndex()
    assert current.data(ROW_ROLE).track_id == target.track_id
    assert proxy.index(current.row(), Column.TAG).data() == display_name(wrong)
    assert [r.track_id for r in window.selected_rows()] == [target.track_id]
    assert window.detail.row.track_id == target.track_id
    assert window.detail.row.mood_tag == display_name(wrong)


def test_title_stays_readable_in_a_small_window(qtbot, make_window, small_library):
    """At 1024x700 the other columns give way so that Title keeps ~14 em, every header
    label still shows and nothing scrolls sideways; a big window keeps the default widths,
    and a column resized by hand stays as it is."""
    from PySide6.QtWidgets import QStyle

    from tagger.ui.library_model import HEADERS

    window = make_window(small_library, auto_analyse=False)
    window.show()
    qtbot.waitUntil(lambda: window.root is not None)
    table = window.table
    hh = table.horizontalHeader()
    em = table.fontMetrics().horizontalAdvance("M")
    margin = 2 * table.style().pixelMetric(QStyle.PixelMetric.PM_HeaderMargin, None, hh)

    def widths() -> dict[Column, int]:
        qtbot.waitUntil(lambda: table.viewport().width() < window.width() - 200)
        table.updateGeometries()  # lays the header out (it stretches Title on its timer)
        QApplication.processEvents()
        return {c: table.columnWidth(c) for c in Column}

    window.resize(1800, 1000)
    big = widths()
    # a big window: Artist and Album get some of the room Title does not need (names were
    # cut at 11 em beside a half-empty Title column)
    assert 11 * em < big[Column.ARTIST] == big[Column.ALBUM] <= 20 * em
    assert big[Column.TITLE] >= big[Column.ARTIST]

    window.resize(1024, 700)
    small = widths()
    assert small[Column.TITLE] >= 12 * em
    assert sum(small.values()) <= table.viewport().width()  # no sideways scrolling
    for c in Column:
        assert small[c] >= hh.fontMetrics().horizontalAdvance(HEADERS[c]) + margin, c
    assert small[Column.MOOD] == big[Column.MOOD]  # the chips still fit
    # narrower still, labels are elided ("Con…"), not clipped at both ends
    assert hh.textElideMode() == Qt.TextElideMode.ElideRight
    # ...but every status stays whole, like the chips ("confirmed" was "confirm…")
    from tagger.ui.library_model import STATUSES

    pad = 2 * (table.style().pixelMetric(QStyle.PixelMetric.PM_FocusFrameHMargin, None, table) + 1)
    widest = max(table.fontMetrics().horizontalAdvance(t) for t in STATUSES)
    window.resize(800, 700)
    assert widths()[Column.STATUS] >= widest + pad
    # too small for the columns' contents: they give way further before Title does (it
    # was 3 ems at 800 px, and at 700 px it took the whole view, every other column
    # pushed out of sight)
    from tagger.ui.main_window import TITLE_MIN_EM

    narrow = widths()
    assert narrow[Column.TITLE] >= TITLE_MIN_EM * em
    window.resize(700, 600)
    tiny = widths()
    assert tiny[Column.TITLE] == TITLE_MIN_EM * em  # the least it gets; the table scrolls
    assert tiny[Column.MOOD] == big[Column.MOOD] and tiny[Column.STATUS] >= widest + pad
    # names stay readable ("Bj…", "Ho…" at 3.5 ems); the numbers give way instead
    from tagger.ui.main_window import SQUEEZED_EM

    for c in (Column.ARTIST, Column.ALBUM):
        assert tiny[c] >= round(SQUEEZED_EM[c] * em) > tiny[Column.ENERGY], c
    assert tiny[Column.TITLE] + tiny[Column.ARTIST] + tiny[Column.MOOD] < table.viewport().width()

    window.resize(1800, 1000)
    assert widths() == big
    hh.resizeSection(Column.ARTIST, 25 * em)  # by hand: no more fitting
    window.resize(1024, 700)
    assert widths()[Column.ARTIST] == 25 * em


def test_tab_never_moves_the_focus_to_a_widget_out_of_sight(qtbot, make_window, small_library):
    """Keyboard only: each Tab press lands on something visible in the window (the tab
    bar Qt keeps for the hidden Errors/Log docks sits off-screen and must be skipped)."""
    window = make_window(small_library, auto_analyse=False)
    window.show()
    qtbot.waitExposed(window)
    qtbot.waitUntil(lambda: window.root is not None)
    window.table.setFocus()
    qtbot.waitUntil(lambda: QApplication.focusWidget() is window.table)
    reached = []
    for _ in range(8):
        window.focusNextChild()
        w = QApplication.focusWidget()
        assert w is not None
        reached.append(type(w).__name__)
        inside = window.rect().contains(w.mapTo(window, w.rect().center()))
        assert w.isVisible() and inside and not w.visibleRegion().isEmpty(), reached
    assert "LibraryTableView" in reached  # round the window and back


def test_library_table_gets_most_of_the_width(qtbot, make_window, small_library):
    """The details pane takes about a fifth of the Library tab and never over 30%, at 1x
    (a 1400-px window) as at 1.5x (the same window is 960 logical px) or in a smaller one
    (it took ~40% there: a 3:1 stretch and a 260-px floor); a split dragged by hand keeps
    its proportion, within the same limit."""
    window = make_window(small_library, auto_analyse=False)
    window.show()
    qtbot.waitUntil(lambda: window.root is not None)
    spl, detail = window.splitter, window.detail

    def share(width: int) -> float:
        window.resize(width, 700)
        qtbot.waitUntil(lambda: abs(spl.width() - width) <= 20)
        QApplication.processEvents()
        assert window.table.width() + detail.width() + spl.handleWidth() == spl.width()
        return detail.width() / spl.width()

    for width in (1400, 960, 760, 1600):
        assert 0.15 <= share(width) <= 0.3, width
    assert detail.width() >= detail.minimumWidth()
    # dragged to a quarter: a quarter of any width; dragged to half: held to 30%
    window.resize(1400, 700)
    qtbot.waitUntil(lambda: abs(spl.width() - 1400) <= 20)
    spl.moveSplitter(round(spl.width() * 0.75), 1)
    assert share(1000) == pytest.approx(0.25, abs=0.01)
    spl.moveSplitter(spl.width() // 2, 1)
    assert share(1200) == pytest.approx(0.3, abs=0.01)
    window.fit_splitter([750, 250])  # a split saved at another size or scale
    assert share(960) == pytest.approx(0.25, abs=0.01)


def test_a_message_of_several_lines_stays_on_one_status_bar_line(make_window):
    """A multi-line message (an error's text) is shown on one line, so it cannot push the
    status bar up over the window; the tooltip keeps it whole."""
    window = make_window()
    text = "Analysis failed: boom\n  File 'x.py', line 3\nValueError: bad"
    window.say(text)
    assert "\n" not in window.message_label.text()
    assert (
        window.message_label.text() == "Analysis failed: boom File 'x.py', line 3 ValueError: bad"
    )
    assert window.message_label.toolTip() == text


def test_a_message_too_long_for_the_status_bar_ends_in_an_ellipsis(qtbot, make_window):
    """In a narrow window the message was cut mid-word ("1 song no"), reading as if it
    were whole. It ends in "…" now, the whole text in the tooltip; a short one is whole."""
    window = make_window()
    window.resize(700, 500)
    window.show()
    qtbot.waitExposed(window)
    text = (
        "Done: 17 songs (1 analysed, 16 from cache). 1 song no longer on disk: kept until "
        "File > Forget Missing Songs…. 3 files could not be read: see the Errors list (its "
        "button on the right)."
    )
    window.say(text)
    label = window.message_label
    shown = label.displayed_text()
    assert label.fontMetrics().horizontalAdvance(text) > label.width()  # too long here
    assert shown.endswith("…") and text.startswith(shown[:-1])
    assert label.fontMetrics().horizontalAdvance(shown) <= label.contentsRect().width()
    assert label.text() == label.toolTip() == text
    window.say("Done: 17 songs.")
    assert label.displayed_text() == "Done: 17 songs."


def test_ctrl_page_keys_go_through_the_tabs(qtbot, make_window, small_library):
    """Ctrl+PgDown / Ctrl+PgUp (View > Next / Previous Tab) go from tab to tab round the
    end, from the library table and from a view's page alike."""
    window = make_window(auto_analyse=False)
    for title in ("Review", "Playlists"):  # plain pages that take the focus
        page = QWidget()
        page.setFocusPolicy(Qt.FocusPolicy.StrongFocus)
        window.add_view(page, title, scrollable=title == "Review")
    window.show()
    window.open_folder(small_library)
    window.activateWindow()
    qtbot.waitUntil(window.isActiveWindow, timeout=5000)  # shortcuts need an active window
    n = window.tabs.count()
    assert n == 3
    window.tabs.setCurrentIndex(0)
    window.table.setFocus()
    qtbot.keyClick(window.table, Qt.Key.Key_PageDown, Qt.KeyboardModifier.ControlModifier)
    assert window.tabs.currentIndex() == 1
    review = window.tabs.widget(1).widget()
    review.setFocus()
    qtbot.keyClick(review, Qt.Key.Key_PageUp, Qt.KeyboardModifier.ControlModifier)
    assert window.tabs.currentIndex() == 0
    qtbot.keyClick(window.table, Qt.Key.Key_PageUp, Qt.KeyboardModifier.ControlModifier)
    assert window.tabs.currentIndex() == n - 1  # round the end
    assert window.next_tab_action.shortcut().toString() == "Ctrl+PgDown"


def test_quit_has_a_shortcut_and_ctrl_q_closes(qtbot, make_window):
    """Qt has no standard Quit key on Windows or a bare X11 session (this test's offscreen
    platform among them): File > Quit then showed no shortcut and Ctrl+Q did nothing."""
    window = make_window(auto_analyse=False)
    quit_action = next(a for a in window.findChildren(QAction) if a.text() == "&Quit")
    assert not quit_action.shortcut().isEmpty()
    window.show()
    window.activateWindow()
    qtbot.waitUntil(window.isActiveWindow, timeout=5000)  # shortcuts need an active window
    qtbot.keyClick(window, Qt.Key.Key_Q, Qt.KeyboardModifier.ControlModifier)
    qtbot.waitUntil(lambda: not window.isVisible(), timeout=5000)


def test_a_rescan_says_which_songs_left_the_table(qtbot, make_window, small_library):
    """A deleted file's song left the table on F5 without a word."""
    window = make_window()
    wait_analysed(qtbot, window, small_library)
    next(small_library.glob("Band 0/Record/*.wav")).unlink()
    with qtbot.waitSignal(window.analysis_finished, timeout=TIMEOUT):
        window.start_analysis()
    assert len(window.rows) == 11
    assert window.message_label.text().endswith(
        " 1 song no longer on disk: kept until File > Forget Missing Songs…"
    )


def test_the_table_sort_is_kept_across_restarts(qtbot, make_window, small_library):
    """The library table came back unsorted after a restart."""
    window = make_window(small_library, auto_analyse=False)
    window.show()
    window.table.sortByColumn(Column.ARTIST, Qt.SortOrder.DescendingOrder)
    window.close()
    again = make_window(small_library, auto_analyse=False)
    assert again.proxy.sortColumn() == Column.ARTIST
    assert again.proxy.sortOrder() == Qt.SortOrder.DescendingOrder
    header = again.table.horizontalHeader()
    assert header.sortIndicatorSection() == Column.ARTIST


def test_a_label_the_locked_database_refuses_is_said_not_lost_silently(
    qtbot, make_window, small_library, monkeypatch
):
    """Another program holding the library database (a write transaction) froze the
    window for 30 s, then the label silently did not appear (a traceback on stderr). Now
    the window waits briefly, says so, and shows no label it did not save; the Review
    tab's decision likewise stays on its song."""
    import sqlite3

    from PySide6.QtCore import QItemSelectionModel
    from PySide6.QtWidgets import QMessageBox

    import tagger.ui.main_window as mw
    from tagger.core.paths import app_dirs
    from tagger.core.store import Store

    monkeypatch.setattr(mw, "GUI_DB_TIMEOUT", 0.2)
    warned: list[str] = []
    monkeypatch.setattr(QMessageBox, "warning", lambda parent, title, text, *a: warned.append(text))
    window = make_window()
    wait_analysed(qtbot, window, small_library)
    row = window.rows[0]
    sel = window.table.selectionModel()
    flags = QItemSelectionModel.SelectionFlag.Select | QItemSelectionModel.SelectionFlag.Rows
    sel.select(window.proxy.mapFromSource(window.library_model.index_for(row.track_id)), flags)
    other = sqlite3.connect(app_dirs().database, isolation_level=None)
    other.execute("BEGIN EXCLUSIVE")
    try:
        assert window.label_selected("sad") == 0
    finally:
        other.execute("ROLLBACK")
        other.close()
    assert len(warned) == 1 and "not saved" in warned[0] and "in use by another" in warned[0]
    assert all(r.label is None for r in window.rows)
    with Store.open_default() as store:
        assert store.labels_under(small_library) == {}
    assert window.label_selected("sad") == 1  # free again: it works
    assert len(warned) == 1


def test_changes_made_on_the_command_line_show_when_the_window_is_active_again(
    qtbot, make_window, small_library, tiny_model_path
):
    """`mood-tagger label` or `write` run in a terminal while the app was open: the table
    kept its old labels and "Mood tag in file" column until a rescan."""
    from PySide6.QtCore import QEvent

    from tagger.cli import main

    window = make_window()
    wait_analysed(qtbot, window, small_library)
    window.refresh_rows()  # the rows as read now; the workers' commits are behind them
    assert not window.follow_other_changes()  # nothing changed since
    first = sorted(window.rows, key=lambda r: r.path)[0]
    other = next(m for m in MOODS if m != first.mood)
    assert main(["-q", "label", other, first.path]) == 0
    assert window.library_model.row_for(first.track_id).label is None  # not seen yet
    # the window becoming active again (offscreen windows never do: pretend it did)
    window.isActiveWindow = lambda: True
    QApplication.sendEvent(window, QEvent(QEvent.Type.ActivationChange))
    assert window.library_model.row_for(first.track_id).label == other
    assert not window.follow_other_changes()
    assert main(["-q", "write", str(small_library), "--model", str(tiny_model_path)]) == 0
    assert window.follow_other_changes()
    rows = [window.library_model.row_for(r.track_id) for r in window.rows]
    assert all(r.mood_tag == display_name(r.mood) for r in rows)  # was None: never written
    assert window.library_model.row_for(first.track_id).mood_tag == display_name(other)


def test_a_database_deleted_while_the_app_is_open_is_opened_again(
    qtbot, make_window, small_library
):
    """The library database deleted (the data folder cleared to start afresh): the
    window went on writing labels into the deleted file, lost when the app quit, while
    its workers made a new one. Now it opens the new one when it is active again."""
    from tagger.core.store import Store
    from tagger.ui.review_view import ReviewView

    window = make_window()
    window.show()
    wait_analysed(qtbot, window, small_library)
    review = ReviewView(window.store, small_library, lambda: window.loaded)
    window.add_view(review, "Review")
    path = window.store.path
    old = window.store
    window.refresh_rows()
    assert not window.follow_other_changes()
    for suffix in ("", "-wal", "-shm"):
        Path(str(path) + suffix).unlink(missing_ok=True)
    with qtbot.waitSignal(window.analysis_finished, timeout=TIMEOUT):
        assert window.follow_other_changes()
    assert window.store is not old and review.store is window.store
    box = window.recovery_box
    assert box is not None and box.isVisible() and "deleted or replaced" in box.text()
    box.close()
    assert len(window.rows) == 12 and all(r.scores is not None for r in window.rows)
    target = window.rows[0]
    window.store.add_label(target.track_id, "sad")
    with Store(path) as on_disk:  # in the file that is there, not in a deleted one
        assert list(on_disk.labels_under(small_library).values()) == ["sad"]
    window.follow_other_changes()  # the workers' commits: the rows are read once more
    assert not window.follow_other_changes() and window.store.path.exists()


def test_please_wait_box_closes_when_the_analysis_ends(qtbot, make_window, small_library):
    """Write Tags while analysing said "please wait" in a modal box that stayed open (and
    went on saying so) after the analysis had finished."""
    from PySide6.QtWidgets import QMessageBox

    window = make_window()
    window.show()
    with qtbot.waitSignal(window.track_analysed, timeout=TIMEOUT):
        window.open_folder(small_library)
    assert window.analysing
    window.write_tags()
    box = window._busy_box
    assert isinstance(box, QMessageBox) and box.isVisible()
    assert "wait for the analysis" in box.text()
    qtbot.waitUntil(lambda: window._busy_box is None, timeout=TIMEOUT)
    assert not window.analysing
    assert not any(
        isinstance(w, QMessageBox) and w.isVisible() for w in QApplication.topLevelWidgets()
    )


def test_search_keeps_the_selected_song_or_selects_none(qtbot, make_window, small_library):
    """A search that hid the selected song made a neighbour current (the details pane showed
    a song the person never picked), and one that kept it left the view scrolled where the
    song no longer was."""
    window = make_window()
    window.resize(900, 260)  # a few rows tall: scrolling matters
    window.show()
    wait_analysed(qtbot, window, small_library)
    assert window.proxy.rowCount() == 12
    table = window.table
    band1 = [window.proxy.row_at(i) for i in range(12)]
    band1 = [r for r in band1 if "Band 1" in r.path]
    first = band1[0]  # the first of Band 1's six: the first row once "Band 1" is searched
    window.select_track(first.track_id)
    table.scrollToBottom()  # the person scrolled on, away from the selected song
    assert table.verticalScrollBar().value() > 0
    # a search that keeps it: still selected and brought into view
    window.search.setText('"Band 1"')
    window._apply_search()
    assert window.proxy.rowCount() == 6
    current = table.currentIndex()
    assert current.isValid() and current.data(ROW_ROLE).track_id == first.track_id
    assert window.detail.row.track_id == first.track_id
    assert table.viewport().rect().contains(table.visualRect(current))
    # a search that hides it: nothing selected, nothing else in its place
    window.search.setText("Band 0")
    window._apply_search()
    assert 0 < window.proxy.rowCount() < 12
    assert not window.table.selectionModel().hasSelection()
    assert not window.table.currentIndex().isValid()
    assert window.detail.row is None
    assert window.table.verticalScrollBar().value() == 0


def test_the_analysis_count_is_beside_the_bar_not_over_it(qtbot, make_window, small_library):
    """Fusion drew the part of "30 / 60" just past the bar's filled end white on white."""
    window = make_window()
    window.show()
    seen = []

    def look(_ev) -> None:
        seen.append((window.eta_label.text(), window.progress.isTextVisible()))

    window.track_analysed.connect(look)
    wait_analysed(qtbot, window, small_library)
    assert seen
    for text, over in seen:
        assert not over
        assert re.match(r"Analysing \d+ / 12( · .+ left|…)$", text), text


def test_ctrl_click_adds_songs_to_the_selection(qtbot, make_window, small_library):
    """Ctrl+click made the row current, the window selected it alone, and Qt's Ctrl toggle
    then deselected it: no row stayed selected and the selection actions went grey."""
    window = make_window()
    window.resize(1000, 700)
    window.show()
    wait_analysed(qtbot, window, small_library)
    table = window.table
    vp = table.viewport()

    def click(row: int, mods=Qt.KeyboardModifier.NoModifier) -> None:
        rect = table.visualRect(window.proxy.index(row, 0))
        qtbot.mouseClick(vp, Qt.MouseButton.LeftButton, mods, rect.center())

    click(0)
    click(2, Qt.KeyboardModifier.ControlModifier)
    click(4, Qt.KeyboardModifier.ControlModifier)
    chosen = {window.proxy.row_at(r).track_id for r in (0, 2, 4)}
    assert {r.track_id for r in window.selected_rows()} == chosen
    assert window.write_selection_action.isEnabled()
    click(2, Qt.KeyboardModifier.ControlModifier)  # Ctrl+click again: out of the selection
    assert {r.track_id for r in window.selected_rows()} == chosen - {
        window.proxy.row_at(2).track_id
    }
    click(6, Qt.KeyboardModifier.ShiftModifier)  # Shift: the range from the anchor
    assert len(window.selected_rows()) >= 3
    click(1)  # a plain click: that song alone
    assert [r.track_id for r in window.selected_rows()] == [window.proxy.row_at(1).track_id]
    # focus alone (Tab into the table) still selects the current row, as before
    window.table.selectionModel().clear()
    window.table.setCurrentIndex(window.proxy.index(3, 0))
    assert [r.track_id for r in window.selected_rows()] == [window.proxy.row_at(3).track_id]


def test_closing_the_errors_dock_gives_the_keys_back_to_the_open_tab(
    qtbot, make_window, small_library
):
    """Closed on the Review tab, the Errors dock handed the focus to the search box: the
    Review key 3 (Sad) typed "3" there, which filtered the library and left Review."""
    window = make_window()
    window.show()
    window.activateWindow()
    qtbot.waitUntil(lambda: QApplication.activeWindow() is window, timeout=5000)
    wait_analysed(qtbot, window, small_library)
    from tagger.ui.review_view import ReviewView

    review = ReviewView(window.store, small_library, lambda: window.loaded)
    window.tabs.setCurrentIndex(window.add_view(review, "Review", scrollable=True))
    window._add_error(str(small_library / "x.mp3"), "test")
    window._show_errors()
    qtbot.waitUntil(lambda: window.errors_list.hasFocus(), timeout=5000)
    window.errors_dock.close()
    qtbot.waitUntil(lambda: QApplication.focusWidget() is not window.errors_list, timeout=5000)
    QApplication.processEvents()
    fw = QApplication.focusWidget()
    assert fw is not window.search
    assert fw is review or review.isAncestorOf(fw), fw
    assert window.tabs.currentWidget().isAncestorOf(review)


def test_a_rescan_that_adds_songs_keeps_the_selection(qtbot, make_window, small_library):
    """After File > Rescan Folder found a new song no row was selected, while the details
    pane went on showing the song selected before."""
    from tests.audio_factory import write_audio

    window = make_window()
    window.show()
    wait_analysed(qtbot, window, small_library)
    a, b = window.proxy.row_at(2), window.proxy.row_at(5)
    window.select_track(a.track_id)
    window.table.selectionModel().select(
        window.proxy.index(5, 0),
        window.table.selectionModel().SelectionFlag.Select
        | window.table.selectionModel().SelectionFlag.Rows,
    )
    assert {r.track_id for r in window.selected_rows()} == {a.track_id, b.track_id}
    write_audio(small_library / "Band 9" / "Record" / "01 New.wav", seconds=3.0, seed=99)
    with qtbot.waitSignal(window.analysis_finished, timeout=TIMEOUT):
        window.start_analysis()
    assert len(window.rows) == 13
    assert window.detail.row.track_id == a.track_id
    assert window.table.currentIndex().data(ROW_ROLE).track_id == a.track_id
    assert {r.track_id for r in window.selected_rows()} == {a.track_id, b.track_id}


def test_a_new_model_says_how_many_moods_it_changed(qtbot, make_window, small_library, tmp_path):
    """Retraining changed the moods of unreviewed songs without a word, and songs whose
    tag holds the old mood were not pointed out."""
    import torch

    from tagger.core.checkpoint import save_checkpoint
    from tagger.core.features import FeatureConfig
    from tagger.core.model import MoodCNN
    from tagger.core.moods import display_name as name

    window = make_window()
    window.show()
    wait_analysed(qtbot, window, small_library)
    before = {r.track_id: r.predicted_mood for r in window.rows}
    # one song's file says its predicted mood already, as after Write Mood Tags
    tagged = window.rows[0]
    window.store.set_mood_tag([tagged.track_id], name(tagged.predicted_mood))
    window.refresh_rows()
    qtbot.waitUntil(lambda: window.library_model.row_for(tagged.track_id).mood_tag is not None)
    torch.manual_seed(7)
    other = tmp_path / "other.pt"
    model = MoodCNN(channels=(4, 8), dropout=0.0).eval()
    with torch.no_grad():  # a head that favours another mood than the tiny model's
        model.head.bias.copy_(torch.tensor([0.0, 0.0, 0.0, 0.0]))
        model.head.bias[(MOODS.index(tagged.predicted_mood) + 1) % 4] = 50.0
    save_checkpoint(other, model, FeatureConfig(), {})
    with qtbot.waitSignal(window.analysis_finished, timeout=TIMEOUT):
        window.set_model(other)
    after = {r.track_id: r.predicted_mood for r in window.rows}
    changed = sum(before[t] != after[t] for t in before)
    assert changed >= 1 and after[tagged.track_id] != before[tagged.track_id]
    text = window.message_label.text()
    assert f"The new model changed the mood of {count(changed)}" in text, text
    assert "1 of them has the old mood in its tag" in text, text


def count(n: int) -> str:
    return f"{n} song" if n == 1 else f"{n} songs"
