"""``mood-tagger playlist``: a small generated library analysed with the tiny model.

Expected selections are computed from the rows the store holds after the command ran.
"""

from __future__ import annotations

import xml.etree.ElementTree as ET
from pathlib import Path

import pytest

from tagger.cli import main
from tagger.core.checkpoint import load_checkpoint
from tagger.core.library import LibraryRow, library_rows
from tagger.core.playlists import row_confidence
from tagger.core.store import Store
from tests.audio_factory import write_audio, write_bad_files

m3u8 = pytest.importorskip("m3u8")  # a real (HLS) playlist parser; in the dev extra

NAMES = [
    ("Ärtist Ünïcode/Album 1/01 Sœng.wav", "calm"),
    ("Ärtist Ünïcode/Album 1/02 日本語.wav", "bright"),
    ("Ärtist Ünïcode/Album 2/03 Harsh #1.wav", "harsh"),
    ("Band/Live & Loud/04 Noise 50%.wav", "harsh"),
    ("Band/Live & Loud/05 Quiet.flac", "calm"),
    ("Band/Other/06 Sparkle.wav", "bright"),
    ("Solo/07 Drift.wav", "calm"),
    ("Solo/08 Bounce.wav", "bright"),
]


@pytest.fixture(scope="module")
def music(tmp_path_factory) -> Path:
    root = tmp_path_factory.mktemp("pl_music")
    for i, (rel, kind) in enumerate(NAMES):
        write_audio(root / rel, seconds=3.0 + i, kind=kind, seed=i)
    write_bad_files(root / "Broken" / "Bad")
    return root


def run(music: Path, out: Path, model: Path, *extra: str) -> int:
    args = ["-q", "playlist", str(music), "-o", str(out), "--model", str(model), "--jobs", "1"]
    return main([*args, *extra])


def rows_of(music: Path, model: Path) -> list[LibraryRow]:
    with Store.open_default() as store:
        return library_rows(music, store, load_checkpoint(model).model_id)


def m3u8_paths(out: Path) -> list[Path]:
    text = out.read_text(encoding="utf-8")
    assert text.startswith("#EXTM3U\n")
    parsed = m3u8.loads(text)
    assert sum(1 for line in text.splitlines() if line.startswith("#EXTINF:")) == len(
        parsed.segments
    )
    return [(out.parent / s.uri).resolve() for s in parsed.segments]


def test_moods_select_exactly_and_combine(music, tmp_path, tiny_model_path, capsys):
    out = tmp_path / "lists" / "all.m3u8"
    out.parent.mkdir()
    assert run(music, out, tiny_model_path) == 0
    rows = rows_of(music, tiny_model_path)
    good = [r for r in rows if r.scores]
    assert len(good) == len(NAMES) and len(rows) > len(good)  # bad files analysed as errors
    assert sorted(m3u8_paths(out)) == sorted(Path(r.path) for r in good)
    seconds = round(sum(r.duration or 0 for r in good))
    said = capsys.readouterr().out
    assert f"wrote 8 songs ({seconds // 60}:{seconds % 60:02d}) to " in said, said
    # labels decide a track's mood: make sure each mood occurs
    with Store.open_default() as store:
        for r, mood in zip(good, ["calm", "sad", "calm", "aggressive", "happy"], strict=False):
            store.add_label(r.track_id, mood)
    rows = rows_of(music, tiny_model_path)
    for moods in (["calm"], ["sad"], ["calm", "happy"], ["aggressive", "sad", "calm"]):
        expected = sorted(Path(r.path) for r in rows if r.scores and r.mood in moods)
        assert expected
        out = tmp_path / f"{'-'.join(moods)}.m3u8"
        flags = [x for m in moods for x in ("--mood", m.upper())]
        assert run(music, out, tiny_model_path, *flags) == 0
        got = m3u8_paths(out)
        assert sorted(got) == expected
        assert all(p.is_file() for p in got)


def test_energy_range_order_and_limit(music, tmp_path, tiny_model_path):
    out = tmp_path / "warmup.m3u8"
    assert run(music, out, tiny_model_path) == 0
    rows = [r for r in rows_of(music, tiny_model_path) if r.scores]
    energies = sorted(r.scores.energy for r in rows)
    lo, hi = energies[1], energies[-2]  # boundaries are real values: inclusive on both ends
    assert (
        run(
            music,
            out,
            tiny_model_path,
            "--energy",
            f"{lo!r}:{hi!r}",
            "--order",
            "energy-asc",
            "--limit",
            "5",
        )
        == 0
    )
    by_path = {Path(r.path): r for r in rows}
    got = [by_path[p] for p in m3u8_paths(out)]
    assert len(got) == 5
    got_e = [r.scores.energy for r in got]
    assert all(lo <= e <= hi for e in got_e)
    assert got_e == sorted(got_e)
    assert got_e == energies[1:6]
    assert (
        run(music, out, tiny_model_path, "--energy", f"{lo!r}:{hi!r}", "--order", "energy-desc")
        == 0
    )
    got_e = [by_path[p].scores.energy for p in m3u8_paths(out)]
    assert got_e == sorted(energies[1:-1], reverse=True)


def test_min_confidence_is_exact(music, tmp_path, tiny_model_path):
    out = tmp_path / "sure.m3u8"
    assert run(music, out, tiny_model_path) == 0
    rows = [r for r in rows_of(music, tiny_model_path) if r.scores]
    confs = sorted(r.scores.confidence for r in rows)
    x = confs[len(confs) // 2]
    assert run(music, out, tiny_model_path, "--min-confidence", repr(x)) == 0
    expected = sorted(Path(r.path) for r in rows if row_confidence(r) >= x)
    assert sorted(m3u8_paths(out)) == expected
    assert any(r.scores.confidence == x for r in rows)  # the boundary track is in
    with Store.open_default() as store:
        low = min(rows, key=lambda r: r.scores.confidence)
        store.add_label(low.track_id, low.scores.mood)  # labelled: confidence 1
    assert run(music, out, tiny_model_path, "--min-confidence", repr(x)) == 0
    assert Path(low.path) in m3u8_paths(out)


def test_m3u_is_written_as_utf8_m3u8_keeping_every_name(music, tmp_path, tiny_model_path):
    """.m3u (often read as Latin-1) gets the same UTF-8 text as .m3u8: a name outside
    Latin-1 is neither a crash nor mangled."""
    assert run(music, tmp_path / "all.m3u8", tiny_model_path) == 0
    assert run(music, tmp_path / "all.m3u", tiny_model_path) == 0
    data = (tmp_path / "all.m3u").read_bytes()
    assert data == (tmp_path / "all.m3u8").read_bytes()
    assert "02 日本語.wav".encode() in data and "01 Sœng.wav".encode() in data
    assert sorted(m3u8_paths(tmp_path / "all.m3u")) == sorted(m3u8_paths(tmp_path / "all.m3u8"))


def test_a_definition_that_cannot_be_saved_says_so(
    music, tmp_path, tiny_model_path, capsys, monkeypatch
):
    """--save into a read-only (or full) data folder: one clear line and exit 1, no
    traceback; the playlist itself is still written."""
    import tempfile

    from tagger.core.playlists import definitions_path

    real = tempfile.mkstemp

    def read_only(*a, dir=None, **kw):
        if dir is not None and Path(dir) == definitions_path().parent:
            raise PermissionError(13, "Permission denied", str(dir))
        return real(*a, dir=dir, **kw)

    monkeypatch.setattr(tempfile, "mkstemp", read_only)
    out = tmp_path / "calm.m3u8"
    assert run(music, out, tiny_model_path, "--mood", "calm", "--save", "Calm") == 1
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "Traceback" not in err
    assert f"cannot save the playlist definition 'Calm' in {definitions_path()}" in err
    assert "Permission denied" in err
    assert out.is_file() and not definitions_path().exists()


def test_xspf_and_shuffle_seed(music, tmp_path, tiny_model_path):
    out = tmp_path / "mix.xspf"
    assert run(music, out, tiny_model_path, "--order", "shuffle", "--seed", "7") == 0
    ns = "{http://xspf.org/ns/0/}"
    first = [t.find(ns + "location").text for t in ET.parse(out).getroot().iter(ns + "track")]
    assert len(first) == len(NAMES) and all(u.startswith("file:///") for u in first)
    assert run(music, out, tiny_model_path, "--order", "shuffle", "--seed", "7") == 0
    again = [t.find(ns + "location").text for t in ET.parse(out).getroot().iter(ns + "track")]
    assert again == first


@pytest.mark.parametrize(
    "extra, message",
    [
        (["--energy", "0.8:0.2"], "empty"),
        (["--valence", "0:1.5"], "within 0..1"),
        (["--min-confidence", "2"], "within 0..1"),
        (["--limit", "0"], "at least 1"),
        (["--max-minutes", "-3"], "positive"),
    ],
)
def test_bad_values_exit_2(music, tmp_path, tiny_model_path, capsys, extra, message):
    out = tmp_path / "x.m3u8"
    assert run(music, out, tiny_model_path, *extra) == 2
    assert message in capsys.readouterr().err
    assert not out.exists()


@pytest.mark.parametrize(
    "extra, message",
    [(["--mood", "joyful"], "unknown mood 'joyful'"), (["--energy", "low"], "LO:HI")],
)
def test_bad_arguments_exit_2(music, tmp_path, tiny_model_path, capsys, extra, message):
    with pytest.raises(SystemExit) as exc:
        run(music, tmp_path / "x.m3u8", tiny_model_path, *extra)
    assert exc.value.code == 2
    assert message in capsys.readouterr().err


def test_bad_output_and_folder(music, tmp_path, tiny_model_path, capsys):
    assert run(music, tmp_path / "x.txt", tiny_model_path) == 2
    assert ".m3u8, .m3u or .xspf" in capsys.readouterr().err
    assert run(tmp_path / "nowhere", tmp_path / "x.m3u8", tiny_model_path) == 2
    assert "folder not found" in capsys.readouterr().err
    # a missing output folder is reported before any analysis
    assert run(music, tmp_path / "nope" / "x.m3u8", tiny_model_path) == 2
    assert (
        f"the folder for the playlist does not exist: {tmp_path / 'nope'}"
        in capsys.readouterr().err
    )
    with Store.open_default() as store:
        assert store.tracks_under(music) == {}


def test_nothing_matches_writes_nothing(music, tmp_path, tiny_model_path, capsys):
    out = tmp_path / "none.m3u8"
    assert run(music, out, tiny_model_path, "--labelled-only") == 1
    assert "no songs match" in capsys.readouterr().err
    assert not out.exists()
    out.write_text("#EXTM3U\nyesterday.mp3\n", encoding="utf-8")  # an older playlist
    assert run(music, out, tiny_model_path, "--labelled-only") == 1
    assert out.read_text(encoding="utf-8") == "#EXTM3U\nyesterday.mp3\n"


def test_save_and_regenerate_a_definition(music, tmp_path, tiny_model_path, capsys):
    from tagger.core.playlists import load_definitions

    out = tmp_path / "a.m3u8"
    assert (
        run(
            music, out, tiny_model_path, "--order", "energy-desc", "--limit", "3", "--save", "Top 3"
        )
        == 0
    )
    assert load_definitions()["Top 3"].limit == 3
    first = m3u8_paths(out)
    out2 = tmp_path / "b.xspf"
    assert run(music, out2, tiny_model_path, "--saved", "Top 3") == 0
    ns = "{http://xspf.org/ns/0/}"
    root = ET.parse(out2).getroot()
    assert root.find(ns + "title").text == "Top 3"
    assert len(list(root.iter(ns + "track"))) == 3
    # a flag overrides the saved value
    assert run(music, out, tiny_model_path, "--saved", "Top 3", "--limit", "2") == 0
    assert m3u8_paths(out) == first[:2]
    assert run(music, out, tiny_model_path, "--saved", "Nope") == 2
    assert "no saved playlist named 'Nope'" in capsys.readouterr().err
    # a damaged definitions file is said to be damaged, not "none saved"
    from tagger.core.playlists import definitions_path

    definitions_path().write_text("{broken", encoding="utf-8")
    assert run(music, out, tiny_model_path, "--saved", "Top 3") == 2
    err = capsys.readouterr().err
    assert "no saved playlist named 'Top 3' (saved: none)" in err and "cannot be read" in err


def test_playlist_length_reads_as_a_player_shows_it():
    """It said "(0 min)" for a short list and "1 songs"."""
    from tagger.core.text import format_length

    assert [format_length(x) for x in (12.4, 59.6, 2525, 3723)] == [
        "0:12",
        "1:00",
        "42:05",
        "1:02:03",
    ]


@pytest.mark.parametrize("name", ["   ", ""])
def test_save_with_a_blank_name_is_a_usage_error(music, tmp_path, tiny_model_path, capsys, name):
    """``--save "   "`` ended in a PlaylistError traceback after the analysis; ``--save ""``
    saved nothing without a word."""
    out = tmp_path / "p.m3u8"
    code = main(
        ["playlist", str(music), "-o", str(out), "--save", name, "--model", str(tiny_model_path)]
    )
    assert code == 2 and not out.exists()
    err = capsys.readouterr().err
    assert "--save needs a name" in err and "Traceback" not in err


def test_a_minutes_limit_shorter_than_the_first_song_says_so(
    music, tmp_path, tiny_model_path, capsys
):
    """It said "no songs match" although every song matched the filters."""
    out = tmp_path / "p.m3u8"
    args = ["playlist", str(music), "-o", str(out), "--model", str(tiny_model_path)]
    assert main([*args, "--max-minutes", "0.001"]) == 1 and not out.exists()
    err = capsys.readouterr().err
    assert "match, but the first is longer than --max-minutes 0.001" in err
    assert "no songs match" not in err


def _silent(path: Path, seconds: float = 6.0) -> None:
    import numpy as np
    import soundfile as sf

    path.parent.mkdir(parents=True, exist_ok=True)
    sf.write(path, np.zeros(int(44100 * seconds), np.float32), 44100)


def test_songs_left_out_are_counted_apart_unreadable_and_without_mood(
    tmp_path, tiny_model_path, capsys
):
    """ "9 songs could not be analysed and were left out" counted silent and too-short songs
    (which are no error: they have no mood) with the ones that could not be read."""
    root = tmp_path / "music"
    write_audio(root / "A" / "B" / "01 song.wav", 4.0)
    write_bad_files(root / "A" / "Bad")  # 4 that cannot be read
    _silent(root / "A" / "B" / "02 silent.flac")
    _silent(root / "A" / "B" / "03 silent too.flac")
    write_audio(root / "A" / "B" / "04 short.wav", 0.3)
    out_file = tmp_path / "all.m3u8"
    args = ["-q", "playlist", str(root), "-o", str(out_file), "--model", str(tiny_model_path)]
    assert main([*args, "--jobs", "1"]) == 0
    out = capsys.readouterr().out
    assert "  4 songs could not be read and 3 have no mood (silent or too short); left out\n" in out
    assert "could not be analysed" not in out
    assert len(m3u8.load(str(out_file)).segments) == 1


@pytest.mark.parametrize(
    ("unread", "no_mood", "text"),
    [
        (1, 0, "1 song could not be read and was left out"),
        (6, 0, "6 songs could not be read and were left out"),
        (0, 1, "1 song has no mood (silent or too short) and was left out"),
        (0, 3, "3 songs have no mood (silent or too short) and were left out"),
        (1, 1, "1 song could not be read and 1 has no mood (silent or too short); left out"),
        (6, 3, "6 songs could not be read and 3 have no mood (silent or too short); left out"),
    ],
)
def test_left_out_wording(unread, no_mood, text):
    from tagger.commands.playlist import _left_out_text

    assert _left_out_text(unread, no_mood) == text
