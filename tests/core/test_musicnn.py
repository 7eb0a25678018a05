"""The musicnn port and the mood model built on it."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import torch

from tagger.core.checkpoint import load_checkpoint, save_checkpoint
from tagger.core.features import FeatureConfig, log_mel, to_db
from tagger.core.model import MoodCNN
from tagger.core.musicnn import MSD_TAGS, MusicnnBackbone, load_tf_weights

REPO = Path(__file__).resolve().parents[2]
WEIGHTS = REPO / "training" / "pretrained" / "musicnn_msd.npz"
#: Input and outputs of musicnn's original TensorFlow graph (made by tensorflow 2.21 with
#: the musicnn 0.1.0 package; see training/convert_musicnn.py --check).
REFERENCE = REPO / "tests" / "data" / "musicnn_tf_reference.npz"

MUSICNN_FEATURES = FeatureConfig(
    sample_rate=16000, n_fft=512, hop_length=256, n_mels=96, fmax=8000.0, scale="log1p"
)


@pytest.fixture(scope="module")
def backbone() -> MusicnnBackbone:
    model = MusicnnBackbone()
    with np.load(WEIGHTS) as z:
        load_tf_weights(model, {k: z[k] for k in z.files})
    return model.eval()


def test_port_reproduces_tensorflow_musicnn(backbone):
    ref = np.load(REFERENCE)
    x = torch.from_numpy(ref["x"]).transpose(1, 2)[:, None]  # (B, T, F) -> (B, 1, F, T)
    with torch.no_grad():
        pooled = backbone(x)
        pen = backbone.penultimate(pooled)
        tags = backbone.tags(x)
    np.testing.assert_allclose(pooled[:, 0::2].numpy(), ref["max_pool"], atol=1e-3)
    np.testing.assert_allclose(pooled[:, 1::2].numpy(), ref["mean_pool"], atol=1e-3)
    np.testing.assert_allclose(pen.numpy(), ref["penultimate"], atol=1e-3)
    np.testing.assert_allclose(tags.numpy(), ref["tags"], atol=1e-4)
    assert tags.shape == (1, len(MSD_TAGS))


def test_random_weights_do_not_match_the_reference():
    """The reference test above could not pass by accident."""
    ref = np.load(REFERENCE)
    torch.manual_seed(0)
    model = MusicnnBackbone().eval()
    with torch.no_grad():
        tags = model.tags(torch.from_numpy(ref["x"]).transpose(1, 2)[:, None])
    assert np.abs(tags.numpy() - ref["tags"]).max() > 1e-2


def test_musicnn_mood_model_round_trips_and_keeps_its_backbone_frozen(tmp_path, backbone):
    model = MoodCNN(arch="musicnn", n_mels=96)
    model.backbone.load_state_dict(backbone.state_dict())
    before = {k: v.clone() for k, v in model.backbone.state_dict().items()}
    model.train()
    x = torch.randn(3, 1, 96, 80)
    model(x).sum().backward()  # a training step's forward/backward
    assert all(torch.equal(before[k], v) for k, v in model.backbone.state_dict().items())
    assert all(p.grad is None for p in model.backbone.parameters())
    assert model.head.weight.grad is not None
    assert model.embed(x).shape == (3, 200)

    path = tmp_path / "m.pt"
    model.eval()
    save_checkpoint(path, model, MUSICNN_FEATURES)
    loaded = load_checkpoint(path)
    assert loaded.features == MUSICNN_FEATURES
    assert loaded.model.arch == "musicnn"
    with torch.no_grad():
        assert torch.allclose(loaded.model.predict_proba(x), model.predict_proba(x))


def test_log1p_features_and_their_display_in_db():
    rng = np.random.default_rng(0)
    y = (0.1 * rng.normal(size=16000)).astype(np.float32)
    x = log_mel(y, MUSICNN_FEATURES)
    assert x.shape == (96, 1 + (16000 - 512) // 256)
    assert x.min() >= 0.0  # log10(1 + 10000 p) of a power p >= 0
    db_cfg = FeatureConfig(**{**MUSICNN_FEATURES.to_dict(), "scale": "db"})
    db = log_mel(y, db_cfg)
    loud = db > -60.0  # where float32 keeps the inversion exact enough
    np.testing.assert_allclose(to_db(x, MUSICNN_FEATURES)[loud], db[loud], atol=0.05)
    assert to_db(db, db_cfg) is not None and np.array_equal(to_db(db, db_cfg), db)


def test_unknown_scale_is_rejected():
    with pytest.raises(ValueError, match="scale"):
        FeatureConfig.from_dict({**FeatureConfig().to_dict(), "scale": "cubic"})


def _layers_in_order(block, x: torch.Tensor) -> torch.Tensor:
    padded = torch.nn.functional.pad(x, (0, 0, *block.pad_t))
    return block.bn(torch.relu(block.conv(padded))).amax(dim=3)


def test_front_end_shortcut_gives_the_layers_own_numbers():
    """Eval mode takes the frequency max before bias, ReLU and BatchNorm, and skips the
    filters training left at zero; with negative BatchNorm scales (the min is then
    taken) and zero or near-zero filters it must equal the layers applied in order."""
    from tagger.core.musicnn import _FreqMaxBlock

    torch.manual_seed(0)
    block = _FreqMaxBlock(12, (7, 9), (3, 3))
    with torch.no_grad():
        block.bn.weight.copy_(torch.randn(12))  # about half negative
        block.bn.bias.copy_(torch.randn(12))
        block.bn.running_mean.copy_(torch.randn(12))
        block.bn.running_var.copy_(torch.rand(12) + 0.1)
        block.conv.weight[[1, 4]] = 0.0
        block.conv.weight[[6, 9]] *= 1e-12  # "dead": their outputs are the bias alone
    assert (block.bn.weight < 0).any() and (block.bn.weight > 0).any()
    block.eval()
    x = torch.randn(2, 1, 40, 24)
    with torch.no_grad():
        expected = _layers_in_order(block, x)
        got = block(x)
    assert got.shape == expected.shape == (2, 12, 40)
    torch.testing.assert_close(got, expected, rtol=1e-5, atol=1e-5)


def test_front_end_shortcut_on_the_msd_weights(backbone):
    """The trained front end, fast path against the layers in order, on real input. The
    skipped filters' weights (L1 norm at most 3.3e-7) leave up to ~3e-5 once BatchNorm has
    scaled their nearly constant outputs: far under the port's own 1e-3 match to
    TensorFlow above."""
    ref = np.load(REFERENCE)
    x = backbone.bn_in(torch.from_numpy(ref["x"])[:, None])  # (B, 1, T, F)
    with torch.no_grad():
        for block in (*backbone.timbral, *backbone.temporal):
            torch.testing.assert_close(block(x), _layers_in_order(block, x), rtol=0, atol=1e-4)


def test_front_end_constants_follow_newly_loaded_weights():
    """The eval shortcut caches per-weights constants: loading other weights into a model
    that has already run must not leave it computing with the old ones."""
    model = MusicnnBackbone().eval()
    ref = np.load(REFERENCE)
    x = torch.from_numpy(ref["x"]).transpose(1, 2)[:, None]
    with torch.no_grad():
        model.tags(x)  # caches the random weights' constants
        with np.load(WEIGHTS) as z:
            load_tf_weights(model, {k: z[k] for k in z.files})
        tags = model.tags(x)
    np.testing.assert_allclose(tags.numpy(), ref["tags"], atol=1e-4)
