"""`mood-tagger label / write / undo` end to end (analysis with the tiny test model)."""

from __future__ import annotations

import hashlib
import os
import subprocess
import sys
from pathlib import Path

import mutagen
import pytest

from tagger.cli import main
from tagger.core.store import Store
from tagger.core.tags import read_tags
from tests.audio_factory import write_audio
from tests.tag_factory import audio_hash, make_tagged, tag_dump


def _digest(root: Path) -> dict[str, tuple[str, int]]:
    return {
        str(p): (hashlib.sha256(p.read_bytes()).hexdigest(), p.stat().st_mtime_ns)
        for p in sorted(root.rglob("*"))
        if p.is_file()
    }


@pytest.fixture
def music(tmp_path) -> Path:
    root = tmp_path / "music"
    album = root / "Ärtist" / "Album"
    make_tagged(album / "01 one.mp3", "mp3v23", seed=1)
    make_tagged(album / "02 two.flac", "flac", seed=2)
    make_tagged(album / "03 three.m4a", "m4a", seed=3)
    make_tagged(album / "04 four.ogg", "ogg", seed=4)
    return root


def _analyze(root: Path, model: Path, capsys) -> None:
    assert main(["-q", "analyze", str(root), "--model", str(model), "--jobs", "1"]) == 0
    capsys.readouterr()


def test_label_write_dry_run_write_undo(music, tiny_model_path, capsys):
    album = music / "Ärtist" / "Album"
    files = sorted(p for p in album.iterdir())
    originals = {p: tag_dump(p) for p in files}
    audio = {p: audio_hash(p) for p in files}
    model = ["--model", str(tiny_model_path)]

    # not analysed yet: write says what to do and touches nothing
    assert main(["write", str(music), *model]) == 2
    assert "mood-tagger analyze" in capsys.readouterr().err

    _analyze(music, tiny_model_path, capsys)
    assert main(["label", "sad", str(album / "01 one.mp3"), str(album / "02 two.flac")]) == 0
    assert "labelled 2 files as Sad" in capsys.readouterr().out
    assert main(["label", "Q4", str(album / "02 two.flac")]) == 0  # later label wins

    before = _digest(music)
    assert main(["write", str(music), "--dry-run", *model]) == 0
    out = capsys.readouterr().out
    assert _digest(music) == before  # a dry run changes no byte and no mtime
    lines = dict(line.split(": ", 1) for line in out.splitlines() if " -> " in line)
    assert lines["Ärtist/Album/01 one.mp3"] == "calm -> Sad"
    assert lines["Ärtist/Album/02 two.flac"] == "(none) -> Calm"
    assert len(lines) == 4

    assert main(["write", str(music), *model]) == 0
    out = capsys.readouterr().out
    assert "wrote the mood of 4 files" in out
    assert read_tags(album / "01 one.mp3").mood == "Sad"
    assert read_tags(album / "02 two.flac").mood == "Calm"
    assert {read_tags(p).mood for p in files[2:]} <= {"Happy", "Aggressive", "Sad", "Calm"}
    assert all(audio_hash(p) == audio[p] for p in files)
    # the write is known to the store: nothing to re-analyse, nothing left to write
    assert main(["write", str(music), "--dry-run", *model]) == 0
    assert "0 files would be written" in capsys.readouterr().out

    assert main(["undo", str(music)]) == 0
    assert "Undo last write: 4 files updated\n" in capsys.readouterr().out
    assert {p: tag_dump(p) for p in files} == originals
    assert all(audio_hash(p) == audio[p] for p in files)
    assert main(["undo", str(music)]) == 0
    assert "nothing to undo" in capsys.readouterr().out


def test_deleted_file_reported_others_written(music, tiny_model_path, capsys):
    """A file deleted after the analysis is named by every write and dry run (not only by
    the first, whose scan saw it go), as a note: there is nothing to write to, so it is
    no failure. One never analysed that goes is not mentioned: it had no mood."""
    _analyze(music, tiny_model_path, capsys)
    album = music / "Ärtist" / "Album"
    make_tagged(album / "05 five.flac", "flac", seed=5)
    model = ["--model", str(tiny_model_path)]
    assert main(["write", str(music), "--dry-run", *model]) == 0  # scanned, not analysed
    assert "1 file not analysed yet" in capsys.readouterr().out
    (album / "03 three.m4a").unlink()
    (album / "05 five.flac").unlink()
    gone = "1 file analysed or labelled before is no longer on disk"
    for args in (["--dry-run"], [], ["--dry-run"], []):
        assert main(["write", str(music), *args, *model]) == 0, args
        out = capsys.readouterr().out
        assert out.count(gone) == 1, args
        assert "\n  Ärtist/Album/03 three.m4a\n" in out
        assert "five" not in out and "failed" not in out and "cannot be written" not in out
    assert read_tags(album / "02 two.flac").mood is not None


def test_many_deleted_files_are_counted_past_the_first_few(
    music, tiny_model_path, capsys, monkeypatch
):
    """Songs deleted on purpose stay in the library (their labels come back if the files
    do): every write names only the first few, then counts the rest."""
    from tagger.commands import write

    monkeypatch.setattr(write, "MAX_MISSING_LISTED", 1)
    _analyze(music, tiny_model_path, capsys)
    album = music / "Ärtist" / "Album"
    (album / "03 three.m4a").unlink()
    (album / "04 four.ogg").unlink()
    assert main(["write", str(music), "--dry-run", "--model", str(tiny_model_path)]) == 0
    out = capsys.readouterr().out
    assert "2 files analysed or labelled before are no longer on disk" in out
    assert out.count("\n  Ärtist/Album/0") == 1 and "  ... and 1 more\n" in out


def test_read_only_file_reported(music, tiny_model_path, capsys):
    _analyze(music, tiny_model_path, capsys)
    ro = music / "Ärtist" / "Album" / "04 four.ogg"
    ro.chmod(0o444)
    data = ro.read_bytes()
    rc = main(["write", str(music), "--model", str(tiny_model_path)])
    out = capsys.readouterr().out
    assert rc == 1
    assert "04 four.ogg: file is read-only" in out
    assert ro.read_bytes() == data
    # a dry run finds it too, without writing anything
    assert main(["write", str(music), "--dry-run", "--model", str(tiny_model_path)]) == 1
    out = capsys.readouterr().out
    assert "1 file cannot be written:" in out
    assert "04 four.ogg: file is read-only" in out
    assert "04 four.ogg: (none) ->" not in out


def test_min_confidence_skips_predictions(music, tiny_model_path, capsys):
    _analyze(music, tiny_model_path, capsys)
    album = music / "Ärtist" / "Album"
    main(["label", "aggressive", str(album / "04 four.ogg")])
    capsys.readouterr()
    assert (
        main(
            [
                "write",
                str(music),
                "--dry-run",
                "--min-confidence",
                "1",
                "--model",
                str(tiny_model_path),
            ]
        )
        == 0
    )
    out = capsys.readouterr().out
    assert "Ärtist/Album/04 four.ogg: (none) -> Aggressive" in out
    assert "1 file would be written" in out
    assert main(["write", str(music), "--min-confidence", "2"]) == 2


def test_label_errors(music, tmp_path, capsys):
    song = music / "Ärtist" / "Album" / "01 one.mp3"
    assert main(["label", "grumpy", str(song)]) == 2
    assert "unknown mood" in capsys.readouterr().err
    text = tmp_path / "notes.txt"
    text.write_text("x")
    assert main(["label", "happy", str(song), str(tmp_path / "missing.mp3"), str(text)]) == 1
    cap = capsys.readouterr()
    assert "labelled 1 file as Happy" in cap.out
    assert "missing.mp3: file not found\n" in cap.err  # never scanned: no "since the scan"
    assert "notes.txt: not an audio file" in cap.err
    assert main(["label", "none", str(song)]) == 0
    assert "cleared the label of 1 file" in capsys.readouterr().out
    with Store.open_default() as store:
        assert str(song.resolve()) not in store.labels_under(music.resolve())


@pytest.mark.parametrize("stored, typed", [("NFD", "NFC"), ("NFC", "NFD")])
def test_path_in_another_unicode_form_is_named(tmp_path, capsys, stored, typed):
    """A path typed in one Unicode normalisation for a file or folder stored in the other
    is not found (Linux compares bytes), and the message names the one that exists."""
    import unicodedata

    def form(text: str, nf: str) -> str:
        return unicodedata.normalize(nf, text)

    folder = tmp_path / form("Björk", stored)
    song = write_audio(folder / "Homogenic" / form("01 Jóga.wav", stored), seconds=1.0)
    typed_song = tmp_path / form("Björk", typed) / "Homogenic" / form("01 Jóga.wav", typed)
    assert str(typed_song) != str(song)
    note = f"has the same name in another Unicode form ({stored}; the name given is {typed})"

    assert main(["label", "calm", str(typed_song)]) == 1
    assert f"  {typed_song}: file not found; {song} {note}" in capsys.readouterr().err
    assert main(["eval", str(typed_song.parent.parent)]) == 2  # a folder argument
    assert f"folder not found: {typed_song.parent.parent}; {folder} {note}" in (
        capsys.readouterr().err
    )
    model = typed_song.parent / "model.pt"  # a --model file in that folder
    (song.parent / "model.pt").write_bytes(b"x")
    assert main(["analyze", str(folder), "--model", str(model)]) == 2
    assert f"No such file or directory; {song.parent / 'model.pt'} {note}" in (
        capsys.readouterr().err
    )
    # a name that is nowhere in any form: the plain message
    assert main(["label", "calm", str(folder / "Homogenic" / "02 Hunter.wav")]) == 1
    assert capsys.readouterr().err.endswith("02 Hunter.wav: file not found\n")


def test_label_skips_a_file_the_analysis_could_not_read(music, tiny_model_path, capsys):
    """As in the app: an unreadable song gets no mood (it would count under that mood)."""
    album = music / "Ärtist" / "Album"
    empty = album / "05 empty.mp3"
    empty.write_bytes(b"")
    _analyze(music, tiny_model_path, capsys)
    assert main(["label", "happy", str(empty), str(album / "01 one.mp3")]) == 1
    cap = capsys.readouterr()
    assert "labelled 1 file as Happy" in cap.out
    assert "05 empty.mp3: could not be analysed: empty file (0 bytes)" in cap.err
    with Store.open_default() as store:
        assert str(empty.resolve()) not in store.labels_under(music.resolve())
    assert main(["label", "none", str(empty)]) == 0  # clearing is always fine
    empty.write_bytes(b"now something else")  # changed since: not known to be unreadable
    assert main(["label", "sad", str(empty)]) == 0


def test_write_says_once_that_the_tags_could_not_be_read(music, tiny_model_path, capsys):
    empty = music / "Ärtist" / "Album" / "05 empty.mp3"
    empty.write_bytes(b"")
    assert main(["label", "happy", str(empty)]) == 0  # before the first scan: taken
    _analyze(music, tiny_model_path, capsys)
    assert main(["write", str(music), "--dry-run"]) == 1
    out = capsys.readouterr().out
    line = next(s for s in out.splitlines() if "05 empty.mp3" in s)
    assert line.startswith("  Ärtist/Album/05 empty.mp3: tags could not be read: ")
    assert "cannot read tags" not in line


def test_label_then_write_without_analysis_writes_labels(music, capsys, tiny_model_path):
    song = music / "Ärtist" / "Album" / "02 two.flac"
    assert main(["label", "happy", str(song)]) == 0  # never scanned: the row is added
    capsys.readouterr()
    assert main(["write", str(music), "--model", str(tiny_model_path)]) == 0
    out = capsys.readouterr().out
    assert "wrote the mood of 1 file in " in out
    assert "3 files not analysed yet were skipped" in out
    assert read_tags(song).mood == "Happy"


def test_label_on_symlinked_file_and_folder_reaches_the_scanned_track(
    music, tmp_path, tiny_model_path, capsys
):
    """A song found through a symlink (to a file, or in a symlinked folder) is a track under
    the link's path; `label` on that path labels that track, not the link's target, so
    `write` and `playlist` use the label."""
    elsewhere = tmp_path / "elsewhere"
    target = make_tagged(elsewhere / "Artist" / "Disc" / "01 song.flac", "flac", seed=7)
    other = make_tagged(elsewhere / "Single" / "song.ogg", "ogg", seed=8)
    (music / "Artist").symlink_to(elsewhere / "Artist", target_is_directory=True)
    (music / "Ärtist" / "Album" / "05 link.ogg").symlink_to(other)
    via_folder = music / "Artist" / "Disc" / "01 song.flac"
    via_file = music / "Ärtist" / "Album" / "05 link.ogg"
    _analyze(music, tiny_model_path, capsys)
    assert main(["label", "aggressive", str(via_folder), str(via_file)]) == 0
    assert "labelled 2 files as Aggressive" in capsys.readouterr().out
    with Store.open_default() as store:
        labels = store.labels_under(music.resolve())
    assert labels == {str(via_folder): "aggressive", str(via_file): "aggressive"}
    assert main(["write", str(music), "--model", str(tiny_model_path)]) == 0
    assert read_tags(target).mood == "Aggressive" and read_tags(other).mood == "Aggressive"


def test_label_before_the_first_scan_through_symlinks_stays_with_the_scanned_track(
    music, tmp_path, tiny_model_path, capsys
):
    """`label` on songs reached through a symlinked file (outside and inside the library)
    and a symlinked folder before any scan: the scan finds them under the link paths and
    those tracks carry the labels, so `write` writes them."""
    elsewhere = tmp_path / "elsewhere"
    target = make_tagged(elsewhere / "Artist" / "Disc" / "01 song.flac", "flac", seed=7)
    other = make_tagged(elsewhere / "Single" / "song.ogg", "ogg", seed=8)
    (music / "Artist").symlink_to(elsewhere / "Artist", target_is_directory=True)
    via_folder = music / "Artist" / "Disc" / "01 song.flac"
    via_file = music / "Ärtist" / "Album" / "05 link.ogg"
    via_file.symlink_to(other)
    inside = music / "B" / "Album" / "in.flac"
    inside.parent.mkdir(parents=True)
    inside.symlink_to(Path("../../Ärtist/Album/02 two.flac"))
    links = [via_folder, via_file, inside]
    assert main(["label", "aggressive", *map(str, links)]) == 0
    assert "labelled 3 files as Aggressive" in capsys.readouterr().out
    _analyze(music, tiny_model_path, capsys)
    with Store.open_default() as store:
        labels = store.labels_under(music.resolve())
    assert labels == {str(p): "aggressive" for p in links}
    assert main(["write", str(music), "--model", str(tiny_model_path)]) == 0
    out = capsys.readouterr().out
    assert "wrote the mood of 6 files" in out  # 4 in the folder, 2 outside it
    assert "Ärtist/Album/02 two.flac: same file as B/Album/in.flac" in out
    song = music / "Ärtist" / "Album" / "02 two.flac"
    assert [read_tags(p).mood for p in (target, other, song)] == ["Aggressive"] * 3
    assert all(p.is_symlink() for p in (via_file, inside))


def test_energy_valence_setting(music, tiny_model_path, capsys):
    from tagger.core.settings import update_settings

    _analyze(music, tiny_model_path, capsys)
    update_settings(write_energy_valence=True)
    assert main(["write", str(music), "--model", str(tiny_model_path)]) == 0
    flac = mutagen.File(music / "Ärtist" / "Album" / "02 two.flac")
    energy, valence = int(flac["MOOD_AROUSAL"][0]), int(flac["MOOD_VALENCE"][0])
    assert 0 <= energy <= 100 and 0 <= valence <= 100
    capsys.readouterr()

    # written already: a dry run lists nothing, as the write then writes nothing
    assert main(["write", str(music), "--dry-run", "--model", str(tiny_model_path)]) == 0
    assert "dry run: 0 files would be written" in capsys.readouterr().out
    # a score changed by another tool is listed again
    flac["MOOD_AROUSAL"] = str((energy + 7) % 101)
    flac.save()
    _analyze(music, tiny_model_path, capsys)  # the store sees the file's new size/time
    assert main(["write", str(music), "--dry-run", "--model", str(tiny_model_path)]) == 0
    out = capsys.readouterr().out
    assert "02 two.flac" in out and "dry run: 1 file would be written" in out


def test_flags_turn_off_what_the_app_saved(music, tiny_model_path, capsys):
    """The app's preview saves "also write energy/valence" and "keep mood tags already in
    files" as the CLI's defaults; --no-energy-valence / --no-keep-existing override them."""
    from tagger.core.settings import update_settings

    one = music / "Ärtist" / "Album" / "01 one.mp3"  # tagged "calm" by another app
    _analyze(music, tiny_model_path, capsys)
    update_settings(write_energy_valence=True, write_keep_existing=True)
    model = ["--model", str(tiny_model_path)]
    assert main(["write", str(music), "--dry-run", "--no-keep-existing", *model]) == 0
    assert "01 one.mp3" in capsys.readouterr().out.split("dry run:")[0]
    cmd = ["write", str(music), "--no-energy-valence", "--no-keep-existing", *model]
    assert main(cmd) == 0
    assert "wrote the mood of 4 files" in capsys.readouterr().out
    flac = mutagen.File(music / "Ärtist" / "Album" / "02 two.flac")
    assert flac.get("MOOD") and "MOOD_AROUSAL" not in flac and "MOOD_VALENCE" not in flac
    assert read_tags(one).mood != "Calm"  # the other app's tag was overwritten


def test_global_options_work_after_the_command(music, tiny_model_path, capsys):
    model = ["--model", str(tiny_model_path), "--jobs", "1"]
    assert main(["analyze", str(music), *model]) == 0
    assert "analysing" in capsys.readouterr().err  # the progress bar, by default
    assert main(["analyze", str(music), *model, "-q"]) == 0
    assert "analysing" not in capsys.readouterr().err
    assert main(["-q", "analyze", str(music), *model]) == 0
    assert "analysing" not in capsys.readouterr().err


def test_closed_output_pipe_stops_quietly(music, tiny_model_path, capsys):
    """`mood-tagger write --dry-run | head -1`: no traceback when the reader goes away."""
    _analyze(music, tiny_model_path, capsys)
    cmd = ["write", str(music), "--dry-run", "--model", str(tiny_model_path)]
    proc = subprocess.Popen(
        [sys.executable, "-m", "tagger", *cmd],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
    )
    proc.stdout.close()  # long before the command has anything to print
    _, err = proc.communicate(timeout=120)
    assert proc.returncode == 141
    assert b"Traceback" not in err and b"BrokenPipe" not in err


def test_undo_keeps_a_mood_changed_after_the_write_and_says_so(music, tiny_model_path, capsys):
    _analyze(music, tiny_model_path, capsys)
    assert main(["-q", "write", str(music), "--model", str(tiny_model_path)]) == 0
    changed = music / "Ärtist" / "Album" / "02 two.flac"
    f = mutagen.File(changed)
    f.tags["MOOD"] = "Chill"  # retagged by hand in another program
    f.save()
    capsys.readouterr()
    assert main(["-q", "undo", str(music)]) == 0  # kept on purpose: not a failure
    out = capsys.readouterr().out
    # worded as in the app's status bar (tests/ui/test_write_tags.py)
    assert "Undo last write: 3 files updated, 1 kept as it is (changed since the write)\n" in out
    assert "1 file kept as it is (changed since the write):" in out
    assert "02 two.flac: the mood tag was changed since the write" in out
    assert "run undo again" not in out
    assert read_tags(changed).mood == "Chill"


def test_silent_song_has_no_mood_and_is_not_a_failure(music, tiny_model_path, capsys):
    import numpy as np
    import soundfile as sf

    silent = music / "Ärtist" / "Album" / "05 hidden track.flac"
    sf.write(silent, np.zeros((44100 * 20, 2), np.float32), 44100)
    data = silent.read_bytes()
    assert main(["-q", "analyze", str(music), "--model", str(tiny_model_path), "--jobs", "1"]) == 0
    out = capsys.readouterr().out
    lines = [" ".join(line.split()) for line in out.splitlines()]
    assert "No mood 1 (silent or too short)" in lines
    assert "Errors 0" in lines
    assert "05 hidden track.flac: silent" in out
    assert "analysed 4, 0 could not be read, from cache 0" in out
    rc = main(["write", str(music), "--model", str(tiny_model_path)])
    out = capsys.readouterr().out
    assert rc == 0, out
    assert "wrote the mood of 4 files" in out
    assert "1 silent or very short file has no mood to write:\n" in out
    assert "  Ärtist/Album/05 hidden track.flac: silent" in out  # named, as the README says
    assert silent.read_bytes() == data


def test_what_the_scan_could_not_read_is_a_note_not_a_failed_write(
    music, tiny_model_path, tmp_path, capsys
):
    """A link to a drive not connected made every `write` exit 1 ("1 file(s) failed"),
    although every song was written; `analyze` calls it skipped. It is a note now, and a
    file not analysed yet is named, not only counted."""
    (music / "Other Artist").symlink_to(tmp_path / "unplugged", target_is_directory=True)
    assert main(["-q", "analyze", str(music), "--model", str(tiny_model_path), "--jobs", "1"]) == 0
    later = write_audio(music / "Ärtist" / "Album" / "09 later.wav", seconds=2.0, seed=9)
    capsys.readouterr()
    rc = main(["write", str(music), "--model", str(tiny_model_path)])
    out = capsys.readouterr().out
    assert rc == 0, out
    assert "wrote the mood of 4 files" in out and "failed" not in out
    assert "1 folder or file could not be read and had nothing written:\n" in out
    assert "  Other Artist: it links to a folder or file that is not there" in out
    assert "1 file not analysed yet was skipped" in out
    assert "  Ärtist/Album/09 later.wav\n" in out
    assert read_tags(later).mood is None


def test_several_mood_values_are_shown_replaced_and_restored(music, tiny_model_path, capsys):
    from mutagen.id3 import TMOO

    album = music / "Ärtist" / "Album"
    flac, mp3, m4a = album / "02 two.flac", album / "01 one.mp3", album / "03 three.m4a"
    f = mutagen.File(flac)
    f["MOOD"] = ["Chill", "Relaxed"]
    f.save()
    f = mutagen.File(mp3)
    f.tags.delall("TXXX:MOOD")
    f.tags.add(TMOO(encoding=3, text=["Melancholic", "Dark"]))
    f.save(v2_version=3)
    f = mutagen.File(m4a)
    f["----:com.apple.iTunes:MOOD"] = [b"Angry", b"Loud"]
    f.save()
    originals = {p: tag_dump(p) for p in (flac, mp3, m4a)}
    assert read_tags(flac).mood == "Chill; Relaxed"
    assert read_tags(m4a).mood == "Angry; Loud"
    _analyze(music, tiny_model_path, capsys)
    for p in (flac, mp3, m4a):
        assert main(["label", "calm", str(p)]) == 0
    capsys.readouterr()
    assert main(["write", str(music), "--dry-run", "--model", str(tiny_model_path)]) == 0
    out = capsys.readouterr().out
    assert "02 two.flac: Chill; Relaxed -> Calm" in out  # every value that will go is shown
    assert "03 three.m4a: Angry; Loud -> Calm" in out
    assert main(["write", str(music), "--model", str(tiny_model_path)]) == 0
    capsys.readouterr()
    assert mutagen.File(flac)["MOOD"] == ["Calm"]
    assert read_tags(m4a).mood == "Calm" and read_tags(mp3).mood == "Calm"
    assert main(["undo", str(music)]) == 0
    assert {p: tag_dump(p) for p in (flac, mp3, m4a)} == originals


def test_moved_and_renamed_folders_keep_moods_labels_and_undo(music, tiny_model_path, capsys):
    album = music / "Ärtist" / "Album"
    model = ["--model", str(tiny_model_path)]
    originals = {p.name: tag_dump(p) for p in album.iterdir()}
    _analyze(music, tiny_model_path, capsys)
    assert main(["label", "sad", str(album / "01 one.mp3")]) == 0
    assert main(["write", str(music), *model]) == 0
    capsys.readouterr()
    # the person reorganises: the album moves to another artist's folder, and the music
    # folder itself is renamed
    (music / "Other").mkdir()
    album.rename(music / "Other" / "Album (2009)")
    renamed = music.with_name("Music library")
    music.rename(renamed)
    moved = renamed / "Other" / "Album (2009)"
    assert main(["-q", "analyze", str(renamed), *model, "--jobs", "1"]) == 0
    out = capsys.readouterr().out
    assert "analysed 0, 0 could not be read, from cache 4" in out  # nothing analysed again
    assert "4 moved or renamed files kept their moods and labels" in out
    with Store.open_default() as store:
        assert store.labels_under(renamed) == {str(moved / "01 one.mp3"): "sad"}
        assert not store.tracks_under(music)  # nothing left at the old paths
        assert store.track(moved / "02 two.flac").artist == "Ärtist"  # from its tags
    # undo finds the write under the folder's new name, and the files where they are now
    assert main(["undo", str(renamed)]) == 0
    assert "Undo last write: 4 files updated\n" in capsys.readouterr().out
    assert {p.name: tag_dump(p) for p in moved.iterdir()} == originals


def test_files_swapped_after_a_write_are_analysed_and_undone_as_themselves(
    music, tiny_model_path, capsys
):
    """Two files of one album swap names after a write: undo said both were "kept (the
    mood tag was changed since the write)" and left the written moods in; the labels had
    gone to the other song. Each track follows its file now."""
    album = music / "Ärtist" / "Album"
    model = ["--model", str(tiny_model_path)]
    one, two = album / "01 one.mp3", album / "05 five.mp3"
    make_tagged(two, "mp3v23", seed=5)
    originals = {p.name: tag_dump(p) for p in album.iterdir()}
    _analyze(music, tiny_model_path, capsys)
    assert main(["label", "sad", str(one)]) == 0
    assert main(["write", str(music), *model]) == 0
    capsys.readouterr()
    tmp = album / "tmp.mp3"
    one.rename(tmp)
    two.rename(one)
    tmp.rename(two)
    assert main(["-q", "analyze", str(music), *model, "--jobs", "1"]) == 0
    out = capsys.readouterr().out
    assert "analysed 0," in out and "2 moved or renamed files kept" in out
    with Store.open_default() as store:
        assert store.labels_under(music) == {str(two): "sad"}  # the song labelled sad
    assert main(["undo", str(music)]) == 0
    assert "Undo last write: 5 files updated\n" in capsys.readouterr().out
    swapped = {"01 one.mp3": "05 five.mp3", "05 five.mp3": "01 one.mp3"}
    assert {swapped.get(p.name, p.name): tag_dump(p) for p in album.iterdir()} == originals


def test_undo_after_labelling_the_files_of_a_moved_folder(music, tiny_model_path, capsys):
    """The music folder renamed after a write, then its files labelled before any scan:
    `label` moved the tracks but not the write, so undo said "nothing to undo"."""
    album = music / "Ärtist" / "Album"
    originals = {p.name: tag_dump(p) for p in album.iterdir()}
    _analyze(music, tiny_model_path, capsys)
    assert main(["write", str(music), "--model", str(tiny_model_path)]) == 0
    renamed = music.with_name("Moved music")
    music.rename(renamed)
    files = sorted((renamed / "Ärtist" / "Album").iterdir())
    assert main(["label", "calm", *map(str, files)]) == 0
    capsys.readouterr()
    assert main(["undo", str(renamed)]) == 0
    assert "Undo last write: 4 files updated\n" in capsys.readouterr().out
    assert {p.name: tag_dump(p) for p in files} == originals


def test_keep_existing_leaves_mood_tags_alone(music, tiny_model_path, capsys):
    from tagger.core.settings import update_settings

    one = music / "Ärtist" / "Album" / "01 one.mp3"  # tagged "calm" by another app
    before = tag_dump(one)
    _analyze(music, tiny_model_path, capsys)
    model = ["--model", str(tiny_model_path)]
    assert main(["write", str(music), "--dry-run", "--keep-existing", *model]) == 0
    out = capsys.readouterr().out
    assert "01 one.mp3" not in out.split("dry run:")[0]
    assert "1 file that already has a mood tag was left as it is" in out
    update_settings(write_keep_existing=True)  # the setting does the same
    assert main(["write", str(music), *model]) == 0
    out = capsys.readouterr().out
    assert "wrote the mood of 3 files" in out
    assert tag_dump(one) == before
    assert all(read_tags(p).mood for p in music.rglob("*.*"))


def test_symlink_to_a_song_of_the_same_library_is_written_once(tmp_path, tiny_model_path, capsys):
    """Two tracks, one file (B/.../link.flac -> A/.../song.flac): the plan holds the file
    once (the label wins over the other path's prediction), the other path is a note, not
    a failure; both tracks stay current (no re-analysis) and undo restores the file once."""
    root = tmp_path / "lib"
    song = make_tagged(root / "A" / "Album" / "song.flac", "flac", seed=5)
    link = root / "B" / "Album" / "link.flac"
    link.parent.mkdir(parents=True)
    link.symlink_to(Path("../../A/Album/song.flac"))
    original = tag_dump(song)
    model = ["--model", str(tiny_model_path)]
    _analyze(root, tiny_model_path, capsys)
    assert main(["label", "aggressive", str(link)]) == 0
    capsys.readouterr()

    assert main(["write", str(root), "--dry-run", *model]) == 0
    out = capsys.readouterr().out
    assert [line for line in out.splitlines() if " -> " in line] == [
        "B/Album/link.flac: (none) -> Aggressive"
    ]
    assert "1 file would be written" in out
    assert "A/Album/song.flac: same file as B/Album/link.flac" in out

    assert main(["write", str(root), *model]) == 0
    out = capsys.readouterr().out
    assert "wrote the mood of 1 file in " in out and "changed since" not in out
    assert "A/Album/song.flac: same file as B/Album/link.flac" in out
    assert read_tags(song).mood == "Aggressive"
    st = song.stat()
    with Store.open_default() as store:
        for p in (song, link):
            t = store.track(p)
            assert (t.size, t.mtime_ns, t.mood_tag) == (st.st_size, st.st_mtime_ns, "Aggressive")
    assert main(["analyze", str(root), *model, "--jobs", "1"]) == 0
    assert "analysed 0, 0 could not be read" in capsys.readouterr().out  # nothing re-analysed
    assert main(["write", str(root), "--dry-run", *model]) == 0
    assert "0 files would be written" in capsys.readouterr().out

    assert main(["undo", str(root)]) == 0
    assert "Undo last write: 1 file updated\n" in capsys.readouterr().out
    assert tag_dump(song) == original and link.is_symlink()
    assert main(["analyze", str(root), *model, "--jobs", "1"]) == 0
    assert "analysed 0, 0 could not be read" in capsys.readouterr().out


def test_second_writer_waits_for_the_first(music, tiny_model_path, capsys):
    """A `write` started while another write holds the library's lock says it waits,
    touches nothing, and goes on once the lock is free."""
    import select
    import time

    from tagger.core.writelock import WriteLock

    _analyze(music, tiny_model_path, capsys)
    before = _digest(music)
    with Store.open_default() as store:
        lock = WriteLock(store.path)
    assert lock.try_acquire()
    try:
        proc = subprocess.Popen(
            [sys.executable, "-m", "tagger", "write", str(music), "--model", str(tiny_model_path)],
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
        )
        err, deadline = b"", time.monotonic() + 120
        while b"waiting" not in err and time.monotonic() < deadline:
            if select.select([proc.stderr], [], [], 1.0)[0]:
                chunk = os.read(proc.stderr.fileno(), 4096)
                if not chunk:
                    break
                err += chunk
        assert b"another write or undo is running" in err
        assert _digest(music) == before  # nothing written while it waits
    finally:
        lock.release()
    out, _ = proc.communicate(timeout=120)
    assert proc.returncode == 0
    assert b"wrote the mood of 4 files" in out


def test_files_that_could_not_be_analysed_are_a_note_not_a_failure(music, tiny_model_path, capsys):
    """Nothing can be written to a file with no mood, so `write` does not fail on it: the
    dry run and the write list it with its reason (as the app's preview does), exit 0."""
    from tests.audio_factory import write_bad_files

    bad = write_bad_files(music / "Broken" / "Bad")
    _analyze(music, tiny_model_path, capsys)
    before = {p: p.read_bytes() for p in bad.values()}
    for args in (["--dry-run"], []):
        rc = main(["write", str(music), *args, "--model", str(tiny_model_path)])
        out = capsys.readouterr().out
        assert rc == 0, out
        assert "4 files could not be analysed, so they have no mood to write" in out
        assert "  Broken/Bad/empty.mp3: empty file (0 bytes)\n" in out
        assert "  Broken/Bad/truncated.wav: truncated file: " in out
        assert "failed" not in out and "cannot be written" not in out
    assert "wrote the mood of 4 files" in out
    assert {p: p.read_bytes() for p in bad.values()} == before


def _ctrl_c_after(real, files: int, sigint: bool = False):
    """``real`` (apply_write or undo_last), with Ctrl+C pressed once ``files`` files are
    done: KeyboardInterrupt raised there, or (``sigint``) a real SIGINT, delivered where
    Python next checks, as from the terminal."""
    import signal

    from tagger.core.tagwrite import WriteOutcome

    def interrupted(*args, **kwargs):
        ok = 0
        for event in real(*args, **kwargs):
            yield event
            ok += isinstance(event, WriteOutcome) and event.ok
            if ok == files and isinstance(event, WriteOutcome):
                if not sigint:
                    raise KeyboardInterrupt
                os.kill(os.getpid(), signal.SIGINT)

    return interrupted


def test_ctrl_c_during_a_write_says_what_was_written_and_undo_counts_only_that(
    music, tiny_model_path, capsys, monkeypatch
):
    """Ctrl+C after two of four files: `write` said only "interrupted", and `undo` then
    said "4 file(s) updated", counting the two files never written."""
    import tagger.core.tagwrite as tagwrite

    _analyze(music, tiny_model_path, capsys)
    files = sorted(p for p in music.rglob("*.*") if p.is_file())
    before = {p: tag_dump(p) for p in files}
    real = tagwrite.apply_write
    monkeypatch.setattr(tagwrite, "apply_write", _ctrl_c_after(real, 2))
    assert main(["write", str(music), "--model", str(tiny_model_path)]) == 130
    out, err = capsys.readouterr()
    assert "interrupted: wrote the mood of 2 files in " in out and " of 4\n" in out, out
    assert f"undo with: mood-tagger undo {music}" in out and "interrupted" in err
    monkeypatch.setattr(tagwrite, "apply_write", real)
    assert main(["undo", str(music)]) == 0
    assert "Undo last write: 2 files updated\n" in capsys.readouterr().out
    assert {p: tag_dump(p) for p in files} == before


def test_ctrl_c_during_an_undo_says_how_many_were_restored(
    music, tiny_model_path, capsys, monkeypatch
):
    """An interrupted undo said only "interrupted": not how far it got, nor that running
    it again finishes the job. The folder in the command to paste is quoted."""
    import tagger.core.tagwrite as tagwrite

    spaced = music.rename(music.with_name("my music"))
    files = sorted(p for p in spaced.rglob("*.*") if p.is_file())
    before = {p: tag_dump(p) for p in files}
    _analyze(spaced, tiny_model_path, capsys)
    assert main(["write", str(spaced), "--model", str(tiny_model_path)]) == 0
    assert f"undo with: mood-tagger undo '{spaced}'\n" in capsys.readouterr().out
    real = tagwrite.undo_last
    monkeypatch.setattr(tagwrite, "undo_last", _ctrl_c_after(real, 3))
    assert main(["undo", str(spaced)]) == 130
    out = capsys.readouterr().out
    assert f"interrupted: restored 3 files of 4 in {spaced}; " in out, out
    assert f"run `mood-tagger undo '{spaced}'` again" in out
    monkeypatch.setattr(tagwrite, "undo_last", real)
    assert main(["undo", str(spaced)]) == 0
    assert {p: tag_dump(p) for p in files} == before


def test_undo_finds_a_moved_write_without_an_analyze_first(music, tiny_model_path, capsys):
    """Renaming the music folder (or moving an album) between `write` and `undo` gave
    "nothing to undo", or "file not found" for every moved file, unless `analyze` ran
    in between. `undo` scans first, as `write` and `forget` do."""
    album = music / "Ärtist" / "Album"
    originals = {p.name: tag_dump(p) for p in album.iterdir()}
    _analyze(music, tiny_model_path, capsys)
    assert main(["write", str(music), "--model", str(tiny_model_path)]) == 0
    capsys.readouterr()
    album.rename(music / "Ärtist" / "Renamed")
    renamed = music.with_name("Music library")
    music.rename(renamed)
    assert main(["undo", str(renamed)]) == 0
    assert "Undo last write: 4 files updated\n" in capsys.readouterr().out
    assert {p.name: tag_dump(p) for p in (renamed / "Ärtist" / "Renamed").iterdir()} == originals


def test_ctrl_c_stops_a_write_between_files_with_every_file_counted(
    music, tiny_model_path, capsys, monkeypatch
):
    """Ctrl+C landed anywhere in a file's write: about one run in two the file was
    replaced but neither counted ("wrote 12" for 13 tagged) nor recorded, so the next
    write called it "not analysed yet" and left it out."""
    import signal

    import tagger.core.tagwrite as tagwrite

    # as from a terminal (under nohup or `&` the tests run with Ctrl+C ignored)
    outer = signal.signal(signal.SIGINT, signal.default_int_handler)
    try:
        _ctrl_c_stops_a_write(music, tiny_model_path, capsys, monkeypatch, tagwrite)
    finally:
        signal.signal(signal.SIGINT, outer)


def _ctrl_c_stops_a_write(music, tiny_model_path, capsys, monkeypatch, tagwrite) -> None:
    import signal

    _analyze(music, tiny_model_path, capsys)
    files = sorted(p for p in music.rglob("*.*") if p.is_file())
    before = {p: tag_dump(p) for p in files}
    real = tagwrite.apply_write
    monkeypatch.setattr(tagwrite, "apply_write", _ctrl_c_after(real, 2, sigint=True))
    assert main(["write", str(music), "--model", str(tiny_model_path)]) == 130
    out, err = capsys.readouterr()
    assert "interrupted: wrote the mood of 2 files in " in out and " of 4\n" in out, out
    assert "stopping after this file" in err
    assert sum(tag_dump(p) != before[p] for p in files) == 2
    monkeypatch.setattr(tagwrite, "apply_write", real)
    # every written file's new size and time were recorded: none is "not analysed yet"
    assert main(["write", str(music), "--model", str(tiny_model_path), "--dry-run"]) == 0
    out = capsys.readouterr().out
    assert "not analysed yet" not in out and "2 files would be written" in out, out
    # undo, stopped the same way after one file, says so and finishes when run again
    real_undo = tagwrite.undo_last
    monkeypatch.setattr(tagwrite, "undo_last", _ctrl_c_after(real_undo, 1, sigint=True))
    assert main(["undo", str(music)]) == 130
    assert "interrupted: restored 1 file of 2 in " in capsys.readouterr().out
    monkeypatch.setattr(tagwrite, "undo_last", real_undo)
    assert main(["undo", str(music)]) == 0
    assert {p: tag_dump(p) for p in files} == before
    assert signal.getsignal(signal.SIGINT) is signal.default_int_handler  # put back


def test_undo_on_a_folder_above_or_below_the_write_names_the_write(music, tiny_model_path, capsys):
    """`write Music/Artist`, then `undo Music`: "nothing to undo", while the files kept the
    moods written, with no word of where the write was."""
    artist = music / "Ärtist"
    _analyze(music, tiny_model_path, capsys)
    assert main(["write", str(artist), "--model", str(tiny_model_path)]) == 0
    capsys.readouterr()
    for where in (music, artist / "Album"):
        assert main(["undo", str(where)]) == 0
        out = capsys.readouterr().out
        assert out.startswith(f"nothing to undo in {where.resolve()}\n"), out
        assert f"  {artist.resolve()}  (mood-tagger undo " in out, out
    assert main(["undo", str(artist)]) == 0
    assert "Undo last write: 4 files updated" in capsys.readouterr().out
    assert main(["undo", str(music)]) == 0
    assert capsys.readouterr().out == f"nothing to undo in {music.resolve()}\n"
