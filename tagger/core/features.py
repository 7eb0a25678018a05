"""Log-mel features: the ONLY place that turns audio into model input.

Training (``training/``) and the app both call this module; the :class:`FeatureConfig` a
model was trained with is saved in its checkpoint and used again at inference, so the two
can never drift apart.

The STFT is not centred: a window cut from a long spectrogram at a frame boundary is
then identical to the spectrogram of the matching audio segment, which lets training crop
patches from whole-clip spectrograms that equal what the app computes per segment.
"""

from __future__ import annotations

import dataclasses
import functools
from dataclasses import dataclass
from typing import Any

import numpy as np

#: Bump when the meaning of a field or the computation changes.
FEATURES_VERSION = 1
SCALES = ("db", "log1p")
#: The most :func:`normalise_level` raises or lowers a song (very quiet songs stay quiet).
MAX_LEVEL_GAIN_DB = 40.0


@dataclass(frozen=True, slots=True)
class FeatureConfig:
    sample_rate: int = 22050
    n_fft: int = 2048
    hop_length: int = 512
    n_mels: int = 128
    fmin: float = 0.0
    fmax: float = 11025.0
    segment_seconds: float = 5.0
    #: dB floor; dB are relative to a full-scale reference of 1.0 so loudness is kept.
    amin: float = 1e-10
    #: "db": ``10 log10(max(mel, amin))``; "log1p": ``log10(1 + 10000 mel)`` (musicnn's
    #: compression, needed by the pretrained backbone). Both keep absolute loudness.
    scale: str = "db"
    #: At most this many windows per song are analysed (a model's cost decides).
    max_windows: int = 6
    #: Song-level loudness normalisation: a song's windows are scaled together so that their
    #: mean mel power is this many dB (None: the recording's own level is kept). Mastering
    #: level says when a record was made, not its mood; see :func:`normalise_level`.
    level_db: float | None = None
    #: Each STFT frame's mean (DC offset) is taken out before the spectrum, so a recording
    #: with a DC offset (a faulty converter) does not count it as level or low bass. Off in
    #: models made before it existed, whose checkpoints lack the field.
    remove_dc: bool = False
    version: int = FEATURES_VERSION

    @property
    def segment_samples(self) -> int:
        return round(self.segment_seconds * self.sample_rate)

    @property
    def segment_frames(self) -> int:
        return frames_for(self.segment_samples, self)

    def to_dict(self) -> dict[str, Any]:
        return dataclasses.asdict(self)

    @classmethod
    def from_dict(cls, d: dict[str, Any]) -> FeatureConfig:
        names = {f.name for f in dataclasses.fields(cls)}
        unknown = set(d) - names
        if unknown:
            raise ValueError(f"unknown feature parameters: {sorted(unknown)}")
        cfg = cls(**d)
        positive = (
            "sample_rate",
            "n_fft",
            "hop_length",
            "n_mels",
            "segment_seconds",
            "max_windows",
        )
        for name in positive:
            value = getattr(cfg, name)
            if isinstance(value, bool) or not isinstance(value, int | float) or not value > 0:
                raise ValueError(
                    f"feature parameter {name} must be a positive number, not {value!r}"
                )
        if not 0 <= cfg.fmin < cfg.fmax <= cfg.sample_rate / 2:
            raise ValueError(f"mel band range {cfg.fmin}-{cfg.fmax} Hz is not valid")
        if cfg.scale not in SCALES:
            raise ValueError(f"unknown feature scale {cfg.scale!r}")
        if cfg.version != FEATURES_VERSION:
            raise ValueError(
                f"features version {cfg.version} is not supported (this app: {FEATURES_VERSION})"
            )
        return cfg


def frames_for(n_samples: int, cfg: FeatureConfig) -> int:
    """Number of STFT frames for ``n_samples`` samples (no centring)."""
    if n_samples < cfg.n_fft:
        return 0
    return 1 + (n_samples - cfg.n_fft) // cfg.hop_length


# The filterbank, window and framing below are librosa's and SciPy's own computations
# (``librosa.filters.mel`` with Slaney scale and norm, ``scipy.signal.get_window("hann")``,
# ``librosa.util.frame``), written out with NumPy so that an analysis worker does not import
# ``librosa.filters`` / ``scipy.signal``: about 2 s per process, longer than the worker then
# takes per song. tests/test_features.py holds them equal to the libraries', bit for bit.
_F_SP = 200.0 / 3  # Slaney mel scale: linear below 1 kHz ...
_MIN_LOG_HZ = 1000.0
_MIN_LOG_MEL = _MIN_LOG_HZ / _F_SP
_LOGSTEP = np.log(6.4) / 27.0  # ... logarithmic above


def _hz_to_mel(hz: np.ndarray | float) -> np.ndarray:
    f = np.asarray(hz, dtype=np.float64)
    log = _MIN_LOG_MEL + np.log(np.maximum(f, _MIN_LOG_HZ) / _MIN_LOG_HZ) / _LOGSTEP
    return np.where(f >= _MIN_LOG_HZ, log, f / _F_SP)


def _mel_to_hz(mels: np.ndarray) -> np.ndarray:
    m = np.asarray(mels, dtype=np.float64)
    log = _MIN_LOG_HZ * np.exp(_LOGSTEP * (np.maximum(m, _MIN_LOG_MEL) - _MIN_LOG_MEL))
    return np.where(m >= _MIN_LOG_MEL, log, _F_SP * m)


@functools.lru_cache(maxsize=8)
def _mel_basis(cfg: FeatureConfig) -> np.ndarray:
    """``(n_mels, 1 + n_fft // 2)`` triangular filters, each of unit area (Slaney)."""
    mel_f = _mel_to_hz(np.linspace(_hz_to_mel(cfg.fmin), _hz_to_mel(cfg.fmax), cfg.n_mels + 2))
    fdiff = np.diff(mel_f)
    ramps = np.subtract.outer(mel_f, np.fft.rfftfreq(n=cfg.n_fft, d=1.0 / cfg.sample_rate))
    weights = np.zeros((cfg.n_mels, 1 + cfg.n_fft // 2), dtype=np.float32)
    for i in range(cfg.n_mels):  # rows rounded to float32, then scaled, as librosa does
        weights[i] = np.maximum(0, np.minimum(-ramps[i] / fdiff[i], ramps[i + 2] / fdiff[i + 1]))
    weights *= (2.0 / (mel_f[2:] - mel_f[:-2]))[:, None]
    return weights


@functools.lru_cache(maxsize=8)
def _window(n_fft: int) -> np.ndarray:
    """The periodic Hann window, float32."""
    fac = np.linspace(-np.pi, np.pi, n_fft + 1)
    w = np.zeros(n_fft + 1)
    w += 0.5 * np.cos(0 * fac)
    w += 0.5 * np.cos(fac)
    return w[:-1].astype(np.float32)


def _frames(y: np.ndarray, cfg: FeatureConfig) -> np.ndarray:
    """A view ``(..., n_fft, n_frames)`` of ``y``'s STFT frames (no centring)."""
    view = np.lib.stride_tricks.sliding_window_view(y, cfg.n_fft, axis=-1)
    return np.swapaxes(view[..., :: cfg.hop_length, :], -1, -2)


@functools.lru_cache(maxsize=8)
def _window_spectrum(n_fft: int) -> tuple[np.ndarray, np.ndarray]:
    """The bins where the window's own spectrum is not zero, and its values there: a
    frame's constant part ``m`` adds exactly ``m * W[k]`` to bin ``k`` (only bins 0-1 for
    the Hann window)."""
    spectrum = np.fft.rfft(_window(n_fft).astype(np.float64))
    bins = np.flatnonzero(np.abs(spectrum) > 1e-9 * np.abs(spectrum).max())
    return bins, spectrum[bins].astype(np.complex64)


def _remove_frame_means(spec: np.ndarray, y: np.ndarray, cfg: FeatureConfig) -> np.ndarray:
    """``spec`` (the STFT of ``y``) as if each frame's mean had been subtracted first."""
    frames = _frames(y, cfg)
    means = frames.mean(axis=-2, dtype=np.float64).astype(np.float32)  # (..., n_frames)
    bins, values = _window_spectrum(cfg.n_fft)
    spec[..., bins, :] -= values[:, None] * means[..., None, :]
    return spec


def log_mel(y: np.ndarray, cfg: FeatureConfig) -> np.ndarray:
    """Mono waveform (float, ``cfg.sample_rate``) -> log-mel dB array ``(n_mels, frames)``.

    Works on a batch too: ``(..., samples)`` -> ``(..., n_mels, frames)``.
    """
    import scipy.fft  # librosa's FFT; a light import, unlike librosa.stft's module

    y = np.asarray(y, dtype=np.float32)
    if y.shape[-1] < cfg.n_fft:
        pad = [(0, 0)] * (y.ndim - 1) + [(0, cfg.n_fft - y.shape[-1])]
        y = np.pad(y, pad)
    spec = scipy.fft.rfft(_window(cfg.n_fft)[:, None] * _frames(y, cfg), axis=-2)
    if cfg.remove_dc:
        spec = _remove_frame_means(spec, y, cfg)
    power = (spec.real**2 + spec.imag**2).astype(np.float32)
    mel = np.matmul(_mel_basis(cfg), power)
    if cfg.scale == "log1p":
        return np.log10(1.0 + 10000.0 * mel).astype(np.float32)
    return (10.0 * np.log10(np.maximum(mel, cfg.amin))).astype(np.float32)


def silence_value(cfg: FeatureConfig) -> float:
    """What :func:`log_mel` gives for digital silence (the value to pad a patch with)."""
    return 0.0 if cfg.scale == "log1p" else float(10.0 * np.log10(cfg.amin))


def to_db(x: np.ndarray, cfg: FeatureConfig) -> np.ndarray:
    """Model input (either scale) -> dB re full scale, for display."""
    x = np.asarray(x, dtype=np.float32)
    if cfg.scale == "log1p":
        mel = (np.power(10.0, x, dtype=np.float32) - 1.0) / 10000.0
        return (10.0 * np.log10(np.maximum(mel, cfg.amin))).astype(np.float32)
    return x


def normalise_level(patches: np.ndarray, cfg: FeatureConfig) -> np.ndarray:
    """One song's patches (model scale, any leading shape) scaled together so their mean mel
    power is ``cfg.level_db`` dB; the gain is at most ``MAX_LEVEL_GAIN_DB`` either way.

    The same gain for every window keeps the song's own dynamics (a quiet verse stays
    quieter than the chorus) and removes only the level of the master, so the same song
    at another volume gets the same mood. No-op when ``cfg.level_db`` is None.
    """
    if cfg.level_db is None:
        return patches
    x = np.asarray(patches, dtype=np.float64)
    log1p = cfg.scale == "log1p"
    mel = (np.power(10.0, x) - 1.0) / 10000.0 if log1p else np.power(10.0, x / 10.0)
    mean = float(mel.mean()) if mel.size else 0.0
    if not mean > 0.0:
        return np.asarray(patches, dtype=np.float32)
    gain_db = cfg.level_db - 10.0 * np.log10(mean)
    gain_db = float(np.clip(gain_db, -MAX_LEVEL_GAIN_DB, MAX_LEVEL_GAIN_DB))
    out = np.log10(1.0 + 10000.0 * mel * 10.0 ** (gain_db / 10.0)) if log1p else x + gain_db
    return out.astype(np.float32)


def segment_patches(segments: np.ndarray, cfg: FeatureConfig) -> np.ndarray:
    """One song's ``(n, segment_samples)`` windows -> ``(n, 1, n_mels, segment_frames)`` model
    input (level-normalised together when the config asks for it)."""
    segments = np.asarray(segments, dtype=np.float32)
    if segments.ndim != 2 or segments.shape[1] != cfg.segment_samples:
        raise ValueError(
            f"expected (n, {cfg.segment_samples}) segments, got {tuple(segments.shape)}"
        )
    return normalise_level(log_mel(segments, cfg)[:, None, :, :], cfg)
