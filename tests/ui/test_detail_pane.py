"""The detail pane on its own (offscreen)."""

from __future__ import annotations

from PySide6.QtWidgets import QApplication

from tagger.core.library import LibraryRow
from tagger.ui.detail_pane import DetailPane


def _row(path: str, title: str | None = None) -> LibraryRow:
    return LibraryRow(1, path, title, "Artist", "Album", 1, 200.0, None, None, None, None, None)


def test_long_file_name_wraps_without_scrolling_sideways(qtbot):
    """A path (and a title taken from the file name) with a long part that has no space
    or slash wraps inside the narrowest pane instead of widening it; the text is the path
    unchanged, so copying it gives the real path."""
    pane = DetailPane()
    qtbot.addWidget(pane)
    pane.resize(pane.minimumWidth(), 500)
    pane.show()
    name = "Remastered_" + "x" * 150
    path = f"/music/Artist/Album/{name}.flac"
    pane.show_row(_row(path))
    views = (pane.path_label, pane.title)
    # the layout settles in a pass or two (the vertical scroll bar comes in)
    qtbot.waitUntil(lambda: all(v.height() >= v.heightForWidth(v.width()) for v in views))
    scroll = pane._scroll
    assert scroll.horizontalScrollBar().maximum() == 0
    assert pane._body.width() <= scroll.viewport().width()
    for view, text in zip(views, (path, name), strict=True):
        assert view.text() == text
        assert view.width() <= scroll.viewport().width()
        assert view.height() > 2 * view.fontMetrics().height()  # wrapped, and shown whole
    pane.path_label.selectAll()
    pane.path_label.copy()
    assert QApplication.clipboard().text() == path
    # a short path keeps to one line
    short = pane.path_label
    pane.show_row(_row("/m/a.mp3", "Song"))
    qtbot.waitUntil(lambda: short.height() < 2 * short.fontMetrics().height())
    assert short.height() >= short.heightForWidth(short.width())


def test_a_song_without_a_mood_yet_says_where_its_analysis_is(qtbot):
    """No prediction: no bars and no spectrogram (the picture is of what the model listened
    to), and the text says whether the song waits, is being analysed, or neither."""
    from tagger.ui.library_model import Status

    pane = DetailPane()
    qtbot.addWidget(pane)
    pane.show()
    row = _row("/m/a.mp3", "Song")
    for analysis, text in (
        (None, "Not analysed yet."),
        (Status.QUEUED, "Waiting to be analysed…"),
        (Status.ANALYSING, "Analysing…"),
    ):
        pane.show_row(row, analysis)
        assert pane.mood_label.text() == text
        assert not pane.probs.isVisibleTo(pane) and not pane.axes.isVisibleTo(pane)
        assert not pane.spectrogram.has_image() and pane.spec_caption.text() == ""
        assert pane.spectrogram.text() == "No spectrogram until the song is analysed."
        pane.set_model(None)  # the model the analysis uses arrives: still where it was
        assert pane.mood_label.text() == text


def test_energy_and_valence_read_as_in_the_tables(qtbot):
    """The details said "Energy 20%" where the library and playlist tables say 0.20."""
    from tagger.ui.detail_pane import DetailPane

    pane = DetailPane()
    qtbot.addWidget(pane)
    assert pane.axes.value_text(0.2) == "0.20"
    assert pane.probs.value_text(0.2) == "20%"  # probabilities stay percentages


def test_a_selection_just_before_closing_starts_no_job_after_it(qtbot, tiny_model_path, tmp_path):
    """The spectrogram of a song selected less than 150 ms before the window closed was
    started after the shutdown had waited for the jobs: it ran into deleted signals and
    put three tracebacks on stderr at exit."""
    from dataclasses import replace

    from tagger.core.checkpoint import load_checkpoint
    from tagger.core.moods import MoodScores
    from tests.audio_factory import write_audio

    pane = DetailPane()
    qtbot.addWidget(pane)
    pane.set_model(load_checkpoint(tiny_model_path))
    song = write_audio(tmp_path / "a.wav", 3.0)
    pane.show_row(replace(_row(str(song)), scores=MoodScores((0.1, 0.2, 0.3, 0.4))))
    assert pane._debounce.isActive()  # the job would start once the selection settles
    pane.cancel_all()
    qtbot.wait(400)
    assert pane._workers == [] and pane._worker is None


def test_an_unreadable_file_says_why_once(qtbot, tmp_path):
    """An empty file read "Mood tag: could not be read (empty file (0 bytes))" and then
    "empty file (0 bytes)" again in red; a text file named .flac showed mutagen's message
    with the file's full path in quotes."""
    import dataclasses

    from tagger.core.errors import TagError
    from tagger.core.tags import open_file

    pane = DetailPane()
    qtbot.addWidget(pane)
    row = dataclasses.replace(
        _row("/m/A/B/empty.mp3"),
        error="empty file (0 bytes)",
        tag_error="cannot read tags: empty file (0 bytes)",
    )
    assert row.unreadable
    pane.show_row(row)
    assert pane.tag_label.text() == "unknown (the file cannot be read)"
    assert pane.error_label.text() == "empty file (0 bytes)"
    fake = tmp_path / "A" / "B" / "03 Not Audio.flac"
    fake.parent.mkdir(parents=True)
    fake.write_text("these are my notes, not a song\n" * 20)
    try:
        open_file(fake)
    except TagError as exc:
        message = exc.message
    else:
        raise AssertionError("read as audio")
    assert str(fake) not in message and "Not Audio" not in message
    assert message == "cannot read tags: not a valid FLAC file", message
