from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
import torch

from tagger.core.checkpoint import load_checkpoint, save_checkpoint
from tagger.core.errors import CheckpointError
from tagger.core.features import FeatureConfig
from tagger.core.model import MoodCNN
from tagger.core.moods import MOODS
from tagger.core.musicnn import MusicnnBackbone, load_tf_weights
from tagger.core.paths import bundled_model_path

REPO = Path(__file__).resolve().parents[2]


def test_bundled_model_loads_with_metadata(bundled_model):
    assert bundled_model.labels == MOODS
    report = json.loads((bundled_model_path().parent / "metrics.json").read_text())
    assert bundled_model.features == FeatureConfig.from_dict(report["features"])
    assert bundled_model.model_id == report["model_id"]
    assert len(bundled_model.model_id) == 16
    prov = bundled_model.provenance
    assert "4Q" in prov["data"] and prov["created"]
    assert bundled_model_path().stat().st_size < 20 * 1024 * 1024


def test_bundled_model_is_trained_not_random(bundled_model):
    """The head differs from a fresh init and the input statistics were fitted; a musicnn
    model carries the pretrained backbone unchanged."""
    model = bundled_model.model
    fresh = MoodCNN(**model.kwargs).state_dict()
    trained = model.state_dict()
    assert not torch.equal(fresh["head.weight"], trained["head.weight"])
    if model.arch == "musicnn":
        assert not torch.allclose(trained["pen_std"], torch.ones_like(trained["pen_std"]))
        with np.load(REPO / "training" / "pretrained" / "musicnn_msd.npz") as z:
            ref = MusicnnBackbone()
            load_tf_weights(ref, {k: z[k] for k in z.files})
        for k, v in ref.state_dict().items():
            assert torch.equal(trained[f"backbone.{k}"], v), k
    else:
        assert not torch.equal(fresh["features.0.weight"], trained["features.0.weight"])
        assert float(trained["input_std"].mean()) > 1.0


def test_model_id_changes_with_weights(tmp_path):
    model = MoodCNN(channels=(4, 8))
    a = save_checkpoint(tmp_path / "a.pt", model, FeatureConfig())
    assert load_checkpoint(tmp_path / "a.pt").model_id == a
    with torch.no_grad():
        model.head.bias += 0.1
    b = save_checkpoint(tmp_path / "b.pt", model, FeatureConfig())
    assert a != b


def test_bad_checkpoints_raise_checkpoint_error(tmp_path):
    junk = tmp_path / "junk.pt"
    junk.write_bytes(b"not a model")
    with pytest.raises(CheckpointError):
        load_checkpoint(junk)
    with pytest.raises(CheckpointError):
        load_checkpoint(tmp_path / "missing.pt")
    model = MoodCNN(channels=(4,))
    path = tmp_path / "wrong.pt"
    save_checkpoint(path, model, FeatureConfig())
    payload = torch.load(path, weights_only=True)
    payload["features"]["version"] = 999
    torch.save(payload, path)
    with pytest.raises(CheckpointError, match="features version"):
        load_checkpoint(path)


def test_damaged_user_model_falls_back_to_the_bundled_one(tmp_path, caplog, capsys):
    from tagger.cli import main
    from tagger.core.models import load_model
    from tagger.core.settings import update_settings
    from tests.audio_factory import write_audio

    damaged = tmp_path / "user-model.pt"
    damaged.write_bytes(bytes(range(256)) * 8)
    update_settings(active_model=str(damaged))
    with pytest.raises(CheckpointError, match="damaged, or another kind of file") as info:
        load_checkpoint(damaged)
    assert "weights_only" not in str(info.value)  # torch's advice is not for users
    loaded = load_model()  # the active (user) model: the bundled one stands in
    assert loaded.path == bundled_model_path()
    assert "bundled model is used" in caplog.text and str(damaged) in caplog.text
    with pytest.raises(CheckpointError):
        load_model(damaged)  # a model asked for by name is never swapped
    root = tmp_path / "music"
    write_audio(root / "A" / "B" / "1.wav", 3.0)
    assert main(["-q", "analyze", str(root), "--jobs", "1"]) == 0
    assert "bundled model is used" in capsys.readouterr().err


def test_missing_or_odd_user_model_setting_falls_back_with_a_note(tmp_path, caplog):
    """A deleted user model is said, like a damaged one; a hand-edited value never crashes."""
    from tagger.core.models import active_model_path, load_model
    from tagger.core.settings import update_settings

    gone = tmp_path / "user-deleted.pt"
    update_settings(active_model=str(gone))
    notes: list[str] = []
    assert load_model(notes=notes).path == bundled_model_path()
    assert "missing, so the bundled model is used" in caplog.text and str(gone) in caplog.text
    update_settings(active_model=5)  # not a path: ignored, not a TypeError
    assert active_model_path() == bundled_model_path()
    notes.clear()
    assert load_model(notes=notes).path == bundled_model_path() and notes == []


@pytest.mark.parametrize("damage", ["truncated", "older features"])
def test_an_unusable_user_model_says_how_to_fix_it(tiny_model_path, tmp_path, damage, caplog):
    """A truncated retrained model, or one from an older features version, gives way to the
    bundled model, and the message says both ways out: retrain, or reset."""
    from tagger.core.models import load_model
    from tagger.core.settings import update_settings

    user = tmp_path / "user-x.pt"
    if damage == "truncated":
        data = tiny_model_path.read_bytes()
        user.write_bytes(data[: len(data) // 2])
    else:
        payload = torch.load(tiny_model_path, weights_only=True)
        payload["features"]["version"] = 0
        torch.save(payload, user)
    update_settings(active_model=str(user))
    notes: list[str] = []
    assert load_model(notes=notes).path == bundled_model_path()
    assert len(notes) == 1 and str(user) in notes[0]
    assert "Retrain to make a new one from your labels" in caplog.text
    assert "mood-tagger retrain --reset" in caplog.text


def _payload_file(tmp_path, name: str, change) -> Path:
    """A small valid checkpoint, its payload changed by ``change`` and saved as ``name``."""
    path = tmp_path / name
    save_checkpoint(path, MoodCNN(channels=(4,)), FeatureConfig())
    payload = torch.load(path, weights_only=True)
    change(payload)
    torch.save(payload, path)
    return path


def test_a_model_with_invalid_numbers_is_refused(tmp_path, caplog):
    """One NaN weight made every song Happy with NaN probabilities (invalid JSON, and
    every confidence filter let it through); the bundled model stands in instead."""
    from tagger.core.models import load_model
    from tagger.core.settings import update_settings

    def nan_bias(p):
        p["state_dict"]["head.bias"][0] = float("nan")

    path = _payload_file(tmp_path, "nan.pt", nan_bias)
    with pytest.raises(CheckpointError, match="invalid numbers"):
        load_checkpoint(path)
    update_settings(active_model=str(path))
    assert load_model().path == bundled_model_path()
    assert "invalid numbers" in caplog.text


def test_a_retrained_model_whose_bytes_changed_is_damaged(tmp_path):
    """The app names a retrained model after the hash of its bytes: flipped bytes that
    still load gave another model, used without a word."""
    model = MoodCNN(channels=(4,))
    data_path = tmp_path / "x.pt"
    model_id = save_checkpoint(data_path, model, FeatureConfig())
    user = tmp_path / f"user-{model_id}.pt"
    data_path.replace(user)
    assert load_checkpoint(user).model_id == model_id  # intact: fine
    with torch.no_grad():
        model.head.bias += 0.5
    save_checkpoint(tmp_path / "y.pt", model, FeatureConfig())
    (tmp_path / "y.pt").replace(user)  # other weights under the old name
    with pytest.raises(CheckpointError, match="contents changed since it was saved"):
        load_checkpoint(user)


@pytest.mark.parametrize(
    ("change", "match"),
    [
        (lambda p: p.update(provenance=["not", "a", "dict"]), "provenance"),
        (lambda p: p["features"].update(sample_rate=0), "sample_rate"),
        (lambda p: p["features"].update(n_mels=-5), "n_mels"),
        (lambda p: p["features"].update(fmax=99_000.0), "mel band range"),
    ],
)
def test_a_model_with_impossible_parameters_is_incompatible(tmp_path, change, match):
    """They failed on every song ("none of the files could be analysed") or with a
    traceback; they are a model problem, said once."""
    path = _payload_file(tmp_path, "odd.pt", change)
    with pytest.raises(CheckpointError, match=match):
        load_checkpoint(path)
