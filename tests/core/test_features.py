from __future__ import annotations

import dataclasses

import numpy as np
import pytest

from tagger.core.features import FEATURES_VERSION, FeatureConfig, log_mel, segment_patches


def _noise(n: int, seed: int = 0) -> np.ndarray:
    return (np.random.default_rng(seed).standard_normal(n) * 0.1).astype(np.float32)


def test_patch_shape_is_128_mels_by_segment_frames():
    cfg = FeatureConfig()
    patches = segment_patches(np.stack([_noise(cfg.segment_samples, s) for s in range(3)]), cfg)
    assert patches.shape == (3, 1, 128, cfg.segment_frames)
    assert patches.dtype == np.float32
    assert np.isfinite(patches).all()


def test_features_are_deterministic():
    cfg = FeatureConfig()
    y = np.stack([_noise(cfg.segment_samples)])
    assert np.array_equal(segment_patches(y, cfg), segment_patches(y, cfg))


def test_crop_of_long_spectrogram_equals_segment_spectrogram():
    """Training crops whole-clip spectrograms; the app computes per segment: they must agree."""
    cfg = FeatureConfig()
    y = _noise(cfg.sample_rate * 12)
    full = log_mel(y, cfg)
    start_frame = 37
    seg = y[start_frame * cfg.hop_length : start_frame * cfg.hop_length + cfg.segment_samples]
    crop = full[:, start_frame : start_frame + cfg.segment_frames]
    np.testing.assert_allclose(crop, log_mel(seg, cfg), atol=1e-3)


def test_loudness_is_kept():
    """dB are relative to full scale, so a quieter copy has lower values (energy cue)."""
    cfg = FeatureConfig()
    y = _noise(cfg.segment_samples)
    loud, quiet = log_mel(y, cfg), log_mel(y * 0.1, cfg)
    assert loud.mean() - quiet.mean() == pytest.approx(20.0, abs=0.5)


def test_golden_values_of_a_fixed_signal():
    """Pins the DSP: a 440 Hz sine at amplitude 0.5 peaks in the mel band around 440 Hz."""
    cfg = FeatureConfig()
    t = np.arange(cfg.segment_samples) / cfg.sample_rate
    m = log_mel(0.5 * np.sin(2 * np.pi * 440.0 * t), cfg)
    import librosa

    centres = librosa.mel_frequencies(n_mels=cfg.n_mels + 2, fmin=cfg.fmin, fmax=cfg.fmax)[1:-1]
    peak_band = int(m.mean(axis=1).argmax())
    assert abs(centres[peak_band] - 440.0) < 40.0
    assert 20.0 < float(m.max()) < 50.0  # Hann-windowed power of a 0.5 sine, in dB


def test_wrong_segment_length_is_rejected():
    cfg = FeatureConfig()
    with pytest.raises(ValueError):
        segment_patches(np.zeros((2, 1000), np.float32), cfg)


def test_config_round_trip_and_version_check():
    cfg = FeatureConfig()
    assert FeatureConfig.from_dict(cfg.to_dict()) == cfg
    with pytest.raises(ValueError):
        FeatureConfig.from_dict({**cfg.to_dict(), "version": FEATURES_VERSION + 1})
    with pytest.raises(ValueError):
        FeatureConfig.from_dict({**cfg.to_dict(), "unexpected": 1})
    assert hash(cfg) == hash(dataclasses.replace(cfg))
