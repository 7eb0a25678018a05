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
    assert str(err.value)


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
