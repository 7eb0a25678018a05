"""Decoding for the audio preview: formats as a person hears them, long songs, cancelling."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import soundfile as sf

from tagger.core import preview
from tagger.core.errors import DecodeError
from tagger.core.preview import decode_clip, iter_preview
from tagger.core.progress import CancelToken
from tests.audio_factory import _write_av, write_audio, write_bad_files


def sine(seconds: float, sr: int, channels: int, freq: float = 440.0) -> np.ndarray:
    t = np.arange(int(seconds * sr)) / sr
    y = (0.3 * np.sin(2 * np.pi * freq * t)).astype(np.float32)
    return np.repeat(y[:, None], channels, axis=1)


def peak_hz(clip) -> float:
    y = clip.samples[:, 0].astype(np.float64)
    spectrum = np.abs(np.fft.rfft(y * np.hanning(y.size)))
    return float(np.argmax(spectrum) * clip.sample_rate / y.size)


UNUSUAL = {
    # name: (file, native rate, channels in the file, subtype or AV codec)
    "mono": ("mono.wav", 44100, 1, "PCM_16"),
    "8 kHz": ("low.wav", 8000, 2, "PCM_16"),
    "96 kHz 24-bit FLAC": ("hi.flac", 96000, 2, "PCM_24"),
    "5.1": ("surround.flac", 48000, 6, "PCM_24"),
    "22.05 kHz Ogg": ("low.ogg", 22050, 2, "vorbis"),
    "WMA": ("a.wma", 44100, 2, "wmav2"),
    "M4A": ("a.m4a", 48000, 2, "aac"),
}


@pytest.mark.parametrize("name", list(UNUSUAL))
def test_unusual_audio_keeps_its_pitch_and_length(tmp_path, name):
    file, rate, channels, codec = UNUSUAL[name]
    path = tmp_path / file
    data = sine(3.0, rate, channels)
    if codec.startswith("PCM"):
        sf.write(path, data, rate, subtype=codec)
    else:
        fmt = {".ogg": "ogg", ".wma": "asf", ".m4a": "mp4"}[path.suffix]
        _write_av(path, data, rate, fmt, codec)
    clip = decode_clip(path, start_at=1.0)
    # played at the clip's rate: a rate the stream is opened at, else resampled to it
    assert clip.sample_rate in (44100, 48000)
    assert clip.sample_rate == (rate if rate in (44100, 48000) else 44100)
    assert clip.channels == (1 if channels == 1 else 2)
    assert clip.duration == pytest.approx(3.0, abs=0.1) and clip.start_at == 1.0
    assert peak_hz(clip) == pytest.approx(440.0, abs=2.0)  # not faster, not slower
    assert np.abs(clip.samples).max() > 3000  # a downmix that keeps the level


def test_a_long_song_is_previewed_around_its_analysed_part(tmp_path):
    """A song longer than the preview plays from its analysed part (it used to be cut at
    ten minutes and start there, at the end, in silence)."""
    rate = 8000
    seconds = preview.MAX_SECONDS + 20
    y = np.zeros(int(seconds * rate), dtype=np.int16)
    y[int((seconds - 10) * rate) :] = 8000  # only the analysed part has sound
    path = tmp_path / "long.wav"
    sf.write(path, y, rate, subtype="PCM_16")
    start = seconds - 10
    clips = list(iter_preview(path, start))
    first, last = clips[0], clips[-1]
    assert first.offset == start and first.start_at == start
    assert last.start_at == start and last.duration == pytest.approx(seconds, abs=0.05)
    assert last.offset == pytest.approx(start - preview.MAX_SECONDS / 2)
    at = round((start - last.offset) * last.sample_rate)
    assert np.all(last.samples[at + 100 : at + 1000] > 1000)
    assert np.all(last.samples[at - 1000 : at - 100] == 0)


def test_the_first_seconds_come_first_and_the_rest_continues_them(tmp_path):
    path = tmp_path / "song.flac"
    sf.write(path, sine(40.0, 44100, 2, 300.0), 44100, subtype="PCM_16")
    clips = list(iter_preview(path, 10.0))
    assert [c.offset for c in clips] == [10.0, 10.0, 0.0]
    assert clips[0].duration == pytest.approx(10.0 + preview.FIRST_SECONDS, abs=0.1)
    assert clips[1].duration == clips[2].duration == pytest.approx(40.0, abs=0.01)
    assert all(c.start_at == 10.0 for c in clips)
    n0 = clips[0].samples.shape[0]
    np.testing.assert_array_equal(clips[1].samples[:n0], clips[0].samples)
    np.testing.assert_array_equal(clips[2].samples[10 * 44100 :], clips[1].samples)
    whole = decode_clip(path)
    np.testing.assert_array_equal(clips[2].samples[: 10 * 44100], whole.samples[: 10 * 44100])


def test_decoding_stops_once_cancelled(tmp_path):
    path = tmp_path / "song.wav"
    sf.write(path, sine(40.0, 44100, 2), 44100, subtype="PCM_16")
    cancel = CancelToken()
    clips = iter_preview(path, 10.0, cancel)
    next(clips)
    cancel.cancel()
    assert list(clips) == []


@pytest.mark.parametrize("kind", ["empty", "text", "corrupt"])
def test_files_that_cannot_be_played_raise_decode_error(tmp_path, kind):
    path = write_bad_files(tmp_path)[kind]
    with pytest.raises(DecodeError) as err:
        list(iter_preview(path, 1.0))
    assert err.value.path == Path(path)


def test_a_file_deleted_before_it_plays(tmp_path):
    with pytest.raises(DecodeError, match="file not found"):
        list(iter_preview(tmp_path / "gone.mp3", 0.0))


@pytest.mark.parametrize("ext", [".wav", ".mp3", ".flac"])
def test_a_file_cut_short_since_its_analysis_plays_what_it_has(tmp_path, ext):
    """Its analysed part is gone: it plays from the start (not silence at the cut)."""
    good = write_audio(tmp_path / f"good{ext}", 30.0)
    cut = tmp_path / f"cut{ext}"
    cut.write_bytes(good.read_bytes()[: good.stat().st_size // 3])
    clips = list(iter_preview(cut, 20.0))
    assert clips and clips[-1].offset == 0.0 and clips[-1].start_at == 0.0
    assert 8.0 < clips[-1].duration < 11.0 and np.abs(clips[-1].samples).max() > 1000
