"""Mood tag batches: plan, atomic journalled write and exact undo, in every format."""

from __future__ import annotations

import os
import stat
from pathlib import Path

import mutagen
import mutagen.id3
import pytest

from tagger.core.analysis import ANALYSIS_VERSION
from tagger.core.library import library_rows
from tagger.core.scan import scan
from tagger.core.store import Store
from tagger.core.tags import TAG_TABLE, read_tags
from tagger.core.tagwrite import (
    PlannedChange,
    WriteOutcome,
    WriteSummary,
    apply_write,
    plan_write,
    summary_text,
    undo_last,
)
from tests.audio_factory import FORMATS, write_audio
from tests.tag_factory import (
    CASES,
    audio_hash,
    make_tagged,
    make_untagged,
    tag_dump,
    without,
)

MODEL = "test-model"
HAPPY = (0.7, 0.1, 0.1, 0.1)
UNSURE = (0.3, 0.25, 0.25, 0.2)


def _store(tmp_path: Path) -> Store:
    return Store(tmp_path / "library.sqlite")


def _scan_and_predict(root: Path, store: Store, probs=HAPPY) -> dict:
    for _ in scan(root, store):
        pass
    tracks = store.tracks_under(root)
    for t in tracks.values():
        p = probs(t.path) if callable(probs) else probs
        store.save_prediction(t.id, MODEL, ANALYSIS_VERSION, t.size, t.mtime_ns, p, 2.0)
    return tracks


def _run(gen) -> tuple[list[WriteOutcome], WriteSummary]:
    outcomes, summary = [], None
    for ev in gen:
        if isinstance(ev, WriteOutcome):
            outcomes.append(ev)
        elif isinstance(ev, WriteSummary):
            summary = ev
    assert summary is not None
    return outcomes, summary


def _mood_keys(case: str) -> tuple[str, ...]:
    fam = {
        "mp3v23": "id3v23",
        "flac": "vorbis",
        "ogg": "vorbis",
        "oga": "vorbis",
        "opus": "vorbis",
        "m4a": "mp4",
        "wma": "asf",
        "wavpack": "ape",
    }.get(case, "id3")
    row = TAG_TABLE[fam]
    return (row.mood, *row.mood_read, row.arousal, row.valence)


@pytest.mark.parametrize("case", sorted(CASES))
def test_round_trip(case, tmp_path):
    root = tmp_path / "music"
    ext = CASES[case]
    labelled = make_tagged(root / "Artist" / "Album" / f"01 labelled{ext}", case, seed=1)
    predicted = make_tagged(root / "Artist" / "Album" / f"02 predicted{ext}", case, seed=2)
    files = [labelled, predicted]
    before = {p: tag_dump(p) for p in files}
    audio = {p: audio_hash(p) for p in files}
    old_mood = read_tags(labelled).mood
    store = _store(tmp_path)
    tracks = _scan_and_predict(root, store)
    store.add_label(tracks[str(labelled)].id, "sad")

    changes = {c.path: c for c in plan_write(root, store, MODEL)}
    assert changes[str(labelled)].new_value == "Sad"  # the label wins over the prediction
    assert changes[str(labelled)].source == "label"
    assert changes[str(labelled)].old_value == old_mood
    assert changes[str(predicted)].new_value == "Happy"
    assert changes[str(predicted)].source == "prediction"
    assert [p.read_bytes() for p in files] == [p.read_bytes() for p in files]  # plan: no I/O

    outcomes, summary = _run(apply_write(list(changes.values()), store, root))
    assert summary.written == 2 and summary.failed == 0, outcomes
    assert read_tags(labelled).mood == "Sad"
    assert read_tags(predicted).mood == "Happy"
    keys = _mood_keys(case)
    for p in files:
        after = tag_dump(p)
        assert without(after, *keys) == without(before[p], *keys)  # nothing else changed
        assert audio_hash(p) == audio[p]
        if case == "mp3v23":
            assert after["version"] == (2, 3, 0)
            assert "TXXX:MOOD" in after["tags"] and "TMOO" not in after["tags"]
            assert "TXXX:mood" not in after["tags"]  # no second, stale mood
        elif case.startswith("mp3") or case in ("wav", "aiff"):
            assert after["version"] == (2, 4, 0) and "TMOO" in after["tags"]
        elif case == "m4a":
            raw = mutagen.File(p).tags["----:com.apple.iTunes:MOOD"][0]
            assert bytes(raw) in (b"Sad", b"Happy")
    # the store follows the write: no re-analysis, mood tag known
    now = store.tracks_under(root)
    assert now[str(labelled)].mood_tag == "Sad"
    assert now[str(labelled)].size == labelled.stat().st_size
    assert set(store.predictions_under(root, MODEL, ANALYSIS_VERSION)) == {str(p) for p in files}
    assert plan_write(root, store, MODEL) == []  # already written: nothing left to do

    outcomes, summary = _run(undo_last(root, store))
    assert summary.written == 2 and summary.failed == 0, outcomes
    for p in files:
        assert tag_dump(p) == before[p]  # exactly the original tags
        assert audio_hash(p) == audio[p]
    assert store.tracks_under(root)[str(labelled)].mood_tag == old_mood
    _, summary = _run(undo_last(root, store))
    assert summary.batch_id is None  # nothing left to undo


def test_keep_existing_lets_predictions_only_fill_in(tmp_path):
    root = tmp_path / "music"
    tagged = make_tagged(root / "A" / "B" / "01 tagged.mp3", "mp3v23", seed=1)
    labelled = make_tagged(root / "A" / "B" / "02 labelled.mp3", "mp3v23", seed=2)
    bare = make_tagged(root / "A" / "B" / "03 bare.flac", "flac", seed=3)
    assert read_tags(tagged).mood == read_tags(labelled).mood == "calm"
    assert read_tags(bare).mood is None
    store = _store(tmp_path)
    tracks = _scan_and_predict(root, store)
    store.add_label(tracks[str(labelled)].id, "sad")
    every = {c.path: c.new_value for c in plan_write(root, store, MODEL)}
    assert every == {str(tagged): "Happy", str(labelled): "Sad", str(bare): "Happy"}
    kept = {c.path: c.new_value for c in plan_write(root, store, MODEL, keep_existing=True)}
    assert kept == {str(labelled): "Sad", str(bare): "Happy"}  # labels are still written
    only = plan_write(root, store, MODEL, only={tracks[str(bare)].id})  # a selection
    assert [c.path for c in only] == [str(bare)]


@pytest.mark.parametrize("case", ["wma", "wavpack"])
def test_wma_and_wavpack_moods_set_by_other_apps(case, tmp_path):
    """Several mood values, in another app's spelling (foobar2000 writes APEv2 keys upper
    case): all are shown, all are replaced (keeping the spelling), undo restores them."""
    root = tmp_path / "music"
    path = make_tagged(root / "Artist" / "Album" / f"01 song{CASES[case]}", case)
    f = mutagen.File(path)
    if case == "wma":
        f.tags["WM/Mood"] = ["Chill", "Relaxed"]
    else:
        f.tags["MOOD"] = "Chill\0Relaxed"
    f.save()
    before, audio = tag_dump(path), audio_hash(path)
    assert read_tags(path).mood == "Chill; Relaxed"
    store = _store(tmp_path)
    tracks = _scan_and_predict(root, store)
    store.add_label(tracks[str(path)].id, "calm")
    changes = plan_write(root, store, MODEL)
    assert [(c.old_value, c.new_value) for c in changes] == [("Chill; Relaxed", "Calm")]

    _, summary = _run(apply_write(changes, store, root))
    assert summary.written == 1 and summary.failed == 0
    tags = mutagen.File(path).tags
    if case == "wma":
        assert [str(a) for a in tags["WM/Mood"]] == ["Calm"]
    else:
        assert [k for k in tags if k.lower() == "mood"] == ["MOOD"]
        assert list(tags["MOOD"]) == ["Calm"]
    assert read_tags(path).mood == "Calm" and audio_hash(path) == audio

    _, summary = _run(undo_last(root, store))
    assert summary.written == 1 and summary.failed == 0
    assert tag_dump(path) == before and audio_hash(path) == audio


@pytest.mark.parametrize("ext", [".mp3", ".wav", ".flac", ".m4a"])
def test_file_without_tags_gets_natural_tag_and_undo_removes_it(ext, tmp_path):
    from tests.audio_factory import write_audio

    root = tmp_path / "music"
    path = write_audio(root / f"bare{ext}", seconds=2.0)
    if ext in (".mp3", ".wav"):
        f = mutagen.File(path)
        if f.tags is not None:
            f.delete()
    original = path.read_bytes()
    had_tags = mutagen.File(path).tags is not None
    store = _store(tmp_path)
    _scan_and_predict(root, store)
    _, summary = _run(apply_write(plan_write(root, store, MODEL), store, root))
    assert summary.written == 1
    f = mutagen.File(path)
    assert read_tags(path).mood == "Happy"
    if ext in (".mp3", ".wav"):
        assert f.tags.version == (2, 4, 0) and "TMOO" in f.tags
    _run(undo_last(root, store))
    if not had_tags:
        assert mutagen.File(path).tags is None
        assert path.read_bytes() == original
    assert read_tags(path).mood is None


def _write_then_undo(root: Path, path: Path, tmp_path: Path, scores: bool = False) -> None:
    """Label ``path`` Happy (with energy/valence scores if asked), write it, undo it."""
    store = _store(tmp_path)
    tracks = _scan_and_predict(root, store)
    extra = {"arousal": "73", "valence": "40"} if scores else {}
    change = PlannedChange(tracks[str(path)].id, str(path), None, "Happy", "label", extra)
    before = path.read_bytes()
    _, summary = _run(apply_write([change], store, root))
    assert summary.written == 1 and summary.failed == 0
    assert read_tags(path).mood == "Happy" and path.read_bytes() != before
    _, summary = _run(undo_last(root, store))
    assert summary.written == 1 and summary.failed == 0


@pytest.mark.parametrize("scores", [False, True], ids=["mood", "mood+scores"])
@pytest.mark.parametrize("fmt", sorted(FORMATS))
def test_undo_gives_an_untagged_file_back_byte_for_byte(fmt, scores, tmp_path):
    """No tag block at all (see make_untagged): the undo removes the block the write added
    with the padding it took, so the file is again what it was. With the scores a FLAC
    comment no longer fits in the old padding: the file grows, and shrinks back. An Ogg
    file always has its comment header: once the scores outgrew its padding it kept the
    new padding (the old tags, not the old bytes); the padding is now sized back too."""
    root = tmp_path / "music"
    path = make_untagged(root / "Artist" / "Album" / f"01 song{FORMATS[fmt]}")
    original, tags = path.read_bytes(), tag_dump(path)
    _write_then_undo(root, path, tmp_path, scores)
    assert tag_dump(path) == tags
    assert path.read_bytes() == original


@pytest.mark.parametrize("v2", [3, 4])
def test_undo_gives_an_mp3_whose_tag_had_to_grow_back_byte_for_byte(v2, tmp_path):
    """An ID3 tag with no padding to spare (ffmpeg writes one of 45 bytes): the write grows
    it, and the undo kept the grown tag, so the file was tag-for-tag but not byte-for-byte
    what it was. The undo now sizes the padding back to the file's old size."""
    root = tmp_path / "music"
    path = write_audio(root / "Artist" / "Album" / "01 song.mp3", seconds=2.0)
    f = mutagen.File(path)
    if f.tags is None:
        f.add_tags()
    f.tags.add(mutagen.id3.TIT2(encoding=3, text=["Tïtle"]))
    f.save(v2_version=v2, padding=lambda info: 0)
    assert mutagen.File(path).tags.version[1] == v2
    original, audio = path.read_bytes(), audio_hash(path)
    _write_then_undo(root, path, tmp_path, scores=True)
    assert path.read_bytes() == original and audio_hash(path) == audio


def test_undo_gives_a_faststart_m4a_back_byte_for_byte(tmp_path):
    """An M4A whose ``moov`` comes before the audio: removing the atoms a write added
    moves every chunk offset back (else the audio would be read from the wrong place)."""
    from mutagen.mp4 import Atoms

    from tagger.core.tags import _mp4_drop_empty_meta

    root = tmp_path / "music"
    path = root / "Artist" / "Album" / "01 song.m4a"
    write_audio(path, seconds=2.0, options={"movflags": "+faststart"})
    audio = audio_hash(path)
    f = mutagen.File(path)
    f.tags.clear()
    f.save()
    _mp4_drop_empty_meta(str(path))  # ffmpeg's udta/meta/ilst gone, the audio moved up
    with open(path, "rb") as fh:
        atoms = Atoms(fh)
    names = [a.name for a in atoms.atoms]
    assert names.index(b"moov") < names.index(b"mdat")
    assert b"udta" not in [a.name for a in atoms[b"moov"].children]
    assert audio_hash(path) == audio
    original = path.read_bytes()
    _write_then_undo(root, path, tmp_path)
    assert path.read_bytes() == original and audio_hash(path) == audio


def test_undo_keeps_an_m4a_udta_that_was_there(tmp_path):
    """``moov.udta`` with other atoms (a camera's ``©xyz`` location) but no metadata: the
    write puts its ``meta`` in that ``udta``, the undo takes out only the ``meta``."""
    import struct

    root = tmp_path / "music"
    path = make_untagged(root / "Artist" / "Album" / "01 song.m4a")
    data = path.read_bytes()  # moov is the last atom: an atom appended to it moves nothing
    where = b"+48.85+2.35/"
    xyz = struct.pack(">I4sHH", 12 + len(where), b"\xa9xyz", len(where), 0x15C7) + where
    udta = struct.pack(">I4s", 8 + len(xyz), b"udta") + xyz
    moov = data.rindex(b"moov") - 4
    size = int.from_bytes(data[moov : moov + 4], "big") + len(udta)
    path.write_bytes(data[:moov] + size.to_bytes(4, "big") + data[moov + 4 :] + udta)
    assert mutagen.File(path).tags is None
    original = path.read_bytes()
    _write_then_undo(root, path, tmp_path)
    assert path.read_bytes() == original


@pytest.mark.parametrize("case", ["mp3v24", "mp3v23", "m4a"])
def test_a_mood_name_in_another_case_is_replaced_and_put_back(case, tmp_path):
    """A mood under ``TXXX:Mood`` / ``----:com.apple.iTunes:Mood``: each write leaves one
    mood in the file, each undo puts the old one back under its own spelling."""
    from mutagen.id3 import TXXX
    from mutagen.mp4 import MP4FreeForm

    root = tmp_path / "music"
    path = make_tagged(root / "Artist" / "Album" / f"01 song{CASES[case]}", case)
    f = mutagen.File(path)
    if case == "m4a":
        f.tags["----:com.apple.iTunes:Mood"] = [MP4FreeForm(b"Chill")]
    else:
        f.tags.delall("TXXX:mood")
        f.tags.add(TXXX(encoding=1, desc="Mood", text=["Chill"]))
    f.save(**({} if case == "m4a" else {"v2_version": 3 if case == "mp3v23" else 4}))
    before = tag_dump(path)
    store = _store(tmp_path)
    tracks = _scan_and_predict(root, store)
    track_id = tracks[str(path)].id
    for mood in ("Happy", "Sad"):  # write, undo, write again, undo again
        change = PlannedChange(track_id, str(path), "Chill", mood, "label")
        _, summary = _run(apply_write([change], store, root))
        assert summary.written == 1
        moods = [k for k in tag_dump(path)["tags"] if k.lower().endswith("mood") or k == "TMOO"]
        assert len(moods) == 1 and read_tags(path).mood == mood
        _, summary = _run(undo_last(root, store))
        assert summary.written == 1 and summary.failed == 0
        assert tag_dump(path) == before
        assert store.tracks_under(root)[str(path)].mood_tag == "Chill"


@pytest.mark.parametrize("ext", [".mp3", ".wav"])
def test_several_values_in_an_id3v23_tag_stay_apart(ext, tmp_path):
    """v2.3 has no multi-value frames, but taggers store several values NUL-separated
    (as v2.4 does): a write joined them with "/" (two artists became one "A/B", the old
    moods "Chill/Dark"), and undo could not give them back."""
    from mutagen.id3 import TPE1, TXXX

    root = tmp_path / "music"
    path = make_tagged(root / "Artist" / "Album" / f"01 song{ext}", "mp3v23")
    f = mutagen.File(path)
    f.tags.add(TPE1(encoding=1, text=["Artist A", "Artist B"]))
    f.tags.delall("TXXX:mood")
    f.tags.add(TXXX(encoding=1, desc="MOOD", text=["Chill", "Dark"]))
    f.save(v2_version=3, v23_sep=None)
    before = tag_dump(path)
    assert read_tags(path).mood == "Chill; Dark"
    store = _store(tmp_path)
    tracks = _scan_and_predict(root, store)
    change = PlannedChange(tracks[str(path)].id, str(path), "Chill; Dark", "Happy", "label")
    _, summary = _run(apply_write([change], store, root))
    assert summary.written == 1
    raw = type(mutagen.File(path).tags)(path, translate=False)  # a WAV's ID3 chunk too
    assert raw.version == (2, 3, 0) and raw["TPE1"].text == ["Artist A", "Artist B"]
    assert without(tag_dump(path), *_mood_keys("mp3v23")) == without(before, *_mood_keys("mp3v23"))
    _, summary = _run(undo_last(root, store))
    assert summary.written == 1 and tag_dump(path) == before


def test_deleted_read_only_and_changed_files_are_per_file_errors(tmp_path):
    root = tmp_path / "music"
    paths = [make_tagged(root / f"{i}.flac", "flac", seed=i) for i in range(4)]
    store = _store(tmp_path)
    _scan_and_predict(root, store)
    changes = plan_write(root, store, MODEL)
    assert len(changes) == 4
    paths[0].unlink()  # deleted between analysis and write
    paths[1].chmod(0o444)  # read-only (refused even for root)
    f = mutagen.File(paths[2])  # changed by another program since the scan
    f.tags["TITLE"] = "edited elsewhere"
    f.save()
    ro_bytes = paths[1].read_bytes()
    changed_bytes = paths[2].read_bytes()
    outcomes, summary = _run(apply_write(changes, store, root))
    errors = dict(summary.errors)
    assert summary.written == 1 and summary.failed == 3
    assert "not found" in errors[str(paths[0])]
    assert "read-only" in errors[str(paths[1])]
    assert "changed" in errors[str(paths[2])]
    assert read_tags(paths[3]).mood == "Happy"
    assert paths[1].read_bytes() == ro_bytes and stat.S_IMODE(paths[1].stat().st_mode) == 0o444
    assert paths[2].read_bytes() == changed_bytes
    assert {o.path for o in outcomes if not o.ok} == {str(p) for p in paths[:3]}
    assert not [n for n in os.listdir(root) if n.startswith(".")]  # no temporary files left


def test_unreadable_file_is_never_written(tmp_path):
    root = tmp_path / "music"
    bad = root / "corrupt.mp3"
    bad.parent.mkdir(parents=True)
    bad.write_bytes(b"\x00garbage" * 500)
    good = make_tagged(root / "good.mp3", "mp3v24")
    store = _store(tmp_path)
    tracks = _scan_and_predict(root, store)
    store.add_label(tracks[str(bad)].id, "calm")
    original = bad.read_bytes()
    _, summary = _run(apply_write(plan_write(root, store, MODEL), store, root))
    assert summary.written == 1 and summary.failed == 1
    assert bad.read_bytes() == original
    assert read_tags(good).mood == "Happy"


def test_permissions_kept_and_symlink_followed(tmp_path):
    root = tmp_path / "music"
    real = make_tagged(tmp_path / "elsewhere" / "song.ogg", "ogg")
    real.chmod(0o640)
    link = root / "song.ogg"
    link.parent.mkdir(parents=True)
    link.symlink_to(real)
    store = _store(tmp_path)
    _scan_and_predict(root, store)
    _, summary = _run(apply_write(plan_write(root, store, MODEL), store, root))
    assert summary.written == 1
    assert link.is_symlink()
    assert read_tags(real).mood == "Happy"
    assert stat.S_IMODE(real.stat().st_mode) == 0o640


def _acl(*entries: tuple[int, int, int]) -> bytes:
    """A POSIX ACL as Linux stores it in ``system.posix_acl_access``."""
    import struct

    return struct.pack("<I", 2) + b"".join(struct.pack("<HHI", *e) for e in entries)


@pytest.mark.skipif(not hasattr(os, "setxattr"), reason="no extended attributes here")
def test_write_and_undo_keep_extended_attributes_acls_and_set_group_id(tmp_path):
    """Each file is replaced by a rewritten copy, which kept only the mode: desktop tags
    and ratings (user.xdg.tags, user.baloo.rating) and a POSIX ACL giving another user
    write access were gone after a write, and chmod before chown lost set-group-ID."""
    root = tmp_path / "music"
    song = make_tagged(root / "A" / "song.flac", "flac")
    try:
        os.setxattr(song, "user.xdg.tags", b"favourite,road trip")
        os.setxattr(song, "user.baloo.rating", b"8")
    except OSError:
        pytest.skip("this file system has no user extended attributes")
    acl = _acl(
        (1, 6, 0xFFFFFFFF),
        (2, 6, 4321),
        (4, 4, 0xFFFFFFFF),
        (0x10, 6, 0xFFFFFFFF),
        (0x20, 4, 0xFFFFFFFF),
    )
    try:
        os.setxattr(song, "system.posix_acl_access", acl)
    except OSError:
        acl = None  # no ACLs on this file system: the user attributes are still checked
    song.chmod(0o2664)
    mode = stat.S_IMODE(song.stat().st_mode)
    before = {n: os.getxattr(song, n) for n in os.listxattr(song)}
    store = _store(tmp_path)
    _scan_and_predict(root, store)
    _, summary = _run(apply_write(plan_write(root, store, MODEL), store, root))
    assert summary.written == 1 and read_tags(song).mood == "Happy"
    after = {n: os.getxattr(song, n) for n in os.listxattr(song)}
    assert after == before and stat.S_IMODE(song.stat().st_mode) == mode
    if acl is not None:
        assert after["system.posix_acl_access"] == acl
    _, summary = _run(undo_last(root, store))
    assert summary.written == 1
    assert {n: os.getxattr(song, n) for n in os.listxattr(song)} == before
    assert stat.S_IMODE(song.stat().st_mode) == mode


def test_a_file_whose_attributes_the_copy_cannot_keep_is_not_written(tmp_path, monkeypatch):
    """Refused, not written without them: the file and its tags stay as they were."""
    root = tmp_path / "music"
    song = make_tagged(root / "A" / "song.ogg", "ogg")
    try:
        os.setxattr(song, "user.xdg.tags", b"favourite")
    except (OSError, AttributeError):
        pytest.skip("this file system has no user extended attributes")
    before = song.read_bytes()
    store = _store(tmp_path)
    _scan_and_predict(root, store)

    def refuse(path, name, value, *a, **k):
        raise OSError(95, "Operation not supported")

    monkeypatch.setattr(os, "setxattr", refuse)
    outcomes, summary = _run(apply_write(plan_write(root, store, MODEL), store, root))
    assert summary.written == 0 and summary.failed == 1
    assert "user.xdg.tags" in next(o.error for o in outcomes if o.error)
    assert song.read_bytes() == before
    assert not [p for p in song.parent.iterdir() if p != song]  # no temporary copy left


def test_min_confidence_and_existing_value(tmp_path):
    root = tmp_path / "music"
    sure = make_tagged(root / "sure.flac", "flac", seed=1)
    unsure = make_tagged(root / "unsure.flac", "flac", seed=2)
    tagged = make_tagged(root / "tagged.flac", "flac", seed=3)
    f = mutagen.File(tagged)
    f.tags["MOOD"] = "Happy"
    f.save()
    store = _store(tmp_path)
    _scan_and_predict(root, store, lambda p: UNSURE if p.endswith("unsure.flac") else HAPPY)
    assert {c.path for c in plan_write(root, store, MODEL)} == {str(sure), str(unsure)}
    assert {c.path for c in plan_write(root, store, MODEL, min_confidence=0.5)} == {str(sure)}
    tracks = store.tracks_under(root)
    store.add_label(tracks[str(unsure)].id, "aggressive")  # labels ignore the threshold
    got = {c.path: c.new_value for c in plan_write(root, store, MODEL, min_confidence=0.5)}
    assert got == {str(sure): "Happy", str(unsure): "Aggressive"}


@pytest.mark.parametrize("case", ["mp3v23", "flac", "m4a"])
def test_energy_valence_opt_in(case, tmp_path):
    root = tmp_path / "music"
    path = make_tagged(root / f"song{CASES[case]}", case)
    before = tag_dump(path)
    store = _store(tmp_path)
    _scan_and_predict(root, store)
    (change,) = plan_write(root, store, MODEL, energy_valence=True)
    assert change.extra == {"arousal": "80", "valence": "80"}
    _run(apply_write([change], store, root))
    f = mutagen.File(path)
    row = TAG_TABLE[{"mp3v23": "id3v23", "flac": "vorbis", "m4a": "mp4"}[case]]
    if case == "m4a":
        assert bytes(f.tags[row.arousal][0]) == b"80"
    elif case == "flac":
        assert f.tags[row.valence] == ["80"]
    else:
        assert f.tags.getall(row.arousal)[0].text == ["80"]
    _run(undo_last(root, store))
    assert tag_dump(path) == before


def test_undo_leaves_a_mood_changed_by_someone_else(tmp_path):
    root = tmp_path / "music"
    a = make_tagged(root / "a.flac", "flac", seed=1)
    b = make_tagged(root / "b.flac", "flac", seed=2)
    store = _store(tmp_path)
    _scan_and_predict(root, store)
    _run(apply_write(plan_write(root, store, MODEL), store, root))
    f = mutagen.File(a)
    f.tags["MOOD"] = "Calm"  # the person retagged it in another program
    f.save()
    outcomes, summary = _run(undo_last(root, store))
    # kept on purpose: its own outcome, not a failure
    assert summary.written == 1 and summary.failed == 0 and summary.errors == ()
    assert [p for p, _why in summary.kept] == [str(a)]
    assert read_tags(a).mood == "Calm"
    assert read_tags(b).mood is None
    assert [o.kept for o in outcomes if not o.ok] == [True]
    # the store says what the files hold now (the table shows it without a rescan)
    moods = {r.path: r.mood_tag for r in library_rows(root, store, MODEL)}
    assert moods == {str(a): "Calm", str(b): None}
    # that person's change is final: the batch is undone, and undo does not retry it
    assert store.last_write_batch(root) is None
    _, again = _run(undo_last(root, store))
    assert again.batch_id is None
    assert read_tags(a).mood == "Calm"


def test_undo_after_a_file_was_renamed_onto_another_songs_name(tmp_path):
    """Both written, then ``mv a b``: undo gave the file now at b what b held before the
    write (its track stayed with the path), so a's song got b's old mood. It gets its own."""
    root = tmp_path / "music"
    a = make_tagged(root / "A" / "B" / "a.flac", "flac", seed=1)
    b = make_tagged(root / "A" / "B" / "b.flac", "flac", seed=2)
    for path, mood in ((a, "Calm"), (b, "Sad")):
        f = mutagen.File(path)
        f.tags["MOOD"] = mood
        f.save()
    store = _store(tmp_path)
    _scan_and_predict(root, store)
    _, summary = _run(apply_write(plan_write(root, store, MODEL), store, root))
    assert summary.written == 2 and read_tags(b).mood == "Happy"
    os.replace(a, b)
    for _ in scan(root, store):
        pass
    _, summary = _run(undo_last(root, store))
    assert summary.written == 1 and summary.failed == 0 and summary.errors == ()
    assert read_tags(b).mood == "Calm"
    assert [r.path for r in library_rows(root, store, MODEL)] == [str(b)]


def test_undo_records_a_mood_put_back_by_hand(tmp_path):
    """A file someone already restored by hand: undo leaves it and the store says so."""
    root = tmp_path / "music"
    a = make_tagged(root / "a.flac", "flac", seed=1)
    store = _store(tmp_path)
    _scan_and_predict(root, store)
    _run(apply_write(plan_write(root, store, MODEL), store, root))
    f = mutagen.File(a)
    del f.tags["MOOD"]
    f.save()
    _, summary = _run(undo_last(root, store))
    assert [r.mood_tag for r in library_rows(root, store, MODEL)] == [None]
    assert summary.failed == 0
    # and it is said: it was counted neither updated nor kept, and so listed nowhere
    assert summary.written == 0 and summary.already == (str(a),)
    text = summary_text("Undo last write", summary.written, 0, 0, len(summary.already))
    assert text == "Undo last write: 0 files updated, 1 already as it was before it"


def test_vorbis_mood_keeps_its_position_and_spelling(tmp_path):
    root = tmp_path / "music"
    path = make_tagged(root / "song.flac", "flac")
    f = mutagen.File(path)
    pairs = list(f.tags)
    f.tags.clear()
    f.tags.extend([pairs[0], ("Mood", "calm"), *pairs[1:]])
    f.save()
    store = _store(tmp_path)
    _scan_and_predict(root, store)
    _run(apply_write(plan_write(root, store, MODEL), store, root))
    assert list(mutagen.File(path).tags)[1] == ("Mood", "Happy")


def test_cancel_stops_between_files(tmp_path):
    from tagger.core.progress import CancelToken

    root = tmp_path / "music"
    for i in range(3):
        make_tagged(root / f"{i}.wav", "wav", seed=i)
    store = _store(tmp_path)
    _scan_and_predict(root, store)
    token = CancelToken()
    written = 0
    summary = None
    for ev in apply_write(plan_write(root, store, MODEL), store, root, token):
        if isinstance(ev, WriteOutcome) and ev.ok:
            written += 1
            token.cancel()
        elif isinstance(ev, WriteSummary):
            summary = ev
    assert written == 1 and summary.cancelled and summary.written == 1
    assert sum(read_tags(p).mood == "Happy" for p in root.glob("*.wav")) == 1
    _, undo = _run(undo_last(root, store))
    assert undo.written == 1
    assert all(read_tags(p).mood is None for p in root.glob("*.wav"))


def test_planned_change_is_frozen():
    c = PlannedChange(1, "/x.mp3", None, "Happy", "prediction")
    with pytest.raises(AttributeError):
        c.new_value = "Sad"  # type: ignore[misc]


def _v1_mp3(path: Path, keep_v2: bool) -> bytes:
    """An MP3 with an ID3v1 tag whose title differs from the v2 one (or no v2 at all)."""
    from mutagen.id3 import TIT2, delete

    make_tagged(path, "mp3v24")
    f = mutagen.File(path)
    f.tags.add(TIT2(encoding=3, text=["v1 title"]))
    f.save(v1=2)
    tail = path.read_bytes()[-128:]
    assert tail.startswith(b"TAG")
    if keep_v2:
        f = mutagen.File(path)
        f.tags.add(TIT2(encoding=3, text=["a different v2 title"]))
        f.save(v1=0)
        with open(path, "ab") as fh:
            fh.write(tail)
    else:
        delete(path, delete_v1=False, delete_v2=True)
    return tail


@pytest.mark.parametrize("keep_v2", [True, False], ids=["v2+v1", "v1-only"])
def test_id3v1_tag_is_kept_byte_for_byte(keep_v2, tmp_path):
    root = tmp_path / "music"
    path = root / "song.mp3"
    tail = _v1_mp3(path, keep_v2)
    original = path.read_bytes()
    before = tag_dump(path)
    audio = audio_hash(path)
    store = _store(tmp_path)
    _scan_and_predict(root, store)
    _, summary = _run(apply_write(plan_write(root, store, MODEL), store, root))
    assert summary.written == 1
    assert path.read_bytes()[-128:] == tail
    raw = mutagen.id3.ID3(path)
    assert raw.version == (2, 4, 0) and str(raw["TMOO"]) == "Happy"
    if not keep_v2:  # the v1 fields were not copied into the new v2 tag
        v2_only = tmp_path / "v2only.mp3"
        v2_only.write_bytes(path.read_bytes()[:-128])
        assert set(mutagen.id3.ID3(v2_only)) == {"TMOO"}
    assert audio_hash(path) == audio
    _run(undo_last(root, store))
    assert path.read_bytes()[-128:] == tail
    assert tag_dump(path) == before
    if not keep_v2:
        assert path.read_bytes() == original


def test_hard_linked_file_is_refused(tmp_path):
    root = tmp_path / "music"
    path = make_tagged(root / "song.flac", "flac")
    os.link(path, tmp_path / "seeding copy.flac")
    data = path.read_bytes()
    store = _store(tmp_path)
    _scan_and_predict(root, store)
    _, summary = _run(apply_write(plan_write(root, store, MODEL), store, root))
    assert summary.written == 0 and "hard links" in summary.errors[0][1]
    assert path.read_bytes() == data


def test_disk_full_leaves_the_file_and_no_temp_copy(tmp_path, monkeypatch):
    """No space for the copy of one file: that file is untouched and reported, no temporary
    file is left in its folder, and the other files are written."""
    import errno

    import tagger.core.tagwrite as tw

    root = tmp_path / "music"
    big = make_tagged(root / "big.flac", "flac", seed=1)
    small = make_tagged(root / "small.flac", "flac", seed=2)
    store = _store(tmp_path)
    _scan_and_predict(root, store)
    before = big.read_bytes()
    real_copy = tw._copy

    def copy(src, dst, size):
        if src.name == str(big):
            real_copy(src, dst, size // 2)
            raise OSError(errno.ENOSPC, "No space left on device")
        return real_copy(src, dst, size)

    monkeypatch.setattr(tw, "_copy", copy)
    outcomes, summary = _run(apply_write(plan_write(root, store, MODEL), store, root))
    assert summary.written == 1 and summary.failed == 1
    failed = [o for o in outcomes if not o.ok]
    assert [o.path for o in failed] == [str(big)] and "No space left" in failed[0].error
    assert big.read_bytes() == before
    assert read_tags(small).mood == "Happy"
    assert sorted(p.name for p in root.iterdir()) == ["big.flac", "small.flac"]


def test_files_mutagen_knows_only_by_their_extension_are_written(tmp_path):
    """An MP3 with no ID3 tag whose first frame is MPEG 2.5 (8 kHz) and a FLAC file with
    an ID3 tag in front: mutagen recognises them by the extension, so the temporary copy
    must keep it (a ``.tmp`` copy read as "not a recognised audio file" / as an MP3)."""
    import io

    from tagger.core.tagwrite import remove_stale_temp_files
    from tests.audio_factory import write_audio

    root = tmp_path / "music"
    mp3 = write_audio(root / "lowrate.mp3", seconds=2.0, sr=8000)
    mutagen.id3.delete(mp3)
    assert mp3.read_bytes()[:2] == b"\xff\xe3"  # MPEG 2.5 layer III, no tag
    flac = write_audio(tmp_path / "plain.flac", seconds=2.0)
    id3 = mutagen.id3.ID3()
    id3.add(mutagen.id3.TIT2(encoding=3, text=["id3 in front"]))
    head = io.BytesIO()
    id3.save(head)
    (root / "id3.flac").write_bytes(head.getvalue() + flac.read_bytes())
    flac = root / "id3.flac"
    audio = {p: audio_hash(p) for p in (mp3, flac)}
    store = _store(tmp_path)
    _scan_and_predict(root, store)
    outcomes, summary = _run(apply_write(plan_write(root, store, MODEL), store, root))
    assert [o.error for o in outcomes if not o.ok] == []
    assert summary.written == 2
    assert read_tags(mp3).mood == "Happy" and read_tags(flac).mood == "Happy"
    assert {p: audio_hash(p) for p in (mp3, flac)} == audio
    _, summary = _run(undo_last(root, store))
    assert summary.written == 2 and summary.failed == 0
    assert read_tags(mp3).mood is None and read_tags(flac).mood is None
    # copies left by a writer that is gone, in the new and the old naming, are cleaned up
    import subprocess
    import sys

    dead = subprocess.Popen([sys.executable, "-c", "pass"])
    dead.wait()
    (root / f".mood-tagger-{dead.pid}-abcd.tmp.mp3").write_bytes(b"x")
    (root / f".mood-tagger-{dead.pid}-efgh.tmp").write_bytes(b"x")
    assert remove_stale_temp_files({str(root)}) == 2
    assert sorted(p.name for p in root.iterdir()) == ["id3.flac", "lowrate.mp3"]


def _song_and_link(tmp_path: Path) -> tuple[Path, Path, Path]:
    root = tmp_path / "music"
    song = make_tagged(root / "A" / "Album" / "song.flac", "flac")
    link = root / "B" / "Album" / "link.flac"
    link.parent.mkdir(parents=True)
    link.symlink_to(Path("../../A/Album/song.flac"))
    return root, song, link


def test_same_file_under_two_paths_is_planned_and_written_once(tmp_path):
    root, song, link = _song_and_link(tmp_path)
    store = _store(tmp_path)
    tracks = _scan_and_predict(root, store)  # both paths predict Happy
    assert len(tracks) == 2
    [change] = plan_write(root, store, MODEL)  # the first path in order...
    assert (change.path, change.same_file) == (str(song), (str(link),))
    store.add_label(tracks[str(link)].id, "sad")
    [change] = plan_write(root, store, MODEL)  # ...unless another path has a label
    assert (change.path, change.new_value, change.source) == (str(link), "Sad", "label")
    assert change.same_file == (str(song),)
    # given both paths anyway, apply_write still writes the file once
    twice = [change, PlannedChange(tracks[str(song)].id, str(song), None, "Happy", "prediction")]
    outcomes, summary = _run(apply_write(twice, store, root))
    assert summary.written == 1 and summary.failed == 0 and len(outcomes) == 1
    assert read_tags(song).mood == "Sad"
    st = song.stat()
    fresh = store.predictions_under(root, MODEL, ANALYSIS_VERSION)
    assert set(fresh) == {str(song), str(link)}  # both still analysed: nothing to redo
    for p in (song, link):
        assert (store.track(p).size, store.track(p).mtime_ns) == (st.st_size, st.st_mtime_ns)
    _, undo = _run(undo_last(root, store))
    assert undo.written == 1 and undo.failed == 0
    assert read_tags(song).mood is None and link.is_symlink()
    assert set(store.predictions_under(root, MODEL, ANALYSIS_VERSION)) == {str(song), str(link)}


def test_a_scan_during_the_write_does_not_make_predictions_stale(tmp_path, monkeypatch):
    """Another process scans the folder between a file's replace and the store update:
    the prediction still follows the file's new size/mtime."""
    import tagger.core.tagwrite as tagwrite

    root = tmp_path / "music"
    for i in range(2):
        make_tagged(root / f"{i}.flac", "flac", seed=i)
    store = _store(tmp_path)
    _scan_and_predict(root, store)
    other = _store(tmp_path)
    rewrite = tagwrite._rewrite

    def rewrite_then_scan(*args, **kwargs):
        st = rewrite(*args, **kwargs)
        for _ in scan(root, other):
            pass
        return st

    monkeypatch.setattr(tagwrite, "_rewrite", rewrite_then_scan)
    _, summary = _run(apply_write(plan_write(root, store, MODEL), store, root))
    assert summary.written == 2
    assert len(store.predictions_under(root, MODEL, ANALYSIS_VERSION)) == 2
    _, undo = _run(undo_last(root, store))
    assert undo.written == 2
    assert len(store.predictions_under(root, MODEL, ANALYSIS_VERSION)) == 2
    other.close()


def test_writers_are_serialised_by_the_library_lock(tmp_path):
    """While another writer holds the lock, a write (or undo) says it waits and touches
    nothing; it goes on when the lock is free, or stops if cancelled while waiting."""
    from tagger.core.progress import CancelToken, Progress
    from tagger.core.writelock import WriteLock

    root = tmp_path / "music"
    path = make_tagged(root / "song.flac", "flac")
    store = _store(tmp_path)
    _scan_and_predict(root, store)
    changes = plan_write(root, store, MODEL)
    data = path.read_bytes()
    other = WriteLock(store.path)  # a second writer, as another process would hold it
    assert other.try_acquire()

    token = CancelToken()
    gen = apply_write(changes, store, root, token)
    assert next(gen) == Progress("wait", 0, 1, "another write or undo is running; waiting...")
    token.cancel()
    _, summary = _run(gen)
    assert summary.cancelled and summary.batch_id is None and summary.written == 0
    assert path.read_bytes() == data

    gen = apply_write(changes, store, root)
    assert next(gen).stage == "wait"
    assert path.read_bytes() == data and store.last_write_batch(root.resolve()) is None
    other.release()
    _, summary = _run(gen)
    assert summary.written == 1 and read_tags(path).mood == "Happy"

    assert other.try_acquire()
    gen = undo_last(root, store)
    assert next(gen).stage == "wait"
    assert read_tags(path).mood == "Happy"
    other.release()
    _, undo = _run(gen)
    assert undo.written == 1 and path.read_bytes() == data
    assert other.try_acquire()  # released by the batches that held it
    other.release()


@pytest.mark.parametrize("fmt", sorted(FORMATS))
def test_undo_gives_a_tagged_file_whose_tag_grew_back_byte_for_byte(fmt, tmp_path):
    """A tagged file (title, artist, cover art) with no padding to spare: the mood and
    scores make its tag grow. The undo kept the grown tag area (the old tags, not the old
    bytes) for Ogg, WAV and AIFF. The padding is now sized back (Ogg's page lacing and the
    even-size RIFF/AIFF chunks included), so every format is byte for byte what it was."""
    root = tmp_path / "music"
    case = "mp3v24" if fmt == "mp3" else fmt
    path = make_tagged(root / "Artist" / "Album" / f"01 song{FORMATS[fmt]}", case)
    f = mutagen.File(path)
    if isinstance(f.tags, mutagen.id3.ID3):
        f.save(v2_version=4, padding=lambda info: 0)
    elif fmt != "wavpack":  # APEv2 has no padding
        f.save(padding=lambda info: 0)
    original, audio = path.read_bytes(), audio_hash(path)
    _write_then_undo(root, path, tmp_path, scores=True)
    assert path.read_bytes() == original and audio_hash(path) == audio


def _write_everything(root: Path, tmp_path: Path) -> dict[str, str]:
    """Scan ``root``, predict every song, write them all: the failures, path -> why."""
    store = _store(tmp_path)
    _scan_and_predict(root, store)
    _, summary = _run(apply_write(plan_write(root, store, MODEL), store, root))
    return dict(summary.errors)


def _without_id3(data: bytes) -> bytes:
    """An MP3's bytes after its ID3v2 tag (whose size is syncsafe: 7 bits a byte)."""
    if data[:3] != b"ID3":
        return data
    size = 0
    for b in data[6:10]:
        size = size << 7 | (b & 127)
    return data[10 + size :]


def _syncsafe(n: int) -> bytes:
    return bytes([(n >> 21) & 127, (n >> 14) & 127, (n >> 7) & 127, n & 127])


def _raw_id3v24(frames: list[tuple[bytes, bytes]], audio: bytes) -> bytes:
    body = b"".join(fid + _syncsafe(len(d)) + b"\0\0" + d for fid, d in frames) + b"\0" * 64
    return b"ID3\x04\x00\x00" + _syncsafe(len(body)) + body + audio


def _frame_ids(path: Path) -> list[str]:
    data = path.read_bytes()[10:]
    out, i = [], 0
    while data[i : i + 4].strip(b"\0"):
        size = int.from_bytes(data[i + 4 : i + 8], "big")  # small: syncsafe = plain here
        out.append(data[i : i + 4].decode())
        i += 10 + size
    return out


@pytest.mark.parametrize("ext", ["mp3", "wav"])
def test_a_tag_with_frames_mutagen_cannot_read_is_left_as_it_is(ext, tmp_path):
    """An artist and album flagged UTF-8 but stored in cp1251 (as broken taggers write):
    mutagen drops such frames when it reads, so the write saved the tag without them and
    undo could not bring them back. Such a file is now refused with the reason; an empty
    frame (an encoding byte alone) is no loss and does not stop the write."""
    root = tmp_path / "music"
    plain = write_audio(root / "Kino" / "Album" / f"plain.{ext}", 2.0)
    if ext == "wav":
        f = mutagen.File(plain)
        f.add_tags()
        f.tags.add(mutagen.id3.TIT2(encoding=3, text="Good title"))
        f.tags.add(mutagen.id3.TPE1(encoding=3, text="Кино"))
        f.save()
        data = plain.read_bytes()
        broken = data.replace("Кино".encode(), "Кино".encode("cp1251") + b"\xff\xff\xff\xff")
        assert broken != data and len(broken) == len(data)  # same frame size, bad bytes
        bad = root / "Kino" / "Album" / "bad.wav"
        bad.write_bytes(broken)
    else:
        audio = _without_id3(plain.read_bytes())
        bad = root / "Kino" / "Album" / "bad.mp3"
        frames = [
            (b"TIT2", b"\x03Good title"),
            (b"TPE1", b"\x03" + "Кино".encode("cp1251")),
            (b"TALB", b"\x03" + "Группа крови".encode("cp1251")),
        ]
        bad.write_bytes(_raw_id3v24(frames, audio))
        empty = root / "Kino" / "Album" / "empty.mp3"
        empty.write_bytes(_raw_id3v24([(b"TIT2", b"\x03Title"), (b"TPE2", b"\x03")], audio))
    before = bad.read_bytes()
    errors = _write_everything(root, tmp_path)
    assert list(errors) == [str(bad)], errors
    assert "frames that cannot be read (TPE1" in errors[str(bad)]
    assert "writing would delete them" in errors[str(bad)]
    assert bad.read_bytes() == before
    if ext == "mp3":
        assert _frame_ids(bad) == ["TIT2", "TPE1", "TALB"]
        assert read_tags(empty).mood == "Happy"  # written: the empty TPE2 held nothing
    assert read_tags(plain).mood == "Happy"


@pytest.mark.parametrize("ext", ["flac", "ogg", "opus"])
def test_a_comment_that_is_not_utf8_is_not_replaced_by_question_marks(ext, tmp_path):
    """A legacy cp1251 ``ARTIST=`` was saved back as U+FFFD, the real name lost, and undo
    kept the loss. Such a file is refused; a U+FFFD the comment really holds is written."""
    root = tmp_path / "music"
    bad = write_audio(root / "Kino" / "Album" / f"bad.{ext}", 2.0)
    real = write_audio(root / "Kino" / "Album" / f"real.{ext}", 2.0)
    for p, artist in ((bad, "QZQZ"), (real, "odd \ufffd name")):
        f = mutagen.File(p)
        f.tags["TITLE"] = p.stem
        f.tags["ARTIST"] = artist
        f.save()
    data = bad.read_bytes()
    bad.write_bytes(data.replace(b"ARTIST=QZQZ", b"ARTIST=" + "Кино".encode("cp1251")))
    assert bad.read_bytes() != data
    before = bad.read_bytes()
    errors = _write_everything(root, tmp_path)
    assert list(errors) == [str(bad)], errors
    assert "not UTF-8 (ARTIST)" in errors[str(bad)]
    assert bad.read_bytes() == before
    assert read_tags(real).mood == "Happy" and read_tags(real).artist == "odd \ufffd name"


@pytest.mark.parametrize("ext", ["flac", "mp3"])
def test_undo_does_not_pad_a_file_back_that_shrank_since_the_write(ext, tmp_path):
    """The cover (500 kB) removed in another tagger after a write: undo padded the file
    back to its old size, 500 kB of nothing. A file as the write left it still comes back
    byte for byte."""
    import mutagen.flac

    root = tmp_path / "music"
    p = write_audio(root / "A" / "B" / f"01 song.{ext}", 2.0)
    cover = os.urandom(200_000)
    f = mutagen.File(p)
    if ext == "flac":
        pic = mutagen.flac.Picture()
        pic.type, pic.mime, pic.data = 3, "image/jpeg", cover
        f.add_picture(pic)
    else:
        if f.tags is None:
            f.add_tags()
        f.tags.add(mutagen.id3.APIC(encoding=3, mime="image/jpeg", type=3, data=cover))
    f.save()
    twin = root / "A" / "B" / f"02 twin.{ext}"
    twin.write_bytes(p.read_bytes())
    original = twin.read_bytes()
    store = _store(tmp_path)
    _scan_and_predict(root, store)
    _, summary = _run(apply_write(plan_write(root, store, MODEL), store, root))
    assert summary.written == 2
    f = mutagen.File(p)  # the cover removed elsewhere
    if ext == "flac":
        f.clear_pictures()
    else:
        f.tags.delall("APIC")
    f.save()
    shrunk = p.stat().st_size
    assert shrunk < len(original) - 150_000
    _, summary = _run(undo_last(root, store))
    assert summary.written == 2
    assert p.stat().st_size <= shrunk + 4096  # not padded back by the cover's size
    assert read_tags(p).mood is None and mutagen.File(p) is not None
    assert twin.read_bytes() == original  # untouched since the write: byte for byte


def test_undo_of_a_tag_written_more_tightly_than_mutagen_writes_comes_back_near_its_size(
    tmp_path,
):
    """An ID3v2.4 tag without padding or text terminators (valid, as other tools write
    it) renders a few bytes longer in mutagen; undo then gave it mutagen's default padding,
    1-3 kB more, rather than none."""
    root = tmp_path / "music"
    plain = write_audio(root / "A" / "B" / "src.mp3", 3.0)
    audio = _without_id3(plain.read_bytes())
    frames = [(b"TIT2", b"\x03Tight title"), (b"TPE1", b"\x03Tight artist")]
    body = b"".join(fid + _syncsafe(len(d)) + b"\0\0" + d for fid, d in frames)
    tight = root / "A" / "B" / "01 tight.mp3"
    tight.write_bytes(b"ID3\x04\x00\x00" + _syncsafe(len(body)) + body + audio)
    plain.unlink()
    tags_before, audio_before, size_before = (
        tag_dump(tight),
        audio_hash(tight),
        tight.stat().st_size,
    )
    store = _store(tmp_path)
    _scan_and_predict(root, store)
    _, summary = _run(apply_write(plan_write(root, store, MODEL), store, root))
    assert summary.written == 1 and tight.stat().st_size > size_before
    _, summary = _run(undo_last(root, store))
    assert summary.written == 1
    assert tag_dump(tight) == tags_before and audio_hash(tight) == audio_before
    assert abs(tight.stat().st_size - size_before) <= 16


def test_the_dry_run_lists_files_the_write_would_refuse(tmp_path):
    """An ID3v2.2 MP3 (old iTunes rips) was "1 file would be written" in a dry run and the
    app's preview; the write then failed on it. The preflight now reads each file's tags."""
    from tagger.core.tagwrite import preflight

    root = tmp_path / "music"
    src = write_audio(root / "A" / "B" / "src.mp3", 2.0)
    frame = b"TT2" + (8).to_bytes(3, "big") + b"\x00Old rip"
    v22 = root / "A" / "B" / "01 v22.mp3"
    audio = _without_id3(src.read_bytes())
    v22.write_bytes(b"ID3\x02\x00\x00" + _syncsafe(len(frame)) + frame + audio)
    src.rename(root / "A" / "B" / "02 fine.mp3")
    store = _store(tmp_path)
    _scan_and_predict(root, store)
    changes = plan_write(root, store, MODEL)
    assert len(changes) == 2
    problems = dict(preflight(changes, store))
    assert list(problems) == [str(v22)] and "ID3v2.2" in problems[str(v22)]
    assert read_tags(v22).title == "Old rip"  # readable all the same


def test_a_file_of_another_user_is_not_given_to_the_writer(tmp_path, monkeypatch):
    """Written by someone who may write the file but not own it, the rewritten copy became
    the writer's, the failed chown ignored: the owner lost the file without a word."""
    root = tmp_path / "music"
    song = make_tagged(root / "A" / "song.mp3", "mp3")
    before = song.read_bytes()
    store = _store(tmp_path)
    _scan_and_predict(root, store)
    me = song.stat().st_uid + 1  # the writer is not the owner

    def no_chown(*_a, **_k):
        raise PermissionError(1, "Operation not permitted")

    monkeypatch.setattr(os, "getuid", lambda: me)
    monkeypatch.setattr(os, "chown", no_chown)
    outcomes, summary = _run(apply_write(plan_write(root, store, MODEL), store, root))
    assert summary.written == 0 and summary.failed == 1
    assert "another user" in next(o.error for o in outcomes if o.error)
    assert song.read_bytes() == before


def test_a_symlink_loop_given_by_name_is_a_per_file_error(tmp_path):
    """`mood-tagger label happy l1.mp3 song.flac` with l1.mp3 -> l2.mp3 -> l1.mp3 ended in
    a RuntimeError traceback, and the files after it were never labelled."""
    from tagger.core.errors import FileError
    from tagger.core.tagwrite import ensure_tracks

    root = tmp_path / "music"
    song = make_tagged(root / "A" / "B" / "song.flac", "flac")
    (root / "A" / "B" / "l1.mp3").symlink_to(root / "A" / "B" / "l2.mp3")
    (root / "A" / "B" / "l2.mp3").symlink_to(root / "A" / "B" / "l1.mp3")
    store = _store(tmp_path)
    with pytest.raises(FileError, match="symlink loop"):
        ensure_tracks([root / "A" / "B" / "l1.mp3"], store)
    assert list(ensure_tracks([song], store)) == [str(song)]


def test_undo_takes_back_the_scores_written_beside_a_mood_retagged_by_hand(tmp_path):
    """Written with energy and valence, then the mood retagged in another program: undo
    kept that mood (right) but also left the MOOD_AROUSAL / MOOD_VALENCE it had added."""
    root = tmp_path / "music"
    path = make_tagged(root / "song.flac", "flac")
    row = TAG_TABLE["vorbis"]
    store = _store(tmp_path)
    _scan_and_predict(root, store)
    (change,) = plan_write(root, store, MODEL, energy_valence=True)
    _run(apply_write([change], store, root))
    f = mutagen.File(path)
    assert f.tags[row.arousal] == ["80"]
    f.tags["MOOD"] = "Melancholy"
    f.save()
    outcomes, summary = _run(undo_last(root, store))
    assert summary.failed == 0 and [p for p, _ in summary.kept] == [str(path)]
    why = next(o.error for o in outcomes if o.kept)
    assert "mood tag was changed" in why and "rest restored" in why
    f = mutagen.File(path)
    assert f.tags["MOOD"] == ["Melancholy"]
    assert row.arousal not in f.tags and row.valence not in f.tags
    # the library knows what the file holds, and it is not analysed again
    moods = {r.path: r.mood_tag for r in library_rows(root, store, MODEL)}
    assert moods == {str(path): "Melancholy"}
    t = store.track(path)
    assert (t.size, t.mtime_ns) == (path.stat().st_size, path.stat().st_mtime_ns)
