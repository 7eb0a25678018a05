"""File > Forget Missing Songs…: says how many songs and labels go, and only then forgets."""

from __future__ import annotations

from pathlib import Path

from PySide6.QtWidgets import QMessageBox

TIMEOUT = 120_000


def _open(qtbot, make_window, folder):
    window = make_window()
    window.show()
    with qtbot.waitSignal(window.analysis_finished, timeout=TIMEOUT):
        window.open_folder(folder)
    return window


def _known(window) -> int:
    return len(window.store.tracks_under(window.root, present_only=False))


def _trigger(qtbot, window):
    with qtbot.waitSignal(window.forget_finished, timeout=TIMEOUT) as blocker:
        window.forget_missing_action.trigger()
    return blocker.args[0]


def test_forget_missing_songs_after_confirming(qtbot, make_window, small_library, monkeypatch):
    window = _open(qtbot, make_window, small_library)
    rows = window.rows
    window.store.add_labels([rows[0].track_id, rows[1].track_id], "sad")
    for r in rows[:3]:
        Path(r.path).unlink()  # deleted while the app is open: the action scans first
    asked: list[str] = []
    answer = QMessageBox.StandardButton.No
    monkeypatch.setattr(QMessageBox, "question", lambda *a, **k: (asked.append(a[2]), answer)[1])

    assert _trigger(qtbot, window) is None  # "No": nothing forgotten
    assert _known(window) == 12
    assert asked[0].startswith("Forget 3 songs whose files are no longer in ")
    assert "and 2 mood labels of yours?" in asked[0]
    for r in rows[:3]:  # which songs, named from the folder
        assert f"\n  {Path(r.path).relative_to(window.root).as_posix()}\n" in asked[0]

    answer = QMessageBox.StandardButton.Yes
    assert _trigger(qtbot, window) == 3
    assert _known(window) == 9 and len(window.rows) == 9
    assert "Forgot 3 missing songs" in window.message_label.text()
    with monkeypatch.context() as m:
        told: list[str] = []
        m.setattr(QMessageBox, "information", lambda *a, **k: told.append(a[2]))
        assert _trigger(qtbot, window) is None
    assert told and "No songs are missing" in told[0] and len(asked) == 2


def test_a_folder_that_is_gone_is_refused(qtbot, make_window, small_library, monkeypatch):
    """An unplugged drive must not wipe the library: refused with a message."""
    window = _open(qtbot, make_window, small_library)
    warned: list[str] = []
    monkeypatch.setattr(QMessageBox, "warning", lambda *a, **k: warned.append(a[2]))
    asked: list = []
    monkeypatch.setattr(QMessageBox, "question", lambda *a, **k: asked.append(a))
    away = small_library.with_name("away")
    small_library.rename(away)
    assert _trigger(qtbot, window) is None
    assert "nothing was forgotten" in warned[0]
    small_library.mkdir()  # an empty mount point
    assert _trigger(qtbot, window) is None
    assert "no audio files found" in warned[1]
    assert not asked and _known(window) == 12
    assert len(window.rows) == 12  # the window still shows the library as it was


def test_the_question_names_at_most_five_songs(tmp_path):
    from tagger.core.library import MissingSongs
    from tagger.ui.forget import forget_question

    paths = tuple(str(tmp_path / "A" / "B" / f"{i:02d}.mp3") for i in range(8))
    text = forget_question(MissingSongs(tmp_path, paths, tuple(range(8))))
    assert "\n  A/B/00.mp3\n" in text and "A/B/04.mp3" in text and "A/B/05.mp3" not in text
    assert "\n  and 3 more\n" in text
    one = forget_question(MissingSongs(tmp_path, paths[:1], (0,)))
    assert one.startswith(f"Forget 1 song whose file is no longer in {tmp_path}?")
