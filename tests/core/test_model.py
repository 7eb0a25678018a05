from __future__ import annotations

import pytest
import torch

from tagger.core.checkpoint import load_checkpoint, save_checkpoint
from tagger.core.errors import CheckpointError
from tagger.core.features import FeatureConfig
from tagger.core.model import MoodCNN
from tagger.core.moods import MOODS
from tagger.core.paths import bundled_model_path


def test_bundled_model_loads_with_metadata(bundled_model):
    assert bundled_model.labels == MOODS
    assert bundled_model.features == FeatureConfig()
    assert len(bundled_model.model_id) == 16
    prov = bundled_model.provenance
    assert "4Q" in prov["data"] and prov["created"]
    assert bundled_model_path().stat().st_size < 20 * 1024 * 1024


def test_bundled_model_is_trained_not_random(bundled_model):
    """A trained model separates loud harsh noise from a soft chord; random weights do not
    reliably. Checks the weights differ from a fresh init and the BN stats were learnt."""
    fresh = MoodCNN(**bundled_model.model.kwargs).state_dict()
    trained = bundled_model.model.state_dict()
    assert not torch.equal(fresh["features.0.weight"], trained["features.0.weight"])
    assert not torch.allclose(trained["features.1.running_var"], torch.ones(16))
    assert float(trained["input_std"]) > 1.0


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
