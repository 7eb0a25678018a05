"""Audio preview with sounddevice: decode in a worker, play from the GUI thread.

The decoded :class:`~tagger.core.preview.Clip` is fed to a PortAudio output stream by its
callback (PortAudio's thread), which only copies samples under a lock; opening, starting
and stopping the stream happen in the GUI thread. When PortAudio is missing (``import
sounddevice`` raises OSError) or there is no output device, :attr:`Player.available` is
False, :attr:`Player.unavailable_reason` says why, and every method is a harmless no-op.
A stream that cannot be opened, or that dies while playing (the device unplugged), stops
playback with :attr:`Player.errored`; the next Play opens a new one. A device that refuses
the clip's sample rate gets its own default rate instead (the clip resampled, later songs
decoded at that rate).
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable
from typing import Any

import numpy as np
from PySide6.QtCore import QObject, QTimer, Signal

from tagger.core.preview import Clip, resample_clip
from tagger.ui.review_workers import GeneratorWorker, JobFailed, decode_job

log = logging.getLogger(__name__)

#: How often the GUI learns the play position (ms).
POSITION_INTERVAL_MS = 100


def import_sounddevice() -> Any:
    """``import sounddevice`` (a function so tests can make it fail like a missing PortAudio)."""
    import sounddevice

    return sounddevice


def probe_output() -> tuple[Any | None, str | None]:
    """``(sounddevice module, None)`` when playback can work, else ``(None, reason)``."""
    try:
        sd = import_sounddevice()
    except (OSError, ImportError) as exc:
        detail = str(exc).strip()
        if "portaudio" in detail.lower():  # sounddevice's own "PortAudio library not found"
            return None, f"Audio preview is off: {detail} (install PortAudio to listen)."
        return None, (
            "Audio preview is off: the PortAudio library is not available"
            + (f" ({detail})." if detail else ".")
        )
    try:
        sd.query_devices(kind="output")
    except Exception as exc:  # PortAudioError or ValueError: no default output device
        return None, f"Audio preview is off: no audio output device ({exc})."
    return sd, None


class Player(QObject):
    """Play/pause, seek and volume over one decoded clip at a time."""

    clip_loaded = Signal(object)  # Clip
    position_changed = Signal(float)  # seconds from the song's start
    playing_changed = Signal(bool)
    errored = Signal(str)

    def __init__(
        self,
        parent: QObject | None = None,
        stream_factory: Callable[..., Any] | None = None,
        device_rate: Callable[[], float] | None = None,
    ) -> None:
        """``device_rate``: the output device's default sample rate (by default asked of
        sounddevice), tried when the device refuses a clip's own rate."""
        super().__init__(parent)
        self._sd: Any = None
        self._reason: str | None = None
        if stream_factory is None:
            self._sd, self._reason = probe_output()
            if self._sd is not None:
                stream_factory = self._sd.OutputStream
                sd = self._sd
                device_rate = device_rate or (
                    lambda: sd.query_devices(kind="output")["default_samplerate"]
                )
        self._factory = stream_factory
        self._device_rate = device_rate
        #: The rate the device took after refusing a clip's own (then used for every clip).
        self._rate: int | None = None
        self._lock = threading.Lock()
        self._clip: Clip | None = None
        self._frame = 0  # next frame to play (index into clip.samples)
        self._volume = 0.8
        self._stream: Any = None
        self._playing = False
        self._worker: GeneratorWorker | None = None
        self._pending_play = False
        self._closed = False  # after shutdown: late decode results are dropped
        self._timer = QTimer(self)
        self._timer.setInterval(POSITION_INTERVAL_MS)
        self._timer.timeout.connect(self._on_timer_timeout)

    # -- state --------------------------------------------------------------------------
    @property
    def available(self) -> bool:
        return self._factory is not None

    @property
    def unavailable_reason(self) -> str | None:
        return None if self.available else self._reason

    @property
    def clip(self) -> Clip | None:
        return self._clip

    @property
    def playing(self) -> bool:
        return self._playing

    @property
    def loading(self) -> bool:
        return self._worker is not None

    @property
    def decode_worker(self) -> GeneratorWorker | None:
        return self._worker

    @property
    def volume(self) -> float:
        return self._volume

    @property
    def position(self) -> float:
        clip = self._clip
        if clip is None:
            return 0.0
        return clip.offset + self._frame / clip.sample_rate

    # -- commands (GUI thread) ----------------------------------------------------------
    def load(self, path: str, start_at: float = 0.0, play: bool = False) -> None:
        """Decode ``path`` in a worker; the clip starts at ``start_at`` (the analysed part)."""
        self.stop()
        with self._lock:
            self._clip = None
            self._frame = 0
        if not self.available:
            return
        if self._worker is not None:
            self._worker.cancel()
        self._pending_play = play
        # the device's rate once it refused a file's own (else the file's own)
        rate = {"rate": self._rate} if self._rate else {}
        w = GeneratorWorker(decode_job, path, start_at, **rate)
        w.signals.yielded.connect(lambda ev, w=w: self._on_decode_yielded(w, ev))
        w.signals.errored.connect(lambda msg, w=w: self._on_decode_errored(w, msg))
        w.signals.finished.connect(lambda _c, w=w: self._on_decode_finished(w))
        self._worker = w
        w.start()

    def set_clip(self, clip: Clip) -> None:
        """Use an already decoded clip (positioned at its ``start_at``)."""
        self.stop()
        clip = self._for_device(clip)
        with self._lock:
            self._clip = clip
            self._frame = self._frame_at(clip.start_at)
        self.clip_loaded.emit(clip)
        self.position_changed.emit(self.position)

    def play(self) -> None:
        if self._closed or not self.available or self._clip is None or self._playing:
            if self.loading:
                self._pending_play = True
            return
        clip = self._clip
        if self._frame >= clip.samples.shape[0]:
            self._frame = 0
        try:
            self._open_stream(clip)
        except Exception as exc:  # PortAudioError: device busy, unplugged, unsupported rate
            if not self._use_device_rate(clip, exc):
                # Not switched off for good: Play tries again (headphones plugged back in).
                log.warning("cannot open the audio output: %s", exc)
                self._close_stream()
                self.errored.emit(f"Cannot play: cannot open the audio output ({exc}).")
                return
        self._set_playing(True)

    def _open_stream(self, clip: Clip) -> None:
        if self._stream is None:
            self._stream = self._factory(
                samplerate=clip.sample_rate,
                channels=clip.channels,
                dtype="float32",
                callback=self._callback,
            )
        self._stream.start()

    def _use_device_rate(self, clip: Clip, exc: Exception) -> bool:
        """After ``exc`` opening at the clip's rate: try the device's default rate (the
        clip resampled, at the same place). True when that plays."""
        self._close_stream()
        try:
            rate = round(float(self._device_rate())) if self._device_rate else 0
        except Exception as err:  # the device went away meanwhile
            log.debug("no default sample rate for the audio output: %s", err)
            return False
        if rate <= 0 or rate == clip.sample_rate:
            return False
        log.warning(
            "the audio output refused %d Hz (%s); playing at its default %d Hz",
            clip.sample_rate,
            exc,
            rate,
        )
        self._rate = rate
        self._swap(self._for_device(clip))
        try:
            self._open_stream(self._clip)  # type: ignore[arg-type]
        except Exception as err:
            log.warning("the audio output refused %d Hz too: %s", rate, err)
            self._close_stream()
            return False
        return True

    def _for_device(self, clip: Clip) -> Clip:
        """``clip`` at the rate the device takes, if it refused the clip's own before."""
        if self._rate is None or clip.sample_rate == self._rate:
            return clip
        return resample_clip(clip, self._rate)

    def _swap(self, clip: Clip) -> None:
        """Play ``clip`` from where the current one is (the same song, longer or resampled)."""
        old = self._clip
        assert old is not None
        with self._lock:
            position = old.offset + self._frame / old.sample_rate
            self._clip = clip
            self._frame = self._frame_at(position)
        self.clip_loaded.emit(clip)
        self.position_changed.emit(self.position)

    def pause(self) -> None:
        if not self._playing:
            return
        try:
            if self._stream is not None:
                self._stream.stop()
        except Exception as exc:  # the device went away: open a new stream next time
            log.warning("stopping the audio output failed: %s", exc)
            self._close_stream()
        self._set_playing(False)
        self.position_changed.emit(self.position)

    def toggle(self) -> None:
        self.pause() if self._playing else self.play()

    def stop(self) -> None:
        """Pause and release the device (a new clip may need another rate)."""
        self.pause()
        self._close_stream()

    def seek(self, seconds: float) -> None:
        clip = self._clip
        if clip is None:
            return
        with self._lock:
            self._frame = self._frame_at(seconds)
        self.position_changed.emit(self.position)

    def set_volume(self, volume: float) -> None:
        self._volume = float(min(1.0, max(0.0, volume)))

    def shutdown(self) -> None:
        self._closed = True
        if self._worker is not None:
            self._worker.cancel()
        self.stop()

    # -- internals ----------------------------------------------------------------------
    def _frame_at(self, seconds: float) -> int:
        clip = self._clip
        assert clip is not None
        f = round((seconds - clip.offset) * clip.sample_rate)
        return int(min(max(0, f), clip.samples.shape[0]))

    def _close_stream(self) -> None:
        if self._stream is not None:
            try:
                self._stream.close()
            except Exception as exc:
                log.debug("closing the audio output: %s", exc)
            self._stream = None

    def _set_playing(self, playing: bool) -> None:
        self._playing = playing
        if playing:
            self._timer.start()
        else:
            self._timer.stop()
        self.playing_changed.emit(playing)

    def _callback(self, outdata: np.ndarray, frames: int, _time: Any, status: Any) -> None:
        """PortAudio thread: copy the next ``frames`` samples, scaled by the volume."""
        if status:
            log.debug("audio output status: %s", status)
        with self._lock:
            clip = self._clip
            if clip is None:
                outdata.fill(0)
                return
            chunk = clip.samples[self._frame : self._frame + frames]
            self._frame += chunk.shape[0]
            volume = self._volume
        n = chunk.shape[0]
        outdata[:n] = chunk.astype(np.float32) * (volume / 32768.0)
        outdata[n:] = 0

    def _on_timer_timeout(self) -> None:
        self.position_changed.emit(self.position)
        if not self._stream_alive():
            return
        clip = self._clip
        # at the end, unless the rest of the song is still being decoded
        if clip is not None and self._frame >= clip.samples.shape[0] and not self.loading:
            self.pause()

    def _stream_alive(self) -> bool:
        """False (and playback stopped, saying why) if the output stream died while playing:
        the device was unplugged or PortAudio aborted it."""
        stream = self._stream
        if not self._playing or stream is None:
            return True
        try:
            if stream.active:
                return True
            why = "it stopped"
        except Exception as exc:  # PortAudioError from a stream whose device is gone
            why = str(exc)
        log.warning("the audio output stopped while playing: %s", why)
        self._close_stream()
        self._set_playing(False)
        self.position_changed.emit(self.position)
        self.errored.emit(f"Playback stopped: the audio output failed ({why}).")
        return False

    def _on_decode_yielded(self, w: GeneratorWorker, ev: object) -> None:
        if w is not self._worker or self._closed:
            return  # a clip for a song the person already left
        if isinstance(ev, JobFailed):
            self.errored.emit(f"Cannot play this file: {ev.message}")
        elif isinstance(ev, Clip):
            if self._clip is not None and self._clip.path == ev.path:
                self._extend(ev)
                return
            self.set_clip(ev)
            if self._pending_play:
                self.play()

    def _on_decode_errored(self, w: GeneratorWorker, message: str) -> None:
        if w is self._worker and not self._closed:
            self.errored.emit(f"Cannot play this file: {message}")

    def _extend(self, clip: Clip) -> None:
        """Swap in a longer clip of the playing song, at the same place, without a gap."""
        old = self._clip
        assert old is not None
        clip = self._for_device(clip)  # decoded before the device refused the file's rate
        if (clip.sample_rate, clip.channels) != (old.sample_rate, old.channels):
            self.set_clip(clip)  # not the same stream format (cannot happen in one decode)
            return
        self._swap(clip)

    def _on_decode_finished(self, w: GeneratorWorker) -> None:
        if w is self._worker:
            self._worker = None
            self._pending_play = False
