"""`mood-tagger forget --missing FOLDER`: songs whose files are gone, and only those."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from tagger.cli import main
from tagger.core.store import Store
from tests.tag_factory import make_tagged


@pytest.fixture
def music(tmp_path) -> Path:
    root = tmp_path / "music"
    for i, fmt in enumerate(["mp3v23", "flac", "ogg", "flac"], start=1):
        ext = "mp3" if fmt == "mp3v23" else fmt
        make_tagged(root / "Artist" / ("Album" if i < 4 else "Other") / f"0{i}.{ext}", fmt, seed=i)
    return root


def _labelled(music: Path, capsys) -> dict[str, Path]:
    songs = {p.name: p for p in sorted(music.rglob("0*.*"))}
    assert main(["-q", "label", "sad", *map(str, songs.values())]) == 0
    assert main(["-q", "analyze", str(music), "--jobs", "1"]) == 0
    capsys.readouterr()
    return songs


def _state(music: Path) -> tuple[list[str], list[str]]:
    """Every song the library knows under ``music``, and those with a label (missing or not)."""
    root = music.resolve()
    with Store.open_default() as store:
        every = store.tracks_under(root, present_only=False)
        labelled = set(store.labels_under(root))
        labelled |= {p for p, (_id, has) in store.missing_tracks(root).items() if has}
        return sorted(every), sorted(labelled)


def test_forget_only_the_missing_songs(music, capsys):
    songs = _labelled(music, capsys)
    songs["01.mp3"].unlink()
    songs["03.ogg"].unlink()
    assert main(["-q", "analyze", str(music), "--jobs", "1"]) == 0  # the scan sees them go
    before = _state(music)
    assert main(["forget", "--missing", str(music), "--dry-run"]) == 0
    out = capsys.readouterr().out
    assert "dry run: 2 songs missing from" in out and "(2 with your label)" in out
    assert "\n  Artist/Album/01.mp3\n  Artist/Album/03.ogg\n" in out
    assert _state(music) == before  # a dry run forgets nothing

    assert main(["forget", "--missing", str(music)]) == 0
    assert "forgot 2 songs missing from" in capsys.readouterr().out
    paths, labels = _state(music)
    kept = [str(songs[n].resolve()) for n in ("02.flac", "04.flac")]
    assert paths == kept and labels == kept  # the others keep their labels
    assert main(["forget", "--missing", str(music)]) == 0
    assert "no songs are missing from" in capsys.readouterr().out
    # a forgotten file that comes back is a new song: no label
    make_tagged(songs["01.mp3"], "mp3v23", seed=1)
    assert main(["-q", "analyze", str(music), "--jobs", "1"]) == 0
    assert str(songs["01.mp3"].resolve()) not in _state(music)[1]


def test_a_folder_that_is_not_there_wipes_nothing(music, tmp_path, capsys):
    """An unplugged drive: the folder is gone, or an empty mount point is left."""
    _labelled(music, capsys)
    before = _state(music)
    away = tmp_path / "away"
    music.rename(away)
    assert main(["forget", "--missing", str(music)]) == 2
    assert "nothing was forgotten" in capsys.readouterr().err
    music.mkdir()  # the mount point, drive not mounted
    assert main(["forget", "--missing", str(music)]) == 2
    err = capsys.readouterr().err
    assert "no audio files found in" in err and "library has 4 songs there" in err
    assert "Nothing was forgotten" in err
    music.rmdir()
    away.rename(music)
    assert main(["-q", "analyze", str(music), "--jobs", "1"]) == 0
    assert _state(music) == before  # every song and label back


def test_moved_songs_keep_their_labels_and_unreadable_folders_are_kept(music, capsys, monkeypatch):
    """The folder is scanned first, so a song moved within it is not missing; songs in a
    folder that could not be read only look missing, so they are kept."""
    import tagger.core.scan as scan_mod

    songs = _labelled(music, capsys)
    (music / "Moved").mkdir()
    shutil.move(songs["02.flac"], music / "Moved" / "02.flac")
    real_walk = scan_mod.iter_audio_files

    def walk(root, errors=None):
        for path in real_walk(root, errors):
            if path.parent.name == "Other":
                continue
            yield path
        errors.append((str(music / "Artist" / "Other"), "Permission denied"))

    monkeypatch.setattr(scan_mod, "iter_audio_files", walk)
    assert main(["forget", "--missing", str(music)]) == 0
    out = capsys.readouterr().out
    assert "no songs are missing from" in out
    assert "1 folder or file could not be read; its songs are kept:" in out
    assert "Artist/Other: Permission denied" in out
    paths, labels = _state(music)
    assert len(paths) == 4 and labels == paths
    assert str((music / "Moved" / "02.flac").resolve()) in labels


def test_forgetting_keeps_undo_for_the_songs_that_are_left(music, capsys):
    songs = _labelled(music, capsys)
    assert main(["-q", "write", str(music)]) == 0
    songs["01.mp3"].unlink()
    assert main(["-q", "forget", "--missing", str(music)]) == 0
    assert main(["undo", str(music)]) == 0
    assert "Undo last write: 3 files updated\n" in capsys.readouterr().out


def test_forget_waits_for_a_write_batch_holding_the_lock(music, capsys):
    """A forget (the command's and the app's core function) takes the write lock that
    write and undo batches take: it waits, forgetting nothing, while another holder has
    it, and stops if cancelled while waiting."""
    import logging
    import threading

    from tagger.core.library import MissingSongs, find_missing, forget_missing
    from tagger.core.progress import CancelToken
    from tagger.core.writelock import WriteLock

    songs = _labelled(music, capsys)
    songs["01.mp3"].unlink()
    with Store.open_default() as store:
        missing = next(e for e in find_missing(music, store) if isinstance(e, MissingSongs))
        before = _state(music)
        other = WriteLock(store.path)  # a write batch, as another process would hold it
        assert other.try_acquire()
        try:
            token = CancelToken()
            token.cancel()
            assert forget_missing(store, missing, token) == 0
            assert _state(music) == before

            waiting = threading.Event()

            class _Seen(logging.Handler):
                def emit(self, record: logging.LogRecord) -> None:
                    if "waiting to forget" in record.getMessage():
                        waiting.set()

            handler = _Seen()
            logging.getLogger("tagger").addHandler(handler)
            result: list[int] = []
            # its own connection, as the app's worker thread opens its own Store
            worker = threading.Thread(
                target=lambda: result.append(_forget_in_own_store(missing)), daemon=True
            )
            try:
                worker.start()
                assert waiting.wait(30)
                assert worker.is_alive() and _state(music) == before  # nothing dropped
            finally:
                other.release()
                worker.join(30)
                logging.getLogger("tagger").removeHandler(handler)
        finally:
            other.release()
    assert result == [1]
    assert str(songs["01.mp3"].resolve()) not in _state(music)[0]


def _forget_in_own_store(missing) -> int:
    from tagger.core.library import forget_missing

    with Store.open_default() as store:
        return forget_missing(store, missing)


def test_songs_behind_a_folder_link_to_a_missing_drive_are_kept(music, tmp_path, capsys):
    """``Music/Other Artist`` links to a folder on another drive. With that drive not
    connected the walk skips the dangling link without a word, so its songs looked deleted
    and forget wiped them (labels too). They are kept and the link is named; a song really
    deleted beside them is still forgotten."""
    drive = tmp_path / "drive"
    make_tagged(drive / "Other Artist" / "Album" / "05.flac", "flac", seed=5)
    (music / "Other Artist").symlink_to(drive / "Other Artist", target_is_directory=True)
    linked = music / "Other Artist" / "Album" / "05.flac"
    assert main(["-q", "label", "calm", str(linked)]) == 0
    songs = _labelled(music, capsys)
    every, _ = _state(music)
    behind = [p for p in every if "/Other Artist/" in p]
    assert len(behind) == 1  # the library knows it by its path through the link

    drive.rename(tmp_path / "unplugged")
    songs["01.mp3"].unlink()
    assert main(["forget", "--missing", str(music)]) == 0
    out = capsys.readouterr().out
    assert "forgot 1 song missing from" in out, out
    assert "Other Artist: it links to a folder or file that is not there" in out, out
    every, labels = _state(music)
    assert behind[0] in every and behind[0] in labels

    (tmp_path / "unplugged").rename(drive)  # plugged in again: all there, nothing missing
    assert main(["forget", "--missing", str(music)]) == 0
    assert "no songs are missing from" in capsys.readouterr().out


def test_songs_on_a_mount_point_with_nothing_mounted_are_kept(music, tmp_path, capsys, monkeypatch):
    """``Music/NAS`` is a mount point (in /etc/fstab) inside the music folder. Unmounted,
    it is an empty folder: its songs looked deleted and forget wiped them, labels too.
    They are kept and the folder is named; a song really deleted beside them still goes."""
    from tagger.core import scan as scan_module

    nas = music / "NAS"
    make_tagged(nas / "Album" / "05.flac", "flac", seed=5)
    songs = _labelled(music, capsys)
    assert main(["-q", "label", "calm", str(nas / "Album" / "05.flac")]) == 0
    fstab = tmp_path / "fstab"
    fstab.write_text(f"server:/music {nas} nfs defaults 0 0\n", encoding="utf-8")
    monkeypatch.setattr(scan_module, "FSTAB", fstab)

    shutil.rmtree(nas / "Album")  # unmounted: the mount point is an empty folder
    songs["01.mp3"].unlink()
    assert main(["forget", "--missing", str(music)]) == 0
    out = capsys.readouterr().out
    assert "forgot 1 song" in out, out
    assert "NAS: nothing is mounted on this folder" in out, out
    every, labels = _state(music)
    on_nas = [p for p in every if "/NAS/" in p]
    assert len(on_nas) == 1 and on_nas[0] in labels
