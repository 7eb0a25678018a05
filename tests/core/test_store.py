"""The library database: damaged or too-new files are handled, never a traceback."""

from __future__ import annotations

import sqlite3

import pytest

from tagger.cli import main
from tagger.core.errors import StoreError
from tagger.core.paths import app_dirs
from tagger.core.store import Store, StoreCorrupt
from tests.audio_factory import write_audio


def _bare_track(path) -> dict:
    """A track record with no tags, as the scan stores it."""
    return {
        "path": str(path),
        "size": 1,
        "mtime_ns": 1,
        **dict.fromkeys(
            ("title", "artist", "album", "tracknumber", "mood_tag", "duration", "tag_error")
        ),
    }


def test_damaged_database_is_moved_aside_and_replaced(tmp_path, capsys):
    root = tmp_path / "music"
    write_audio(root / "A" / "B" / "1.wav", 3.0)
    with Store.open_default() as store:
        assert store.recovered_from is None
    db = app_dirs().database
    garbage = bytes(range(256)) * 40
    db.write_bytes(garbage)
    with pytest.raises(StoreCorrupt, match="damaged"):
        Store(db)  # an explicit path is not touched
    assert db.read_bytes() == garbage

    with Store.open_default() as store:  # the app's own database is replaced...
        aside = store.recovered_from
        assert aside is not None and aside.parent == db.parent
        assert aside.read_bytes() == garbage  # ...and the damaged copy kept, byte for byte
        assert store.tracks_under(root) == {}
    # the commands go on working, and say what happened
    db.write_bytes(garbage)
    assert main(["-q", "analyze", str(root), "--jobs", "1"]) == 0
    captured = capsys.readouterr()
    assert "damaged" in captured.err and "1 audio file in " in captured.out
    # two damaged copies, both kept (even within the same second)
    kept = sorted(db.parent.glob("library.sqlite3.damaged-*"))
    assert len(kept) == 2 and all(p.read_bytes() == garbage for p in kept)


def test_a_database_damaged_past_its_header_is_moved_aside_too(tmp_path, capsys):
    """Pages damaged after the first one (the header reads fine) failed every command,
    and the app, with "database disk image is malformed" mid-query, run after run."""
    root = tmp_path / "music"
    for i in range(3):
        write_audio(root / "A" / "B" / f"{i}.wav", 3.0, seed=i)
    assert main(["-q", "analyze", str(root), "--jobs", "1"]) == 0
    capsys.readouterr()
    db = app_dirs().database
    with Store(db) as store:  # enough rows for the tables to span several pages
        store.upsert_tracks([_bare_track(tmp_path / f"x{i:04d}.mp3") for i in range(400)])
        store.db.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    data = bytearray(db.read_bytes())
    assert len(data) > 3 * 4096
    data[4096:] = b"\xff" * (len(data) - 4096)
    db.write_bytes(bytes(data))
    with pytest.raises(StoreCorrupt, match="damaged"):
        Store(db)
    assert main(["-q", "analyze", str(root), "--jobs", "1"]) == 0
    captured = capsys.readouterr()
    assert "damaged" in captured.err and "Traceback" not in captured.err
    assert "3 audio files in " in captured.out
    (aside,) = db.parent.glob("library.sqlite3.damaged-*")
    assert aside.read_bytes() == bytes(data)


def test_database_from_a_newer_version_is_refused_plainly(tmp_path, capsys):
    db = app_dirs().database
    with Store.open_default():
        pass
    con = sqlite3.connect(db)
    con.execute("PRAGMA user_version=999")
    con.close()
    with pytest.raises(StoreError, match="newer version"):
        Store.open_default()
    assert main(["analyze", str(tmp_path)]) == 2
    assert "newer version of Mood Tagger" in capsys.readouterr().err


def test_a_database_made_before_names_version_gains_the_column(tmp_path):
    """An older database has no ``names_version``: opening it adds the column (names
    read the old way, 0) and keeps every track; the version number is unchanged, so the
    previous release still opens the file."""
    path = tmp_path / "old.sqlite3"
    with Store(path) as store:
        store.upsert_tracks([_bare_track(tmp_path / "a.flac")])
        store.db.execute("ALTER TABLE tracks DROP COLUMN names_version")
        store.db.commit()
        version = store.db.execute("PRAGMA user_version").fetchone()[0]
    with Store(path) as store:
        (track,) = store.tracks_under(tmp_path).values()
        assert track.names_version == 0
        assert store.db.execute("PRAGMA user_version").fetchone()[0] == version


def test_unusable_database_path_is_a_plain_error(tmp_path, capsys):
    db = tmp_path / "db.sqlite3"
    db.mkdir()  # a folder where the database should be
    with pytest.raises(StoreError, match="cannot open the library database"):
        Store(db)


def test_database_full_part_way_is_a_plain_error(tmp_path, capsys, monkeypatch):
    """The disk fills up during an analysis: a message, what was stored before is kept."""
    root = tmp_path / "music"
    for i in range(3):
        write_audio(root / "A" / "B" / f"{i}.wav", 3.0, seed=i)
    saved = []
    real = Store.save_prediction

    def save(self, *args, **kwargs):
        if saved:
            raise sqlite3.OperationalError("database or disk is full")
        saved.append(args[0])
        return real(self, *args, **kwargs)

    monkeypatch.setattr(Store, "save_prediction", save)
    assert main(["-q", "analyze", str(root), "--jobs", "1"]) == 1
    err = capsys.readouterr().err
    assert "could not be updated: database or disk is full" in err
    assert "Traceback" not in err
    monkeypatch.setattr(Store, "save_prediction", real)
    assert main(["-q", "analyze", str(root), "--jobs", "1"]) == 0
    assert "analysed 2, 0 could not be read, from cache 1" in capsys.readouterr().out


def test_data_folder_that_cannot_be_created_is_a_plain_error(tmp_path, capsys, monkeypatch):
    blocker = tmp_path / "a file"
    blocker.write_text("not a folder")
    monkeypatch.setenv("MOOD_TAGGER_HOME", str(blocker / "home"))
    with pytest.raises(StoreError, match="cannot create the app's data folder"):
        Store.open_default()
    assert main(["-q", "analyze", str(tmp_path)]) == 2
    assert "set MOOD_TAGGER_HOME to a writable folder" in capsys.readouterr().err


def test_add_labels_labels_many_tracks_in_one_go(tmp_path):
    store = Store(tmp_path / "library.sqlite")
    root = tmp_path / "music"
    store.upsert_tracks([_bare_track(root / f"{i}.mp3") for i in range(3)])
    ids = {t.path: t.id for t in store.tracks_under(root).values()}
    store.add_labels(ids.values(), "calm")
    assert store.labels_under(root) == dict.fromkeys(ids, "calm")
    first = str(root / "0.mp3")
    store.add_labels([ids[first]], None)  # cleared: the newest label wins
    assert first not in store.labels_under(root) and len(store.labels_under(root)) == 2
    with pytest.raises(ValueError, match="unknown mood"):
        store.add_labels(ids.values(), "chill")
    assert len(store.labels_under(root)) == 2  # nothing half-done
    store.close()


def test_missing_under_lists_gone_tracks_that_had_a_mood(tmp_path):
    """Tracks marked missing with a label or a valid prediction of the model are listed;
    present ones, ones never analysed, failed or cleared ones, and other models' are not."""
    store = Store(tmp_path / "library.sqlite")
    root = tmp_path / "music"
    names = ["label", "pred", "present", "none", "error", "cleared", "other", "stale"]
    store.upsert_tracks(_bare_track(root / f"{n}.mp3") for n in names)
    ids = {n: store.track(root / f"{n}.mp3").id for n in names}
    store.add_label(ids["label"], "sad")
    store.add_label(ids["cleared"], "sad")
    store.add_label(ids["cleared"], None)
    probs = (0.1, 0.2, 0.3, 0.4)
    for n in ("pred", "present"):
        store.save_prediction(ids[n], "m1", 4, 1, 1, probs)
    store.save_prediction(ids["error"], "m1", 4, 1, 1, None, error="not audio")
    store.save_prediction(ids["other"], "m2", 4, 1, 1, probs)
    store.save_prediction(ids["stale"], "m1", 4, 2, 1, probs)  # an older version of it
    store.mark_missing(str(root / f"{n}.mp3") for n in names if n != "present")
    assert store.missing_under(root, "m1", 4) == [str(root / "label.mp3"), str(root / "pred.mp3")]
    assert store.missing_under(root, "m1", 5) == [str(root / "label.mp3")]
    assert store.missing_under(tmp_path / "elsewhere", "m1", 4) == []
    store.close()


def test_a_locked_database_is_said_to_be_in_use_not_blamed_on_the_disk(capsys):
    with Store.open_default():
        pass
    other = sqlite3.connect(app_dirs().database, isolation_level=None)
    other.execute("BEGIN EXCLUSIVE")
    try:
        with pytest.raises(StoreError, match="in use by another program"):
            Store(app_dirs().database, timeout=0.1)
    finally:
        other.execute("ROLLBACK")
        other.close()
