"""Writing mood tags and undoing them through the main window's actions."""

from __future__ import annotations

import shutil
from pathlib import Path

from PySide6.QtCore import Qt, QTimer
from PySide6.QtWidgets import QMessageBox

from tagger.core.tags import read_tags
from tagger.ui.library_model import Column, Status
from tagger.ui.write_dialog import WriteResultDialog

TIMEOUT = 120_000


def accept_preview_when_shown(window, seen: list, before_accept=None) -> None:
    """Accept the modal preview dialog as soon as it is open (records its table's first
    three columns in ``seen``; ``before_accept(dialog)`` runs just before accepting)."""

    def poll() -> None:
        dlg = getattr(window, "preview_dialog", None)
        if dlg is None or not dlg.isVisible():
            QTimer.singleShot(20, poll)
            return
        seen.extend(tuple(dlg.cell(r, c) for c in range(3)) for r in range(dlg.row_count()))
        if before_accept is not None:
            before_accept(dlg)
        dlg.accept()

    QTimer.singleShot(0, poll)


def open_copy(qtbot, make_window, library, tmp_path):
    """A main window on an analysed copy of the test library: (window, root)."""
    root = tmp_path / "lib"
    shutil.copytree(library, root)
    return open_analysed(qtbot, make_window, root), root


def open_analysed(qtbot, make_window, folder):
    """A shown main window on ``folder``, once its analysis has finished."""
    window = make_window()
    window.show()
    with qtbot.waitSignal(window.analysis_finished, timeout=TIMEOUT):
        window.open_folder(folder)
    return window


def test_write_then_undo_from_the_gui(qtbot, make_window, library, tmp_path, monkeypatch):
    window, _root = open_copy(qtbot, make_window, library, tmp_path)
    assert window.write_action.isEnabled()
    assert not window.undo_write_action.isEnabled()  # nothing written yet
    good = [r for r in window.rows if r.scores is not None]
    assert len(good) == 7
    # one file disappears while the preview is open: its write fails, the others go on
    gone = good[0]
    preview: list = []
    accept_preview_when_shown(window, preview, before_accept=lambda _d: Path(gone.path).unlink())
    with qtbot.waitSignal(window.write_finished, timeout=TIMEOUT) as blocker:
        window.write_action.trigger()
    summary = blocker.args[0]
    # the library's 4 unreadable files are listed last, as having no mood to write
    assert [new for _f, _old, new in preview[7:]] == ["(no mood)"] * 4
    preview = preview[:7]
    assert {new for _f, _old, new in preview} <= {"Happy", "Aggressive", "Sad", "Calm"}
    assert all(old == "(none)" for _f, old, _new in preview)
    assert summary.written == 6 and summary.failed == 1
    _title, written, errors = window.last_write_result
    assert written == 6 and [p for p, _e in errors] == [gone.path]
    assert window.findChildren(WriteResultDialog)  # the per-file errors are listed
    assert "not found" in window.errors[gone.path]
    model = window.library_model
    for r in good[1:]:
        assert read_tags(r.path).mood == r.mood.capitalize()
        assert model.index_for(r.track_id, Column.TAG).data() == r.mood.capitalize()
        assert model.index_for(r.track_id, Column.STATUS).data() == Status.WRITTEN

    assert window.undo_write_action.isEnabled()
    asked = []

    def yes(_parent, _title, text, *a, **k):
        asked.append(text)
        return QMessageBox.StandardButton.Yes

    monkeypatch.setattr(QMessageBox, "question", yes)
    with qtbot.waitSignal(window.write_finished, timeout=TIMEOUT) as blocker:
        window.undo_write_action.trigger()
    # the question did not say how many files (6 written: the one that was gone failed)
    assert asked == ["Put back the mood tags of 6 files as they were before the last write?"]
    assert blocker.args[0].written == 6
    assert not window.undo_write_action.isEnabled()  # the only batch is undone
    for r in good[1:]:
        assert read_tags(r.path).mood is None
        assert model.index_for(r.track_id, Column.TAG).data() == ""
        assert model.index_for(r.track_id, Column.STATUS).data() == Status.DONE


def test_undo_from_the_gui_finds_a_file_renamed_since_the_write(
    qtbot, make_window, library, tmp_path, monkeypatch
):
    """Tags > Undo Last Write failed with "file not found" on a file renamed since the
    write (a renaming tool); `mood-tagger undo` scans first and found it. So does the app."""
    window, _root = open_copy(qtbot, make_window, library, tmp_path)
    good = [r for r in window.rows if r.scores is not None]
    accept_preview_when_shown(window, [])
    with qtbot.waitSignal(window.write_finished, timeout=TIMEOUT) as blocker:
        window.write_action.trigger()
    assert blocker.args[0].written == len(good)
    old = Path(good[0].path)
    renamed = old.with_name("99 Renamed" + old.suffix)
    old.rename(renamed)
    assert read_tags(renamed).mood == good[0].mood.capitalize()
    monkeypatch.setattr(QMessageBox, "question", lambda *a, **k: QMessageBox.StandardButton.Yes)
    with qtbot.waitSignal(window.write_finished, timeout=TIMEOUT) as blocker:
        window.undo_write_action.trigger()
    assert blocker.args[0].written == len(good) and blocker.args[0].failed == 0
    assert read_tags(renamed).mood is None
    assert all(read_tags(r.path).mood is None for r in good[1:])
    assert str(renamed) in {r.path for r in window.rows}  # the table follows the rename


def test_cancelling_the_preview_writes_nothing(qtbot, make_window, small_library):
    window = make_window()
    window.show()
    with qtbot.waitSignal(window.analysis_finished, timeout=TIMEOUT):
        window.open_folder(small_library)

    def reject() -> None:
        dlg = getattr(window, "preview_dialog", None)
        if dlg is None or not dlg.isVisible():
            QTimer.singleShot(20, reject)
            return
        dlg.reject()

    QTimer.singleShot(0, reject)
    with qtbot.waitSignal(window.write_finished, timeout=TIMEOUT) as blocker:
        window.write_action.trigger()
    assert blocker.args == [None]
    assert all(read_tags(r.path).mood is None for r in window.rows)


def drive(steps) -> None:
    """Run ``(condition, action)`` steps in order from timers (a modal dialog blocks)."""
    steps = list(steps)

    def poll() -> None:
        if not steps:
            return
        cond, action = steps[0]
        if cond():
            steps.pop(0)
            action()
        QTimer.singleShot(20, poll)

    QTimer.singleShot(0, poll)


def test_preview_options_plan_again(qtbot, make_window, small_library):
    window = open_analysed(qtbot, make_window, small_library)
    seen: dict = {}

    def dlg():
        return getattr(window, "preview_dialog", None)

    def shown() -> bool:
        return dlg() is not None and dlg().isVisible()

    def rows() -> list[list[str]]:
        d = dlg()
        return [[d.cell(r, c) for c in range(5)] for r in range(d.row_count())]

    drive(
        [
            (lambda: shown() and dlg().row_count() == 12, lambda: seen.update(all=rows())),
            (shown, lambda: dlg().min_confidence.setValue(100)),
            (
                lambda: dlg().row_count() < 12 and dlg().ok_button.text() != "Write 12 tags",
                lambda: seen.update(high=rows(), intro=dlg().intro.text()),
            ),
            (shown, lambda: dlg().min_confidence.setValue(0)),
            (lambda: dlg().row_count() == 12, lambda: dlg().energy_valence.setChecked(True)),
            (
                lambda: dlg().ok_button.isEnabled() and "energy" in rows()[0][2],
                lambda: (
                    seen.update(
                        ev=rows(),
                        ev_intro=dlg().intro.text(),
                        fits=[  # the whole value in view ("Happy (arousal 95, val…")
                            dlg().table.fontMetrics().horizontalAdvance(r[2])
                            < dlg().table.columnWidth(2)
                            for r in rows()
                        ],
                    ),
                    dlg().reject(),
                ),
            ),
        ]
    )
    with qtbot.waitSignal(window.write_finished, timeout=TIMEOUT) as blocker:
        window.write_action.trigger()
    assert blocker.args == [None]  # cancelled: nothing written
    assert all(r[3].endswith("%") and r[4] == "prediction" for r in seen["all"])
    # at 100 % only predictions that are certain (none, or a saturated few) remain
    assert all(r[3] == "100%" for r in seen["high"])
    if not seen["high"]:
        assert "Nothing to write" in seen["intro"]
    # the ones left out are counted (18 predictions became 16 without a word)
    left_out = 12 - len(seen["high"])
    assert f"{left_out} predictions under 100 % confidence are left out." in seen["intro"]
    assert all("valence" in r[2] and "arousal" not in r[2] for r in seen["ev"])
    assert all(seen["fits"])  # named and shown as the option says: energy
    assert "Only the mood, energy and valence tags are changed" in seen["ev_intro"]
    assert all(read_tags(r.path).mood is None for r in window.rows)


def test_changes_model_contract(qtmodeltester, tmp_path):
    from tagger.core.tagwrite import NoMood, PlannedChange
    from tagger.ui.write_dialog import ChangesModel

    model = ChangesModel(tmp_path, {1: 0.8})
    model.set_changes(
        [
            PlannedChange(1, str(tmp_path / "a" / "x.mp3"), None, "Calm", "prediction"),
            PlannedChange(2, str(tmp_path / "y.flac"), "Sad", "Happy", "label", {"valence": "80"}),
            NoMood(str(tmp_path / "z.mp3"), "unreadable", "empty file (0 bytes)"),
        ]
    )
    qtmodeltester.check(model)
    cells = [[model.index(r, c).data() for c in range(5)] for r in range(3)]
    assert cells[0] == ["a/x.mp3", "(none)", "Calm", "80%", "prediction"]
    assert cells[1] == ["y.flac", "Sad", "Happy  (valence 80)", "", "label"]
    assert cells[2] == ["z.mp3", "", "(no mood)", "", "can't analyse"]
    tip = model.index(2, 0).data(Qt.ItemDataRole.ToolTipRole)
    assert tip.endswith("Could not be analysed, so there is no mood to write: empty file (0 bytes)")


def test_preview_and_dry_run_list_the_same_unreadable_files(
    qtbot, make_window, small_library, tiny_model_path, capsys
):
    """Files that could not be analysed (empty, not audio, corrupt, truncated) have no mood
    to write: the preview lists them last, each with its reason, and writes the rest; the
    dry run lists the same files with the same reasons, as a note (exit status 0)."""
    from tagger.cli import main
    from tests.audio_factory import write_bad_files

    bad = write_bad_files(small_library / "Broken" / "Bad")
    window = open_analysed(qtbot, make_window, small_library)
    seen: dict = {}

    def record(dlg) -> None:
        rows = range(dlg.row_count())
        seen["notes"] = {
            dlg.cell(r, 0): dlg.model.index(r, 0)
            .data(Qt.ItemDataRole.ToolTipRole)
            .split("no mood to write: ", 1)[1]
            for r in rows
            if dlg.cell(r, 4) == "can't analyse"
        }
        seen["intro"] = dlg.intro.text()
        seen["ok"] = dlg.ok_button.text()

    accept_preview_when_shown(window, [], before_accept=record)
    with qtbot.waitSignal(window.write_finished, timeout=TIMEOUT) as blocker:
        window.write_action.trigger()
    assert blocker.args[0].written == 12 and blocker.args[0].failed == 0
    assert set(seen["notes"]) == {str(p.relative_to(small_library)) for p in bad.values()}
    assert seen["notes"]["Broken/Bad/empty.mp3"] == "empty file (0 bytes)"
    assert "4 files could not be analysed, so there is no mood to write" in seen["intro"]
    assert seen["ok"] == "Write 12 tags"

    capsys.readouterr()
    rc = main(["write", str(small_library), "--dry-run", "--model", str(tiny_model_path)])
    out = capsys.readouterr().out
    assert rc == 0, out
    assert "4 files could not be analysed, so they have no mood to write" in out
    listed = dict(line.strip().split(": ", 1) for line in out.splitlines() if "Broken/" in line)
    assert listed == seen["notes"]
    assert "cannot be written" not in out


def test_preview_columns_fit_their_headers_and_values(qtbot, tmp_path):
    """Each narrow column is at least as wide as its header ("Confidence" was elided to
    "Confiden…" in a 7-em column) and its values ("can't analyse" read "can'…lyse")."""
    from tagger.core.tagwrite import NoMood, PlannedChange
    from tagger.ui.write_dialog import WritePreviewDialog

    change = PlannedChange(1, str(tmp_path / "a.mp3"), None, "Calm", "prediction")
    note = NoMood(str(tmp_path / "b.mp3"), "unreadable", "empty file")
    dlg = WritePreviewDialog([change, note], str(tmp_path), confidences={1: 0.5})
    qtbot.addWidget(dlg)
    hh = dlg.table.horizontalHeader()
    for col in range(1, dlg.model.columnCount()):
        assert hh.sectionSize(col) >= hh.sectionSizeFromContents(col).width(), col
    assert dlg.cell(1, 4) == "can't analyse"
    for row in range(dlg.row_count()):
        size = dlg.table.sizeHintForIndex(dlg.model.index(row, 4)).width()
        assert 0 < size <= hh.sectionSize(4), dlg.cell(row, 4)


def test_preview_tells_new_moods_from_scores_only(qtbot, tmp_path):
    """A file whose mood tag already holds the mood gets only energy and valence: the
    preview does not count it as getting "a new mood tag" (it said "2 files will get a
    new mood tag" of one new mood and one file whose mood stays)."""
    from tagger.core.tagwrite import PlannedChange
    from tagger.ui.write_dialog import WritePreviewDialog

    scores = {"arousal": "70", "valence": "40"}
    new = PlannedChange(1, str(tmp_path / "a.mp3"), None, "Calm", "prediction", scores)
    same = PlannedChange(2, str(tmp_path / "b.mp3"), "Sad", "Sad", "prediction", scores)
    dlg = WritePreviewDialog([new, same], str(tmp_path), confidences={1: 0.9, 2: 0.9})
    qtbot.addWidget(dlg)
    dlg.energy_valence.setChecked(True)
    dlg.set_changes([new, same])
    intro = dlg.intro.text()
    assert intro.startswith(
        "1 file will get a new mood tag, and 1 file that already has the right one only "
        "new energy and valence tags."
    ), intro
    dlg.set_changes([same])
    assert dlg.intro.text().startswith(
        "1 file already has the right mood tag and will get new energy and valence tags."
    ), dlg.intro.text()
    assert dlg.ok_button.text() == "Write 1 tag"
    # a label that disagrees with the model gets the mood alone, and the preview says so
    corrected = PlannedChange(3, str(tmp_path / "c.mp3"), None, "Happy", "label")
    dlg.set_changes([new, corrected])
    assert (
        "1 song you gave another mood than the model gets no energy and valence" in dlg.intro.text()
    ), dlg.intro.text()
    dlg.energy_valence.setChecked(False)
    dlg.set_changes([new, corrected])
    assert "no energy and valence" not in dlg.intro.text()


def test_preview_flags_files_that_cannot_be_written(qtbot, make_window, library, tmp_path):
    """A read-only file shows in red as "can't write" in the preview and is skipped."""
    window, root = open_copy(qtbot, make_window, library, tmp_path)
    good = [r for r in window.rows if r.scores is not None]
    locked = Path(good[0].path)
    locked.chmod(0o444)
    before = locked.read_bytes()
    seen: dict = {}

    def record(dlg) -> None:
        seen["rows"] = [tuple(dlg.cell(r, c) for c in range(5)) for r in range(dlg.row_count())]
        seen["intro"] = dlg.intro.text()
        seen["ok"] = dlg.ok_button.text()
        seen["tip"] = dlg.model.index(0, 2).data(Qt.ItemDataRole.ToolTipRole)

    accept_preview_when_shown(window, [], before_accept=record)
    with qtbot.waitSignal(window.write_finished, timeout=TIMEOUT) as blocker:
        window.write_action.trigger()
    summary = blocker.args[0]
    rows = [r for r in seen["rows"] if r[4] != "can't analyse"]
    assert len(rows) == 7
    assert rows[0][0] == str(locked.relative_to(root)) and rows[0][4] == "can't write"
    assert all(r[4] != "can't write" for r in rows[1:])
    assert "read-only" in seen["tip"]
    assert "6 files will get a new mood tag. Only the mood tag is changed" in seen["intro"]
    assert "1 file cannot be written" in seen["intro"]
    assert seen["ok"] == "Write 6 tags"
    assert summary.written == 6 and summary.failed == 0
    assert locked.read_bytes() == before
    # and the outcome says so: it read "6 files updated", the skipped file in no list
    assert window.message_label.text() == "Write mood tags: 6 files updated, 1 failed"
    why = window.errors[str(locked)]
    assert "not written" in why and "read-only" in why
    assert window.last_write_result[2] == [(str(locked), why.removeprefix("Write mood tags: "))]
    locked.chmod(0o644)


def test_keep_existing_mood_tags_from_the_preview(qtbot, make_window, small_library):
    """ "Keep mood tags already in files" drops the files that have one from the preview;
    the choice is remembered for the next write."""
    import mutagen
    from mutagen.id3 import TMOO

    from tagger.core.settings import load_settings

    tagged = sorted(small_library.rglob("*.wav"))[0]
    f = mutagen.File(tagged)
    f.add_tags()
    f.tags.add(TMOO(encoding=3, text=["Chill"]))
    f.save()
    window = open_analysed(qtbot, make_window, small_library)
    seen: dict = {}

    def dlg():
        return getattr(window, "preview_dialog", None)

    def files() -> set[str]:
        return {dlg().cell(r, 0) for r in range(dlg().row_count())}

    drive(
        [
            (
                lambda: dlg() is not None and dlg().isVisible() and dlg().row_count() == 12,
                lambda: (seen.update(all=files()), dlg().keep_existing.setChecked(True)),
            ),
            (
                lambda: dlg().row_count() == 11 and dlg().ok_button.isEnabled(),
                lambda: (seen.update(kept=files(), intro=dlg().intro.text()), dlg().accept()),
            ),
        ]
    )
    with qtbot.waitSignal(window.write_finished, timeout=TIMEOUT) as blocker:
        window.write_action.trigger()
    assert blocker.args[0].written == 11
    name = tagged.relative_to(small_library).as_posix()
    assert name in seen["all"] and seen["all"] - seen["kept"] == {name}
    assert "1 file keeps the mood tag it has" in seen["intro"]  # the list lost it: said
    assert read_tags(tagged).mood == "Chill"  # left as it was
    assert all(read_tags(r.path).mood for r in window.rows)
    assert load_settings()["write_keep_existing"] is True


def test_write_runs_when_its_options_cannot_be_saved(
    qtbot, make_window, small_library, monkeypatch
):
    """A read-only settings folder: the accepted write still runs, the window says the
    options were not kept as defaults (no exception escapes into Qt)."""
    import tagger.core.settings as settings

    window = open_analysed(qtbot, make_window, small_library)

    def read_only(*a, **kw):
        raise PermissionError(13, "Permission denied", "settings.json")

    monkeypatch.setattr(settings, "save_settings", read_only)
    accept_preview_when_shown(window, [])
    with qtbot.waitSignal(window.write_finished, timeout=TIMEOUT) as blocker:
        window.write_action.trigger()
    assert blocker.args[0].written == 12
    assert "write_keep_existing" not in settings.load_settings()


def test_write_only_the_selected_songs(qtbot, make_window, library, tmp_path):
    from PySide6.QtCore import QItemSelectionModel

    window, _root = open_copy(qtbot, make_window, library, tmp_path)
    assert not window.write_selection_action.isEnabled()  # nothing selected yet
    good = [r for r in window.rows if r.scores is not None]
    chosen = good[1:3]
    window.select_track(chosen[0].track_id)
    idx = window.proxy.mapFromSource(window.library_model.index_for(chosen[1].track_id))
    flags = QItemSelectionModel.SelectionFlag.Select | QItemSelectionModel.SelectionFlag.Rows
    window.table.selectionModel().select(idx, flags)
    assert {r.track_id for r in window.selected_rows()} == {r.track_id for r in chosen}
    assert window.write_selection_action.isEnabled()
    preview: list = []
    accept_preview_when_shown(window, preview)
    with qtbot.waitSignal(window.write_finished, timeout=TIMEOUT) as blocker:
        window.write_selection_action.trigger()
    assert blocker.args[0].written == 2 and len(preview) == 2
    for r in good:
        assert (read_tags(r.path).mood is not None) == (r in chosen), r.path


def test_write_waits_in_the_worker_while_another_write_runs(qtbot, make_window, small_library):
    """Another process holds the library's write lock: the GUI's write waits in its worker
    (the window keeps running and says so), writes nothing, and ends once the lock is free."""
    from tagger.core.writelock import WriteLock

    window = open_analysed(qtbot, make_window, small_library)
    lock = WriteLock(window.store.path)
    assert lock.try_acquire()
    try:
        accept_preview_when_shown(window, [])
        window.write_action.trigger()
        qtbot.waitUntil(
            lambda: window.eta_label.text() == "Waiting for another write to finish…",
            timeout=TIMEOUT,
        )
        assert all(read_tags(r.path).mood is None for r in window.rows)
    finally:
        lock.release()
    with qtbot.waitSignal(window.write_finished, timeout=TIMEOUT) as blocker:
        pass
    assert blocker.args[0].written == 12
    assert all(read_tags(r.path).mood for r in window.rows)


def test_write_outcome_and_failures_reach_the_log(qtbot, make_window, library, tmp_path):
    """View > Log tells what a write did and which file failed and why."""
    window, _root = open_copy(qtbot, make_window, library, tmp_path)
    gone = next(r for r in window.rows if r.scores is not None)
    accept_preview_when_shown(window, [], before_accept=lambda _d: Path(gone.path).unlink())
    with qtbot.waitSignal(window.write_finished, timeout=TIMEOUT):
        window.write_action.trigger()
    qtbot.waitUntil(lambda: gone.path in window.log_view.toPlainText(), timeout=5000)
    text = window.log_view.toPlainText()
    assert "Write mood tags: 6 files updated, 1 failed" in text
    line = next(ln for ln in text.splitlines() if gone.path in ln)
    assert "WARNING" in line and "not found" in line


def test_undo_keeping_a_hand_edited_mood_is_no_error(
    qtbot, make_window, library, tmp_path, monkeypatch
):
    """A file retagged by hand after the write is kept as it is by undo: said so, not
    counted as failed, and the table shows the mood the file holds now."""
    import mutagen

    window, _root = open_copy(qtbot, make_window, library, tmp_path)
    accept_preview_when_shown(window, [])
    with qtbot.waitSignal(window.write_finished, timeout=TIMEOUT):
        window.write_action.trigger()
    edited = next(r for r in window.rows if r.path.endswith(".flac") and r.scores)
    f = mutagen.File(edited.path)
    f.tags["MOOD"] = "Chill"  # retagged by hand in another program
    f.save()
    for dlg in window.findChildren(WriteResultDialog):
        dlg.close()
    monkeypatch.setattr(QMessageBox, "question", lambda *a, **k: QMessageBox.StandardButton.Yes)
    with (
        qtbot.waitSignal(window.analysis_finished, timeout=TIMEOUT),  # the edited file
        qtbot.waitSignal(window.write_finished, timeout=TIMEOUT) as blocker,
    ):
        window.undo_write_action.trigger()
    summary = blocker.args[0]
    assert summary.written == 6 and summary.failed == 0  # of 7 written
    assert [p for p, _why in summary.kept] == [edited.path]
    _title, _written, errors = window.last_write_result
    assert errors == [] and edited.path not in window.errors
    assert [p for p, _why in window.last_write_kept] == [edited.path]
    (dlg,) = [d for d in window.findChildren(WriteResultDialog) if d.isVisible()]
    assert dlg.table.rowCount() == 1 and dlg.table.item(0, 1).text().startswith("kept: ")
    # named from the music folder ("01.flac" alone could be on any album), whole in the tip
    assert dlg.table.item(0, 0).text() == Path(edited.path).relative_to(_root).as_posix()
    assert "/" in dlg.table.item(0, 0).text() and dlg.table.item(0, 0).toolTip() == edited.path
    assert read_tags(edited.path).mood == "Chill"
    model = window.library_model
    assert model.index_for(edited.track_id, Column.TAG).data() == "Chill"
    assert model.index_for(edited.track_id, Column.STATUS).data() == Status.DONE
    qtbot.waitUntil(lambda: "kept as it is" in window.log_view.toPlainText(), timeout=5000)
    text = window.log_view.toPlainText()
    assert "Undo last write: 6 files updated, 1 kept as it is" in text
    assert "failed" not in text.split("Undo last write", 1)[1]


def test_tab_leaves_the_preview_table(qtbot, tmp_path):
    """Tab goes from the preview table on to the dialog's buttons (it walked cell by cell,
    so keyboard users were stuck in a table of hundreds of files)."""
    from tagger.core.tagwrite import PlannedChange
    from tagger.ui.write_dialog import WritePreviewDialog

    changes = [
        PlannedChange(i, str(tmp_path / f"{i}.mp3"), None, "Calm", "prediction")
        for i in range(1, 4)
    ]
    dlg = WritePreviewDialog(changes, str(tmp_path), confidences={i: 0.5 for i in range(1, 4)})
    qtbot.addWidget(dlg)
    assert not dlg.table.tabKeyNavigation()
