"""Decode only the audio that analysis needs, as mono float32 at the model's rate.

PyAV (FFmpeg, shipped inside its wheel) decodes every supported format, M4A/AAC
included, and seeks, so a 5-minute song costs only its analysis windows. Every decoder
failure becomes a :class:`~tagger.core.errors.DecodeError` carrying the path.
"""

from __future__ import annotations

import errno
import functools
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

#: Bump when a change here alters the samples a file decodes to (training's cached
#: spectrograms are keyed on it). 2: MP3 timeline from the encoder delay, seek pre-roll.
DECODE_VERSION = 2
#: A file whose audio stops this much before its declared length is reported truncated.
_TRUNCATION_SLACK_S = 2.0
#: Seeks aim this far before a window and decode up to it.
_SEEK_PREROLL_S = 0.5
#: Timestamps that go back by less than this were guessed wrong (an Ogg page after a seek);
#: a larger step back is a new stream starting again at 0 (a chained Ogg file).
_MAX_STAMP_ERROR_S = 3.0
#: Damaged packets skipped in one window before the file is given up as corrupt.
_MAX_BAD_PACKETS = 100


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
    except PermissionError as exc:
        if not _generic_failure(exc) or not os.access(path, os.R_OK):
            raise DecodeError(path, "permission denied") from None
        raise DecodeError(path, f"not a readable audio file ({_short(exc)})") from None
    except (av.FFmpegError, OSError, ValueError, UnicodeDecodeError) as exc:
        raise DecodeError(path, f"not a readable audio file ({_short(exc)})") from None
    if not container.streams.audio:
        container.close()
        raise DecodeError(path, "no audio stream in file")
    return container


def _generic_failure(exc: BaseException) -> bool:
    """Whether ``exc`` is FFmpeg's catch-all failure: many of its functions return -1,
    which is AVERROR(EPERM), so PyAV raises it as a PermissionError "Operation not
    permitted" (a truncated WavPack file, a damaged FLAC one), though nothing was denied."""
    import av

    return isinstance(exc, av.FFmpegError) and exc.errno == errno.EPERM


def _short(exc: BaseException) -> str:
    # FFmpeg's catch-all -1 reads "Operation not permitted": it means nothing of the kind
    if _generic_failure(exc):
        return "the decoder gave up on it"
    # FFmpeg's errors carry an errno such as 1094995529 (its 'INDA' tag): a person needs
    # only the words
    text = getattr(exc, "strerror", None) or str(exc).strip() or type(exc).__name__
    # FFmpeg messages repeat the path; keep them short for a table cell.
    return text.split(": '")[0][:160]


#: What a file whose audio the decoder cannot go on with is said to hold; FFmpeg cannot
#: tell a cut-off file from a damaged one.
CORRUPT_OR_TRUNCATED = "corrupt or truncated audio data"


def _decoder_words(exc: BaseException) -> str:
    """FFmpeg's own words for a decoding failure, as `` (Invalid data found ...)``, or ``""``
    where it gave an operating-system error code instead (EPERM for its catch-all -1,
    EINVAL, EIO...): "Operation not permitted" read as a permission problem, and the
    others say nothing more than "corrupt"."""
    code = getattr(exc, "errno", None)
    if isinstance(code, int) and code in errno.errorcode:
        return ""
    return f" ({_short(exc)})"


@dataclass(frozen=True, slots=True)
class _HeaderLength:
    """The length the tag/header parser (mutagen) reads from a file."""

    seconds: float  # 0.0 when unknown
    #: An MP3 with no Xing/Info/VBRI header: ``seconds`` is only a guess from the first
    #: frame's bitrate (a VBR file with a quiet intro then claims 10% or more too much).
    mp3_guess: bool = False
    mp3: bool = False


@functools.lru_cache(maxsize=64)
def _header_length_of(path: Path, _size: int, _mtime_ns: int) -> _HeaderLength:
    import mutagen
    from mutagen.mp3 import BitrateMode, MPEGInfo

    if path.suffix.lower() == ".wav" and _wav_size_unknown(path):
        return _HeaderLength(0.0)
    try:
        info = getattr(mutagen.File(path), "info", None)
    except Exception:  # any parser failure just means "unknown"
        return _HeaderLength(0.0)
    seconds = float(getattr(info, "length", 0.0) or 0.0)
    if isinstance(info, MPEGInfo):
        return _HeaderLength(seconds, info.bitrate_mode == BitrateMode.UNKNOWN, mp3=True)
    return _HeaderLength(seconds)


def _header_length(path: Path) -> _HeaderLength:
    """Length from the tag/header parser, read once per file version (analysis probes a
    file, then opens it to read its windows)."""
    try:
        st = path.stat()
    except OSError:
        return _HeaderLength(0.0)
    return _header_length_of(path, st.st_size, st.st_mtime_ns)


def _scanned_duration(container, stream) -> float:
    """Length from the last packet's timestamp (reads every packet, decodes none)."""
    end = None
    for packet in container.demux(stream):
        if packet.pts is not None:
            end = packet.pts + (packet.duration or 0)
    if end is None:
        return 0.0
    return max(0.0, float((end - (stream.start_time or 0)) * stream.time_base))


#: Scanned lengths by (path, size, mtime): analysis probes a file, then opens it to read.
_SCANNED: dict[tuple[str, int, int], float] = {}


def _is_flac(path: Path) -> bool:
    """Whether ``path`` starts as a FLAC stream does (not just any file named .flac)."""
    try:
        with open(path, "rb") as fh:
            return fh.read(4) == b"fLaC"
    except OSError:
        return False


def _duration(container, stream, path: Path | None = None) -> float:
    d = _header_duration(container, stream)
    if path is None:
        return d
    header = _header_length(path)
    # An MP3 without a length header, or one whose header FFmpeg missed (junk before the
    # first frame): count its frames instead of trusting a guess.
    # And a FLAC that declares no length (STREAMINFO's 0 samples, "unknown", as streaming
    # encoders write): its windows would all sit at 0 s.
    unknown = d <= 0 and header.seconds <= 0 and _is_flac(path)
    if unknown or (header.mp3 and (header.mp3_guess or abs(header.seconds - d) > 1.0)):
        st = path.stat()
        key = (str(path), st.st_size, st.st_mtime_ns)
        scanned = _SCANNED.get(key)
        if scanned is None:  # ~25 ms a minute of audio: once per file (probe, then read)
            try:
                scanned = _scanned_duration(container, stream)
            except Exception:  # a damaged file: keep the guess
                scanned = 0.0
            container.seek(0)
            if len(_SCANNED) > 64:
                _SCANNED.clear()
            _SCANNED[key] = scanned
        if scanned > 0:
            return scanned
    if d <= 0:
        # FFmpeg knows no length for a chained Ogg file (several streams one after the
        # other, as internet radio rips are): the first one's, as mutagen reads it.
        d = header.seconds
    return d


def _header_duration(container, stream) -> float:
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
            _duration(container, stream, path),
            cc.sample_rate or 0,
            cc.channels or 0,
            cc.name or "?",
        )
    finally:
        container.close()


class _Reader:
    """Sequential reader over one opened audio stream, producing mono float32 at native rate."""

    def __init__(self, path: Path) -> None:
        import av

        self._av_error = av.FFmpegError
        self.path = path
        self.container = _open(path)
        self.stream = self.container.streams.audio[0]
        # No frame threading (thread_type "AUTO"): after a seek it stamped Ogg FLAC frames a
        # frame late, and analysis runs one worker process per core anyway.
        #: Where the decoder's timeline starts: an MP3's encoder delay (LAME tag) makes its
        #: first sample's timestamp ~25 ms, not 0; times here are counted from that sample.
        #: A WMA file's first decoded frame comes two packets after its start time.
        self.origin = self.stream.start_time or 0
        #: ASF (WMA) stamps whole milliseconds on frames of one length (see _on_frame_grid).
        self._asf = self.container.format.name == "asf"
        if self._asf:
            self.origin = self._first_frame_pts()
        #: What ended the last :meth:`read` early (damaged data), None if nothing did.
        self.error: Exception | None = None
        cc = self.stream.codec_context
        self.rate = int(cc.sample_rate or 0)
        if self.rate <= 0:
            self.container.close()
            raise DecodeError(path, "not a readable audio file (no decodable audio stream)")
        self.duration = _duration(self.container, self.stream, path)
        #: The length the file's header claims; longer than the audio when truncated.
        header = _header_length(path)
        self.declared = (
            self.duration
            if header.mp3_guess  # no length header: nothing to compare with
            else max(self.duration, header.seconds)
        )
        self._av = av

    def _first_frame_pts(self) -> int:
        """The timestamp of the first frame a whole decode outputs (the stream's start
        time if there is none).

        FFmpeg's WMA encoder starts with a priming packet that ASF cannot stamp before 0, so
        every packet is stamped one frame (46 ms at 44.1 kHz) late, and the decoder outputs
        nothing for the first two packets it is given, at the start as after a seek. A
        whole decode starts at the third packet's audio; a seeked window counted from the
        start time began two frames before the same samples of the whole decode.
        """
        start = self.stream.start_time or 0
        first = None
        # A container of its own: the decoder's state (its noise generator) survives a
        # seek, and the reads must decode exactly what they did without this look.
        try:
            container = _open(self.path)
        except DecodeError:  # gone since it was opened: the reads report it
            return start
        try:
            for packet in container.demux(container.streams.audio[0]):
                first = next((f.pts for f in packet.decode() if f.pts is not None), None)
                if first is not None:
                    break
        except self._av_error:  # damaged: the reads report it
            pass
        finally:
            container.close()
        return start if first is None else int(first)

    def _on_frame_grid(self, t0: float, n: int, tol: float) -> float:
        """``t0`` (a timestamp rounded to the millisecond) moved to the nearest whole
        number of ``n``-sample frames from the origin when that is within ``tol``: WMA
        frames all have one length, so the exact sample they start at is known."""
        at = round(t0 * self.rate / n) * n
        return at / self.rate if abs(at / self.rate - t0) <= tol else t0

    def close(self) -> None:
        self.container.close()

    def read(self, start: float, seconds: float) -> np.ndarray:
        """Mono samples from ``start`` for ``seconds`` (fewer if the stream ends)."""
        av = self._av
        self.error = None
        need = round(seconds * self.rate)
        out: list[np.ndarray] = []  # raw (channels, n) arrays: converted once at the end
        fmt = None
        have = 0
        tb = self.stream.time_base
        t_next: float | None = None  # where the previous frame ended
        tol = max(0.002, float(tb))  # timestamp rounding (ASF counts milliseconds)
        try:
            # Land a little before ``start``: some demuxers (ASF) seek to a packet after the
            # target, and a lossy decoder needs a frame or two before its output is exact.
            begin = self.stream.start_time or 0  # before the origin in WMA
            at = max(begin, self.origin + int((start - _SEEK_PREROLL_S) / tb))
            self.container.seek(at, stream=self.stream, backward=True)
            bad = 0
            for packet in self.container.demux(self.stream):
                try:
                    frames = packet.decode()
                except av.FFmpegError as exc:
                    # A damaged stretch in the middle: skip its packets, as players do.
                    bad += 1
                    if bad > _MAX_BAD_PACKETS:
                        raise
                    log.debug("%s: skipping a damaged packet: %s", self.path, exc)
                    continue
                for frame in frames:
                    data = _frame_array(frame)
                    fmt = frame.format.name.rstrip("p")
                    if frame.pts is not None:
                        t0 = float((frame.pts - self.origin) * tb)
                        if self._asf and tb > 1 / self.rate:  # whole milliseconds
                            t0 = self._on_frame_grid(t0, data.shape[1], tol)
                    else:  # no timestamp: right after the previous frame
                        t0 = start if t_next is None else t_next
                    if t_next is not None and t_next - _MAX_STAMP_ERROR_S < t0 < t_next - tol:
                        # Time went backwards: the frames before were stamped too late (the
                        # Ogg demuxer guesses the first page after a seek, up to ~1 s off).
                        # What was kept from them really starts earlier: drop the excess.
                        out, have = _drop_head(out, round((t_next - t0) * self.rate))
                    elif t_next is not None and out and t0 > t_next + tol:
                        # A gap (damaged packets skipped): silence keeps the rest in place.
                        gap = min(round((t0 - t_next) * self.rate), need - have)
                        if gap > 0:
                            fill = 128 if fmt == "u8" else 0
                            out.append(np.full((data.shape[0], gap), fill, dtype=data.dtype))
                            have += gap
                    t_next = t0 + data.shape[1] / self.rate
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
                log.debug("%s: the decoder failed: %r", self.path, exc)
                raise DecodeError(self.path, CORRUPT_OR_TRUNCATED + _decoder_words(exc)) from None
            log.debug("%s: decoder stopped early: %r", self.path, exc)
            self.error = exc
        if not out:
            return np.zeros(0, dtype=np.float32)
        return _to_mono_float(np.concatenate(out, axis=1)[:, :need], fmt or "flt")


def _drop_head(out: list[np.ndarray], n: int) -> tuple[list[np.ndarray], int]:
    """``out`` without its first ``n`` samples, and how many samples are left."""
    data = np.concatenate(out, axis=1)[:, n:] if out else None
    if data is None or data.shape[1] == 0:
        return [], 0
    return [data], data.shape[1]


def _frame_array(frame) -> np.ndarray:
    """An AudioFrame's samples as a raw ``(channels, n)`` array (no conversion)."""
    arr = frame.to_ndarray()
    if not frame.format.is_planar:
        channels = len(frame.layout.channels)
        arr = arr.reshape(-1, channels).T
    return arr


#: the largest float sample kept (60 dB over full scale); beyond it, clipped
FLOAT_LIMIT = 1000.0


def _to_mono_float(arr: np.ndarray, fmt: str) -> np.ndarray:
    """Raw samples of sample format ``fmt`` -> mono float32 (mean of channels, like librosa)."""
    arr = arr.astype(np.float32, copy=False)
    if fmt == "s16":
        arr = arr / 32768.0
    elif fmt == "s32":
        arr = arr / 2147483648.0
    elif fmt == "u8":
        arr = (arr - 128.0) / 128.0
    elif not (np.abs(arr) <= FLOAT_LIMIT).all():  # one pass; NaN fails the test too
        # float: a broken export holds anything. NaN/Inf samples are read as silence; one
        # of 1e30 made the power overflow and every probability NaN, so past 60 dB over
        # full scale (far past any real master) samples are clipped
        arr = np.nan_to_num(arr, nan=0.0, posinf=0.0, neginf=0.0)
        arr = np.clip(arr, -FLOAT_LIMIT, FLOAT_LIMIT)
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
                if reader.error is not None:  # damaged data, not a short file
                    raise DecodeError(
                        path, f"corrupt audio data near {stop:.1f} s{_decoder_words(reader.error)}"
                    )
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


#: Data-chunk sizes a WAV writer that could not seek back puts in for "unknown"
#: (FFmpeg writes 0xFFFFFFFF when streaming, others 0x7FFFFFFF or just under it).
_WAV_UNKNOWN_SIZE = 0x7FFFF000


def _wav_size_unknown(path: Path) -> bool:
    """True if a WAV's data chunk claims a placeholder size (streaming recorders)."""
    import struct

    try:
        with path.open("rb") as f:
            head = f.read(65536)
    except OSError:
        return False
    if head[:4] != b"RIFF" or head[8:12] != b"WAVE":
        return False
    at = 12
    while at + 8 <= len(head):
        cid, size = head[at : at + 4], struct.unpack("<I", head[at + 4 : at + 8])[0]
        if cid == b"data":
            return size >= _WAV_UNKNOWN_SIZE and at + 8 + size > path.stat().st_size
        at += 8 + size + (size & 1)
    return False


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


def _check_tail(reader: _Reader) -> None:
    """Raise DecodeError if no audio can be decoded near the declared end of the file."""
    # by the container, not the name: an MP3 named .ogg is no cut-off Ogg stream
    ogg = "ogg" in reader.container.format.name.split(",")
    if ogg and not _ogg_complete(reader.path):
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
