"""Audio preview: disabled cleanly without PortAudio/device; player logic with a fake stream."""

from __future__ import annotations

from typing import ClassVar

import numpy as np
import pytest
from PySide6.QtCore import QCoreApplication

from tagger.core.preview import Clip, decode_clip
from tagger.ui import playback
from tagger.ui.playback import Player
from tests.audio_factory import write_audio


class FakeStream:
    """Stands in for sounddevice.OutputStream; the test pulls audio via ``pull``."""

    instances: ClassVar[list[FakeStream]] = []

    def __init__(self, samplerate, channels, dtype, callback):
        self.samplerate, self.channels, self.dtype, self.callback = (
            samplerate,
            channels,
            dtype,
            callback,
        )
        self.active = False
        self.closed = False
        FakeStream.instances.append(self)

    def start(self):
        self.active = True

    def stop(self):
        self.active = False

    def close(self):
        self.closed = True

    def pull(self, frames: int) -> np.ndarray:
        out = np.full((frames, self.channels), 9.0, dtype=np.float32)
        self.callback(out, frames, None, None)
        return out


def ramp_clip(seconds: float = 2.0, rate: int = 1000) -> Clip:
    n = int(seconds * rate)
    left = (np.arange(n) % 1000).astype(np.int16) * 10
    return Clip("x.wav", np.stack([left, -left], axis=1), rate, 0.0, start_at=0.5)


def test_missing_portaudio_disables_playback(qtbot, monkeypatch):
    def fail():
        raise OSError("PortAudio library not found")

    monkeypatch.setattr(playback, "import_sounddevice", fail)
    p = Player()
    assert not p.available
    # says it once, in sounddevice's words, and what to do
    assert p.unavailable_reason == (
        "Audio preview is off: PortAudio library not found (install PortAudio to listen)."
    )
    p.load("/nonexistent.wav", 1.0, play=True)  # all no-ops, nothing raises
    p.play()
    p.toggle()
    p.seek(3.0)
    p.set_volume(0.3)
    assert not p.playing and p.clip is None
    p.shutdown()


def test_no_output_device_disables_playback(qtbot, monkeypatch):
    class NoDevice:
        class PortAudioError(Exception):
            pass

        def query_devices(self, kind=None):
            raise self.PortAudioError("Error querying device -1")

    monkeypatch.setattr(playback, "import_sounddevice", lambda: NoDevice())
    p = Player()
    assert not p.available and "no audio output device" in p.unavailable_reason


def test_stream_that_fails_to_open_says_so_and_play_tries_again(qtbot):
    """A busy or unplugged device is not the end of playback for the session."""
    fail = [True]

    def flaky(**kw):
        if fail[0]:
            raise RuntimeError("Device unavailable")
        return FakeStream(**kw)

    p = Player(stream_factory=flaky)
    p.set_clip(ramp_clip())
    with qtbot.waitSignal(p.errored) as sig:
        p.play()
    assert sig.args[0] == "Cannot play: cannot open the audio output (Device unavailable)."
    assert p.available and not p.playing
    fail[0] = False  # plugged back in
    p.play()
    assert p.playing and FakeStream.instances[-1].active


class DyingStream(FakeStream):
    """A stream whose device goes away: PortAudio stops it, then it raises."""

    dead = False

    @property
    def active(self):
        if self.dead:
            raise RuntimeError("Unanticipated host error")
        return self._active

    @active.setter
    def active(self, value):
        self._active = value

    def stop(self):
        if self.dead:
            raise RuntimeError("Unanticipated host error")
        self._active = False


@pytest.mark.parametrize("how", ["stopped", "raises"])
def test_output_lost_while_playing_stops_and_says_so(qtbot, how):
    p = Player(stream_factory=DyingStream)
    p.set_clip(ramp_clip())
    p.play()
    stream = FakeStream.instances[-1]
    stream.pull(100)
    if how == "stopped":
        stream._active = False  # PortAudio aborted the stream
    else:
        stream.dead = True
    with qtbot.waitSignal(p.errored, timeout=2000) as sig:
        pass  # the position timer notices
    assert sig.args[0].startswith("Playback stopped: the audio output failed (")
    assert not p.playing and stream.closed
    assert p.position == pytest.approx(0.6)  # kept: Play goes on from there
    p.play()
    assert p.playing and FakeStream.instances[-1] is not stream
    played = FakeStream.instances[-1].pull(10)[0, 0]
    assert played == pytest.approx(p.clip.samples[600, 0] * 0.8 / 32768)


def test_a_longer_clip_of_the_playing_song_carries_on_without_a_gap(qtbot):
    whole = ramp_clip(4.0)
    first = Clip("x.wav", whole.samples[1000:1500], 1000, 1.0, start_at=1.0)
    p = Player(stream_factory=FakeStream)
    p.set_clip(first)
    p.set_volume(1.0)
    p.play()
    stream = FakeStream.instances[-1]
    stream.pull(300)
    with qtbot.waitSignal(p.clip_loaded):
        p._extend(Clip("x.wav", whole.samples, 1000, 0.0, start_at=1.0))
    assert p.playing and p.position == pytest.approx(1.3) and stream.active
    np.testing.assert_allclose(stream.pull(50), whole.samples[1300:1350] / 32768.0)


def test_switching_songs_quickly_reports_only_the_current_song(qtbot, tmp_path, monkeypatch):
    real = playback.decode_job

    def job(path, start_at, cancel=None):
        if path == "broken":
            raise RuntimeError("decoder bug")
        yield from real(path, start_at, cancel)

    monkeypatch.setattr(playback, "decode_job", job)
    good = write_audio(tmp_path / "a.wav", 2.0)
    p = Player(stream_factory=FakeStream)
    errors = []
    p.errored.connect(errors.append)
    p.load("broken", play=True)
    stale = p.decode_worker
    with qtbot.waitSignal(p.clip_loaded, timeout=10_000):
        p.load(str(good), play=True)
    qtbot.waitUntil(lambda: stale.done and not p.loading, timeout=10_000)
    QCoreApplication.processEvents()  # deliver what the stale worker sent before it ended
    assert errors == [] and p.clip.path == str(good) and p.playing
    p.shutdown()


def test_nothing_plays_after_shutdown(qtbot, tmp_path):
    """Closing the window while a song decodes: its clip arrives late and is dropped."""
    path = write_audio(tmp_path / "a.wav", 2.0)
    p = Player(stream_factory=FakeStream)
    n = len(FakeStream.instances)
    p.load(str(path), play=True)
    w = p.decode_worker
    p.shutdown()
    qtbot.waitUntil(lambda: w.done, timeout=10_000)
    QCoreApplication.processEvents()  # deliver what it sent before it ended
    assert not p.playing and len(FakeStream.instances) == n
    p.play()
    assert not p.playing


def test_player_feeds_the_stream_from_the_start_segment(qtbot):
    p = Player(stream_factory=FakeStream)
    clip = ramp_clip()
    p.set_clip(clip)
    assert p.position == pytest.approx(0.5)
    p.play()
    stream = FakeStream.instances[-1]
    assert p.playing and stream.active and stream.samplerate == 1000 and stream.channels == 2
    p.set_volume(1.0)
    out = stream.pull(100)
    expected = clip.samples[500:600].astype(np.float32) / 32768.0
    np.testing.assert_allclose(out, expected)
    assert p.position == pytest.approx(0.6)
    p.set_volume(0.5)
    np.testing.assert_allclose(stream.pull(10), clip.samples[600:610] / 32768.0 * 0.5, rtol=1e-6)
    p.seek(1.95)
    out = stream.pull(100)  # past the end: the rest is silence
    assert np.all(out[50:] == 0) and np.any(out[:50] != 0)
    with qtbot.waitSignal(p.playing_changed, timeout=2000) as sig:
        pass  # the position timer notices the end and pauses
    assert sig.args == [False] and not p.playing
    p.toggle()  # playing again from the end restarts at the beginning
    assert p.playing and p.position == 0.0
    p.toggle()
    assert not p.playing and not stream.active
    p.stop()
    assert stream.closed


def test_load_decodes_in_a_worker_and_plays(qtbot, tmp_path):
    path = write_audio(tmp_path / "a.flac", 3.0)
    p = Player(stream_factory=FakeStream)
    with qtbot.waitSignal(p.clip_loaded, timeout=10_000):
        p.load(str(path), start_at=1.0, play=True)
    qtbot.waitUntil(lambda: p.playing)
    assert p.clip.sample_rate == 44100 and p.clip.channels == 2
    assert p.position == pytest.approx(1.0)
    p.shutdown()


def test_load_reports_bad_files(qtbot, tmp_path):
    bad = tmp_path / "bad.mp3"
    bad.write_bytes(b"not audio at all" * 10)
    p = Player(stream_factory=FakeStream)
    with qtbot.waitSignal(p.errored, timeout=10_000) as sig:
        p.load(str(bad))
    assert "Cannot play this file" in sig.args[0] and p.clip is None


def test_decode_clip_keeps_stereo_and_native_rate(tmp_path):
    for ext, rate in [(".wav", 44100), (".opus", 48000), (".mp3", 44100)]:
        clip = decode_clip(write_audio(tmp_path / f"s{ext}", 2.0), start_at=1.0)
        assert clip.sample_rate == rate and clip.channels == 2
        assert clip.duration == pytest.approx(2.0, abs=0.1) and clip.start_at == 1.0
        assert clip.samples.dtype == np.int16 and np.abs(clip.samples).max() > 100


class PickyStream(FakeStream):
    """A device that takes 48 kHz only (as some hardware outputs without a rate converter)."""

    def __init__(self, samplerate, channels, dtype, callback):
        if samplerate != 48000:
            raise RuntimeError("Invalid sample rate [PaErrorCode -9997]")
        super().__init__(samplerate, channels, dtype, callback)


def test_a_device_that_refuses_the_rate_plays_at_its_own(qtbot, tmp_path):
    """A device refusing the clip's sample rate gets its default rate: the clip resampled
    (same place, same length and pitch), and the next song decoded at that rate."""
    rate = 44100
    t = np.arange(rate) / rate
    tone = (np.sin(2 * np.pi * 441 * t) * 16000).astype(np.int16)
    clip = Clip("x.wav", np.stack([tone, tone], axis=1), rate, 10.0, start_at=10.5)
    p = Player(stream_factory=PickyStream, device_rate=lambda: 48000.0)
    errors: list[str] = []
    p.errored.connect(errors.append)
    p.set_clip(clip)
    p.play()
    assert errors == [] and p.playing
    stream = FakeStream.instances[-1]
    assert stream.samplerate == 48000 and p.clip.sample_rate == 48000
    assert p.clip.samples.shape[0] == 48000 and p.clip.duration == pytest.approx(11.0)
    assert p.position == pytest.approx(10.5, abs=1e-3)  # where it was
    out = stream.pull(4800)[:, 0]
    crossings = np.count_nonzero(np.diff(np.signbit(out)))  # 441 Hz: ~88 in 0.1 s
    assert 86 <= crossings <= 90
    # the next song is decoded for the device's rate, so it opens at once
    song = write_audio(tmp_path / "a.wav", 2.0, "bright")
    with qtbot.waitSignal(p.clip_loaded, timeout=10_000):
        p.load(str(song), 0.0, play=True)
    qtbot.waitUntil(lambda: p.decode_worker is None, timeout=10_000)
    assert p.clip.sample_rate == 48000 and p.playing and errors == []


def test_a_device_that_refuses_its_own_rate_too_says_so(qtbot):
    def refuse(**kw):
        raise RuntimeError("Invalid sample rate")

    p = Player(stream_factory=refuse, device_rate=lambda: 48000.0)
    with qtbot.waitSignal(p.errored) as sig:
        p.set_clip(ramp_clip(rate=44100))
        p.play()
    assert sig.args[0] == "Cannot play: cannot open the audio output (Invalid sample rate)."
    assert not p.playing
