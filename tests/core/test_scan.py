from __future__ import annotations

import os
import shutil
from pathlib import Path

import mutagen
import pytest

from tagger.core.scan import ScanResult, _record, iter_audio_files, path_fallback, scan
from tagger.core.store import Store
from tests.audio_factory import write_audio


def _run(root, store) -> ScanResult:
    events = list(scan(root, store))
    assert isinstance(events[-1], ScanResult)
    return events[-1]


def test_walk_finds_audio_and_skips_hidden_nonaudio_and_loops(tmp_path):
    write_audio(tmp_path / "A" / "B" / "01 x.wav", 2.0)
    write_audio(tmp_path / "A" / "B" / "02 y.FLAC", 2.0)
    write_audio(tmp_path / ".hidden" / "z.wav", 2.0)
    write_audio(tmp_path / "A" / ".dot.wav", 2.0)
    (tmp_path / "A" / "B" / "cover.jpg").write_bytes(b"jpg")
    (tmp_path / "A" / "B" / "loop").symlink_to(tmp_path / "A")
    found = [p.relative_to(tmp_path).as_posix() for p in iter_audio_files(tmp_path)]
    assert found == ["A/B/01 x.wav", "A/B/02 y.FLAC"]


def test_a_band_whose_name_starts_with_dots_is_not_hidden(tmp_path):
    """ "...And Oceans" (and "...And You Will Know Us by the Trail of Dead") were skipped
    as hidden folders: their songs never reached the library. One dot still hides:
    ``.Trash-1000``, and macOS's ``._Song.mp3`` resource files on a shared drive."""
    write_audio(tmp_path / "...And Oceans" / "Album" / "01 Of Devilish Tongues.wav", 2.0)
    write_audio(tmp_path / ".Trash-1000" / "files" / "x.wav", 2.0)
    (tmp_path / "...And Oceans" / "Album" / "._01 Of Devilish Tongues.wav").write_bytes(b"\0")
    found = [p.relative_to(tmp_path).as_posix() for p in iter_audio_files(tmp_path)]
    assert found == ["...And Oceans/Album/01 Of Devilish Tongues.wav"]
    assert path_fallback(tmp_path / found[0], tmp_path)[:2] == ("...And Oceans", "Album")


def test_path_fallback_parts(tmp_path):
    p = tmp_path / "Nina Simone" / "Pastel Blues" / "03 - Be My Husband.mp3"
    assert path_fallback(p, tmp_path) == ("Nina Simone", "Pastel Blues", "Be My Husband", 3)
    assert path_fallback(tmp_path / "Solo" / "tune.ogg", tmp_path) == ("Solo", None, "tune", None)
    assert path_fallback(tmp_path / "loose.wav", tmp_path) == (None, None, "loose", None)
    # iTunes names a multi-disc album's files "<disc>-<track> Title"
    p = tmp_path / "A" / "B" / "2-07 Title.m4a"
    assert path_fallback(p, tmp_path) == ("A", "B", "Title", 7)


@pytest.mark.parametrize(
    "name",
    [
        "03_-_Be_My_Husband.mp3",  # "_" for spaces, as many downloads are named
        "03_Be_My_Husband.mp3",
        "03 - Nina Simone - Be My Husband.mp3",  # the artist folder's name repeated
        "03_-_Nina_Simone_-_Be_My_Husband.mp3",
        "03. nina simone - Be My Husband.mp3",
    ],
)
def test_path_fallback_reads_underscores_and_a_repeated_artist(tmp_path, name):
    p = tmp_path / "Nina Simone" / "Pastel Blues" / name
    assert path_fallback(p, tmp_path) == ("Nina Simone", "Pastel Blues", "Be My Husband", 3)


def test_path_fallback_folders_with_underscores_and_other_normalisations(tmp_path):
    p = tmp_path / "Nina_Simone" / "Pastel_Blues" / "03_-_Nina_Simone_-_Be_My_Husband.mp3"
    assert path_fallback(p, tmp_path) == ("Nina Simone", "Pastel Blues", "Be My Husband", 3)
    nfd = tmp_path / "Sigur Ro\u0301s" / "Takk" / "03 - Sigur R\u00f3s - Gl\u00f3s\u00f3li.mp3"
    assert path_fallback(nfd, tmp_path)[2] == "Gl\u00f3s\u00f3li"
    nfc = tmp_path / "Sigur R\u00f3s" / "Takk" / "03 - Sigur Ro\u0301s - Glo\u0301so\u0301li.mp3"
    assert path_fallback(nfc, tmp_path)[2] == "Glo\u0301so\u0301li"
    # nothing but a separator after the number: the file's name, as it is
    assert path_fallback(tmp_path / "A" / "B" / "06 - .mp3", tmp_path)[2:] == ("06 - ", 6)
    assert path_fallback(tmp_path / "A" / "B" / "01_-_.mp3", tmp_path)[2:] == ("01_-_", 1)


def test_path_fallback_keeps_what_is_not_the_artist(tmp_path):
    album = tmp_path / "Nina Simone" / "Live"
    # a " - " that does not follow the artist's name is part of the title
    assert path_fallback(album / "04 - Intro - Reprise.mp3", tmp_path)[2] == "Intro - Reprise"
    assert path_fallback(album / "Nina Simone - .mp3", tmp_path)[2] == "Nina Simone -"
    assert path_fallback(album / "my_song remix.mp3", tmp_path)[2] == "my_song remix"  # has spaces
    assert path_fallback(album / "___.mp3", tmp_path)[2] == "___"
    assert path_fallback(album / "Nina Simone.mp3", tmp_path)[2] == "Nina Simone"


def test_names_stored_the_old_way_are_read_again_once(tmp_path):
    """A file scanned by an older version keeps the names that version read (a WAV's RIFF
    INFO ignored, "_" left in the title) until the file changes, which may be never. A scan
    reads the names of such files again, once, without counting them as changed."""
    song = write_audio(tmp_path / "Nina Simone" / "Pastel Blues" / "03_-_Be_My_Husband.flac", 2.0)
    with Store(tmp_path / "db.sqlite3") as store:
        _run(tmp_path, store)
        track = store.track(song)
        assert track.title == "Be My Husband" and track.names_version >= 1
        # as the last version left it
        store.db.execute(
            "UPDATE tracks SET title = '_-_Be_My_Husband', names_version = 0 WHERE id = ?",
            (track.id,),
        )
        store.db.commit()
        result = _run(tmp_path, store)
        assert result.new_or_changed == 0  # "nothing changed" still, and not analysed again
        again = store.track(song)
        assert (again.id, again.title, again.names_version) == (track.id, "Be My Husband", 1)
        # read once: a later scan leaves the row alone
        store.db.execute("UPDATE tracks SET title = 'Edited elsewhere' WHERE id = ?", (track.id,))
        store.db.commit()
        _run(tmp_path, store)
        assert store.track(song).title == "Edited elsewhere"


@pytest.mark.parametrize("disc", ["CD1", "CD 2", "cd-3", "Disc 1", "Disk2", "Disc 2 - Live"])
def test_path_fallback_skips_disc_folders(tmp_path, disc):
    p = tmp_path / "Pink Floyd" / "The Wall" / disc / "01 In the Flesh.flac"
    assert path_fallback(p, tmp_path) == ("Pink Floyd", "The Wall", "In the Flesh", 1)
    q = tmp_path / "Pink Floyd" / disc / "02 Song.flac"  # no album folder above it
    assert path_fallback(q, tmp_path) == ("Pink Floyd", None, "Song", 2)


@pytest.mark.parametrize("folder", ["Discovery", "Disco 2000", "CDs", "Disciple 2"])
def test_path_fallback_keeps_album_folders_that_only_look_like_discs(tmp_path, folder):
    p = tmp_path / "Daft Punk" / folder / "01 One More Time.mp3"
    assert path_fallback(p, tmp_path) == ("Daft Punk", folder, "One More Time", 1)


def test_tags_win_over_path_and_path_fills_gaps(tmp_path):
    tagged = write_audio(tmp_path / "Folder Artist" / "Folder Album" / "01 file.flac", 2.0)
    f = mutagen.File(tagged)
    f["title"] = "Real Title"
    f["artist"] = "Real Artist"
    f["mood"] = "Calm"
    f.save()
    write_audio(tmp_path / "Ärtist" / "Albüm" / "07 Ünïcode ♫.ogg", 2.0)
    with Store(tmp_path / "db.sqlite3") as store:
        result = _run(tmp_path, store)
        assert len(result.paths) == 2
        rows = store.tracks_under(tmp_path)
    t = rows[str(tagged)]
    assert (t.title, t.artist, t.album, t.mood_tag) == (
        "Real Title",
        "Real Artist",
        "Folder Album",
        "Calm",
    )
    u = rows[str(tmp_path / "Ärtist" / "Albüm" / "07 Ünïcode ♫.ogg")]
    assert (u.artist, u.album, u.title, u.tracknumber) == ("Ärtist", "Albüm", "Ünïcode ♫", 7)


def test_bad_files_are_listed_with_tag_error(library, tmp_path):
    with Store(tmp_path / "db.sqlite3") as store:
        result = _run(library, store)
        rows = store.tracks_under(library)
    names = {os.path.basename(p) for p in result.paths}
    assert {"empty.mp3", "notes.flac", "corrupt.ogg", "truncated.wav"} <= names
    assert "secret.wav" not in names
    assert rows[str(library / "Broken Artist" / "Bad Album" / "notes.flac")].tag_error


def test_rescan_is_incremental(tmp_path, monkeypatch):
    for i in range(3):
        write_audio(tmp_path / "A" / "B" / f"{i}.wav", 2.0)
    with Store(tmp_path / "db.sqlite3") as store:
        assert _run(tmp_path, store).new_or_changed == 3
        calls = []
        import tagger.core.scan as scan_mod

        real = scan_mod.read_tags
        monkeypatch.setattr(scan_mod, "read_tags", lambda p: calls.append(p) or real(p))
        assert _run(tmp_path, store).new_or_changed == 0
        assert calls == []  # unchanged files are not opened
        changed = tmp_path / "A" / "B" / "1.wav"
        write_audio(changed, 3.0, seed=5)
        os.utime(changed, ns=(1, 10**18))
        (tmp_path / "A" / "B" / "2.wav").unlink()
        result = _run(tmp_path, store)
        assert result.new_or_changed == 1 and result.removed == 1
        assert [str(p) for p in calls] == [str(changed)]
        assert len(store.tracks_under(tmp_path)) == 2


def test_missing_root_raises(tmp_path):
    with Store(tmp_path / "db.sqlite3") as store, pytest.raises(FileNotFoundError):
        _run(tmp_path / "nope", store)


def test_unreadable_subfolder_does_not_stop_scan(tmp_path, monkeypatch):
    write_audio(tmp_path / "A" / "ok" / "1.wav", 2.0)
    write_audio(tmp_path / "A" / "locked" / "2.wav", 2.0)
    real_walk = os.walk

    def walk(top, **kw):  # as root nothing is unreadable: inject the OSError os.walk reports
        onerror = kw.get("onerror")
        for dirpath, dirs, files in real_walk(top, **kw):
            if dirpath.endswith("locked"):
                onerror(PermissionError(13, "Permission denied", dirpath))
                dirs[:] = []
                continue
            yield dirpath, dirs, files

    monkeypatch.setattr(os, "walk", walk)
    with Store(tmp_path / "db.sqlite3") as store:
        result = _run(tmp_path, store)
    assert [os.path.basename(p) for p in result.paths] == ["1.wav"]
    assert result.errors and "locked" in result.errors[0][0]
    shutil.rmtree(tmp_path / "A")


def test_file_names_that_are_not_utf8_are_per_file_errors(tmp_path, capsys):
    """Linux allows any bytes in a name (a Latin-1 'café', an old CD rip): such a file is
    reported and skipped; the rest is scanned, analysed and printed."""
    from tagger.cli import main

    good = tmp_path / "Artist" / "Album" / "ok.wav"
    write_audio(good, 2.0)
    root = os.fsencode(tmp_path)
    shutil.copy(good, os.path.join(root, b"Artist", b"Album", b"caf\xe9.wav"))
    os.makedirs(os.path.join(root, b"Art\xffist", b"Album"))
    shutil.copy(good, os.path.join(root, b"Art\xffist", b"Album", b"x.wav"))
    with Store(tmp_path / "db.sqlite3") as store:
        result = _run(tmp_path, store)
        assert [os.path.basename(p) for p in result.paths] == ["ok.wav"]
        assert len(store.tracks_under(tmp_path)) == 1
    names = sorted(p for p, _ in result.errors)
    assert [os.path.basename(n) for n in names] == ["caf\ufffd.wav", "x.wav"]
    assert "Art\ufffdist" in names[1]
    assert all("not valid UTF-8" in msg for _, msg in result.errors)
    # the command line prints them (a surrogate would make print() raise)
    assert main(["-q", "analyze", str(tmp_path), "--jobs", "1"]) == 0
    out = capsys.readouterr().out
    assert "caf\ufffd.wav: file name is not valid UTF-8" in out
    # a folder with such a name is refused with a message, not a traceback
    bad_root = os.fsdecode(os.path.join(root, b"Art\xffist"))
    assert main(["-q", "analyze", bad_root]) == 2
    assert "folder name is not valid UTF-8" in capsys.readouterr().err
    with Store(tmp_path / "db2.sqlite3") as store, pytest.raises(OSError, match="UTF-8"):
        _run(bad_root, store)


@pytest.mark.parametrize("batch", [500, 1])  # 1: each copy is stored before the next is seen
def test_moved_file_keeps_its_track_and_copies_do_not_guess(tmp_path, batch):
    music = tmp_path / "music"
    write_audio(music / "A" / "Old album" / "01 x.wav", 2.0, seed=1)
    write_audio(music / "A" / "Old album" / "02 y.wav", 2.0, seed=2)
    with Store(tmp_path / "db.sqlite3") as store:
        _run(music, store)
        ids = {Path(p).name: t.id for p, t in store.tracks_under(music).items()}
        store.add_label(ids["01 x.wav"], "calm")
        store.add_label(ids["02 y.wav"], "sad")
        # 01 moves; 02 is copied (same name, size and time) and its original removed
        (music / "B" / "New").mkdir(parents=True)
        os.rename(music / "A" / "Old album" / "01 x.wav", music / "B" / "New" / "01 x.wav")
        for folder in ("C", "D"):
            (music / folder).mkdir()
            shutil.copy2(music / "A" / "Old album" / "02 y.wav", music / folder / "02 y.wav")
        (music / "A" / "Old album" / "02 y.wav").unlink()
        events = list(scan(music, store, batch=batch))
        result = events[-1]
        assert result.moved == [
            (str(music / "A" / "Old album" / "01 x.wav"), str(music / "B" / "New" / "01 x.wav"))
        ]
        assert result.removed == 1  # 02's original; 01 moved, it is not gone
        tracks = store.tracks_under(music)
        moved = tracks[str(music / "B" / "New" / "01 x.wav")]
        assert moved.id == ids["01 x.wav"] and moved.artist == "B" and moved.album == "New"
        assert store.labels_under(music) == {str(music / "B" / "New" / "01 x.wav"): "calm"}
        # the two copies are new tracks; the old one is kept as missing, label and all
        assert {t.id for t in tracks.values()}.isdisjoint({ids["02 y.wav"]})
        assert len(tracks) == 3


def test_a_file_renamed_in_its_folder_keeps_its_track(tmp_path):
    """A renaming tool (Picard's "Rename files", a file manager) renames a song where it
    is: size and time unchanged, the old name gone. It kept neither its mood nor the
    person's label. Two such files renamed in one folder are told apart by size and time;
    a renamed file with a twin of the same size and time in that folder is not guessed."""
    album = tmp_path / "music" / "A" / "Album"
    first = write_audio(album / "track1.wav", 2.0, seed=1)
    second = write_audio(album / "track2.wav", 3.0, seed=2)
    twin_a = write_audio(album / "twin a.wav", 2.5, seed=3)
    twin_b = album / "twin b.wav"
    shutil.copy2(twin_a, twin_b)  # same size and modification time
    with Store(tmp_path / "db.sqlite3") as store:
        _run(album.parent.parent, store)
        ids = {Path(p).name: t.id for p, t in store.tracks_under(album).items()}
        for name, mood in [("track1.wav", "calm"), ("track2.wav", "sad"), ("twin a.wav", "happy")]:
            store.add_label(ids[name], mood)
        first.rename(album / "01 First Song.wav")
        second.rename(album / "02 Second Song.wav")
        twin_a.rename(album / "03 Twin.wav")
        twin_b.rename(album / "04 Twin.wav")
        result = _run(album.parent.parent, store)
        assert sorted(result.moved) == [
            (str(first), str(album / "01 First Song.wav")),
            (str(second), str(album / "02 Second Song.wav")),
        ]
        assert result.removed == 2  # the twins' old names, not the two followed
        tracks = store.tracks_under(album)
        assert tracks[str(album / "01 First Song.wav")].id == ids["track1.wav"]
        assert tracks[str(album / "01 First Song.wav")].title == "First Song"
        labels = store.labels_under(album)
        assert labels == {
            str(album / "01 First Song.wav"): "calm",
            str(album / "02 Second Song.wav"): "sad",
        }
        assert ids["twin a.wav"] not in {t.id for t in tracks.values()}  # kept as missing


def test_files_whose_names_were_swapped_keep_their_tracks(tmp_path):
    """Two files' names swapped (or three renamed round): each path known, each with
    other contents. The labels stayed with the paths, so each song got the other's label
    (and a write would tag both wrongly). The tracks follow their files now."""
    album = tmp_path / "music" / "A" / "Album"
    songs = [write_audio(album / f"0{i} Song {i}.wav", 2.0 + i / 4, seed=i) for i in range(1, 6)]
    with Store(tmp_path / "db.sqlite3") as store:
        _run(album.parent.parent, store)
        ids = {p.name: store.track(p).id for p in songs}
        for p, mood in zip(songs, ["sad", "happy", "calm", "aggressive", "sad"], strict=True):
            store.add_label(ids[p.name], mood)
        before = store.labels_under(album)
        tmp = album / "tmp.wav"
        songs[0].rename(tmp)  # 1 <-> 2
        songs[1].rename(songs[0])
        tmp.rename(songs[1])
        songs[2].rename(tmp)  # 3 -> 4 -> 5 -> 3
        songs[4].rename(songs[2])
        songs[3].rename(songs[4])
        tmp.rename(songs[3])
        result = _run(album.parent.parent, store)
        moved = dict(result.moved)
        assert moved[str(songs[0])] == str(songs[1]) and moved[str(songs[1])] == str(songs[0])
        assert moved[str(songs[2])] == str(songs[3]) and moved[str(songs[4])] == str(songs[2])
        assert result.removed == 0
        after = store.labels_under(album)
        for old, new in moved.items():
            assert after[new] == before[old]
            assert store.track(new).id == ids[Path(old).name]
            assert store.track(new).title == Path(new).stem[3:]  # names as the file is now
        assert store.missing_tracks(album) == {}


def test_files_renumbered_by_a_shift_keep_their_tracks(tmp_path):
    """An album renumbered: 03 -> 04, 02 -> 03, 01 -> 02. Each song took the label of the
    one whose name it took; 04 was new and 01's track was left missing."""
    album = tmp_path / "music" / "A" / "Album"
    songs = [write_audio(album / f"0{i}.wav", 2.0 + i / 4, seed=i) for i in range(1, 4)]
    with Store(tmp_path / "db.sqlite3") as store:
        _run(album.parent.parent, store)
        ids = [store.track(p).id for p in songs]
        for i, mood in zip(ids, ["happy", "aggressive", "sad"], strict=True):
            store.add_label(i, mood)
        for i in (3, 2, 1):
            (album / f"0{i}.wav").rename(album / f"0{i + 1}.wav")
        result = _run(album.parent.parent, store)
        assert sorted(result.moved) == [
            (str(album / f"0{i}.wav"), str(album / f"0{i + 1}.wav")) for i in (1, 2, 3)
        ]
        assert [store.track(album / f"0{i}.wav").id for i in (2, 3, 4)] == ids
        assert store.labels_under(album) == {
            str(album / "02.wav"): "happy",
            str(album / "03.wav"): "aggressive",
            str(album / "04.wav"): "sad",
        }
        assert store.missing_tracks(album) == {} and result.removed == 0
        assert len(store.tracks_under(album, present_only=False)) == 3


@pytest.mark.parametrize("then_retagged", [False, True])
def test_a_swap_with_a_copy_in_it_is_not_guessed(tmp_path, then_retagged):
    """A file copied over another (cp -p) is not a swap: the copy's source is still
    there, so nothing moves, unchanged or retagged since (other size and time): each
    path keeps its track (b's as a file replaced in place)."""
    album = tmp_path / "music" / "A" / "Album"
    a = write_audio(album / "01 A.wav", 2.0, seed=1)
    b = write_audio(album / "02 B.wav", 2.5, seed=2)
    with Store(tmp_path / "db.sqlite3") as store:
        _run(album.parent.parent, store)
        ida, idb = store.track(a).id, store.track(b).id
        shutil.copy2(a, b)
        if then_retagged:
            write_audio(a, 2.25, seed=1)
        result = _run(album.parent.parent, store)
        assert result.moved == [] and result.removed == 0
        assert (store.track(a).id, store.track(b).id) == (ida, idb)


def test_a_label_on_a_links_target_reaches_the_track_the_scan_finds(tmp_path):
    """A song labelled under its real path outside the library (e.g. `label` before the
    first scan, on a deeper layout than Artist/Album/Track) is found by the scan under a
    symlink's path: that new track gets the label; the other path keeps its own."""
    real = write_audio(tmp_path / "store" / "x" / "song.wav", 2.0)
    link = tmp_path / "lib" / "Artist" / "Album" / "CD1" / "song.wav"
    link.parent.mkdir(parents=True)
    link.symlink_to(real)
    plain = write_audio(tmp_path / "lib" / "Artist" / "Album" / "CD1" / "plain.wav", 2.0, seed=3)
    with Store(tmp_path / "db.sqlite") as store:
        store.upsert_tracks([_record(real, real.parent, real.stat())])
        store.add_label(store.track(real).id, "calm")
        _run(tmp_path / "lib", store)
        assert store.labels_under(tmp_path / "lib") == {str(link): "calm"}
        assert store.labels_under(tmp_path / "store") == {str(real): "calm"}
        store.add_label(store.track(plain).id, "sad")  # a known path inherits nothing again
        store.add_label(store.track(real).id, "happy")
        _run(tmp_path / "lib", store)
        assert store.labels_under(tmp_path / "lib") == {str(link): "calm", str(plain): "sad"}


def test_a_named_pipe_with_an_audio_name_is_a_per_file_error(tmp_path, monkeypatch):
    """A FIFO called ``x.mp3`` is reported and never opened: reading its tags blocked the
    scan (and so `analyze`, `write` and the app's scan) forever."""
    import tagger.core.scan as scan_module

    good = write_audio(tmp_path / "A" / "B" / "01 good.wav", 2.0)
    fifo = tmp_path / "A" / "B" / "02 pipe.mp3"
    os.mkfifo(fifo)
    real_read_tags = scan_module.read_tags

    def read_tags(path):
        assert Path(path) != fifo, "the scan opened the named pipe"
        return real_read_tags(path)

    monkeypatch.setattr(scan_module, "read_tags", read_tags)
    with Store(tmp_path / "db.sqlite") as store:
        result = _run(tmp_path, store)
    assert result.paths == [str(good)]
    assert result.errors == [(str(fifo), scan_module.NOT_A_FILE)]


def test_a_link_to_something_not_there_is_reported(tmp_path):
    """A folder link whose drive is not connected was skipped without a word (os.walk
    lists it as a file), so its songs silently left the library. It is reported, as a
    folder that cannot be read is; a link to an audio file that is gone already was."""
    from tagger.core.scan import DANGLING_LINK

    write_audio(tmp_path / "A" / "B" / "01 x.wav", 2.0)
    (tmp_path / "Other Artist").symlink_to(tmp_path / "unplugged" / "Other Artist")
    (tmp_path / "A" / "B" / "cover.jpg").symlink_to(tmp_path / "gone.jpg")
    (tmp_path / "A" / "B" / "live").symlink_to(tmp_path / "A")  # a good link: no report
    (tmp_path / "A" / "B" / "02 gone.mp3").symlink_to(tmp_path / "unplugged" / "02 gone.mp3")
    errors: list[tuple[str, str]] = []
    found = [p.relative_to(tmp_path).as_posix() for p in iter_audio_files(tmp_path, errors)]
    assert found == ["A/B/01 x.wav", "A/B/02 gone.mp3"]
    assert errors == [
        (str(tmp_path / "Other Artist"), DANGLING_LINK),
        (str(tmp_path / "A" / "B" / "cover.jpg"), DANGLING_LINK),
    ]
    with Store(tmp_path / "db.sqlite") as store:
        result = _run(tmp_path, store)
    assert (str(tmp_path.resolve() / "Other Artist"), DANGLING_LINK) in result.errors
    # a link to an audio file said "No such file or directory", as if the link were gone
    assert (str(tmp_path.resolve() / "A" / "B" / "02 gone.mp3"), DANGLING_LINK) in result.errors


def test_a_mount_point_with_nothing_mounted_is_reported(tmp_path, monkeypatch):
    """``Music/NAS`` is a mount point in /etc/fstab. With the drive not mounted it is an
    empty folder, so its songs looked deleted. A folder fstab names (spaces as ``\\040``)
    that has nothing mounted on it is reported; a mounted one, or a comment, is not."""
    from tagger.core import scan as scan_module
    from tagger.core.scan import NOT_MOUNTED

    write_audio(tmp_path / "A" / "B" / "01 x.wav", 2.0)
    (tmp_path / "NAS").mkdir()
    (tmp_path / "Old Disk").mkdir()
    (tmp_path / "Mounted").mkdir()
    fstab = tmp_path / "fstab"
    fstab.write_text(
        "# <file system> <mount point> <type>\n"
        "UUID=1 / ext4 defaults 0 1\n"
        f"server:/music {tmp_path / 'NAS'} nfs defaults 0 0\n"
        f"# UUID=2 {tmp_path / 'A'} ext4 defaults 0 0\n"
        f"UUID=3 {str(tmp_path / 'Old Disk').replace(' ', chr(92) + '040')} ext4 noauto 0 0\n"
        f"UUID=4 {tmp_path / 'Mounted'} ext4 defaults 0 0\n"
        "UUID=5 none swap sw 0 0\n",
        encoding="utf-8",
    )
    monkeypatch.setattr(scan_module, "FSTAB", fstab)
    real_ismount = os.path.ismount
    monkeypatch.setattr(
        os.path, "ismount", lambda p: str(p).endswith("/Mounted") or real_ismount(p)
    )
    errors: list[tuple[str, str]] = []
    found = [p.relative_to(tmp_path).as_posix() for p in iter_audio_files(tmp_path, errors)]
    assert found == ["A/B/01 x.wav"]
    assert errors == [
        (str(tmp_path / "NAS"), NOT_MOUNTED),
        (str(tmp_path / "Old Disk"), NOT_MOUNTED),
    ]

    fstab.unlink()  # no fstab (macOS, Windows): nothing to report, nothing breaks
    errors = []
    assert len(list(iter_audio_files(tmp_path, errors))) == 1 and errors == []


@pytest.mark.parametrize("scanned_between", [False, True])
def test_a_file_renamed_onto_a_deleted_songs_name_keeps_its_own_track(tmp_path, scanned_between):
    """``mv a b`` (or b deleted, then a renamed to b's name): the file at b is song a.
    It took b's track with b's label, and a's track was left missing with a's label; a
    write then tagged a's audio with b's mood, and retraining learnt it. Now a's track
    follows its file; b's song is gone, and its track is forgotten. A file at a known
    path that is no other song's (a re-rip) keeps that path's track."""
    album = tmp_path / "music" / "A" / "Album"
    a = write_audio(album / "01 A.wav", 2.0, seed=1)
    b = write_audio(album / "02 B.wav", 2.5, seed=2)
    c = write_audio(album / "03 C.wav", 3.0, seed=3)
    with Store(tmp_path / "db.sqlite3") as store:
        _run(album.parent.parent, store)
        ida, idb, idc = (store.track(p).id for p in (a, b, c))
        store.add_label(ida, "calm")
        store.add_label(idb, "aggressive")
        store.add_label(idc, "sad")
        if scanned_between:
            b.unlink()
            assert _run(album.parent.parent, store).removed == 1
            assert set(store.missing_tracks(album)) == {str(b)}
        os.replace(a, b)
        write_audio(c, 3.5, seed=4)  # re-ripped in place
        result = _run(album.parent.parent, store)
        assert result.moved == [(str(a), str(b))]
        assert result.removed == (0 if scanned_between else 1)  # b's song, gone now
        assert store.track(b).id == ida and store.track(b).title == "B"
        assert store.track(c).id == idc
        assert store.labels_under(album) == {str(b): "calm", str(c): "sad"}
        assert store.missing_tracks(album) == {}
        assert idb not in {t.id for t in store.tracks_under(album, present_only=False).values()}
        assert _run(album.parent.parent, store).moved == []  # and it stays so
        assert store.track(b).id == ida


def test_a_symlink_loop_is_called_one_not_a_missing_target(tmp_path):
    """``loop1 -> loop2 -> loop1`` (and a link to itself) was reported as "it links to a
    folder or file that is not there (a drive not connected?)": nothing is missing, the
    links go round in a circle."""
    from tagger.core.scan import DANGLING_LINK, SYMLINK_LOOP

    write_audio(tmp_path / "A" / "B" / "01 x.wav", 2.0)
    bad = tmp_path / "Bad"
    bad.mkdir()
    (bad / "loop1").symlink_to("loop2")
    (bad / "loop2").symlink_to("loop1")
    (bad / "self.mp3").symlink_to("self.mp3")  # an audio name: stat()ed by the scan
    (bad / "gone").symlink_to(tmp_path / "unplugged")  # a real dangling link, for contrast
    errors: list[tuple[str, str]] = []
    found = [p.relative_to(tmp_path).as_posix() for p in iter_audio_files(tmp_path, errors)]
    assert found == ["A/B/01 x.wav", "Bad/self.mp3"]
    assert errors == [
        (str(bad / "gone"), DANGLING_LINK),
        (str(bad / "loop1"), SYMLINK_LOOP),
        (str(bad / "loop2"), SYMLINK_LOOP),
    ]
    assert SYMLINK_LOOP.startswith("symlink loop")
    with Store(tmp_path / "db.sqlite") as store:
        result = _run(tmp_path, store)
    root = tmp_path.resolve()
    assert (str(root / "Bad" / "self.mp3"), SYMLINK_LOOP) in result.errors
    assert (str(root / "Bad" / "loop1"), SYMLINK_LOOP) in result.errors
    assert (str(root / "Bad" / "gone"), DANGLING_LINK) in result.errors
    assert result.paths == [str(root / "A" / "B" / "01 x.wav")]


def test_a_symlink_loop_as_the_folder_is_an_os_error_not_a_crash(tmp_path):
    """Path.resolve() raised RuntimeError("Symlink loop ...") out of the scan."""
    import errno

    from tagger.core.scan import SYMLINK_LOOP

    (tmp_path / "loop1").symlink_to("loop2")
    (tmp_path / "loop2").symlink_to("loop1")
    with Store(tmp_path / "db.sqlite") as store, pytest.raises(OSError) as exc:
        _run(tmp_path / "loop1", store)
    assert exc.value.errno == errno.ELOOP and SYMLINK_LOOP in str(exc.value)
