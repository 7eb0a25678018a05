"""LibraryModel / LibraryProxyModel: Qt model contract, batch updates, sort, filter."""

from __future__ import annotations

import dataclasses

import pytest
from PySide6.QtCore import Qt

from tagger.core.errors import SILENT_MESSAGE
from tagger.core.library import LibraryRow
from tagger.core.moods import MOODS, MoodScores
from tagger.ui.library_model import (
    MOOD_ROLE,
    ROW_ROLE,
    Column,
    LibraryModel,
    LibraryProxyModel,
    Status,
    row_status,
)


def make_rows(n: int, analysed: bool = True) -> list[LibraryRow]:
    rows = []
    for i in range(n):
        probs = [0.1, 0.1, 0.1, 0.1]
        probs[i % 4] = 0.7
        rows.append(
            LibraryRow(
                track_id=i + 1,
                path=f"/music/Artist {i % 3}/Album {i % 2}/{i:03d} Song {i}.mp3",
                title=f"Song {i}",
                artist=f"Artist {i % 3}",
                album=f"Album {i % 2}",
                tracknumber=i,
                duration=100.0,
                mood_tag=None,
                scores=MoodScores.from_probabilities(probs) if analysed else None,
                label=None,
                error=None,
                model_id="m" if analysed else None,
            )
        )
    return rows


def test_model_contract(qtmodeltester):
    model = LibraryModel()
    model.set_rows(make_rows(20))
    qtmodeltester.check(model)
    proxy = LibraryProxyModel()
    proxy.setSourceModel(model)
    qtmodeltester.check(proxy)


def test_display_values():
    model = LibraryModel()
    model.set_rows(make_rows(4))
    idx = model.index(1, Column.MOOD)
    assert idx.data() == "Aggressive"
    assert idx.data(MOOD_ROLE) == "aggressive"
    assert model.index(1, Column.CONFIDENCE).data() == "70%"
    assert model.index(1, Column.STATUS).data() == Status.DONE
    assert model.index(0, Column.TITLE).data(ROW_ROLE).track_id == 1


def test_update_rows_emits_one_range_per_run(qtbot):
    model = LibraryModel()
    rows = make_rows(10, analysed=False)
    model.set_rows(rows)
    seen = []
    model.dataChanged.connect(lambda a, b, _roles=(): seen.append((a.row(), b.row())))
    model.modelReset.connect(lambda: seen.append("reset"))
    scores = MoodScores.from_probabilities([0.7, 0.1, 0.1, 0.1])
    changed = [dataclasses.replace(rows[i], scores=scores) for i in (2, 3, 4, 7)]
    model.update_rows(changed)
    assert seen == [(2, 4), (7, 7)]
    assert model.row_at(3).mood == "happy"
    assert model.row_at(5).mood is None


def test_status_values():
    r = make_rows(1, analysed=False)[0]
    assert row_status(r) == Status.QUEUED
    assert row_status(r, analysing=True) == Status.ANALYSING
    assert row_status(dataclasses.replace(r, error="bad file")) == Status.ERROR
    model = LibraryModel()
    model.set_rows(
        [dataclasses.replace(r, error="bad file"), dataclasses.replace(r, error=SILENT_MESSAGE)]
    )
    assert [model.index(i, Column.MOOD).data() for i in (0, 1)] == ["can't read", "silent"]
    silent = dataclasses.replace(r, error=SILENT_MESSAGE)
    assert row_status(silent) == Status.NO_MOOD
    assert row_status(dataclasses.replace(silent, label="sad")) == Status.CORRECTED
    assert row_status(dataclasses.replace(silent, label="sad", mood_tag="Sad")) == Status.WRITTEN
    assert row_status(dataclasses.replace(r, error="bad file", label="sad")) == Status.ERROR
    done = make_rows(1)[0]
    assert row_status(done) == Status.DONE
    assert row_status(dataclasses.replace(done, label="sad")) == Status.CORRECTED
    assert row_status(dataclasses.replace(done, label="happy")) == Status.CONFIRMED
    assert row_status(dataclasses.replace(done, mood_tag="Happy")) == Status.WRITTEN


def test_a_labelled_file_that_cannot_be_read_shows_as_unreadable():
    """Labelled before the first scan, then found unreadable: no mood chip, as its status."""
    r = dataclasses.replace(make_rows(1, analysed=False)[0], error="bad file", label="sad")
    model = LibraryModel()
    model.set_rows([r])
    idx = model.index(0, Column.MOOD)
    assert idx.data() == "can't read" and idx.data(MOOD_ROLE) is None
    assert idx.data(Qt.ItemDataRole.FontRole) is None
    assert model.index(0, Column.STATUS).data() == Status.ERROR
    proxy = LibraryProxyModel()
    proxy.setSourceModel(model)
    proxy.set_moods(["sad"])  # not among the Sad songs either
    assert proxy.rowCount() == 0


def test_set_analysing_marks_status():
    model = LibraryModel()
    model.set_rows(make_rows(3, analysed=False))
    assert {model.index(i, Column.STATUS).data() for i in range(3)} == {Status.NOT_ANALYSED}
    model.set_running(True)
    model.set_analysing([2])
    assert [model.index(i, Column.STATUS).data() for i in range(3)] == [
        Status.QUEUED,
        Status.ANALYSING,
        Status.QUEUED,
    ]
    # stopped: nothing is on its way, so "queued" would mislead
    model.set_analysing([])
    model.set_running(False)
    assert {model.index(i, Column.STATUS).data() for i in range(3)} == {Status.NOT_ANALYSED}


def test_sort_through_proxy_keeps_selection_rows():
    model = LibraryModel()
    model.set_rows(make_rows(12))
    proxy = LibraryProxyModel()
    proxy.setSourceModel(model)
    proxy.sort(Column.MOOD, Qt.SortOrder.AscendingOrder)
    moods = [proxy.index(i, Column.MOOD).data(MOOD_ROLE) for i in range(proxy.rowCount())]
    assert moods == sorted(moods, key=MOODS.index)
    proxy.sort(Column.TITLE, Qt.SortOrder.DescendingOrder)
    titles = [proxy.index(i, Column.TITLE).data() for i in range(proxy.rowCount())]
    assert titles == sorted(titles, key=str.casefold, reverse=True)


@pytest.mark.parametrize("order", [Qt.SortOrder.AscendingOrder, Qt.SortOrder.DescendingOrder])
@pytest.mark.parametrize("column", [Column.CONFIDENCE, Column.ENERGY, Column.MOOD, Column.TAG])
def test_rows_without_a_value_sort_last_in_either_order(column, order):
    """Songs not analysed yet or unreadable have no confidence, energy or mood: sorted by
    it, they come after the others both ways (they came first when sorted descending)."""
    rows = make_rows(6)
    rows[1] = dataclasses.replace(rows[1], scores=None, model_id=None)  # queued
    rows[4] = dataclasses.replace(rows[4], scores=None, error="not an audio file")
    rows = [dataclasses.replace(r, mood_tag=None if r.scores is None else "Calm") for r in rows]
    model = LibraryModel()
    model.set_rows(rows)
    model.sort(column, order)
    shown = [r.track_id for r in model.rows]
    assert set(shown[-2:]) == {2, 5}, shown
    model.sort(Column.TITLE, Qt.SortOrder.DescendingOrder)  # titles are all there
    assert [r.title for r in model.rows] == sorted((r.title for r in rows), reverse=True)


@pytest.mark.parametrize(
    ("moods", "search", "expected"),
    [
        (MOODS, "", 12),
        (("happy",), "", 3),
        (("happy", "sad"), "", 6),
        (MOODS, '"song 1"', 3),  # Song 1, Song 10, Song 11
        (MOODS, "song 1", 8),  # and Artist 1 (4, 7) and Album 1 (3, 5, 9): every word
        (("calm",), "artist 0", 1),  # Song 3 (calm, artist 0); Song 7 is artist 1
    ],
)
def test_filter_and_search(moods, search, expected):
    model = LibraryModel()
    model.set_rows(make_rows(12))
    proxy = LibraryProxyModel()
    proxy.setSourceModel(model)
    proxy.set_moods(moods)
    proxy.set_search(search)
    assert proxy.rowCount() == expected
    words = [search.strip('"').casefold()] if search.startswith('"') else search.split()
    for i in range(proxy.rowCount()):
        row = proxy.row_at(i)
        assert row.mood in moods
        assert all(w in f"{row.title}|{row.artist}|{row.album}".casefold() for w in words)


def test_search_ignores_case_and_accents():
    import dataclasses

    base = make_rows(4)
    rows = [
        dataclasses.replace(base[0], artist="Sigur Rós", title="Starálfur"),
        dataclasses.replace(base[1], artist="Beyoncé", title="Halo"),
        dataclasses.replace(base[2], artist="Motörhead", title="Ace of Spades"),
        dataclasses.replace(base[3], artist="Björk", title="Jóga"),
    ]
    model = LibraryModel()
    model.set_rows(rows)
    proxy = LibraryProxyModel()
    proxy.setSourceModel(model)

    def found(text: str) -> list[str]:
        proxy.set_search(text)
        return [proxy.row_at(i).artist for i in range(proxy.rowCount())]

    assert found("sigur ros") == ["Sigur Rós"]
    assert found("STARALFUR") == ["Sigur Rós"]
    assert found("beyonce") == ["Beyoncé"]
    assert found("Beyoncé") == ["Beyoncé"]  # typed with the accent still works
    assert found("motorhead") == ["Motörhead"]
    assert found("bjork joga") == ["Björk"]  # every word, each in any field
    assert found("jóga") == ["Björk"]


def song(track_id: int, path: str, title=None, artist=None, album=None) -> LibraryRow:
    """A row not analysed yet, with these tags (None: the file has none)."""
    return dataclasses.replace(
        make_rows(1, analysed=False)[0],
        track_id=track_id,
        path=path,
        title=title,
        artist=artist,
        album=album,
    )


def searcher(rows: list[LibraryRow]):
    """``found(query)``: the track ids the Library's search box shows for ``query``."""
    model = LibraryModel()
    model.set_rows(rows)
    proxy = LibraryProxyModel()
    proxy.setSourceModel(model)

    def found(query: str) -> list[int]:
        proxy.set_search(query)
        return [proxy.row_at(i).track_id for i in range(proxy.rowCount())]

    return model, found


HOME = "/home/tmpuser/Music"
SIGUR = [
    song(
        1,
        f"{HOME}/Sigur Rós/Ágætis byrjun/03 Svefn-g-englar.mp3",
        "Svefn-g-englar",
        "Sigur Rós",
        "Ágætis byrjun",
    ),
    song(2, f"{HOME}/Sigur Rós/Takk/02 Hoppípolla.flac", "Hoppípolla", "Sigur Rós", "Takk..."),
    song(3, f"{HOME}/Björk/Homogenic/01 Hunter.mp3", "Hunter", "Björk", "Homogenic"),
    song(4, f"{HOME}/Unsorted/From a friend/demo take.mp3"),  # no tags at all
]


@pytest.mark.parametrize(
    ("query", "expected"),
    [
        ("sigur ros agaetis", [1]),
        ("ros svefn", [1]),
        ("svefn ros", [1]),  # any order
        ("bjork hunter", [3]),
        ("HUNTER   björk", [3]),
        ("sigur", [1, 2]),
        ("sigur hunter", []),  # every word, not any
        ('"sigur ros"', [1, 2]),  # a quoted phrase is one term
        ('"ros svefn"', []),  # ... found within one field
    ],
)
def test_search_finds_rows_holding_every_word_in_any_field(query, expected):
    """The query is words (or "quoted phrases"), each to be found in some field: it was
    one text to be found whole, so "sigur ros agaetis" found nothing."""
    _model, found = searcher(SIGUR)
    assert found(query) == expected


def test_search_folds_letters_accents_leave_whole():
    """ "agaetis" finds "Ágætis": NFKD takes the accents off, æ (ø, œ, ð, þ, ...) it leaves."""
    rows = [
        *SIGUR,
        song(5, f"{HOME}/Mø/No Mythologies/Final Song.mp3", "Final Song", "MØ"),
        song(6, f"{HOME}/Sólstafir/Ótta/Lágnætti.mp3", "Lágnætti", "Sólstafir", "Ótta"),
        song(7, f"{HOME}/Ólafur Arnalds/Þú ert jörðin.mp3", "Þú ert jörðin", "Ólafur Arnalds"),
    ]
    _model, found = searcher(rows)
    assert found("agaetis") == [1]
    assert found("ÁGÆTIS") == [1]
    assert found("mo final") == [5]
    assert found("lagnaetti") == [6]
    assert found("thu ert jordin") == [7]


@pytest.mark.parametrize("query", ["home", "tmpuser", "music", "mp3", "flac", "3", "0"])
def test_search_skips_what_every_path_holds(query):
    """The path above the music folder, the extension and the track number in the file
    name ("03 ...") are not searched: they made "music", "tmp" or "3" find every song."""
    _model, found = searcher(SIGUR)
    assert found(query) == []


def test_search_finds_a_song_without_tags_by_its_folder_and_file_names():
    _model, found = searcher(SIGUR)
    assert found("unsorted") == [4]
    assert found("friend demo") == [4]
    assert found('"demo take"') == [4]
    assert found("homogenic hunter") == [3]  # the folder names of a tagged song too


def test_search_follows_the_music_folder_as_rows_arrive():
    """The music folder is the one holding every row: while the first rows (all under one
    folder) are in, it is that folder; rows arriving elsewhere widen it, so the first
    folder's name is searched from then on."""
    first = [
        song(1, f"{HOME}/Sigur Rós/Takk/01 Takk.mp3"),
        song(2, f"{HOME}/Sigur Rós/Takk/02 Glósóli.mp3"),
    ]
    model, found = searcher([])  # the folder just opened: its rows come in batches
    model.update_rows(first)
    assert found("takk") == [1]  # the file name, not the folder every row is in
    assert found("sigur") == []
    model.update_rows([song(3, f"{HOME}/Björk/Post/01 Army of Me.mp3")])
    assert found("sigur") == [1, 2]
    assert found("takk") == [1, 2]
    assert found("post army") == [3]
    assert found("music") == []
    model.update_rows([dataclasses.replace(first[1], title="Sæglópur")])  # a row replaced
    assert found("saeglopur sigur") == [2]
    model.set_rows([song(9, "/srv/Other Music/Album/01 Song.mp3")])
    assert found("album") == []  # a new library, a new folder
    assert found("song") == [9]


def test_corrected_mood_chip_fits_the_default_mood_column(qtbot):
    """A corrected song's chip is "Aggressive ✎" in bold: the default Mood column and the
    chip are sized for that text as drawn (they were sized for the plain text, so the
    chip's ends and the pencil were cut off)."""
    from PySide6.QtCore import QRect
    from PySide6.QtGui import QFont, QFontMetrics

    from tagger.ui.library_model import MoodChipDelegate
    from tagger.ui.main_window import LibraryTableView

    model = LibraryModel()
    model.set_rows(make_rows(4))
    proxy = LibraryProxyModel()
    proxy.setSourceModel(model)
    table = LibraryTableView()
    qtbot.addWidget(table)
    table.setModel(proxy)
    table.set_default_widths()
    width = table.columnWidth(Column.MOOD)
    bold = QFont(table.font())
    bold.setBold(True)
    text_width = QFontMetrics(bold).horizontalAdvance("Aggressive ✎")
    chip = MoodChipDelegate.chip_rect(QRect(0, 0, width, 24), bold, "Aggressive ✎")
    assert chip.left() > 0 and chip.right() < width
    assert chip.width() > text_width  # the text, centred, has room on both sides


def test_a_label_that_agrees_with_the_prediction_is_confirmed_not_corrected():
    """Status, chip and font tell a confirmation (label = prediction) from a correction."""
    from tagger.ui.library_model import MoodChipDelegate

    done = make_rows(1)[0]  # predicted happy
    confirmed = dataclasses.replace(done, label="happy")
    corrected = dataclasses.replace(done, track_id=2, label="sad")
    model = LibraryModel()
    model.set_rows([confirmed, corrected])
    status = [model.index(i, Column.STATUS).data() for i in (0, 1)]
    assert status == [Status.CONFIRMED, Status.CORRECTED]
    bold = Qt.ItemDataRole.FontRole
    assert model.index(0, Column.MOOD).data(bold) is None
    assert model.index(1, Column.MOOD).data(bold).bold()
    tip = Qt.ItemDataRole.ToolTipRole
    assert model.index(0, Column.MOOD).data(tip) == "Confirmed by you: Happy"
    assert model.index(1, Column.MOOD).data(tip) == "Corrected to Sad (model said Happy)"
    assert MoodChipDelegate.chip_text("happy", confirmed) == ("Happy ✓", False)
    assert MoodChipDelegate.chip_text("sad", corrected) == ("Sad ✎", True)
    assert MoodChipDelegate.chip_text("happy", done) == ("Happy", False)
    # sorting by Status keeps the two apart, each group together
    model.sort(Column.STATUS)
    assert [r.label for r in model.rows] == ["happy", "sad"]


def test_status_sorts_in_workflow_order_not_alphabetically():
    """Sorted by Status: queued, analysing, error, no mood, done, confirmed, corrected,
    written (the alphabet put "analysing" first and "written" after "queued")."""
    order = [
        Status.QUEUED,
        Status.ANALYSING,
        Status.ERROR,
        Status.NO_MOOD,
        Status.DONE,
        Status.CONFIRMED,
        Status.CORRECTED,
        Status.WRITTEN,
    ]
    done = make_rows(1)[0]  # predicted happy
    queued = make_rows(1, analysed=False)[0]
    by_status = {
        Status.WRITTEN: dataclasses.replace(done, mood_tag="Happy"),
        Status.CORRECTED: dataclasses.replace(done, label="sad"),
        Status.QUEUED: queued,
        Status.DONE: done,
        Status.ERROR: dataclasses.replace(queued, error="not an audio file"),
        Status.ANALYSING: queued,
        Status.CONFIRMED: dataclasses.replace(done, label="happy"),
        Status.NO_MOOD: dataclasses.replace(queued, error=SILENT_MESSAGE),
    }
    rows = [dataclasses.replace(r, track_id=k + 1) for k, r in enumerate(by_status.values())]
    model = LibraryModel()
    model.set_rows(rows)
    model.set_running(True)
    model.set_analysing([list(by_status).index(Status.ANALYSING) + 1])
    shown = [model.status_of(r) for r in rows]
    assert shown == list(by_status)
    model.sort(Column.STATUS, Qt.SortOrder.AscendingOrder)
    assert [model.index(i, Column.STATUS).data() for i in range(8)] == order
    model.sort(Column.STATUS, Qt.SortOrder.DescendingOrder)
    assert [model.index(i, Column.STATUS).data() for i in range(8)] == order[::-1]
    from tagger.ui.library_model import STATUS_ORDER, STATUSES

    every = [Status.NOT_ANALYSED, *order]  # not analysed: when no analysis runs
    assert list(STATUS_ORDER) == every and sorted(STATUSES) == sorted(every)


def test_a_corrected_songs_numbers_say_they_are_the_models():
    """ "Happy ✎" beside 93 % and energy 0.95 read as sure of Happy, while they were the
    model's figures for the Aggressive it predicted."""
    done = make_rows(1)[0]  # predicted happy
    corrected = dataclasses.replace(done, label="sad")
    model = LibraryModel()
    model.set_rows([done, dataclasses.replace(corrected, track_id=2)])
    tip, fg = Qt.ItemDataRole.ToolTipRole, Qt.ItemDataRole.ForegroundRole
    for col in (Column.CONFIDENCE, Column.ENERGY, Column.VALENCE):
        assert model.index(0, col).data(tip) is None and model.index(0, col).data(fg) is None
        assert model.index(1, col).data(tip) == (
            "The model's figures for its own prediction, Happy; your label: Sad"
        )
        assert model.index(1, col).data(fg) is not None  # greyed
