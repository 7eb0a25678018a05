"""The declarative mood mapping: one table, every spelling read, the right key written."""

from __future__ import annotations

import mutagen
import mutagen.id3
import pytest

from tagger.core.errors import TagError
from tagger.core.tags import (
    TAG_TABLE,
    mood_keys,
    open_file,
    prepare_for_write,
    read_mood_value,
    read_tags,
    same_state,
    snapshot,
    text_snapshot,
)
from tests.tag_factory import CASES, make_tagged


def test_table_rows_follow_picard():
    assert TAG_TABLE["id3"].mood == "TMOO"
    assert TAG_TABLE["id3v23"].mood == "TXXX:MOOD"
    assert TAG_TABLE["vorbis"].mood.lower() == "mood"
    assert TAG_TABLE["mp4"].mood == "----:com.apple.iTunes:MOOD"
    assert TAG_TABLE["asf"].mood == "WM/Mood"
    for row in TAG_TABLE.values():
        if row.arousal:
            assert row.arousal.endswith("MOOD_AROUSAL") and row.valence.endswith("MOOD_VALENCE")


def test_mood_keys_include_legacy_spellings_once():
    assert mood_keys("id3") == ("TMOO", "TXXX:MOOD", "TXXX:mood")
    assert mood_keys("id3v23", ("mood", "arousal")) == (
        "TXXX:MOOD",
        "TXXX:mood",
        "TMOO",
        "TXXX:MOOD_AROUSAL",
    )


@pytest.mark.parametrize("spelling", ["TXXX:mood", "TXXX:MOOD", "TMOO"])
def test_reads_every_id3_spelling(spelling, tmp_path):
    from mutagen.id3 import TMOO, TXXX

    path = make_tagged(tmp_path / "a.mp3", "mp3v24")
    f = mutagen.File(path)
    f.tags.delall("TMOO")
    if spelling == "TMOO":
        f.tags.add(TMOO(encoding=3, text=["Sad"]))
    else:
        f.tags.add(TXXX(encoding=3, desc=spelling[5:], text=["Sad"]))
    f.save()
    assert read_tags(path).mood == "Sad"


@pytest.mark.parametrize("case", ["mp3v24", "m4a"])
def test_reads_a_mood_name_in_any_case(case, tmp_path):
    """``TXXX:Mood`` / ``----:com.apple.iTunes:Mood``: players match these names in any
    case (they were not read, so a write left a second, different mood beside its own)."""
    from mutagen.id3 import TXXX
    from mutagen.mp4 import MP4FreeForm

    path = make_tagged(tmp_path / f"a{CASES[case]}", case)
    f = mutagen.File(path)
    if case == "m4a":
        f.tags["----:com.apple.iTunes:Mood"] = [MP4FreeForm(b"Chill")]
    else:
        f.tags.add(TXXX(encoding=3, desc="Mood", text=["Chill"]))
    f.save()
    assert read_tags(path).mood == "Chill"


def test_v23_file_is_its_own_family_and_reads_picards_spelling(tmp_path):
    path = make_tagged(tmp_path / "a.mp3", "mp3v23")
    f = open_file(path)
    assert prepare_for_write(f) == "id3v23"
    assert read_mood_value(f) == "calm"
    # untranslated: the v2.3 year frame is kept as it is in the file
    assert "TYER" in f.tags and "TDRC" not in f.tags


@pytest.mark.parametrize("case", sorted(CASES))
def test_snapshot_round_trip_in_memory(case, tmp_path):
    path = make_tagged(tmp_path / f"a{CASES[case]}", case)
    f = open_file(path)
    fam = prepare_for_write(f)
    keys = mood_keys(fam)
    old = snapshot(f, fam, keys)
    new = dict.fromkeys(keys)
    new[TAG_TABLE[fam].mood] = text_snapshot(fam, TAG_TABLE[fam].mood, "Happy")
    from tagger.core.tags import apply_snapshot

    apply_snapshot(f, fam, new)
    assert same_state(snapshot(f, fam, keys), new)
    assert read_mood_value(f) == "Happy"
    apply_snapshot(f, fam, old)
    assert snapshot(f, fam, keys) == old


def test_v23_new_frames_use_an_encoding_v23_has():
    assert text_snapshot("id3v23", "TXXX:MOOD", "Happy") == {"encoding": 1, "text": ["Happy"]}
    assert text_snapshot("id3", "TMOO", "Happy") == {"encoding": 3, "text": ["Happy"]}


def test_unreadable_files_raise_tag_error(tmp_path):
    bad = tmp_path / "x.flac"
    bad.write_text("not audio")
    with pytest.raises(TagError):
        open_file(bad)
    with pytest.raises(TagError, match="not found"):
        open_file(tmp_path / "missing.mp3")
    # mutagen's "can't sync to MPEG frame" was shown as it is, for an empty file too
    empty = tmp_path / "empty.mp3"
    empty.write_bytes(b"")
    with pytest.raises(TagError, match=r"^cannot read tags: empty file \(0 bytes\)$"):
        open_file(empty)
    noise = tmp_path / "noise.mp3"
    noise.write_bytes(bytes(range(256)) * 40)
    with pytest.raises(TagError) as err:
        open_file(noise)
    assert "sync" not in str(err.value)


def test_odd_tag_values_fall_back_instead_of_hiding_the_file_name(tmp_path):
    """A blank title/artist (spaces) read as missing, so the scan uses the file and folder
    names; a track number "²" (a digit int() refuses) made the whole tag unreadable."""
    from tests.audio_factory import write_audio

    path = write_audio(tmp_path / "song.flac", seconds=1.0)
    f = mutagen.File(path)
    if f.tags is None:
        f.add_tags()
    f.tags.update({"TITLE": "   ", "ARTIST": " Ärtist ", "ALBUM": "", "TRACKNUMBER": "²"})
    f.save()
    info = read_tags(path)
    assert (info.title, info.artist, info.album, info.tracknumber) == (None, "Ärtist", None, None)


@pytest.mark.parametrize(
    ("text", "number"),
    [("3", 3), ("3/12", 3), (" 07 ", 7), ("３", 3), ("A1", None), ("²", None), ("0", None)],
)
def test_track_number_forms(text, number):
    from tagger.core.tags import _track_number

    assert _track_number(text) == number


def test_mp4_track_zero_means_no_number(tmp_path):
    """iTunes stores trkn (0, 0) for "no track number": the file name's number is used."""
    from tests.audio_factory import write_audio

    path = write_audio(tmp_path / "song.m4a", seconds=1.0)
    f = mutagen.File(path)
    if f.tags is None:
        f.add_tags()
    f.tags["trkn"] = [(0, 0)]
    f.save()
    assert read_tags(path).tracknumber is None


def _names(info) -> tuple:
    return (info.title, info.artist, info.album, info.tracknumber)


def test_an_mp3s_apev2_tag_fills_what_its_id3_tag_lacks(tmp_path):
    """foobar2000 and Mp3tag can tag an MP3 with APEv2 alone: its names were ignored and
    the scan fell back to the folder names. The ID3 tag wins where both have a field, and
    an APEv2 mood is not read (the app writes an MP3's mood to ID3 only)."""
    from mutagen.apev2 import APEv2

    from tests.audio_factory import write_audio

    only_ape = write_audio(tmp_path / "only_ape.mp3", seconds=1.0)
    before = read_tags(only_ape)
    assert before.title is None and before.artist is None  # ffmpeg's ID3 tag has no names
    ape = APEv2()
    ape.update({"Title": "Ápe Title", "ARTIST": "Ápe Artist", "Album": "Ápe Album"})
    ape["Track"] = "4/10"
    ape["Mood"] = "sad"
    ape.save(only_ape)
    info = read_tags(only_ape)
    assert _names(info) == ("Ápe Title", "Ápe Artist", "Ápe Album", 4)
    assert info.mood is None
    assert info.duration and info.duration > 0.5

    both = make_tagged(tmp_path / "both.mp3", "mp3v24")
    ape = APEv2()
    ape.update({"Title": "Other", "Artist": "Other", "Track": "7"})
    ape.save(both)
    assert _names(read_tags(both)) == ("Tïtle", "Ärtist", "Album", 7)


def test_a_broken_apev2_tag_leaves_the_id3_names(tmp_path):
    path = make_tagged(tmp_path / "a.mp3", "mp3v24")
    with open(path, "ab") as fh:  # an APE footer whose sizes point nowhere
        fh.write(b"APETAGEX" + (2000).to_bytes(4, "little") + (10**6).to_bytes(4, "little"))
        fh.write((3).to_bytes(4, "little") + b"\0" * 12)
    info = read_tags(path)
    assert (info.title, info.artist) == ("Tïtle", "Ärtist")


def _with_riff_info(path, items: dict[bytes, bytes], before_data: bool = True) -> None:
    """Give a WAV file a LIST/INFO chunk (before or after its data chunk)."""
    import struct

    body = b"INFO"
    for key, value in items.items():
        v = value + b"\0"
        body += key + struct.pack("<I", len(v)) + v + (b"\0" if len(v) & 1 else b"")
    chunk = b"LIST" + struct.pack("<I", len(body)) + body
    data = path.read_bytes()
    at = data.index(b"data") if before_data else len(data)
    data = data[:at] + chunk + data[at:]
    path.write_bytes(data[:4] + struct.pack("<I", len(data) - 8) + data[8:])


@pytest.mark.parametrize("before_data", [True, False])
def test_a_wavs_riff_info_names_are_read(tmp_path, before_data):
    """Windows, Audacity and ffmpeg name a WAV in its RIFF INFO chunk; the scan ignored it
    and showed the folder and file names. ID3 still wins where both have a field."""
    from tests.audio_factory import write_audio

    path = write_audio(tmp_path / "a.wav", seconds=1.0)
    f = mutagen.File(path)
    if f.tags is not None:
        f.delete()
    _with_riff_info(
        path,
        {b"INAM": "Ïnfo Title".encode(), b"IART": "Caf\xe9".encode("cp1252"), b"IPRT": b"7"},
        before_data,
    )
    info = read_tags(path)
    assert (info.title, info.artist, info.album, info.tracknumber) == (
        "Ïnfo Title",
        "Café",
        None,
        7,
    )
    f = mutagen.File(path)
    f.add_tags()
    f.tags.add(mutagen.id3.TIT2(encoding=3, text=["ID3 Title"]))
    f.save()
    info = read_tags(path)
    assert (info.title, info.artist) == ("ID3 Title", "Café")
    assert mutagen.File(path).info.length == pytest.approx(1.0, abs=0.01)  # audio intact


def _id3v1(title: str, artist: str, album: str, track: int = 0) -> bytes:
    def field(text: str, n: int) -> bytes:
        return text.encode("latin-1", "replace")[:n].ljust(n, b"\0")

    return (
        b"TAG"
        + field(title, 30)
        + field(artist, 30)
        + field(album, 30)
        + b"2001"
        + b"\0" * 28
        + b"\0"
        + bytes([track])
        + b"\xff"
    )


def test_an_mp3s_apev2_names_win_over_its_30_character_id3v1(tmp_path):
    """foobar2000's old default, APEv2 + ID3v1: mutagen merges the v1 fields into the ID3
    tag it reads, so the names came from v1, cut at 30 characters and "?" for anything
    not Latin-1. APEv2 now ranks above v1 (and ID3v2 above both)."""
    from mutagen.apev2 import APEv2

    from tests.audio_factory import write_audio

    long_title = "The Rise and Fall of Ziggy Stardust and the Spiders"
    v1_only = write_audio(tmp_path / "v1.mp3", seconds=1.0)
    with open(v1_only, "ab") as fh:
        fh.write(_id3v1(long_title, "Сплин", "Гранатовый альбом", 5))
    assert read_tags(v1_only).title == long_title[:30]  # v1 alone: what it has is used
    path = write_audio(tmp_path / "a.mp3", seconds=1.0)
    ape = APEv2()  # as foobar2000 lays them out: APEv2, then ID3v1 last
    ape.update({"Title": long_title, "Artist": "Сплин", "Album": "Гранатовый альбом"})
    ape.save(path)
    with open(path, "ab") as fh:
        fh.write(_id3v1(long_title, "Сплин", "Гранатовый альбом", 5))
    assert read_tags(path).tracknumber == 5  # mutagen still reads the v1 tag
    assert _names(read_tags(path)) == (long_title, "Сплин", "Гранатовый альбом", 5)

    both = make_tagged(tmp_path / "both.mp3", "mp3v24")  # ID3v2 names stay first
    ape = APEv2()
    ape.update({"Title": "Ape", "Artist": "Ape", "Album": "Ape"})
    ape.save(both)
    with open(both, "ab") as fh:
        fh.write(_id3v1("v1 title", "v1 artist", "v1 album"))
    assert _names(read_tags(both))[:2] == ("Tïtle", "Ärtist")
