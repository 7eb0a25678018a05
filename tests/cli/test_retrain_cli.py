"""``mood-tagger retrain FOLDER [--reset]``."""

from __future__ import annotations

from pathlib import Path

import pytest

from tagger.cli import main
from tagger.core.analysis import ANALYSIS_VERSION
from tagger.core.models import active_model_path, load_model
from tagger.core.paths import app_dirs, bundled_model_path
from tagger.core.scan import scan
from tagger.core.settings import load_settings
from tagger.core.store import Store
from tests.audio_factory import write_audio

KINDS = {"bright": "happy", "harsh": "aggressive", "calm": "calm"}


@pytest.fixture
def lib(tmp_path) -> Path:
    root = tmp_path / "music"
    for i in range(12):
        kind = list(KINDS)[i % 3]
        write_audio(root / "Band" / "Album" / f"{i:02d} {kind}.wav", 3.0, kind, seed=i)
    (root / "Band" / "Album" / "broken.mp3").write_bytes(b"no audio here" * 20)
    return root.resolve()


def label(root: Path, n: int) -> None:
    with Store.open_default() as store:
        for _ in scan(root, store):
            pass
        tracks = store.tracks_under(root)
        for path in sorted(tracks)[:n]:
            kind = Path(path).stem.split()[-1]
            store.add_label(tracks[path].id, KINDS.get(kind, "sad"))


def test_a_silent_song_counts_as_re_analysed(lib, capsys):
    """It was re-analysed (and has no mood) but was left out of "re-analysed N songs"."""
    import numpy as np
    import soundfile as sf

    sf.write(lib / "Band" / "Album" / "silence.wav", np.zeros((44100 * 4, 2), np.float32), 44100)
    label(lib, 13)
    assert main(["-q", "retrain", str(lib), "--jobs", "1", "--force"]) == 0
    out = capsys.readouterr().out
    assert "re-analysed 14 songs" in out, out
    assert "(0 from cache, 1 error, 1 silent or too short)" in out, out


def test_retrain_then_reset(lib, capsys):
    label(lib, 13)  # 12 songs + the broken file
    assert main(["-q", "retrain", str(lib), "--jobs", "1"]) == 0
    out = capsys.readouterr().out
    assert "before" in out and "after" in out and "skipped" in out and "broken.mp3" in out
    user = load_model()
    assert active_model_path() != bundled_model_path()
    assert f"user model {user.model_id} is now active" in out
    # the note that it got worse appears exactly when it did
    est = user.provenance["estimate"]
    assert ("does not look better" in out) == (est["after"] < est["before"])
    assert "re-analysed 13 songs" in out
    with Store.open_default() as store:
        preds = store.predictions_under(lib, user.model_id, ANALYSIS_VERSION)
    assert len(preds) == 13 and sum(p.error is not None for p in preds.values()) == 1
    # --reset: bundled again, re-analysis comes from the cache of the bundled model when present
    assert main(["-q", "retrain", str(lib), "--reset", "--jobs", "1"]) == 0
    out = capsys.readouterr().out
    assert "bundled model" in out and "active_model" not in load_settings()
    assert active_model_path() == bundled_model_path()
    assert main(["model"]) == 0
    assert capsys.readouterr().out.startswith("active model: the bundled model ")
    # the same labels again: the same model, so its earlier predictions are reused
    assert main(["-q", "retrain", str(lib), "--jobs", "1"]) == 0
    out = capsys.readouterr().out
    assert f"user model {user.model_id} is now active" in out
    assert "re-analysed 0 songs" in out and "(13 from cache" in out
    assert active_model_path() == user.path
    assert main(["model"]) == 0
    out = capsys.readouterr().out
    assert out.startswith(f"active model: your retrained model {user.model_id}\n")
    assert str(user.path) in out and "learnt from 12 labelled songs" in out
    assert "built on another" not in out and "mood-tagger retrain --reset" in out
    # --reset needs no folder; a plain retrain does
    assert main(["retrain", "--reset"]) == 0
    assert "bundled model again" in capsys.readouterr().out
    assert active_model_path() == bundled_model_path()
    assert main(["retrain"]) == 2
    assert "needs the music folder" in capsys.readouterr().err


def _estimates(monkeypatch, before: float, after: float) -> None:
    """Make the core's held-out estimates ``before`` then ``after`` (one call each)."""
    import tagger.core.retrain as core_retrain

    values = iter([before, after])
    monkeypatch.setattr(core_retrain, "_accuracy", lambda probs, y: next(values))


def test_a_model_that_looks_worse_is_not_used(lib, capsys, monkeypatch):
    """A retrained model that gets fewer labels right than before is not saved, activated
    or used to re-analyse the folder; the command says so, with both figures and --force."""
    _estimates(monkeypatch, 0.8, 0.5)
    label(lib, 12)
    assert main(["-q", "retrain", str(lib), "--jobs", "1"]) == 0
    out = capsys.readouterr().out
    assert "80% before (with the bundled model) -> 50% after" in out
    assert "does not look better than before on your 12 labels, so it is not used" in out
    assert f"mood-tagger retrain --force {lib}" in out
    assert "re-analysed 1" not in out and "is now active" not in out
    assert active_model_path() == bundled_model_path()
    assert "active_model" not in load_settings()
    assert not list(app_dirs().user_models.glob("*.pt"))


def test_force_uses_a_model_that_looks_worse(lib, capsys, monkeypatch):
    """With --force the model is used anyway, and the command says how to go back."""
    _estimates(monkeypatch, 0.8, 0.5)
    label(lib, 12)
    assert main(["-q", "retrain", str(lib), "--force", "--jobs", "1"]) == 0
    out = capsys.readouterr().out
    user = load_model()
    assert active_model_path() == user.path != bundled_model_path()
    assert f"user model {user.model_id} is now active" in out
    assert "does not look better" in out and f"mood-tagger retrain --reset {lib}" in out
    assert "re-analysed 13 songs" in out


def test_too_few_labels_is_a_usage_error(lib, capsys):
    label(lib, 4)
    assert main(["-q", "retrain", str(lib)]) == 2
    err = capsys.readouterr().err
    assert "at least 10 labelled songs" in err and "has 4" in err
    assert "active_model" not in load_settings()


def test_labels_of_one_mood_only_are_a_usage_error(lib, capsys):
    with Store.open_default() as store:
        for _ in scan(lib, store):
            pass
        for track in store.tracks_under(lib).values():
            store.add_label(track.id, "sad")
    assert main(["-q", "retrain", str(lib), "--jobs", "1"]) == 2
    err = capsys.readouterr().err
    assert "at least two different moods" in err and "all your labelled songs are sad" in err
    assert "active_model" not in load_settings()


def test_reset_with_a_cached_folder_shows_no_empty_progress_bar(lib, capsys):
    assert main(["analyze", str(lib), "--jobs", "1"]) == 0
    capsys.readouterr()
    assert main(["retrain", "--reset", str(lib), "--jobs", "1"]) == 0
    captured = capsys.readouterr()
    assert "re-analysed 0 songs" in captured.out and "(13 from cache" in captured.out
    assert "0/0" not in captured.err


def test_missing_folder(tmp_path, capsys):
    assert main(["-q", "retrain", str(tmp_path / "nope")]) == 2
    assert "folder not found" in capsys.readouterr().err


def test_a_full_disk_is_said_and_the_current_model_stays_active(lib, capsys, monkeypatch):
    import errno
    import os

    import tagger.core.checkpoint as checkpoint

    def full(fd: int) -> None:
        raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC))

    label(lib, 12)
    monkeypatch.setattr(checkpoint.os, "fsync", full)
    assert main(["-q", "retrain", str(lib), "--jobs", "1"]) == 1
    err = capsys.readouterr().err
    assert "could not be saved" in err and os.strerror(errno.ENOSPC) in err
    assert "the current model stays active" in err and "Traceback" not in err
    assert "active_model" not in load_settings()
    assert not list(app_dirs().user_models.glob("*"))


@pytest.mark.parametrize("with_folder", [False, True])
def test_reset_with_a_read_only_settings_folder_says_so(with_folder, tmp_path, capsys, monkeypatch):
    """The settings cannot be saved: one clear line, exit 1, the settings file as it was
    and no temporary file left beside it."""
    import json
    import os

    settings = app_dirs().settings_file
    settings.parent.mkdir(parents=True, exist_ok=True)
    before = json.dumps({"active_model": str(tmp_path / "user-x.pt"), "last_folder": "/m"})
    settings.write_text(before, encoding="utf-8")

    def read_only(src, dst, *a, **kw):  # as a read-only folder answers the rename
        raise PermissionError(13, "Permission denied", str(dst))

    monkeypatch.setattr(os, "replace", read_only)
    folder = [str(tmp_path)] if with_folder else []
    assert main(["-q", "retrain", "--reset", *folder]) == 1
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "Traceback" not in err
    assert f"cannot save the settings in {settings.parent}: Permission denied" in err
    assert settings.read_text(encoding="utf-8") == before
    assert sorted(p.name for p in settings.parent.iterdir()) == ["settings.json"]


def test_held_back_while_a_user_model_is_active_names_both_ways_out(tmp_path, capsys, monkeypatch):
    """The new model lost to the bundled one, but an earlier retrained model is active: it
    stays, unscored, and the command says so and how to go back to the bundled model (it
    said "the current model stays active", as if that one had been scored). Commands to
    paste are quoted (a folder with a space)."""
    import shlex

    root = tmp_path / "my music"
    for i in range(12):
        kind = list(KINDS)[i % 3]
        write_audio(root / "Band" / "Album" / f"{i:02d} {kind}.wav", 3.0, kind, seed=i)
    root = root.resolve()
    label(root, 12)
    assert main(["-q", "retrain", str(root), "--jobs", "1", "--force"]) == 0
    earlier = load_model()
    assert earlier.path != bundled_model_path()
    capsys.readouterr()
    _estimates(monkeypatch, 0.9, 0.5)
    assert main(["-q", "retrain", str(root), "--jobs", "1"]) == 0
    out = capsys.readouterr().out
    assert "does not look better than the bundled model on your 12 labels" in out
    assert f"your earlier retrained model {earlier.model_id} stays active" in out
    assert "cannot be scored on them" in out
    assert f"mood-tagger retrain --reset {shlex.quote(str(root))};" in out
    assert f"mood-tagger retrain --force {shlex.quote(str(root))}\n" in out
    assert active_model_path() == earlier.path


def test_held_back_with_the_bundled_model_active_says_the_current_model_stays(
    lib, capsys, monkeypatch
):
    _estimates(monkeypatch, 0.8, 0.5)
    label(lib, 12)
    assert main(["-q", "retrain", str(lib), "--jobs", "1"]) == 0
    out = capsys.readouterr().out
    assert "the current model" in out and "stays active" in out
    assert "earlier retrained" not in out and "--reset" not in out


def test_reset_with_force_is_refused(capsys):
    assert main(["retrain", "--reset", "--force"]) == 2
    assert "--force is for a retrain" in capsys.readouterr().err
    assert "active_model" not in load_settings()
