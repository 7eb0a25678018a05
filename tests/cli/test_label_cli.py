"""`mood-tagger label MOOD FILE...`: each bad file is its own error, the rest are labelled."""

from __future__ import annotations

import os

from tagger.cli import main
from tagger.core.store import Store
from tests.audio_factory import write_audio


def _labels(root) -> dict[str, str]:
    with Store.open_default() as store:
        return {os.path.basename(p): m for p, m in store.labels_under(root.resolve()).items()}


def test_a_file_name_that_is_not_utf8_is_an_error_for_that_file_only(tmp_path, capsys):
    """A glob like ``Album/*.wav`` met a name with a Latin-1 byte: a UnicodeEncodeError
    traceback, and the files after it were not labelled."""
    album = tmp_path / "music" / "A" / "B"
    first = write_audio(album / "01.wav", seconds=2.0)
    bad = os.fsdecode(os.fsencode(str(album)) + b"/02 caf\xe9.wav")
    write_audio(first.with_name("tmp.wav"), seconds=2.0).rename(bad)
    last = write_audio(album / "03.wav", seconds=2.0, seed=3)
    assert main(["label", "calm", str(first), bad, str(last)]) == 1
    out, err = capsys.readouterr()
    assert "labelled 2 files as Calm" in out
    assert "02 caf\ufffd.wav: file name is not valid UTF-8" in err and "Traceback" not in err
    assert _labels(tmp_path / "music") == {"01.wav": "calm", "03.wav": "calm"}


def test_a_folder_is_named_as_a_folder_and_clearing_counts_only_labels(tmp_path, capsys):
    album = tmp_path / "music" / "A" / "B"
    songs = [write_audio(album / f"0{i}.wav", seconds=2.0, seed=i) for i in range(3)]
    assert main(["label", "sad", str(album), str(songs[0])]) == 1
    out, err = capsys.readouterr()
    assert "labelled 1 file as Sad" in out
    assert "is a folder: give its audio files" in err  # it said "not an audio file"
    # clearing: one had a label, two had none (it said "cleared the label of 3 files")
    assert main(["label", "none", *map(str, songs)]) == 0
    assert "cleared the label of 1 file (2 had no label)" in capsys.readouterr().out
    assert _labels(tmp_path / "music") == {}


def test_labelling_a_file_renamed_since_the_scan_keeps_its_track(tmp_path, capsys):
    """`label` on a file renamed in its folder since the last scan made a new track: the
    old one (prediction, earlier label, write history) was stranded as missing, and undo
    failed with "file not found" every time. The track follows the file, as a scan does;
    names read with a guessed music folder are read again by the next scan."""
    from tagger.core.scan import scan

    music = tmp_path / "music"
    song = write_audio(music / "Nina_Simone" / "Album" / "track1.wav", seconds=2.0)
    with Store.open_default() as store:
        list(scan(music, store))
        old = store.track(song)
        store.add_label(old.id, "sad")
    renamed = song.with_name("01_-_Nina_Simone_-_Be_My_Husband.wav")
    song.rename(renamed)
    assert main(["label", "happy", str(renamed)]) == 0
    with Store.open_default() as store:
        track = store.track(renamed)
        assert track.id == old.id and store.track(song) is None
        assert store.labels_under(music) == {str(renamed): "happy"}
        list(scan(music, store))
        assert store.missing_tracks(music) == {}
        assert store.track(renamed).title == "Be My Husband"
