from __future__ import annotations

import shutil
from pathlib import Path

import numpy as np
import pytest

from tagger.core import audio
from tagger.core.errors import DecodeError
from tests.audio_factory import FORMATS, write_audio, write_bad_files


@pytest.mark.parametrize("fmt", sorted(FORMATS))
def test_every_format_decodes_the_requested_windows(tmp_path, fmt):
    path = write_audio(tmp_path / f"song{FORMATS[fmt]}", seconds=12.0, kind="bright")
    info = audio.probe(path)
    assert info.duration == pytest.approx(12.0, abs=0.1)
    w = audio.load_windows(path, [0.0, 6.0], 5.0, 22050)
    assert w.shape == (2, 5 * 22050)
    assert w.dtype == np.float32
    assert 0.01 < float(np.abs(w).mean()) < 1.0  # real audio, not silence or garbage
    np.testing.assert_array_equal(w, audio.load_windows(path, [0.0, 6.0], 5.0, 22050))


def test_seeked_window_matches_whole_decode(tmp_path):
    """Seeking must land where asked: compare with slicing a full decode."""
    path = write_audio(tmp_path / "song.flac", seconds=20.0, kind="bright")
    whole = audio.load_all(path, 22050)
    w = audio.load_windows(path, [7.0], 5.0, 22050)[0]
    ref = whole[7 * 22050 : 12 * 22050]
    assert np.corrcoef(w[1000:-1000], ref[1000:-1000])[0, 1] > 0.99


@pytest.mark.parametrize("ext", [".oga", ".mp3", ".ogg", ".flac", ".wv", ".wma"])
def test_seeked_windows_are_sample_exact(tmp_path, ext):
    """Windows read one after another from one open file are exactly the same span of a
    whole decode (native rate, no resampling): an MP3's encoder delay (LAME tag) made every
    window 25 ms early, the Ogg FLAC demuxer's guessed timestamps after a seek up to ~1 s
    early, a Vorbis window began with a frame decoded without its predecessor, and a WMA
    window began two frames (93 ms) early, give or take ASF's millisecond stamps."""
    path = write_audio(tmp_path / f"song{ext}", seconds=30.0, kind="bright")
    sr = 44100
    whole = audio.load_all(path, sr)
    starts = [1.0, 4.3, 7.7, 11.2, 14.6, 18.1, 21.5, 24.9]
    windows = audio.load_windows(path, starts, 5.0, sr)
    for start, w in zip(starts, windows, strict=True):
        a = round(start * sr)
        np.testing.assert_array_equal(w, whole[a : a + 5 * sr], err_msg=f"window at {start} s")


def _best_lag(whole: np.ndarray, w: np.ndarray, at: int, span: int) -> int:
    """The shift of ``w`` against ``whole[at:]`` (within ``span`` samples either way) with
    the least squared difference."""
    seg = whole[at - span : at + w.size + span].astype(np.float64)
    n = seg.size + w.size
    corr = np.fft.irfft(np.fft.rfft(seg, n) * np.conj(np.fft.rfft(w.astype(np.float64), n)), n)
    energy = np.concatenate([[0.0], np.cumsum(seg**2)])
    lags = np.arange(2 * span + 1)
    err = energy[lags + w.size] - energy[lags] - 2 * corr[lags]
    return int(np.argmin(err)) - span


@pytest.mark.parametrize("sr", [44100, 16000])
def test_wma_windows_start_where_the_whole_decode_has_them(tmp_path, sr):
    """FFmpeg's WMA encoder starts with a priming packet that ASF cannot stamp before 0 and
    the decoder outputs nothing for the first two packets, so windows timed from the
    stream's start were two frames early (4096 samples at 44.1 kHz, 1024 at 16 kHz)."""
    path = write_audio(tmp_path / "song.wma", seconds=20.0, kind="bright", sr=sr)
    whole = audio.load_all(path, sr)
    starts = [0.0, 1.0, 4.3, 9.9, 14.2]
    for start, w in zip(starts, audio.load_windows(path, starts, 3.0, sr), strict=True):
        a = round(start * sr)
        lag = _best_lag(np.pad(whole, 5000), w, a + 5000, 5000)
        assert abs(lag) <= 2, f"window at {start} s is {lag} samples off"
        assert np.abs(w - whole[a : a + w.size]).max() < 0.05  # lossy noise bands differ


def _vbr_mp3_without_header(path: Path, seconds: float) -> Path:
    """A VBR MP3 with a silent 3-s intro and no Xing/Info header (as some encoders and
    stream rippers write): its first frames have the lowest bitrate of the file."""
    import av

    from tests.audio_factory import tone

    sr = 44100
    y = tone(seconds, sr, "bright", stereo=False)
    y[: 3 * sr] = 0.0
    with av.open(str(path), "w", format="mp3", options={"write_xing": "0"}) as out:
        stream = out.add_stream("libmp3lame", rate=sr, layout="mono")
        stream.codec_context.qscale = True  # VBR, like lame -V2
        stream.codec_context.global_quality = 2 * 118
        for i in range(0, y.size, 1152):
            chunk = np.ascontiguousarray(np.pad(y[i : i + 1152], (0, max(0, i + 1152 - y.size))))
            frame = av.AudioFrame.from_ndarray(chunk[None, :], format="fltp", layout="mono")
            frame.sample_rate, frame.pts = sr, i
            for packet in stream.encode(frame):
                out.mux(packet)
        for packet in stream.encode(None):
            out.mux(packet)
    return path


def test_vbr_mp3_without_length_header_is_measured(tmp_path):
    """Without a Xing header FFmpeg and mutagen guess the length from the first (quiet, low
    bitrate) frame: 62.5 s for this 60-s song, which was then rejected as truncated."""
    path = _vbr_mp3_without_header(tmp_path / "rip.mp3", 60.0)
    assert audio.probe(path).duration == pytest.approx(60.0, abs=0.1)
    w = audio.load_windows(path, [10.0, 27.5, 45.0], 5.0, 16000)
    assert float(np.abs(w).mean()) > 0.01


def test_wav_with_placeholder_data_size_is_read(tmp_path):
    """A WAV written by a streaming recorder (FFmpeg to a pipe) has 0xFFFFFFFF as its data
    size: it is a whole song, not a truncated one."""
    import struct

    path = write_audio(tmp_path / "stream.wav", seconds=12.0)
    raw = bytearray(path.read_bytes())
    at = raw.find(b"data")
    raw[4:8] = raw[at + 4 : at + 8] = struct.pack("<I", 0xFFFFFFFF)
    path.write_bytes(bytes(raw))
    assert audio.probe(path).duration == pytest.approx(12.0, abs=0.01)
    w = audio.load_windows(path, [0.0, 7.0], 5.0, 16000)
    assert float(np.abs(w).mean()) > 0.01


@pytest.mark.parametrize("ext", [".ogg", ".opus"])
def test_chained_ogg_has_a_length(tmp_path, ext):
    """Two Ogg streams one after the other (a radio rip): FFmpeg reports no length, which
    made analysis take one window from the first 5 s and store a duration of 0."""
    a = write_audio(tmp_path / f"a{ext}", seconds=30.0, kind="bright")
    b = write_audio(tmp_path / f"b{ext}", seconds=30.0, kind="calm")
    chained = tmp_path / f"chained{ext}"
    chained.write_bytes(a.read_bytes() + b.read_bytes())
    assert audio.probe(chained).duration == pytest.approx(30.0, abs=0.1)
    w = audio.load_windows(chained, [5.0, 12.5, 20.0], 5.0, 16000)
    assert float(np.abs(w).mean()) > 0.01


def _damage_middle(good: Path, name: str) -> Path:
    raw = bytearray(good.read_bytes())
    mid = len(raw) // 2
    raw[mid : mid + 8000] = bytes(8000)  # a bad sector, a broken download
    damaged = good.with_name(name)
    damaged.write_bytes(bytes(raw))
    return damaged


def test_damage_in_the_middle_of_an_mp3_is_skipped(tmp_path):
    """8 KB zeroed in the middle of a 30-s MP3: the decoder's error on the first damaged
    packet ended the window there, and the song was reported "truncated file: audio stops
    near 15.0 s". The frames after it decode fine, as in any player."""
    good = write_audio(tmp_path / "good.mp3", seconds=30.0, kind="bright")
    damaged = _damage_middle(good, "damaged.mp3")
    sr = 16000
    w = audio.load_windows(damaged, [2.0, 12.5], 5.0, sr)
    ref = audio.load_windows(good, [2.0, 12.5], 5.0, sr)
    np.testing.assert_array_equal(w[0], ref[0])
    # the damaged window: the audio before the damage in place, and audio after it
    head = slice(0, sr)
    assert np.corrcoef(w[1][head], ref[1][head])[0, 1] > 0.99
    assert float(np.abs(w[1][-sr:]).mean()) > 0.01


def test_damage_the_decoder_cannot_pass_is_called_corrupt(tmp_path):
    """Where the demuxer gives up at the damage (WavPack), the file is complete, so the
    message says corrupt, not truncated."""
    good = write_audio(tmp_path / "good.wv", seconds=30.0, kind="bright")
    damaged = _damage_middle(good, "damaged.wv")
    with pytest.raises(DecodeError, match="corrupt audio data near 14"):
        audio.load_windows(damaged, [2.0, 12.5], 5.0, 16000)


def test_short_file_is_zero_padded(tmp_path):
    path = write_audio(tmp_path / "short.wav", seconds=2.0)
    w = audio.load_windows(path, [0.0], 5.0, 22050)
    assert w.shape == (1, 5 * 22050)
    assert np.abs(w[0, : 2 * 22050 - 100]).mean() > 0.01
    assert np.all(w[0, 2 * 22050 + 100 :] == 0)


@pytest.mark.parametrize("kind", ["empty", "text", "corrupt", "truncated"])
def test_bad_files_raise_decode_error_with_path(tmp_path, kind):
    bad = write_bad_files(tmp_path)[kind]
    with pytest.raises(DecodeError) as err:
        audio.load_windows(bad, [0.0, 5.0], 5.0, 22050)
    assert err.value.path == bad
    assert str(err.value) and "Errno" not in str(err.value)  # "[Errno 1094995529] ..."


@pytest.mark.parametrize("ext", [".mp3", ".flac", ".ogg", ".oga", ".opus", ".wav", ".wma", ".wv"])
def test_truncated_files_are_reported(tmp_path, ext):
    good = write_audio(tmp_path / f"good{ext}", seconds=30.0)
    cut = tmp_path / f"cut{ext}"
    cut.write_bytes(good.read_bytes()[: good.stat().st_size // 2])
    with pytest.raises(DecodeError, match=r"truncated|corrupt"):
        audio.load_windows(cut, [0.0, 12.0, 24.0], 5.0, 22050)
    audio.load_windows(good, [0.0, 12.0, 24.0], 5.0, 22050)  # the intact file is fine


def test_missing_file(tmp_path):
    with pytest.raises(DecodeError, match="not found"):
        audio.probe(tmp_path / "nope.mp3")


def test_permission_denied(tmp_path, monkeypatch):
    """As root every file is readable, so make the decoder's open fail as it would."""
    import av

    path = write_audio(tmp_path / "locked.wav", seconds=3.0)

    def denied(*args, **kwargs):
        raise PermissionError(13, "Permission denied", str(path))

    monkeypatch.setattr(av, "open", denied)
    with pytest.raises(DecodeError, match="permission denied"):
        audio.probe(path)


def test_odd_unicode_names(tmp_path):
    src = write_audio(tmp_path / "a.ogg", seconds=6.0)
    odd = tmp_path / "Sigur Rós — Ágætis byrjun" / "01 Svefn-g-englar ♫ 😀.ogg"
    odd.parent.mkdir()
    shutil.copy(src, odd)
    assert audio.load_windows(Path(odd), [0.0], 5.0, 22050).shape == (1, 110250)


def test_a_flac_that_declares_no_length_is_measured(tmp_path):
    """STREAMINFO total_samples = 0 ("unknown", as streaming encoders write it) read as a
    length of 0: one window at 0 s for the whole song, and no too-short check."""
    from tagger.core import audio

    p = write_audio(tmp_path / "a.flac", 30.0, kind="bright")
    b = bytearray(p.read_bytes())
    b[21] &= 0xF0  # the top 4 bits of the 36-bit sample count
    b[22:26] = b"\0\0\0\0"
    p.write_bytes(bytes(b))
    assert abs(audio.probe(p).duration - 30.0) < 0.1


def test_an_mp3_named_ogg_is_read_as_what_it_is(tmp_path):
    """It failed as "truncated file: the Ogg stream is cut off": the Ogg check went by the
    file name. A FLAC named .mp3 was already fine."""
    import shutil

    from tagger.core import audio

    src = write_audio(tmp_path / "a.mp3", 12.0)
    for name in ("a.ogg", "a.opus"):
        shutil.copy(src, tmp_path / name)
        wav = audio.load_windows(tmp_path / name, [0.0, 6.0], 5.0, 16000)
        assert wav.shape == (2, 80000) and float(abs(wav).max()) > 0.01


def _cut(good: Path, size: int, name: str) -> Path:
    cut = good.with_name(name)
    cut.write_bytes(good.read_bytes()[:size])
    return cut


@pytest.mark.parametrize(("ext", "keep"), [(".flac", 1000), (".wv", 60)])
def test_a_cut_file_the_decoder_gives_up_on_is_not_a_permission_problem(tmp_path, ext, keep):
    """FFmpeg's catch-all failure (-1, which is AVERROR(EPERM)) made a truncated FLAC or
    WavPack file read "corrupt audio data (Operation not permitted)", as if the file could
    not be opened for want of permission."""
    good = write_audio(tmp_path / f"good{ext}", seconds=30.0)
    size = keep if ext == ".flac" else good.stat().st_size // keep
    cut = _cut(good, size, f"cut{ext}")
    with pytest.raises(DecodeError) as err:
        audio.load_windows(cut, [0.0, 12.0, 24.0], 5.0, 22050)
    message = str(err.value)
    assert message.startswith("corrupt or truncated audio data"), message
    assert "not permitted" not in message.lower() and "permission" not in message.lower()
    assert "Errno" not in message


def test_decoder_errors_keep_ffmpeg_s_words_but_no_os_error_text():
    import av

    generic = av.error.PermissionError(1, "Operation not permitted")
    invalid = av.error.InvalidDataError(-1094995529, "Invalid data found when processing input")
    assert audio._decoder_words(generic) == ""
    assert audio._decoder_words(invalid) == " (Invalid data found when processing input)"
    assert "permitted" not in audio._short(generic)
    assert audio._short(invalid) == "Invalid data found when processing input"


def test_a_real_permission_problem_on_open_still_says_so(tmp_path, monkeypatch):
    import av

    song = write_audio(tmp_path / "song.flac", seconds=3.0)

    def denied(*args, **kwargs):
        raise av.error.PermissionError(13, "Permission denied")

    monkeypatch.setattr(av, "open", denied)
    with pytest.raises(DecodeError, match=r"^permission denied$"):
        audio.probe(song)

    def generic(*args, **kwargs):  # FFmpeg's -1 on a file that can be read
        raise av.error.PermissionError(1, "Operation not permitted")

    monkeypatch.setattr(av, "open", generic)
    with pytest.raises(DecodeError) as err:
        audio.probe(song)
    assert "permission" not in str(err.value) and "permitted" not in str(err.value)
    assert str(err.value).startswith("not a readable audio file")
