"""Decode only the audio that analysis needs, as mono float32 at the model's rate.

PyAV (FFmpeg, shipped inside its wheel) decodes every supported format, M4A/AAC
included, and seeks, so a 5-minute song costs only its analysis windows. Every decoder
failure becomes a :class:`~tagger.core.errors.DecodeError` carrying the path.
"""

from __future__ import annotations

import logging
import os
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from tagger.core.errors import DecodeError

log = logging.getLogger(__name__)

#: Extensions the app treats as audio (lower case, with the dot).
AUDIO_EXTENSIONS: frozenset[str] = frozenset(
    {
        ".mp3",
        ".flac",
        ".ogg",
        ".oga",
        ".opus",
        ".m4a",
        ".mp4",
        ".wav",
        ".aif",
        ".aiff",
        ".wma",
        ".wv",
    }
)
#: The same, for people (messages about a folder with no audio).
FORMATS_TEXT = "MP3, FLAC, Ogg (Vorbis, FLAC), Opus, M4A, WAV, AIFF, WMA and WavPack"

#: A file whose audio stops this much before its declared length is reported truncated.
_TRUNCATION_SLACK_S = 2.0


@dataclass(frozen=True, slots=True)
class AudioInfo:
    duration: float
    sample_rate: int
    channels: int
    codec: str


def _open(path: Path):
    import av

    if not path.exists():
        raise DecodeError(path, "file not found")
    try:
        if path.stat().st_size == 0:
            raise DecodeError(path, "empty file (0 bytes)")
        container = av.open(os.fspath(path), metadata_errors="ignore")
    except DecodeError:
        raise
    except PermissionError:
        raise DecodeError(path, "permission denied") from None
    except (av.FFmpegError, OSError, ValueError, UnicodeDecodeError) as exc:
        raise DecodeError(path, f"not a readable audio file ({_short(exc)})") from None
    if not container.streams.audio:
        container.close()
        raise DecodeError(path, "no audio stream in file")
    return container


def _short(exc: BaseException) -> str:
    text = str(exc).strip() or type(exc).__name__
    # FFmpeg messages repeat the path; keep them short for a table cell.
    return text.split(": '")[0][:160]


def _duration(container, stream) -> float:
    if stream.duration is not None and stream.time_base is not None:
        d = float(stream.duration * stream.time_base)
        if d > 0:
            return d
    if container.duration is not None and container.duration > 0:
        return container.duration / 1_000_000
    return 0.0


def probe(path: str | Path) -> AudioInfo:
    """Duration, native rate and channel count, read from the container header."""
    path = Path(path)
    container = _open(path)
    try:
        stream = container.streams.audio[0]
        cc = stream.codec_context
        return AudioInfo(
            _duration(container, stream), cc.sample_rate or 0, cc.channels or 0, cc.name or "?"
        )
    finally:
        container.close()


class _Reader:
    """Sequential reader over one opened audio stream, producing mono float32 at native rate."""

    def __init__(self, path: Path) -> None:
        import av

        self.path = path
        self.container = _open(path)
        self.stream = self.container.streams.audio[0]
        self.stream.thread_type = "AUTO"
        cc = self.stream.codec_context
        self.rate = int(cc.sample_rate or 0)
        if self.rate <= 0:
            self.container.close()
            raise DecodeError(path, "not a readable audio file (no decodable audio stream)")
        self.duration = _duration(self.container, self.stream)
        #: The length the file's header claims; longer than the audio when truncated.
        self.declared = max(self.duration, _header_length(path))
        self._av = av

    def close(self) -> None:
        self.container.close()

    def read(self, start: float, seconds: float) -> np.ndarray:
        """Mono samples from ``start`` for ``seconds`` (fewer if the stream ends)."""
        av = self._av
        need = round(seconds * self.rate)
        out: list[np.ndarray] = []  # raw (channels, n) arrays: converted once at the end
        fmt = None
        have = 0
        tb = self.stream.time_base
        try:
            if start > 0:
                self.container.seek(int(start / tb), stream=self.stream, backward=True)
            else:
                self.container.seek(0, stream=self.stream, backward=True)
            for packet in self.container.demux(self.stream):
                for frame in packet.decode():
                    data = _frame_array(frame)
                    fmt = frame.format.name.rstrip("p")
                    t0 = float(frame.pts * tb) if frame.pts is not None else start
                    skip = round((start - t0) * self.rate)
                    if skip >= data.shape[1]:
                        continue
                    if skip > 0:
                        data = data[:, skip:]
                    out.append(data)
                    have += data.shape[1]
                    if have >= need:
                        break
                if have >= need:
                    break
        except av.FFmpegError as exc:
            if not out:
                raise DecodeError(self.path, f"corrupt audio data ({_short(exc)})") from None
            log.debug("%s: decoder stopped early: %s", self.path, exc)
        if not out:
            return np.zeros(0, dtype=np.float32)
        return _to_mono_float(np.concatenate(out, axis=1)[:, :need], fmt or "flt")


def _frame_array(frame) -> np.ndarray:
    """An AudioFrame's samples as a raw ``(channels, n)`` array (no conversion)."""
    arr = frame.to_ndarray()
    if not frame.format.is_planar:
        channels = len(frame.layout.channels)
        arr = arr.reshape(-1, channels).T
    return arr


def _to_mono_float(arr: np.ndarray, fmt: str) -> np.ndarray:
    """Raw samples of sample format ``fmt`` -> mono float32 (mean of channels, like librosa)."""
    arr = arr.astype(np.float32, copy=False)
    if fmt == "s16":
        arr = arr / 32768.0
    elif fmt == "s32":
        arr = arr / 2147483648.0
    elif fmt == "u8":
        arr = (arr - 128.0) / 128.0
    elif not np.isfinite(arr).all():
        # float files can hold NaN/Inf samples (a broken export): treat them as silence
        arr = np.nan_to_num(arr, nan=0.0, posinf=0.0, neginf=0.0)
    return arr.mean(axis=0) if arr.shape[0] > 1 else arr[0]


def _resample(y: np.ndarray, rate: int, target: int) -> np.ndarray:
    if rate == target or y.size == 0:
        return y.astype(np.float32, copy=False)
    import soxr

    return soxr.resample(y, rate, target, quality="HQ").astype(np.float32, copy=False)


def load_windows(
    path: str | Path, starts: Sequence[float], seconds: float, sample_rate: int
) -> np.ndarray:
    """Decode windows ``[start, start + seconds)`` -> ``(len(starts), seconds*rate)`` float32.

    Windows that run past the end of a short file are zero-padded. A file whose audio
    stops well before its declared length raises :class:`DecodeError` (truncated).
    """
    path = Path(path)
    n = round(seconds * sample_rate)
    reader = _Reader(path)
    try:
        rows = []
        for start in starts:
            y = _resample(reader.read(start, seconds), reader.rate, sample_rate)
            got = y.shape[0]
            expected_end = min(start + seconds, reader.duration)
            stop = start + got / sample_rate
            if reader.duration > 0 and stop < expected_end - _TRUNCATION_SLACK_S:
                raise DecodeError(
                    path,
                    f"truncated file: audio stops near {stop:.1f} s of {reader.duration:.1f} s",
                )
            if got == 0 and start == 0:
                raise DecodeError(path, "no decodable audio")
            rows.append(np.pad(y[:n], (0, max(0, n - got))))
        _check_tail(reader)
        return np.stack(rows) if rows else np.zeros((0, n), dtype=np.float32)
    finally:
        reader.close()


def _header_length(path: Path) -> float:
    """Length in seconds from the tag/header parser (mutagen), 0.0 when unknown."""
    import mutagen

    try:
        f = mutagen.File(path)
        return float(getattr(getattr(f, "info", None), "length", 0.0) or 0.0)
    except Exception:  # any parser failure just means "unknown"
        return 0.0


def _ogg_complete(path: Path) -> bool:
    """True if an Ogg file ends with a whole page flagged end-of-stream.

    Ogg has no length header, so a cut file would otherwise pass as a shorter song.
    """
    size = path.stat().st_size
    with path.open("rb") as f:
        f.seek(max(0, size - 65536))
        tail = f.read()
    at = tail.rfind(b"OggS")
    if at < 0 or len(tail) < at + 27:
        return False
    flags, n_seg = tail[at + 5], tail[at + 26]
    header = 27 + n_seg
    if len(tail) < at + header:
        return False
    body = sum(tail[at + 27 : at + header])
    return bool(flags & 0x04) and at + header + body == len(tail)


_OGG = (".ogg", ".oga", ".opus")


def _check_tail(reader: _Reader) -> None:
    """Raise DecodeError if no audio can be decoded near the declared end of the file."""
    if reader.path.suffix.lower() in _OGG and not _ogg_complete(reader.path):
        raise DecodeError(reader.path, "truncated file: the Ogg stream is cut off")
    if reader.declared <= 2 * _TRUNCATION_SLACK_S:
        return
    t = reader.declared - _TRUNCATION_SLACK_S
    tail = reader.read(t, 0.5)
    if tail.shape[0] == 0:
        raise DecodeError(reader.path, f"truncated file: no audio near the end ({t:.1f} s)")


def load_all(path: str | Path, sample_rate: int, max_seconds: float | None = None) -> np.ndarray:
    """Decode a whole file (or its first ``max_seconds``) to mono float32 at ``sample_rate``."""
    path = Path(path)
    reader = _Reader(path)
    try:
        seconds = max_seconds if max_seconds is not None else reader.duration + 1.0
        return _resample(reader.read(0.0, seconds), reader.rate, sample_rate)
    finally:
        reader.close()
