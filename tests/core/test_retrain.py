"""Retraining from labels: user model saved and activated, bundled weights untouched."""

from __future__ import annotations

import copy
import errno
import hashlib
import os
from pathlib import Path

import pytest
import torch

from tagger.core.checkpoint import load_checkpoint, model_id_of, save_checkpoint
from tagger.core.models import active_model_path, load_model
from tagger.core.moods import MOODS
from tagger.core.paths import app_dirs, bundled_model_path
from tagger.core.progress import CancelToken, Progress
from tagger.core.retrain import (
    MIN_LABELS,
    RetrainConfig,
    RetrainError,
    RetrainResult,
    reset_model,
    retrain,
)
from tagger.core.scan import scan
from tagger.core.settings import load_settings, update_settings
from tagger.core.store import Store
from tests.audio_factory import write_audio, write_bad_files

FAST = RetrainConfig(steps=30, folds=3)
KINDS = {"bright": "happy", "harsh": "aggressive", "calm": "calm"}


def make_library(root: Path, n: int = 12, seconds: float = 3.0) -> Path:
    for i in range(n):
        kind = list(KINDS)[i % 3]
        write_audio(
            root / f"Band {i % 2}" / "Record" / f"{i + 1:02d} {kind}.wav", seconds, kind, seed=i
        )
    return root


def label_all(root: Path, store: Store, mood_of=lambda p: KINDS[p.stem.split()[-1]]) -> int:
    for _ in scan(root, store):
        pass
    n = 0
    for path, track in store.tracks_under(root).items():
        stem = Path(path).stem.split()[-1]
        if stem in KINDS:
            store.add_label(track.id, mood_of(Path(path)))
            n += 1
    return n


def run(gen):
    events = list(gen)
    results = [e for e in events if isinstance(e, RetrainResult)]
    return events, (results[0] if results else None)


def sha(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


@pytest.fixture
def lib(tmp_path) -> Path:
    return make_library(tmp_path / "music")


def test_retrain_saves_an_active_user_model_and_leaves_bundled_alone(lib, bundled_model):
    before_hash = sha(bundled_model_path())
    with Store.open_default() as store:
        assert label_all(lib, store) == 12
        events, res = run(retrain(lib, store, bundled_model, FAST))
    assert res is not None
    stages = {e.stage for e in events if isinstance(e, Progress)}
    assert stages == {"features", "train"}
    assert res.n_labels == res.n_used == 12 and res.skipped == ()
    assert res.base_model_id == bundled_model.model_id
    assert res.model_id != bundled_model.model_id
    assert res.model_path.parent == app_dirs().user_models and res.model_path.is_file()
    assert 0.0 <= res.before <= 1.0 and 0.0 <= res.after <= 1.0
    assert res.label_counts == {"happy": 4, "aggressive": 4, "sad": 0, "calm": 4}
    # active now, with provenance
    assert active_model_path() == res.model_path
    user = load_model()
    assert user.model_id == res.model_id
    prov = user.provenance
    assert prov["base_model_id"] == bundled_model.model_id and prov["n_labels"] == 12
    assert prov["estimate"]["before"] == res.before and prov["estimate"]["after"] == res.after
    # only the head moved: the conv blocks are the bundled ones
    ref, new = bundled_model.model.state_dict(), user.model.state_dict()
    for k in ref:
        if k.startswith("features."):
            assert torch.equal(ref[k], new[k]), k
    assert not torch.equal(ref["head.weight"], new["head.weight"])
    assert sha(bundled_model_path()) == before_hash
    # reset goes back to the bundled model; the user file is kept
    reset_model()
    assert active_model_path() == bundled_model_path()
    assert load_model().model_id == bundled_model.model_id
    assert res.model_path.is_file()
    reset_model()  # idempotent


def test_retrain_learns_the_labels(lib, bundled_model):
    """Label every song the opposite way of its sound: the new model follows the labels."""
    flip = {"bright": "sad", "harsh": "calm", "calm": "aggressive"}
    with Store.open_default() as store:
        label_all(lib, store, lambda p: flip[p.stem.split()[-1]])
        _, res = run(retrain(lib, store, bundled_model, RetrainConfig(steps=300, folds=3)))
    user = load_model()
    from tagger.core.analysis import Analyzer

    for path in sorted(lib.rglob("*.wav")):
        assert Analyzer(user).analyze(path).scores.mood == flip[path.stem.split()[-1]]
    assert res.after >= res.before


def test_retraining_again_anchors_to_bundled_and_records_base(lib, bundled_model):
    with Store.open_default() as store:
        label_all(lib, store)
        _, first = run(retrain(lib, store, bundled_model, FAST))
        current = load_model()
        _, second = run(retrain(lib, store, current, FAST))
    assert second.base_model_id == first.model_id
    assert load_model().provenance["anchor_model_id"] == bundled_model.model_id
    # the same labels give the same estimate: "before" is the bundled model both times,
    # never the first user model scored on the songs it was fitted on
    assert (second.before, second.after) == (first.before, first.after)
    # ... and the same model: same id (its predictions are cached), no second file
    assert second.model_id == first.model_id and second.model_path == first.model_path
    assert list(app_dirs().user_models.glob("*.pt")) == [first.model_path]
    assert active_model_path() == first.model_path


def test_a_user_model_from_older_sound_features_is_not_built_on(lib, bundled_model):
    """A user model made before an app update carries the old bundled model's conv blocks:
    retraining rebuilds on the current bundled model, not on it."""
    old = copy.deepcopy(bundled_model.model)
    with torch.no_grad():
        for name, p in old.named_parameters():
            if not name.startswith("head."):
                p.add_(0.01)
    old_path = app_dirs().ensure().user_models / "user-old.pt"
    old_id = save_checkpoint(old_path, old, bundled_model.features, {"kind": "user"})
    update_settings(active_model=str(old_path))
    with Store.open_default() as store:
        label_all(lib, store)
        _, res = run(retrain(lib, store, None, FAST))
    assert res.base_model_id == old_id and res.before_model == "the bundled model"
    user = load_model()
    assert user.model_id == res.model_id
    assert user.provenance["base_model_id"] == bundled_model.model_id
    ref, new = bundled_model.model.state_dict(), user.model.state_dict()
    assert all(torch.equal(ref[k], new[k]) for k in ref if not k.startswith("head."))


@pytest.mark.parametrize("failure", ["disk full", "read-only folder", "settings", "ctrl-c"])
def test_a_failed_save_leaves_nothing_and_the_current_model_active(
    tiny_model_path, monkeypatch, failure
):
    """Saving and activating the retrained model is all or nothing (``retrain``'s last
    step; the CLI test runs a whole retrain into a full disk)."""
    import tagger.core.checkpoint as checkpoint
    import tagger.core.retrain as core_retrain

    def fail(*args, **kwargs):
        if failure == "ctrl-c":
            raise KeyboardInterrupt
        code = {"disk full": errno.ENOSPC}.get(failure, errno.EACCES)
        raise OSError(code, os.strerror(code))

    update_settings(active_model=str(tiny_model_path))  # the current model
    data = tiny_model_path.read_bytes()
    if failure == "disk full":
        monkeypatch.setattr(checkpoint.os, "fsync", fail)
    elif failure == "read-only folder":
        monkeypatch.setattr(checkpoint.tempfile, "mkstemp", fail)
    else:
        monkeypatch.setattr(core_retrain, "update_settings", fail)
    expected = KeyboardInterrupt if failure == "ctrl-c" else RetrainError
    with pytest.raises(expected) as info:
        core_retrain._save_and_activate(data, model_id_of(data))
    if failure != "ctrl-c":
        assert "could not be saved" in str(info.value)
        assert "the current model stays active" in str(info.value)
        if failure == "disk full":
            assert os.strerror(errno.ENOSPC) in str(info.value)
    assert list(app_dirs().user_models.iterdir()) == []  # no model, no temporary file
    assert active_model_path() == tiny_model_path


def test_fewer_than_ten_labels_is_a_clear_error(lib, bundled_model):
    with Store.open_default() as store:
        for _ in scan(lib, store):
            pass
        tracks = list(store.tracks_under(lib).values())
        for t in tracks[: MIN_LABELS - 1]:
            store.add_label(t.id, "calm")
        with pytest.raises(RetrainError, match="at least 10"):
            next(retrain(lib, store, bundled_model, FAST))
    assert "active_model" not in load_settings()
    assert not any(app_dirs().user_models.glob("*.pt"))


def test_bad_files_are_skipped_with_their_error(lib, bundled_model):
    bad = write_bad_files(lib / "Broken" / "Album")
    with Store.open_default() as store:
        label_all(lib, store)
        tracks = store.tracks_under(lib)
        for p in bad.values():
            if str(p) in tracks:
                store.add_label(tracks[str(p)].id, "sad")
        n_bad = sum(str(p) in tracks for p in bad.values())
        assert n_bad >= 3
        _, res = run(retrain(lib, store, bundled_model, FAST))
    assert res.n_labels == 12 + n_bad and res.n_used == 12
    skipped = dict(res.skipped)
    assert len(skipped) == n_bad and all(msg for msg in skipped.values())
    assert str(bad["empty"]) in skipped and "empty" in skipped[str(bad["empty"])]


def test_too_few_readable_songs_is_an_error(tmp_path, bundled_model):
    root = make_library(tmp_path / "m", n=6)
    bad = write_bad_files(root / "Broken")
    with Store.open_default() as store:
        for _ in scan(root, store):
            pass
        for t in store.tracks_under(root).values():
            store.add_label(t.id, "calm")
        ok = [bad["text"], bad["corrupt"]]
        for i, p in enumerate(ok):
            copy = root / f"x{i}{p.suffix}"
            copy.write_bytes(p.read_bytes())
        for _ in scan(root, store):
            pass
        for i, t in enumerate(store.tracks_under(root).values()):
            store.add_label(t.id, ("calm", "sad")[i % 2])
        assert len(store.labels_under(root)) >= MIN_LABELS
        with pytest.raises(RetrainError, match="could be read") as info:
            run(retrain(root, store, bundled_model, FAST))
    assert "such as " in str(info.value)  # an example of a skipped file and why
    assert not any(app_dirs().user_models.glob("*.pt"))


def test_labels_of_one_mood_only_are_refused(lib, bundled_model):
    """Fitted on one mood, the layer only learns to say that mood more (and its held-out
    estimate still rises), so retraining asks for a second mood first."""
    with Store.open_default() as store:
        assert label_all(lib, store, lambda p: "sad") == 12
        with pytest.raises(RetrainError, match="at least two different moods") as info:
            next(retrain(lib, store, bundled_model, FAST))
    assert "all your labelled songs are sad" in str(info.value)
    assert "active_model" not in load_settings()
    assert not any(app_dirs().user_models.glob("*.pt"))


def test_cancel_saves_nothing(lib, bundled_model):
    token = CancelToken()
    with Store.open_default() as store:
        label_all(lib, store)
        events = []
        for ev in retrain(lib, store, bundled_model, FAST, cancel=token):
            events.append(ev)
            if isinstance(ev, Progress) and ev.stage == "features" and ev.done == 3:
                token.cancel()
    assert not any(isinstance(e, RetrainResult) for e in events)
    assert not any(app_dirs().user_models.glob("*.pt"))
    assert active_model_path() == bundled_model_path()


def test_retrain_works_from_a_small_custom_model(lib, tiny_model_path):
    tiny = load_checkpoint(tiny_model_path)
    with Store.open_default() as store:
        label_all(lib, store)
        _, res = run(retrain(lib, store, tiny, FAST))
    user = load_model()
    assert user.model_id == res.model_id and user.model.kwargs == tiny.model.kwargs
    assert user.provenance["anchor_model_id"] == tiny.model_id
    assert user.labels == MOODS


def test_keep_if_worse_holds_back_a_model_that_scores_lower(lib, bundled_model, monkeypatch):
    """With keep_if_worse a model scoring lower than before on the held-out labels is not
    saved or activated; activate() then saves it and makes it active, as retrain would."""
    import tagger.core.retrain as core_retrain

    values = iter([0.8, 0.5])  # before, after
    monkeypatch.setattr(core_retrain, "_accuracy", lambda probs, y: next(values))
    with Store.open_default() as store:
        label_all(lib, store)
        _, res = run(retrain(lib, store, bundled_model, FAST, keep_if_worse=True))
    assert res is not None and res.looks_worse and not res.activated
    assert res.model_path is None and res.data
    assert active_model_path() == bundled_model_path() and "active_model" not in load_settings()
    assert not list(app_dirs().user_models.glob("*.pt"))
    used = core_retrain.activate(res)
    assert used.activated and used.data is None and used.model_id == res.model_id
    assert active_model_path() == used.model_path
    assert load_model().model_id == res.model_id == model_id_of(used.model_path.read_bytes())
    assert core_retrain.activate(used) is used  # already active: nothing to do


def test_keep_if_worse_activates_a_model_that_is_not_worse(lib, bundled_model, monkeypatch):
    import tagger.core.retrain as core_retrain

    values = iter([0.5, 0.5])  # a tie is not worse
    monkeypatch.setattr(core_retrain, "_accuracy", lambda probs, y: next(values))
    with Store.open_default() as store:
        label_all(lib, store)
        _, res = run(retrain(lib, store, bundled_model, FAST, keep_if_worse=True))
    assert res is not None and res.activated and not res.looks_worse
    assert active_model_path() == res.model_path
