"""Review view: keyboard labelling, persistence, undo, playback off, retrain and reset."""

from __future__ import annotations

import dataclasses
from pathlib import Path

import numpy as np
import pytest
from PySide6.QtCore import Qt
from PySide6.QtWidgets import QScrollArea

from tagger.core.checkpoint import load_checkpoint
from tagger.core.library import analyze_library, library_rows
from tagger.core.models import active_model_path
from tagger.core.paths import bundled_model_path
from tagger.core.retrain import RetrainConfig
from tagger.core.settings import load_settings
from tagger.core.store import Store
from tagger.ui import playback
from tagger.ui.playback import Player
from tagger.ui.review_view import ReviewView, group_key
from tests.audio_factory import write_audio
from tests.ui.fakes import FakeStream

FAST = RetrainConfig(steps=20, folds=2)


@pytest.fixture
def tiny(tiny_model_path):
    return load_checkpoint(tiny_model_path)


@pytest.fixture
def lib(tmp_path, tiny) -> Path:
    root = tmp_path / "music"
    for i in range(12):
        kind = ("calm", "bright", "harsh")[i % 3]
        write_audio(
            root / f"Band {i % 2}" / f"Record {i % 4 // 2}" / f"{i + 1:02d} {kind}.wav",
            3.0,
            kind,
            seed=i,
        )
    with Store.open_default() as store:
        for _ in analyze_library(root, store, tiny, jobs=1):
            pass
    return root.resolve()


@pytest.fixture
def make_view(qtbot, lib, tiny):
    made = []

    def make(player=None, **kw):
        store = Store.open_default()
        view = ReviewView(
            store,
            lib,
            lambda: tiny,
            retrain_config=FAST,
            player=player or Player(stream_factory=FakeStream),
            **kw,
        )
        qtbot.addWidget(view)
        view.set_rows(library_rows(lib, store, tiny.model_id))
        view.show()
        view.setFocus()
        made.append((view, store))
        return view

    yield make
    for view, store in made:
        assert view.shutdown(20_000)
        store.close()


def key(qtbot, view, k, mod=Qt.KeyboardModifier.NoModifier):
    qtbot.keyClick(view, k, mod)


def labels(lib) -> dict[str, str]:
    with Store.open_default() as s:
        return s.labels_under(lib)


def test_queue_is_least_confident_first(make_view):
    view = make_view()
    q = view.queue()
    assert len(q) == 12
    conf = [r.scores.confidence for r in q]
    assert conf == sorted(conf)
    assert view.current_row() == q[0]
    assert view.title_label.text() == q[0].title or Path(q[0].path).stem in view.title_label.text()


def test_keyboard_labelling_saves_each_decision_at_once(qtbot, make_view, lib):
    view = make_view()
    q = view.queue()
    with qtbot.waitSignal(view.labelled) as sig:
        key(qtbot, view, Qt.Key.Key_3)
    assert sig.args == [q[0].track_id, "sad"]
    assert labels(lib) == {q[0].path: "sad"}  # another connection sees it: saved already
    assert view.current_row() == q[1]
    key(qtbot, view, Qt.Key.Key_Return)  # the prediction is right
    assert labels(lib)[q[1].path] == q[1].predicted_mood
    key(qtbot, view, Qt.Key.Key_J)
    key(qtbot, view, Qt.Key.Key_Right)
    assert view.current_row() == q[4]
    key(qtbot, view, Qt.Key.Key_K)
    key(qtbot, view, Qt.Key.Key_Left)
    assert view.current_row() == q[2]
    for k in (Qt.Key.Key_1, Qt.Key.Key_2, Qt.Key.Key_4):
        key(qtbot, view, k)
    got = labels(lib)
    assert [got[q[i].path] for i in (2, 3, 4)] == ["happy", "aggressive", "calm"]
    assert len(got) == 5
    # the decided songs stay in the queue for this session; going back shows the decision
    key(qtbot, view, Qt.Key.Key_K)
    assert view.current_row() == q[4] and "Calm" in view.status_label.text()


def test_decisions_persist_across_restart(make_view, lib, tiny, qtbot):
    view = make_view()
    q = view.queue()
    mood = next(m for m in ("happy", "aggressive", "sad", "calm") if m != q[0].predicted_mood)
    view.decide(mood)
    view.confirm()
    view.shutdown()
    view.store.close()
    # "restart": a new store connection and a new view
    view2 = make_view()
    assert view2.n_labels() == 2
    assert [r.track_id for r in view2.queue()] == [r.track_id for r in q[2:]]  # unreviewed only
    view2.unreviewed_check.setChecked(False)
    assert len(view2.queue()) == 12
    assert view2.go_to(q[0].track_id)
    assert "corrected" in view2.status_label.text()
    assert view2.label_of(q[0].track_id) == mood
    assert view2.go_to(q[1].track_id)  # the prediction confirmed: reviewed, not corrected
    assert view2.status_label.text() == f"Reviewed: {q[1].predicted_mood.capitalize()} (confirmed)"


def test_ctrl_z_undoes_the_last_decision(qtbot, make_view, lib):
    view = make_view()
    q = view.queue()
    key(qtbot, view, Qt.Key.Key_1)
    key(qtbot, view, Qt.Key.Key_2)
    assert len(labels(lib)) == 2
    with qtbot.waitSignal(view.labelled) as sig:
        key(qtbot, view, Qt.Key.Key_Z, Qt.KeyboardModifier.ControlModifier)
    assert sig.args == [q[1].track_id, None]
    assert labels(lib) == {q[0].path: "happy"}
    assert view.current_row() == q[1]  # back on the undone song
    key(qtbot, view, Qt.Key.Key_Z, Qt.KeyboardModifier.ControlModifier)
    assert labels(lib) == {} and view.current_row() == q[0]
    key(qtbot, view, Qt.Key.Key_Z, Qt.KeyboardModifier.ControlModifier)  # nothing left: no-op
    assert labels(lib) == {}


def test_undo_restores_an_earlier_label(qtbot, make_view, lib):
    view = make_view()
    q = view.queue()
    view.decide("sad")
    view.previous()
    view.decide("calm")
    assert labels(lib)[q[0].path] == "calm"
    view.undo()
    assert labels(lib)[q[0].path] == "sad" and view.label_of(q[0].track_id) == "sad"


def test_undo_shows_the_song_even_where_the_filters_hide_it(qtbot, make_view, lib):
    """Ctrl+Z after a filter hid the labelled song goes back to it (the filters cleared as
    a double-click does): it took the label back out of sight, with nothing shown."""
    view = make_view()
    first = view.queue()[0]
    view.decide("sad")
    other = next(
        i
        for i in range(1, view.group_combo.count())
        if first.artist not in view.group_combo.itemText(i)
    )
    view.group_combo.setCurrentIndex(other)
    assert all(r.track_id != first.track_id for r in view.queue())
    view.undo()
    assert labels(lib) == {}
    assert view.current_row() is not None and view.current_row().track_id == first.track_id
    assert view.status_label.text() == "Not reviewed yet"


def test_filters_by_mood_and_artist(make_view):
    view = make_view()
    mood = view.queue()[0].predicted_mood
    view.mood_combo.setCurrentIndex(view.mood_combo.findData(mood))
    assert view.queue() and all(r.predicted_mood == mood for r in view.queue())
    view.mood_combo.setCurrentIndex(0)
    view.group_combo.setCurrentIndex(view.group_combo.findData(group_key("Band 1")))
    assert len(view.queue()) == 6 and all(r.artist == "Band 1" for r in view.queue())
    view.group_combo.setCurrentIndex(view.group_combo.findData(group_key("Band 1", "Record 0")))
    assert len(view.queue()) == 3 and all(r.album == "Record 0" for r in view.queue())


def test_spectrogram_and_preview_of_current_song(qtbot, make_view):
    view = make_view()
    qtbot.waitUntil(lambda: view.spectrogram_shown, timeout=15_000)
    qtbot.waitUntil(lambda: view.player.clip is not None, timeout=15_000)
    assert view.player.clip.path == view.current_row().path
    assert view.play_button.isEnabled() and not view.playback_message.isVisible()
    key(qtbot, view, Qt.Key.Key_Space)
    assert view.player.playing and view.play_button.text() == "Pause"
    key(qtbot, view, Qt.Key.Key_Space)
    assert not view.player.playing


def test_a_clicked_button_leaves_the_keys_with_the_view(qtbot, make_view, lib):
    """Click "3  Sad", then press Space to play the next song: it plays, it is not
    labelled Sad too (the clicked button kept the focus and Space pressed it again)."""
    from PySide6.QtWidgets import QApplication

    view = make_view()
    view.activateWindow()
    qtbot.waitUntil(lambda: QApplication.focusWidget() is view)
    q = view.queue()
    qtbot.mouseClick(view.mood_buttons["sad"], Qt.MouseButton.LeftButton)
    key(qtbot, QApplication.focusWidget(), Qt.Key.Key_Space)
    assert labels(lib) == {q[0].path: "sad"}
    qtbot.mouseClick(view.unreviewed_check, Qt.MouseButton.LeftButton)
    assert not view.unreviewed_check.isChecked()  # the click still works
    assert QApplication.focusWidget() is view
    # Tab still reaches the controls, Retrain among them
    reached = set()
    for _ in range(20):
        key(qtbot, QApplication.focusWidget(), Qt.Key.Key_Tab)
        reached.add(QApplication.focusWidget())
    assert view.retrain_button in reached or not view.retrain_button.isEnabled()
    assert view.mood_combo in reached and view.volume_slider in reached


def test_playback_disabled_cleanly_without_audio(qtbot, make_view, monkeypatch):
    def no_portaudio():
        raise OSError("cannot load library 'libportaudio.so.2'")

    monkeypatch.setattr(playback, "import_sounddevice", no_portaudio)
    view = make_view(player=Player())
    assert not view.play_button.isEnabled() and not view.seek_slider.isEnabled()
    assert view.playback_message.isVisibleTo(view)
    assert "PortAudio" in view.playback_message.text()
    # the song's length still shows (it read "0:00 / 0:00", as if the song were empty)
    seconds = round(view.current_row().duration)  # rounded, as the library table shows it
    assert seconds > 0
    assert view.time_label.text() == f"0:00 / {seconds // 60}:{seconds % 60:02d}"
    key(qtbot, view, Qt.Key.Key_J)
    seconds = round(view.current_row().duration)
    assert view.time_label.text() == f"0:00 / {seconds // 60}:{seconds % 60:02d}"
    key(qtbot, view, Qt.Key.Key_Space)  # nothing happens, nothing crashes
    key(qtbot, view, Qt.Key.Key_1)  # labelling still works
    assert view.n_labels() == 1


def test_retrain_button_needs_ten_labels(make_view):
    view = make_view()
    assert view.retrain_button.text() == "Retrain: label 10 more songs"
    for _ in range(9):
        view.confirm()
    assert view.retrain_button.text() == "Retrain: label 1 more song"
    assert not view.retrain_button.isEnabled()
    view.decide("calm")
    assert view.retrain_button.text() == "Retrain from 10 labels"
    assert view.retrain_button.isEnabled()


def test_a_label_on_an_unreadable_file_does_not_count_for_retraining(make_view, lib, tiny):
    """Labelled before the first scan, then found unreadable: retraining would skip it."""
    empty = lib / "Band 0" / "Record 0" / "13 empty.wav"
    empty.write_bytes(b"")
    with Store.open_default() as store:
        for _ in analyze_library(lib, store, tiny, jobs=1):
            pass
        store.add_label(store.track(empty).id, "sad")
    view = make_view()
    assert view.n_labels() == 0
    for _ in range(9):
        view.confirm()
    assert view.retrain_button.text() == "Retrain: label 1 more song"
    assert not view.retrain_button.isEnabled()


def test_retrain_and_reset_through_the_gui(qtbot, make_view, lib):
    view = make_view()
    assert not view.reset_button.isEnabled()  # nothing to reset: the bundled model is in use
    for i in range(12):
        key(qtbot, view, (Qt.Key.Key_1, Qt.Key.Key_2, Qt.Key.Key_4)[i % 3])
    assert view.retrain_button.isEnabled()
    with qtbot.waitSignal(view.model_changed, timeout=60_000) as sig:
        qtbot.mouseClick(view.retrain_button, Qt.MouseButton.LeftButton)
        assert view.retraining and not view.retrain_button.isEnabled()
    path = Path(sig.args[0])
    assert path.is_file() and active_model_path() == path
    text = view.retrain_message.text()
    assert "with the current model" in text and "after retraining" in text  # the tiny model
    assert not view.retraining and view.retrain_button.isEnabled()
    assert view.reset_button.isEnabled()
    with qtbot.waitSignal(view.model_changed) as sig:
        qtbot.mouseClick(view.reset_button, Qt.MouseButton.LeftButton)
    assert sig.args == [None]
    assert "active_model" not in load_settings()
    assert active_model_path() == bundled_model_path()
    assert not view.reset_button.isEnabled()


def test_reset_says_so_when_the_settings_cannot_be_saved(qtbot, make_view, monkeypatch):
    """A read-only settings folder: Reset says why in the view, raises nothing, and the
    retrained model stays in use (the library is not re-analysed)."""
    import tagger.core.retrain as core_retrain

    view = make_view()
    for i in range(12):
        key(qtbot, view, (Qt.Key.Key_1, Qt.Key.Key_2, Qt.Key.Key_4)[i % 3])
    with qtbot.waitSignal(view.model_changed, timeout=60_000) as sig:
        qtbot.mouseClick(view.retrain_button, Qt.MouseButton.LeftButton)
    retrained = Path(sig.args[0])

    def read_only(*a, **kw):
        raise PermissionError(13, "Permission denied", "settings.json")

    monkeypatch.setattr(core_retrain, "save_settings", read_only)
    emitted = []
    view.model_changed.connect(emitted.append)
    qtbot.mouseClick(view.reset_button, Qt.MouseButton.LeftButton)
    assert emitted == []
    text = view.retrain_message.text()
    assert "Could not go back to the bundled model" in text and "Permission denied" in text
    assert active_model_path() == retrained
    assert view.reset_button.isEnabled()


def _worse_estimates(monkeypatch) -> None:
    """The core's held-out estimates: 80% before, 50% after retraining."""
    import tagger.core.retrain as core_retrain

    values = iter([0.8, 0.5])
    monkeypatch.setattr(core_retrain, "_accuracy", lambda probs, y: next(values))


def _answer(monkeypatch, button: str) -> list[str]:
    """Answer the next message box by clicking ``button``; returns the texts asked."""
    from PySide6.QtWidgets import QMessageBox

    asked: list[str] = []

    def exec_(box):
        asked.append(box.text())
        assert box.defaultButton().text() == "Keep Current Model"
        next(b for b in box.buttons() if b.text() == button).click()
        return 0

    monkeypatch.setattr(QMessageBox, "exec", exec_)
    return asked


@pytest.mark.parametrize("use", [False, True])
def test_a_retrained_model_that_looks_worse_is_used_only_if_asked(
    qtbot, make_view, monkeypatch, use
):
    """A retrained model scoring lower than before is not activated behind the person's
    back: the view asks (default: keep). Keep leaves the model, the settings and the
    model folder as they were; use activates it as a better one would be."""
    from tagger.core.paths import app_dirs

    _worse_estimates(monkeypatch)
    asked = _answer(monkeypatch, "Use New Model" if use else "Keep Current Model")
    view = make_view()
    changed: list[object] = []
    view.model_changed.connect(changed.append)
    for i in range(12):
        view.decide(("happy", "sad")[i % 2])
    with qtbot.waitSignal(view.retrain_finished, timeout=60_000) as sig:
        view.start_retrain()
    assert len(asked) == 1 and "50% of your 12 labelled songs right, against 80%" in asked[0]
    text = view.retrain_message.text()
    if use:
        assert sig.args[0] is not None and sig.args[0].activated
        assert changed == [str(sig.args[0].model_path)]
        assert active_model_path() == sig.args[0].model_path
        assert "Your model is active" in text and "does not look better" in text
    else:
        assert sig.args == [None] and changed == []
        assert "active_model" not in load_settings()
        assert not list(app_dirs().user_models.glob("*.pt"))
        assert "Kept the current model" in text and "<b>50%</b> after retraining" in text
    assert not view.retraining and view.retrain_button.isEnabled()


def test_retrain_can_be_cancelled(qtbot, make_view):
    view = make_view()
    for i in range(12):
        view.decide(("happy", "sad")[i % 2])
    with qtbot.waitSignal(view.retrain_finished, timeout=60_000) as sig:
        view.start_retrain()
        view.cancel_retrain()
    assert sig.args == [None]
    assert "active_model" not in load_settings()
    assert "cancelled" in view.retrain_message.text()


def test_retrain_from_the_keyboard_leaves_the_keys_with_the_view(qtbot, make_view):
    """Tab to Retrain and press Space: retraining starts and the view keeps the keys (the
    focus went on to Cancel, so the next Space, for play/pause, cancelled it)."""
    from PySide6.QtWidgets import QApplication

    view = make_view()
    view.activateWindow()
    qtbot.waitUntil(lambda: QApplication.focusWidget() is view)
    for i in range(12):
        view.decide(("happy", "sad")[i % 2])
    view.retrain_button.setFocus(Qt.FocusReason.TabFocusReason)
    with qtbot.waitSignal(view.retrain_finished, timeout=60_000) as sig:
        key(qtbot, view.retrain_button, Qt.Key.Key_Space)
        assert view.retraining and QApplication.focusWidget() is view
        key(qtbot, view, Qt.Key.Key_Space)  # play/pause, not Cancel
    assert sig.args[0] is not None  # it ran to the end
    assert QApplication.focusWidget() is view


def test_library_refresh_keeps_the_current_song(qtbot, make_view, lib, tiny):
    view = make_view()
    q = view.queue()
    qtbot.waitUntil(lambda: view.spectrogram_shown, timeout=15_000)
    view.decide("sad")
    qtbot.waitUntil(lambda: view.spectrogram_shown, timeout=15_000)
    view.set_rows(library_rows(lib, view.store, tiny.model_id))  # what the main window does
    assert view.current_row().track_id == q[1].track_id
    assert view.spectrogram_shown  # not recomputed for the same song
    assert [r.track_id for r in view.queue()] == [r.track_id for r in q]  # decided one stays
    view.undo()
    assert view.current_row().track_id == q[0].track_id


def test_retrain_button_counts_labels_made_elsewhere(make_view, lib, tiny):
    """Labels from the command line (or an earlier session) count as soon as rows arrive."""
    view = make_view()
    assert view.retrain_button.text() == "Retrain: label 10 more songs"
    with Store.open_default() as store:
        for track in list(store.tracks_under(lib).values())[:11]:
            store.add_label(track.id, "calm", "cli")
        rows = library_rows(lib, store, tiny.model_id)
    view.set_rows(rows)
    # eleven labels, all Calm: a model taught one mood would only say it more
    assert view.retrain_button.text() == "Retrain: label a song of another mood"
    assert not view.retrain_button.isEnabled()
    assert "All your labels are Calm" in view.retrain_button.toolTip()
    view.start_retrain()  # a shortcut or a stale click does nothing either
    assert not view.retraining
    view.decide("happy")  # the song shown now has another mood
    assert view.retrain_button.text() == f"Retrain from {view.n_labels()} labels"
    assert view.retrain_button.isEnabled()


def test_queue_rebuilds_stay_on_the_same_song(make_view, lib, tiny):
    """A re-analysis (after Retrain, a rescan) takes every mood away for a while and brings
    them back in another order: the view stays on the song, not on its queue position.
    Until a song has its new mood it keeps its last one, marked, and can be labelled (the
    view used to read "Nothing to review" for the whole re-analysis)."""
    view = make_view()
    q = view.queue()
    view.go_to(q[5].track_id)
    rows = library_rows(lib, view.store, tiny.model_id)
    view.set_rows([dataclasses.replace(r, scores=None) for r in rows])  # re-analysis starts
    assert len(view.queue()) == 12 and view.current_row().track_id == q[5].track_id
    assert "being analysed again" in view.prediction_label.text()
    assert view.confirm_button.isEnabled()
    others = [r for r in rows if r.track_id != q[5].track_id]
    back = {r.track_id for r in others[:4]}  # a few songs have their new mood already
    broken = others[4].track_id  # and one can no longer be read
    view.set_rows(
        [
            r
            if r.track_id in back
            else dataclasses.replace(r, scores=None, error="bad" if r.track_id == broken else None)
            for r in rows
        ]
    )
    assert view.current_row().track_id == q[5].track_id
    assert broken not in {r.track_id for r in view.queue()}
    view.set_rows(rows)  # done
    assert view.current_row().track_id == q[5].track_id
    assert view.queue_label.text() == "6 of 12 in queue"
    assert "being analysed again" not in view.prediction_label.text()

    # filters that keep it keep it
    view.group_combo.setCurrentIndex(view.group_combo.findData(group_key(q[5].artist)))
    assert view.current_row().track_id == q[5].track_id


def test_results_arriving_before_the_view_is_seen_start_at_the_top(qtbot, lib, tiny):
    """The library tab is open during the analysis: each batch of results rebuilds the
    hidden queue. When the person opens Review it shows the least confident song, not
    the one that happened to be first in an early batch (it showed "3 of 15")."""
    with Store.open_default() as store:
        view = ReviewView(store, lib, lambda: tiny, player=Player(stream_factory=FakeStream))
        qtbot.addWidget(view)
        rows = library_rows(lib, store, tiny.model_id)
        order = sorted(rows, key=lambda r: (r.scores.confidence, r.path))  # least sure first
        for n in (4, 8, len(rows)):  # the most confident songs come in first
            view.set_rows(order[::-1][:n])
        assert view.current_row().track_id == order[0].track_id
        assert view.queue_label.text() == f"1 of {len(rows)} in queue"

        view.show()  # seen: from now on the view stays on it
        shown = view.current_row().track_id
        view.set_rows([r for r in rows if r.track_id != order[1].track_id])
        view.set_rows(rows)
        assert view.current_row().track_id == shown
        assert view.shutdown(20_000)


def test_a_song_gone_from_the_queue_gives_way_to_its_neighbour(make_view, lib, tiny):
    view = make_view()
    q = view.queue()
    view.go_to(q[5].track_id)
    rows = library_rows(lib, view.store, tiny.model_id)
    gone = {q[0].track_id, q[1].track_id, q[5].track_id}  # deleted, found by a rescan
    view.set_rows([r for r in rows if r.track_id not in gone])
    assert view.current_row().track_id == q[6].track_id  # the next one, not the 6th
    view.set_rows(rows)  # back again: the person is on q[6] now
    assert view.current_row().track_id == q[6].track_id


def test_only_unreviewed_drops_the_shown_song_once_it_is_labelled_elsewhere(make_view, lib, tiny):
    """The song on screen, labelled from the library table (or the CLI), is no longer
    "unreviewed": the queue moves on to the next one instead of keeping it; switching the
    filter on while a song labelled in an earlier session is shown drops it too."""
    view = make_view()
    q = view.queue()
    assert view.unreviewed_check.isChecked() and view.current_row() == q[0]
    view.store.add_label(q[0].track_id, "sad", "table")
    view.set_rows(library_rows(lib, view.store, tiny.model_id))  # what the main window does
    assert q[0].track_id not in [r.track_id for r in view.queue()]
    assert view.current_row().track_id == q[1].track_id
    assert view.queue_label.text() == f"1 of {len(q) - 1} in queue"

    view.unreviewed_check.setChecked(False)
    assert view.go_to(q[0].track_id)  # the labelled song, shown with every song queued
    view.unreviewed_check.setChecked(True)
    assert q[0].track_id not in [r.track_id for r in view.queue()]
    assert view.current_row().track_id == q[1].track_id


def test_a_song_that_cannot_be_played_says_so_until_one_can(qtbot, make_view):
    view = make_view()
    qtbot.waitUntil(lambda: view.player.clip is not None, timeout=15_000)
    first = view.current_row().path
    Path(view._queue[1].path).unlink()  # gone since the analysis
    with qtbot.waitSignal(view.player.errored, timeout=15_000):
        key(qtbot, view, Qt.Key.Key_J)
    assert view.playback_message.isVisible()
    assert "Cannot play this file: file not found" in view.playback_message.text()
    assert view.time_label.text() == "0:00 / 0:00" and view.seek_slider.maximum() == 0
    with qtbot.waitSignal(view.player.clip_loaded, timeout=15_000):
        key(qtbot, view, Qt.Key.Key_K)
    assert view.player.clip.path == first and not view.playback_message.isVisible()


def test_a_click_beside_the_seek_handle_seeks(qtbot, make_view):
    """Not only a drag: a click beside the handle (a step) seeks, and the bar stays there."""
    from PySide6.QtWidgets import QAbstractSlider

    view = make_view()
    qtbot.waitUntil(lambda: view.player.clip is not None and not view.player.loading, timeout=9000)
    view.player.seek(0.0)
    view.seek_slider.triggerAction(QAbstractSlider.SliderAction.SliderSingleStepAdd)
    assert view.player.position == pytest.approx(3.0)
    assert view.seek_slider.value() == 3000  # to the end of the 3-s song, not back to 0


def test_an_output_that_fails_to_open_says_so_and_play_tries_again(qtbot, make_view):
    fail = [True]

    def flaky(**kw):
        if fail[0]:
            raise RuntimeError("Device unavailable")
        return FakeStream(**kw)

    view = make_view(player=Player(stream_factory=flaky))
    qtbot.waitUntil(lambda: view.player.clip is not None, timeout=15_000)
    key(qtbot, view, Qt.Key.Key_Space)
    assert not view.player.playing and view.play_button.text() == "Play"
    assert view.playback_message.isVisible() and view.play_button.isEnabled()
    assert "cannot open the audio output (Device unavailable)" in view.playback_message.text()
    fail[0] = False
    key(qtbot, view, Qt.Key.Key_Space)
    assert view.player.playing and view.play_button.text() == "Pause"
    assert not view.playback_message.isVisible()


def test_a_long_song_shows_its_length_and_seeks_anywhere(qtbot, tmp_path, tiny):
    """A 13-minute song's preview decodes a 10-minute stretch around the analysed part: the
    time shows the song's length (not the stretch's end), the bar spans the whole song, and
    a seek outside the stretch decodes from there."""
    import soundfile as sf

    root = tmp_path / "long"
    song = root / "Band" / "Record" / "01 long.wav"
    song.parent.mkdir(parents=True)
    rate, seconds = 8000, 13 * 60
    t = np.arange(rate * seconds) / rate
    sf.write(song, (0.3 * np.sin(2 * np.pi * 220 * t)).astype(np.float32), rate)
    with Store.open_default() as store:
        for _ in analyze_library(root, store, tiny, jobs=1):
            pass
        view = ReviewView(store, root, lambda: tiny, player=Player(stream_factory=FakeStream))
        qtbot.addWidget(view)
        view.set_rows(library_rows(root, store, tiny.model_id))
        player = view.player
        qtbot.waitUntil(lambda: player.clip is not None and not player.loading, timeout=30_000)
        clip = player.clip
        assert clip.offset > 60 and clip.duration < seconds - 10  # a stretch of the song
        assert view.time_label.text().endswith(" / 13:00")
        assert view.seek_slider.maximum() == seconds * 1000
        view.seek(775.0)  # after the stretch
        qtbot.waitUntil(lambda: player.clip is not None and not player.loading, timeout=30_000)
        assert player.position == pytest.approx(775, abs=0.1)
        assert player.clip.offset <= 775 <= player.clip.duration
        assert view.time_label.text() == "12:55 / 13:00"
        view.seek(10.0)  # before it
        qtbot.waitUntil(lambda: player.clip is not None and not player.loading, timeout=30_000)
        assert player.position == pytest.approx(10, abs=0.1)
        view.seek(10.5)  # inside: no new decode
        assert not player.loading and player.position == pytest.approx(10.5, abs=0.01)
        assert view.shutdown(20_000)


def test_a_long_title_does_not_widen_the_view(make_view, qtbot):
    """A 200-character title made the view wider than the window: a scrollbar, and the
    mood buttons, the queue count and Undo went off-screen. It wraps now."""
    view = make_view()
    short = view.minimumSizeHint().width()
    rows = [
        dataclasses.replace(r, title="A Very Long Song Title " * 10, album="Ålbum " * 30)
        for r in view.queue()
    ]
    view.set_rows(rows)
    qtbot.wait(50)
    assert len(view.title_label.text()) > 200
    assert view.minimumSizeHint().width() <= short + 5  # it was 2,391 px for 588
    view.resize(700, 600)
    qtbot.wait(50)
    assert view.title_label.width() <= view.width()


def test_a_title_with_no_space_wraps_and_keeps_the_keys(make_view, qtbot):
    """A file name used as the title ("01_-_Artist_-_Song..." with no space) was cut off
    at the view's edge: a label wraps between words only. It breaks anywhere now, and a
    click on it does not take the review keys away from the view."""
    view = make_view()
    long_name = "01_-_Some_Artist_-_" + "Ever_Longer_" * 20
    rows = [dataclasses.replace(r, title=long_name, album="A" * 300) for r in view.queue()]
    view.set_rows(rows)
    area = QScrollArea()  # as the window shows it (MainWindow.add_view)
    area.setWidgetResizable(True)
    area.setWidget(view)
    qtbot.addWidget(area)
    area.resize(700, 600)
    area.show()
    qtbot.waitExposed(area)
    title = view.title_label
    assert title.text() == long_name  # nothing inserted: copied as it is
    line = title.fontMetrics().height()
    assert title.fontMetrics().horizontalAdvance(long_name) > 2 * title.width()
    assert title.height() >= 3 * line  # the whole name, on three lines or more
    assert title.document().idealWidth() <= title.width()
    assert view.meta_label.height() >= 2 * view.meta_label.fontMetrics().height()
    first = view.current_row().track_id
    qtbot.mouseClick(title.viewport(), Qt.MouseButton.LeftButton)
    qtbot.keyClick(view.focusWidget() or view, Qt.Key.Key_J)
    assert view.current_row().track_id != first  # J went to the next song
    area.takeWidget()  # the view's fixture shuts it down


def test_the_model_in_use_is_said_from_the_start(make_view, monkeypatch, tmp_path):
    """After a restart with a retrained model active, nothing in the app said so: the
    retrain line was blank. Opening another folder also kept the last folder's news."""
    from tagger.ui import review_view

    view = make_view()
    assert view.retrain_message.text() == "In use: the model that came with the app."
    view.retrain_message.setText("Using the bundled model again; the library is re-analysed.")
    view.set_root(tmp_path)
    assert view.retrain_message.text() == "In use: the model that came with the app."
    monkeypatch.setattr(review_view, "active_model_path", lambda: tmp_path / "mine.pt")
    assert "your retrained model" in make_view().retrain_message.text()


def test_the_retrain_message_follows_its_stage(make_view):
    """ "Reading your labelled songs…" stayed beside "Fine-tuning and checking: 0/6"."""
    from tagger.core.progress import Progress

    view = make_view()
    view._on_retrain_progress(Progress("features", 3, 10))
    assert view.retrain_progress.format() == "Reading songs: %v/%m"
    view._on_retrain_progress(Progress("fit", 0, 6))
    assert view.retrain_progress.format() == "Fine-tuning and checking: %v/%m"
    assert view.retrain_message.text().startswith("Fine-tuning the model on your labels")


def _answer_any(monkeypatch, button: str) -> list[list[str]]:
    """Click ``button`` in the next message box; returns each box's button texts."""
    from PySide6.QtWidgets import QMessageBox

    seen: list[list[str]] = []

    def exec_(box):
        seen.append([b.text() for b in box.buttons()] + [box.text()])
        next(b for b in box.buttons() if b.text() == button).click()
        return 0

    monkeypatch.setattr(QMessageBox, "exec", exec_)
    return seen


def _held_back(**kw):
    """A retrained model held back: it got 50% of 12 labels against 90% before."""
    from tagger.core.retrain import RetrainResult

    common = dict(model_path=None, model_id="new", n_labels=12, n_used=12, before=0.9)
    return RetrainResult(**common, after=0.5, folds=3, activated=False, data=b"x", **kw)


@pytest.mark.parametrize("button", ["Use Bundled Model", "Keep Current Model"])
def test_a_held_back_model_that_lost_to_the_bundled_one_offers_it(
    qtbot, make_view, monkeypatch, button
):
    """An earlier retrained model is active and the new one lost to the bundled model: the
    question offers the bundled model (it said "keep the current model", which was never
    scored); choosing it goes back to it, as Reset does."""
    from tagger.core.settings import save_settings

    view = make_view()
    save_settings({**load_settings(), "active_model": str(bundled_model_path())})
    ev = _held_back(
        base_model_id="earlier", before_model="the bundled model", before_model_id="bundled"
    )
    assert not ev.before_is_active
    seen = _answer_any(monkeypatch, button)
    changed: list[object] = []
    view.model_changed.connect(changed.append)
    assert view._decide_on_worse(ev) is None
    assert "Use Bundled Model" in seen[0] and "Use New Model" in seen[0]
    assert "earlier retrained model is in use" in seen[0][-1]
    text = view.retrain_message.text()
    if button == "Use Bundled Model":
        assert changed == [None] and "active_model" not in load_settings()
        assert text.startswith("Using the bundled model again")
    else:
        assert changed == [] and "Kept the current model" in text


def test_a_held_back_model_compared_with_the_active_one_offers_two_choices(make_view, monkeypatch):
    view = make_view()
    ev = _held_back(base_model_id="same", before_model_id="same")
    seen = _answer_any(monkeypatch, "Keep Current Model")
    view._decide_on_worse(ev)
    assert "Use Bundled Model" not in seen[0] and "Keep the current model" in seen[0][-1]


def test_a_decision_the_locked_database_refuses_stays_on_its_song(make_view, monkeypatch):
    import sqlite3

    from PySide6.QtWidgets import QMessageBox

    from tagger.core.paths import app_dirs

    warned: list[str] = []
    monkeypatch.setattr(QMessageBox, "warning", lambda parent, title, text, *a: warned.append(text))
    view = make_view()
    view.store.db.execute("PRAGMA busy_timeout=200")
    first = view.current_row().track_id
    other = sqlite3.connect(app_dirs().database, isolation_level=None)
    other.execute("BEGIN EXCLUSIVE")
    try:
        view.decide("sad")
    finally:
        other.execute("ROLLBACK")
        other.close()
    assert len(warned) == 1 and "Your label was not saved" in warned[0]
    assert view.current_row().track_id == first and not view.can_undo
    assert view.store.label(first) is None
    view.decide("sad")  # free again
    assert view.store.label(first) == "sad" and view.can_undo
    other = sqlite3.connect(app_dirs().database, isolation_level=None)
    other.execute("BEGIN EXCLUSIVE")
    try:
        view.undo()
    finally:
        other.execute("ROLLBACK")
        other.close()
    assert len(warned) == 2 and "The label stays" in warned[1]
    assert view.store.label(first) == "sad" and view.can_undo  # still undoable later
    view.undo()
    assert view.store.label(first) is None and not view.can_undo


def test_new_filters_leave_out_the_songs_decided_so_far(qtbot, make_view):
    """Decided songs stay in the queue while the person steps through it; a new filter
    (or "Only unreviewed" ticked again) is a new queue, and with "Only unreviewed" it
    held the songs decided earlier in the session too ("1 of 7" with 5 unreviewed)."""
    view = make_view()
    assert view.unreviewed_check.isChecked()
    decided = [view.current_row().track_id]
    key(qtbot, view, Qt.Key.Key_Return)
    decided.append(view.current_row().track_id)
    key(qtbot, view, Qt.Key.Key_3)
    assert len(view.queue()) == 12  # still there while stepping
    view.group_combo.setCurrentIndex(view.group_combo.findData(group_key("Band 0")))
    view.group_combo.setCurrentIndex(0)
    assert len(view.queue()) == 10
    assert not {r.track_id for r in view.queue()} & set(decided)
    view.unreviewed_check.setChecked(False)
    assert len(view.queue()) == 12


def test_filters_that_match_no_song_say_so(make_view):
    """A mood no song of an album is predicted as read "Every song matching the filters
    is reviewed", with nothing reviewed."""
    view = make_view()
    rows = view.queue()
    album_moods = {r.predicted_mood for r in rows if (r.artist, r.album) == ("Band 0", "Record 0")}
    other = next(m for m in ("happy", "aggressive", "sad", "calm") if m not in album_moods)
    view.group_combo.setCurrentIndex(view.group_combo.findData(group_key("Band 0", "Record 0")))
    view.mood_combo.setCurrentIndex(view.mood_combo.findData(other))
    assert view.queue() == [] and view.queue_label.text() == "0 of 0 in queue"
    assert view.meta_label.text() == "No analysed song matches these filters."
    # no "0 %" bars and no empty black picture for no song
    assert not any(b.isTextVisible() for b in view.bars.values())
    assert "#111" not in view.spectrogram.styleSheet() and not view.spectrogram.text()
    view.mood_combo.setCurrentIndex(0)
    assert all(b.isTextVisible() for b in view.bars.values())
    assert "#111" in view.spectrogram.styleSheet()
    for _ in range(len(view.queue())):
        view.confirm_button.click()
    view.group_combo.setCurrentIndex(view.group_combo.findData(group_key("Band 0")))
    view.group_combo.setCurrentIndex(view.group_combo.findData(group_key("Band 0", "Record 0")))
    assert view.meta_label.text() == "Every song matching the filters is reviewed."
