"""Playlist selection, ordering, limits, writers and saved definitions (rows built by hand)."""

from __future__ import annotations

import json
import os
import urllib.parse
import urllib.request
import xml.etree.ElementTree as ET
from dataclasses import replace
from pathlib import Path

import pytest

from tagger.core.library import LibraryRow
from tagger.core.moods import MoodScores
from tagger.core.playlists import (
    ORDERS,
    PlaylistError,
    PlaylistSpec,
    build_playlist,
    delete_definition,
    load_definitions,
    m3u8_text,
    matches,
    row_confidence,
    save_definition,
    smooth_walk,
    write_playlist,
)

m3u8 = pytest.importorskip("m3u8")  # a real (HLS) playlist parser; in the dev extra

XSPF = "{http://xspf.org/ns/0/}"


def make_row(
    i: int,
    probs: tuple[float, float, float, float] | None,
    *,
    label: str | None = None,
    artist: str | None = "Artist",
    album: str | None = "Album",
    title: str | None = "auto",
    duration: float | None = 200.0,
    path: str | None = None,
) -> LibraryRow:
    return LibraryRow(
        track_id=i,
        path=path or f"/music/{artist or 'Unknown'}/{album or 'Unknown'}/{i:03d} song.mp3",
        title=f"Song {i}" if title == "auto" else title,
        artist=artist,
        album=album,
        tracknumber=i,
        duration=duration,
        mood_tag=None,
        scores=MoodScores(probs) if probs else None,
        label=label,
        error=None if probs else "could not decode",
        model_id="m" if probs else None,
    )


# probabilities over (happy, aggressive, sad, calm)
P = {
    "happy": (0.7, 0.1, 0.1, 0.1),  # energy .8 valence .8 conf .7
    "aggressive": (0.1, 0.6, 0.2, 0.1),  # energy .7 valence .2 conf .6
    "sad": (0.05, 0.15, 0.5, 0.3),  # energy .2 valence .35 conf .5
    "calm": (0.1, 0.05, 0.25, 0.6),  # energy .15 valence .7 conf .6
    "calm_unsure": (0.2, 0.1, 0.3, 0.4),  # energy .3 valence .6 conf .4
}


@pytest.fixture
def rows() -> list[LibraryRow]:
    return [
        make_row(1, P["happy"]),
        make_row(2, P["aggressive"], artist="Metal Band"),
        make_row(3, P["sad"], album="Blue Album"),
        make_row(4, P["calm"]),
        make_row(5, P["calm_unsure"]),
        make_row(6, P["happy"], label="calm"),  # labelled: mood calm, confidence 1
        make_row(7, None),  # decode error: never selected
        make_row(8, None, label="calm"),  # labelled error: never selected either
        make_row(9, P["sad"], label="sad"),
    ]


def ids(playlist) -> list[int]:
    return playlist.track_ids


def test_mood_is_label_else_prediction_and_errors_never_selected(rows):
    pl = build_playlist(rows, PlaylistSpec(moods=("calm",)))
    assert sorted(ids(pl)) == [4, 5, 6]
    assert pl.matched == 3
    everything = build_playlist(rows, PlaylistSpec())
    assert sorted(ids(everything)) == [1, 2, 3, 4, 5, 6, 9]


def test_several_moods_combine(rows):
    pl = build_playlist(rows, PlaylistSpec(moods=("sad", "aggressive")))
    assert sorted(ids(pl)) == [2, 3, 9]


def test_ranges_are_inclusive(rows):
    # happy energy is exactly 0.8 (0.7 + 0.1): the boundary is kept
    e = MoodScores(P["happy"]).energy
    pl = build_playlist(rows, PlaylistSpec(energy=(e, 1.0)))
    assert sorted(ids(pl)) == [1, 6]
    v = MoodScores(P["calm"]).valence
    pl = build_playlist(rows, PlaylistSpec(valence=(0.0, v)))
    assert sorted(ids(pl)) == [2, 3, 4, 5, 9]


def test_min_confidence_is_exact_and_labels_are_certain(rows):
    c = MoodScores(P["calm"]).confidence  # 0.6, also aggressive's
    pl = build_playlist(rows, PlaylistSpec(min_confidence=c))
    assert sorted(ids(pl)) == [1, 2, 4, 6, 9]  # 9 is labelled (1.0) although its pred is 0.5
    pl = build_playlist(rows, PlaylistSpec(min_confidence=c + 1e-9))
    assert sorted(ids(pl)) == [1, 6, 9]
    assert row_confidence(rows[5]) == 1.0
    assert row_confidence(rows[6]) is None


def test_artist_album_and_labelled_only(rows):
    assert ids(build_playlist(rows, PlaylistSpec(artist="metal"))) == [2]
    assert ids(build_playlist(rows, PlaylistSpec(album="BLUE"))) == [3]
    assert sorted(ids(build_playlist(rows, PlaylistSpec(labelled_only=True)))) == [6, 9]
    assert sorted(ids(build_playlist(rows, PlaylistSpec(track_ids=(1, 7, 9))))) == [1, 9]


def test_artist_and_album_filters_ignore_accents():
    rows = [
        make_row(1, P["calm"], artist="Sigur Rós", album="Ágætis byrjun"),
        make_row(2, P["calm"], artist="Beyoncé"),
        make_row(3, P["calm"], artist="Rose Royce"),
    ]
    assert ids(build_playlist(rows, PlaylistSpec(artist="sigur ros"))) == [1]
    assert ids(build_playlist(rows, PlaylistSpec(artist="Sigur Rós"))) == [1]
    assert ids(build_playlist(rows, PlaylistSpec(album="agaetis"))) == [1]  # æ folds to ae
    assert ids(build_playlist(rows, PlaylistSpec(album="ágætis"))) == [1]
    assert ids(build_playlist(rows, PlaylistSpec(artist="BEYONCE"))) == [2]
    assert sorted(ids(build_playlist(rows, PlaylistSpec(artist="ros")))) == [1, 3]


def test_energy_orders_and_limit(rows):
    asc = build_playlist(rows, PlaylistSpec(order="energy-asc"))
    energies = [r.scores.energy for r in asc.rows]
    assert energies == sorted(energies)
    desc = build_playlist(rows, PlaylistSpec(order="energy-desc"))
    assert [r.scores.energy for r in desc.rows] == sorted(energies, reverse=True)
    lim = build_playlist(rows, PlaylistSpec(order="energy-asc", limit=3, energy=(0.1, 0.75)))
    assert len(lim.rows) == 3
    assert all(0.1 <= r.scores.energy <= 0.75 for r in lim.rows)
    assert [r.scores.energy for r in lim.rows] == sorted(r.scores.energy for r in lim.rows)
    assert lim.matched == 5


def test_shuffle_is_seeded_and_independent_of_input_order(rows):
    a = ids(build_playlist(rows, PlaylistSpec(order="shuffle", seed=3)))
    b = ids(build_playlist(list(reversed(rows)), PlaylistSpec(order="shuffle", seed=3)))
    assert a == b
    assert sorted(a) == [1, 2, 3, 4, 5, 6, 9]
    seeds = {
        tuple(ids(build_playlist(rows, PlaylistSpec(order="shuffle", seed=s)))) for s in range(8)
    }
    assert len(seeds) > 1


def test_smooth_walk_takes_nearest_neighbours():
    pts = [(0.5, 0.5), (0.0, 0.0), (0.9, 0.9), (0.1, 0.0), (0.45, 0.5)]
    # start: lowest first coordinate (0, 0); then (0.1, 0), (0.45, .5), (.5, .5), (.9, .9)
    assert list(smooth_walk(pts)) == [1, 3, 4, 0, 2]
    assert list(smooth_walk([])) == []
    assert list(smooth_walk([(0.3, 0.3), (0.3, 0.3)])) == [0, 1]


def test_smooth_order_starts_calmest_and_is_deterministic(rows):
    pl = build_playlist(rows, PlaylistSpec(order="smooth"))
    assert pl.rows[0].scores.energy == min(r.scores.energy for r in pl.rows)
    assert ids(pl) == ids(build_playlist(list(reversed(rows)), PlaylistSpec(order="smooth")))
    assert sorted(ids(pl)) == [1, 2, 3, 4, 5, 6, 9]
    limited = build_playlist(rows, PlaylistSpec(order="smooth", limit=3))
    assert ids(limited) == ids(pl)[:3]
    by_minutes = build_playlist(rows, PlaylistSpec(order="smooth", max_minutes=10))
    assert ids(by_minutes) == ids(pl)[:3]  # 200 s each


def test_minutes_limit_stops_at_first_track_that_does_not_fit():
    rows = [make_row(i, P["calm"], duration=d) for i, d in enumerate([60, 90, 30, 100], 1)]
    spec = PlaylistSpec(order="energy-asc", max_minutes=3.0)  # 180 s
    pl = build_playlist(rows, spec)
    assert ids(pl) == [1, 2, 3]  # 60 + 90 + 30 = 180 exactly fits
    assert pl.seconds == 180
    assert ids(build_playlist(rows, PlaylistSpec(max_minutes=2.0))) == [1]
    assert ids(build_playlist(rows, PlaylistSpec(max_minutes=3.0, limit=2))) == [1, 2]


@pytest.mark.parametrize(
    "spec, message",
    [
        (PlaylistSpec(moods=("joyful",)), "unknown mood"),
        (PlaylistSpec(energy=(0.8, 0.2)), "empty"),
        (PlaylistSpec(valence=(-0.1, 0.5)), "within 0..1"),
        (PlaylistSpec(min_confidence=1.5), "within 0..1"),
        (PlaylistSpec(order="random"), "unknown order"),
        (PlaylistSpec(limit=0), "at least 1"),
        (PlaylistSpec(max_minutes=0), "positive"),
    ],
)
def test_bad_specs_are_clear_errors(rows, spec, message):
    with pytest.raises(PlaylistError, match=message):
        build_playlist(rows, spec)


def test_matches_without_scores_is_false():
    assert not matches(make_row(1, None, label="calm"), PlaylistSpec(moods=("calm",)))


# -- writers --------------------------------------------------------------------------


@pytest.fixture
def files(tmp_path) -> list[LibraryRow]:
    """Real files in several folders, with unicode and odd names."""
    specs = [
        ("Ärtist Ünïcode/Album 1/01 Sœng.mp3", "Ärtist Ünïcode", "Sœng"),
        ("Other/B side/02 #hash & 50% [x].flac", "Other", "Hash, 50%"),
        ("#Leading/03 日本語.ogg", None, None),
        ("top.wav", "A", "Line\nbreak"),
    ]
    out = []
    for i, (rel, artist, title) in enumerate(specs, 1):
        p = tmp_path / "music" / rel
        p.parent.mkdir(parents=True, exist_ok=True)
        p.write_bytes(b"x")
        out.append(
            make_row(i, P["calm"], artist=artist, title=title, path=str(p), duration=100.4 + i)
        )
    return out


@pytest.mark.parametrize("where", ["lists", "music/Other", "music"])
def test_m3u8_parses_and_paths_resolve(tmp_path, files, where):
    dest = tmp_path / where / "Calm évening.m3u8"
    dest.parent.mkdir(parents=True, exist_ok=True)
    write_playlist(dest, files)
    raw = dest.read_bytes()
    assert not raw.startswith(b"\xef\xbb\xbf")
    text = raw.decode("utf-8")
    assert text.startswith("#EXTM3U\n")
    assert "\\" not in text
    lines = text.splitlines()
    assert sum(1 for line in lines if line.startswith("#EXTINF:")) == len(files)
    parsed = m3u8.loads(text)
    assert len(parsed.segments) == len(files)
    for seg, row in zip(parsed.segments, files, strict=True):
        assert not os.path.isabs(seg.uri)
        assert (dest.parent / seg.uri).resolve() == Path(row.path).resolve()
        assert seg.duration == round(row.duration)
    assert parsed.segments[0].title == "Ärtist Ünïcode - Sœng"
    assert parsed.segments[2].title == "03 日本語"  # no tags: the file name
    assert parsed.segments[3].title == "A - Line break"
    # each #EXTINF is followed by its path line
    for k, line in enumerate(lines):
        if line.startswith("#EXTINF:"):
            assert int(line[8:].split(",", 1)[0]) >= 0
            assert not lines[k + 1].startswith("#EXT")


def test_m3u8_names_one_line_cannot_hold_become_file_uris(tmp_path):
    from urllib.parse import unquote, urlparse

    music = tmp_path / "music"
    music.mkdir()
    rows = []
    for i, name in enumerate(["01 line\nbreak.mp3", " 02 spaced.mp3 ", "03 plain.mp3"], 1):
        (music / name).write_bytes(b"x")
        rows.append(make_row(i, P["calm"], path=str(music / name), duration=60.0))
    lines = m3u8_text(rows, music).splitlines()
    assert len(lines) == 1 + 2 * len(rows)  # the line break did not split an entry
    locations = lines[2::2]
    assert locations[2] == "03 plain.mp3"
    for loc, row in zip(locations[:2], rows, strict=False):
        assert loc.startswith("file:///") and loc == loc.strip()
        assert unquote(urlparse(loc).path) == row.path
    assert len(m3u8.loads("\n".join(lines)).segments) == 3


def test_m3u8_unknown_duration_is_minus_one(tmp_path):
    text = m3u8_text(
        [make_row(1, P["calm"], duration=None, path=str(tmp_path / "a.mp3"))], tmp_path
    )
    assert text.splitlines()[1] == "#EXTINF:-1,Artist - Song 1"


def test_xspf_is_valid_xml_with_file_uris(tmp_path, files):
    dest = tmp_path / "out" / "list.xspf"
    dest.parent.mkdir()
    write_playlist(dest, files, title="Calm & quiet")
    tree = ET.parse(dest)
    root = tree.getroot()
    assert root.tag == XSPF + "playlist" and root.get("version") == "1"
    assert root.find(XSPF + "title").text == "Calm & quiet"
    tracks = root.findall(f"{XSPF}trackList/{XSPF}track")
    assert len(tracks) == len(files)
    for t, row in zip(tracks, files, strict=True):
        loc = t.find(XSPF + "location").text
        assert loc.startswith("file:///")
        assert " " not in loc and "#" not in loc[8:] and all(ord(c) < 128 for c in loc)
        assert Path(urllib.request.url2pathname(urllib.parse.urlparse(loc).path)) == Path(row.path)
        assert int(t.find(XSPF + "duration").text) == round(row.duration * 1000)
    assert tracks[0].find(XSPF + "creator").text == "Ärtist Ünïcode"
    assert tracks[0].find(XSPF + "album").text == "Album"
    assert tracks[2].find(XSPF + "creator") is None


def test_xspf_stays_valid_xml_with_control_characters_in_tags(tmp_path):
    """A tag holding a control character (a bell, an escape sequence, a stray NUL) is
    left out of the XSPF, which would otherwise not parse at all."""
    row = make_row(1, P["calm"], path=str(tmp_path / "a\x07b.mp3"), title="bell\x07 & <x>")
    row2 = make_row(
        2, P["happy"], path=str(tmp_path / "c\x1bd.mp3"), title="\x01", artist="nul\x00\x1b[31m"
    )
    rows = [row, replace(row2, album="tab\tok\ufffe")]
    dest = write_playlist(tmp_path / "list.xspf", rows, title="night\x0c mix")
    root = ET.parse(dest).getroot()
    assert root.find(XSPF + "title").text == "night mix"
    first, second = root.findall(f"{XSPF}trackList/{XSPF}track")
    assert first.find(XSPF + "title").text == "bell & <x>"
    assert second.find(XSPF + "title").text == "cd"  # the file name, less its control
    assert second.find(XSPF + "creator").text == "nul[31m"
    assert second.find(XSPF + "album").text == "tab\tok"
    loc = urllib.parse.urlparse(second.find(XSPF + "location").text).path
    assert urllib.parse.unquote(loc) == row2.path  # the location keeps the real name


def test_write_is_atomic_and_checks_suffix(tmp_path, files, monkeypatch):
    dest = tmp_path / "p.m3u8"
    dest.write_text("old", encoding="utf-8")
    with pytest.raises(PlaylistError, match=r"\.m3u8, \.m3u or \.xspf"):
        write_playlist(tmp_path / "p.txt", files)
    with pytest.raises(PlaylistError, match="the folder for the playlist does not exist"):
        write_playlist(tmp_path / "nope" / "p.m3u8", files)

    def boom(*a, **k):
        raise OSError("disk full")

    monkeypatch.setattr(os, "replace", boom)
    with pytest.raises(OSError, match="disk full"):
        write_playlist(dest, files)
    assert dest.read_text(encoding="utf-8") == "old"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["music", "p.m3u8"]  # no temp left


# -- saved definitions -----------------------------------------------------------------


def test_definitions_round_trip_and_regenerate(tmp_path, rows):
    spec = PlaylistSpec(
        name="Evening",
        moods=("calm", "sad"),
        energy=(0.0, 0.5),
        valence=None,
        min_confidence=0.5,
        artist="art",
        order="smooth",
        seed=4,
        limit=10,
        max_minutes=60.0,
        track_ids=(3, 4, 5),
    )
    save_definition(spec)
    save_definition(PlaylistSpec(name="Party", moods=("happy",), order="shuffle"))
    defs = load_definitions()
    assert list(defs) == ["Evening", "Party"]
    assert defs["Evening"] == spec
    assert ids(build_playlist(rows, defs["Evening"])) == ids(build_playlist(rows, spec))
    # replacing keeps one entry per name
    save_definition(PlaylistSpec(name="Party", moods=("aggressive",)))
    assert load_definitions()["Party"].moods == ("aggressive",)
    assert delete_definition("Party") and not delete_definition("Party")
    assert list(load_definitions()) == ["Evening"]
    with pytest.raises(PlaylistError, match="name"):
        save_definition(PlaylistSpec(name="  "))


def test_bad_definitions_file_is_ignored(tmp_path):
    from tagger.core.playlists import definitions_path

    p = definitions_path()
    p.parent.mkdir(parents=True, exist_ok=True)
    p.write_text("{not json", encoding="utf-8")
    assert load_definitions() == {}
    p.write_text(
        json.dumps(
            {"playlists": [{"name": "ok", "moods": ["Q4"]}, {"name": "bad", "moods": ["x"]}]}
        ),
        encoding="utf-8",
    )
    assert load_definitions() == {"ok": PlaylistSpec(name="ok", moods=("calm",))}
    # saving over a file that does not parse keeps a copy of it
    p.write_text("{broken", encoding="utf-8")
    save_definition(PlaylistSpec(name="new"))
    assert list(load_definitions()) == ["new"]
    kept = [q for q in p.parent.iterdir() if q.name.startswith("playlists.json.unreadable-")]
    assert len(kept) == 1 and kept[0].read_text(encoding="utf-8") == "{broken"


def test_all_orders_listed():
    assert set(ORDERS) == {"energy-asc", "energy-desc", "shuffle", "smooth"}


def test_a_playlist_file_is_readable_by_others_and_keeps_its_mode(tmp_path, files):
    """Every playlist was written 0600 (the temporary file's mode), and an existing one
    lost its mode, so a media server running as another user could not read it."""
    import stat

    old = os.umask(0o022)
    try:
        new = write_playlist(tmp_path / "new.m3u8", files)
        assert stat.S_IMODE(new.stat().st_mode) == 0o644
        kept = tmp_path / "kept.xspf"
        kept.write_text("old", encoding="utf-8")
        kept.chmod(0o664)
        write_playlist(kept, files)
        assert stat.S_IMODE(kept.stat().st_mode) == 0o664 and kept.read_text() != "old"
    finally:
        os.umask(old)
    (tmp_path / "dir.m3u8").mkdir()
    with pytest.raises(PlaylistError, match=r"dir\.m3u8 is a folder"):  # not ".dir.m3u8.q0z.tmp"
        write_playlist(tmp_path / "dir.m3u8", files)


def test_a_folder_name_with_a_leading_space_survives_in_an_m3u_line(tmp_path):
    """`` Live/Album/04 x.mp3`` was written as it is, and players strip a line's leading
    spaces, so the entry pointed at "Live/..."; it is written ``./ Live/...``."""
    from tagger.core.playlists import relative_location

    track = tmp_path / " Live" / "Album" / "04 x.mp3"
    line = relative_location(track, tmp_path)
    assert line == "./ Live/Album/04 x.mp3"
    assert (tmp_path / line.strip()).resolve() == track.resolve()
    assert relative_location(tmp_path / "Live" / "a.mp3", tmp_path) == "Live/a.mp3"


def test_a_playlist_written_over_a_symlink_keeps_the_link(tmp_path, files):
    """The rename replaced the link with a file: the linked playlist (on a media server's
    share, say) never changed. Now the link's target gets the playlist."""
    shared = tmp_path / "share"
    shared.mkdir()
    target = shared / "evening.m3u8"
    target.write_text("old", encoding="utf-8")
    link = tmp_path / "music" / "evening.m3u8"
    link.symlink_to(target)
    assert write_playlist(link, files) == link
    assert link.is_symlink() and link.resolve() == target
    lines = [x for x in target.read_text(encoding="utf-8").splitlines() if x[:1] != "#"]
    # entries are relative to the folder the playlist is opened from: the link's
    assert [(link.parent / x).resolve() for x in lines] == [Path(r.path).resolve() for r in files]
    dangling = tmp_path / "gone.xspf"
    dangling.symlink_to(tmp_path / "no-such-folder" / "x.xspf")
    with pytest.raises(PlaylistError, match="the folder for the playlist does not exist"):
        write_playlist(dangling, files)


def test_an_unreadable_definitions_file_is_not_reported_as_none_saved(tmp_path):
    from tagger.core.playlists import definitions_path

    p = definitions_path()
    p.parent.mkdir(parents=True, exist_ok=True)
    problems: list[str] = []
    assert load_definitions(problems=problems) == {} and problems == []  # no file: none saved
    for text in ("{broken", "[1, 2]", '{"playlists": 3}'):
        p.write_text(text, encoding="utf-8")
        problems = []
        assert load_definitions(problems=problems) == {}
        assert len(problems) == 1 and "cannot be read" in problems[0], text
    p.write_text(json.dumps({"playlists": [{"name": "bad", "moods": ["x"]}]}), encoding="utf-8")
    problems = []
    assert load_definitions(problems=problems) == {}
    assert problems and "skipped saved playlist 'bad'" in problems[0]
    # saving over a file whose playlists are not a list keeps a copy first
    p.write_text('{"playlists": {"a": 1}}', encoding="utf-8")
    save_definition(PlaylistSpec(name="new"))
    kept = [q for q in p.parent.iterdir() if q.name.startswith("playlists.json.unreadable-")]
    assert len(kept) == 1
