from __future__ import annotations

import dataclasses

import numpy as np
import pytest

from tagger.core.features import (
    FEATURES_VERSION,
    MAX_LEVEL_GAIN_DB,
    FeatureConfig,
    log_mel,
    normalise_level,
    segment_patches,
)


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


#: The bundled model's input (log1p scale) with song-level normalisation.
LEVELLED = FeatureConfig(
    sample_rate=16000, n_fft=512, hop_length=256, n_mels=96, fmax=8000.0, scale="log1p",
    max_windows=3, level_db=-3.0,
)  # fmt: skip


@pytest.mark.parametrize("scale", ["log1p", "db"])
def test_level_normalisation_makes_the_mood_input_independent_of_volume(scale):
    cfg = dataclasses.replace(LEVELLED, scale=scale)
    song = np.stack([_noise(cfg.segment_samples, s) * a for s, a in ((1, 0.5), (2, 0.05))])
    loud = segment_patches(song, cfg)
    for gain in (0.1, 0.3, 2.0):  # -20 dB, -10 dB, +6 dB (no clipping here)
        np.testing.assert_allclose(segment_patches(song * gain, cfg), loud, atol=2e-3)
    # the song's own dynamics stay: its quiet window is still 20 dB under its loud one
    db = [10 * np.log10(np.mean(10.0 ** (w / 10) if scale == "db" else 10.0**w - 1)) for w in loud]
    assert db[0] - db[1] == pytest.approx(20.0, abs=0.5)
    # without it, volume changes the input (the old behaviour, kept for older models)
    plain = dataclasses.replace(cfg, level_db=None)
    assert np.abs(segment_patches(song * 0.1, plain) - segment_patches(song, plain)).max() > 0.1


def test_level_gain_is_capped():
    whisper = np.stack([_noise(LEVELLED.segment_samples) * 1e-4])  # about -100 dB
    x = segment_patches(whisper, LEVELLED)
    raw = segment_patches(whisper, dataclasses.replace(LEVELLED, level_db=None))
    mel, raw_mel = 10.0**x - 1, 10.0**raw - 1
    assert 10 * np.log10(mel.mean() / raw_mel.mean()) == pytest.approx(MAX_LEVEL_GAIN_DB, abs=0.1)
    assert normalise_level(np.zeros((1, 1, 96, 10), np.float32), LEVELLED).max() == 0.0


def test_training_patches_match_the_app_with_level_normalisation(tmp_path):
    """Training normalises each song's crops of its whole-clip spectrogram; the app its
    decoded windows: the model must see the same input either way."""
    from tagger.core.analysis import window_starts
    from training.dataset import Dataset
    from training.train import fixed_patches

    cfg = LEVELLED
    y = np.concatenate([_noise(cfg.sample_rate * 15, 3) * 0.02, _noise(cfg.sample_rate * 15, 4)])
    ds = Dataset(["s"], ["a"], np.array([0]), np.array([0]), [log_mel(y, cfg)], cfg)
    train_x, _ = fixed_patches(ds, np.array([0]))
    starts = window_starts(len(y) / cfg.sample_rate, cfg.segment_seconds, cfg.max_windows)
    hop = cfg.hop_length
    frames = [round(s * cfg.sample_rate / hop) for s in starts]
    n = cfg.segment_samples
    app_x = segment_patches(np.stack([y[f * hop : f * hop + n] for f in frames]), cfg)
    np.testing.assert_allclose(train_x, app_x, atol=2e-3)


def test_a_short_clip_is_padded_with_silence_in_training_as_in_the_app():
    """A clip shorter than a window: the app pads the audio with zeros, training pads the
    spectrogram; both must show silence there (0 on the log1p scale, not -100)."""
    from tagger.core.features import silence_value
    from training.dataset import Dataset
    from training.train import fixed_patches

    cfg = LEVELLED
    y = _noise(cfg.sample_rate * 3, 5)
    ds = Dataset(["s"], ["a"], np.array([0]), np.array([0]), [log_mel(y, cfg)], cfg)
    train_x, _ = fixed_patches(ds, np.array([0]))
    app_x = segment_patches(np.pad(y, (0, cfg.segment_samples - len(y)))[None], cfg)
    assert silence_value(cfg) == 0.0
    last = log_mel(y, cfg).shape[1]  # training has no frame past the clip's last full one
    np.testing.assert_allclose(train_x[..., : last - 2], app_x[..., : last - 2], atol=0.05)
    np.testing.assert_allclose(train_x[..., last + 2 :], 0.0, atol=1e-6)
    np.testing.assert_allclose(app_x[..., last + 2 :], 0.0, atol=1e-6)


def test_a_dc_offset_is_taken_out_of_every_frame():
    """A constant offset (a faulty converter) is neither level nor bass: with ``remove_dc``
    the input is that of the clean signal, even after level normalisation."""
    cfg = dataclasses.replace(LEVELLED, remove_dc=True)
    song = np.stack([_noise(cfg.segment_samples, s) * a for s, a in ((6, 0.05), (7, 0.01))])
    clean = segment_patches(song, cfg)
    for dc in (0.05, 0.3, -0.5):
        np.testing.assert_allclose(segment_patches(song + dc, cfg), clean, atol=5e-3)
    # without it, the offset swamps the lowest band and the level gain (older models)
    plain = dataclasses.replace(cfg, remove_dc=False)
    assert np.abs(segment_patches(song + 0.3, plain) - segment_patches(song, plain)).max() > 1.0


def test_dc_removal_keeps_training_crops_equal_to_app_windows():
    cfg = dataclasses.replace(LEVELLED, remove_dc=True)
    y = _noise(cfg.sample_rate * 12, 8) + 0.2
    full = log_mel(y, cfg)
    start = 41
    seg = y[start * cfg.hop_length : start * cfg.hop_length + cfg.segment_samples]
    crop = full[:, start : start + cfg.segment_frames]
    np.testing.assert_allclose(crop, log_mel(seg, cfg), atol=1e-3)
    batch = log_mel(np.stack([seg, seg - 0.2]), cfg)
    np.testing.assert_allclose(batch[0], batch[1], atol=1e-3)


def test_models_saved_before_dc_removal_keep_their_features():
    """A checkpoint written before the field existed (a person's retrained model) loads
    with DC removal off, so its input stays what it was trained on."""
    old = {k: v for k, v in LEVELLED.to_dict().items() if k != "remove_dc"}
    assert FeatureConfig.from_dict(old).remove_dc is False


CONFIGS = [
    FeatureConfig(),
    LEVELLED,
    FeatureConfig(
        sample_rate=44100, n_fft=4096, hop_length=1024, n_mels=40, fmin=20.0, fmax=16000.0
    ),
    FeatureConfig(n_fft=1024, hop_length=256, n_mels=64, fmin=30.0, fmax=8000.0),
]


@pytest.mark.parametrize("cfg", CONFIGS, ids=lambda c: f"{c.sample_rate}-{c.n_fft}-{c.n_mels}")
def test_filterbank_window_and_frames_are_librosas_bit_for_bit(cfg):
    """The NumPy code stands in for librosa/SciPy (which cost a worker ~2 s to import): it
    must give exactly their numbers, or the bundled model would see another input."""
    import librosa
    import scipy.signal

    from tagger.core import features

    ref = librosa.filters.mel(
        sr=cfg.sample_rate, n_fft=cfg.n_fft, n_mels=cfg.n_mels, fmin=cfg.fmin, fmax=cfg.fmax
    ).astype(np.float32)
    assert np.array_equal(features._mel_basis(cfg), ref)
    window = scipy.signal.get_window("hann", cfg.n_fft, fftbins=True).astype(np.float32)
    assert np.array_equal(features._window(cfg.n_fft), window)
    y = np.stack([_noise(cfg.sample_rate * 3, s) for s in range(2)])
    frames = librosa.util.frame(y, frame_length=cfg.n_fft, hop_length=cfg.hop_length)
    assert np.array_equal(features._frames(y, cfg), frames)


@pytest.mark.parametrize("cfg", CONFIGS, ids=lambda c: f"{c.sample_rate}-{c.n_fft}-{c.n_mels}")
def test_log_mel_equals_librosas_stft_and_filterbank(cfg):
    import librosa
    import scipy.signal

    y = np.stack([_noise(cfg.segment_samples, s) + 0.01 * s for s in range(3)])
    window = scipy.signal.get_window("hann", cfg.n_fft, fftbins=True).astype(np.float32)
    spec = librosa.stft(y, n_fft=cfg.n_fft, hop_length=cfg.hop_length, window=window, center=False)
    mel = librosa.filters.mel(
        sr=cfg.sample_rate, n_fft=cfg.n_fft, n_mels=cfg.n_mels, fmin=cfg.fmin, fmax=cfg.fmax
    ).astype(np.float32) @ (spec.real**2 + spec.imag**2).astype(np.float32)
    want = (
        np.log10(1.0 + 10000.0 * mel)
        if cfg.scale == "log1p"
        else 10.0 * np.log10(np.maximum(mel, cfg.amin))
    ).astype(np.float32)
    assert np.array_equal(log_mel(y, dataclasses.replace(cfg, remove_dc=False)), want)


def test_features_do_not_import_librosa_or_scipy_signal():
    """What keeps an analysis worker's start-up short (benchmarks/analyze.py measures it)."""
    import subprocess
    import sys

    code = (
        "import sys, numpy as np\n"
        "from tagger.core.features import FeatureConfig, segment_patches\n"
        "cfg = FeatureConfig(remove_dc=True, level_db=-3.0)\n"
        "segment_patches(np.zeros((2, cfg.segment_samples), np.float32) + 0.1, cfg)\n"
        "print(sorted(m for m in ('librosa', 'scipy.signal', 'numba') if m in sys.modules))\n"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "[]"
