"""Decode a song for the audio preview: int16 frames at 44.1/48 kHz, stereo kept.

Analysis wants mono at the model's rate; a person wants to hear the song as it is, so
this decodes separately (same PyAV boundary and errors as :mod:`tagger.core.audio`),
resampling only when the native rate is unusual. Samples are int16 to keep a long song
small (a 10-minute stereo song is about 100 MB).
"""

from __future__ import annotations

import logging
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from tagger.core import audio
from tagger.core.errors import DecodeError
from tagger.core.progress import CancelToken

log = logging.getLogger(__name__)

#: Native rates kept as they are; anything else is resampled to 44.1 kHz.
NATIVE_RATES = frozenset({44100, 48000})
DEFAULT_RATE = 44100
#: Longest stretch decoded for a preview.
MAX_SECONDS = 600.0
#: Decoded first, from where playback begins, so that it starts before the rest is ready.
FIRST_SECONDS = 15.0


@dataclass(frozen=True, slots=True)
class Clip:
    """Decoded audio: ``samples`` is ``(frames, channels)`` int16; ``offset`` is where it starts."""

    path: str
    samples: np.ndarray
    sample_rate: int
    offset: float = 0.0
    #: Where playback should begin (the analysed segment), seconds from the song's start.
    start_at: float = 0.0

    @property
    def channels(self) -> int:
        return int(self.samples.shape[1])

    @property
    def duration(self) -> float:
        return self.offset + self.samples.shape[0] / self.sample_rate


def decode_clip(
    path: str | Path,
    start_at: float = 0.0,
    offset: float = 0.0,
    max_seconds: float = MAX_SECONDS,
    cancel: CancelToken | None = None,
    rate: int | None = None,
) -> Clip:
    """Decode ``max_seconds`` of ``path`` from ``offset``; raise :class:`DecodeError`."""
    clips = list(iter_clip(path, start_at, offset, max_seconds, cancel=cancel, rate=rate))
    if not clips:
        raise DecodeError(Path(path), "decoding was cancelled")
    return clips[-1]


def iter_preview(
    path: str | Path,
    start_at: float = 0.0,
    cancel: CancelToken | None = None,
    rate: int | None = None,
) -> Iterator[Clip]:
    """Clips of ``path`` for the preview, each one longer, all playing from ``start_at``.

    First :data:`FIRST_SECONDS` from ``start_at`` (the first sound does not wait for a
    long song to decode), then up to :data:`MAX_SECONDS` around it: what follows
    ``start_at`` from the same decode, so a playing clip carries on seamlessly, and at
    most half of it before (a 1-hour song is previewed from its middle, not its first ten
    minutes). ``rate``: the sample rate wanted (an output device that takes no other);
    by default the file's own when it is 44.1 or 48 kHz. Raises :class:`DecodeError`;
    yields nothing more once ``cancel`` is set.
    """
    start_at = max(0.0, start_at)
    head = min(start_at, MAX_SECONDS / 2)
    tail: Clip | None = None
    try:
        for tail in iter_clip(
            path, start_at, start_at, MAX_SECONDS - head, FIRST_SECONDS, cancel, rate
        ):
            if tail.samples.shape[0] > 0:
                yield tail
    except DecodeError:
        if start_at <= 0:
            raise
        tail = None  # nothing there: see below (a real problem raises again there)
    if cancel is not None and cancel.cancelled:
        return
    if start_at > 0 and (tail is None or tail.samples.shape[0] == 0):
        # The audio ends before ``start_at``: a file cut short since it was analysed.
        log.info("%s: no audio at %.1f s; previewing it from the start", path, start_at)
        yield from iter_clip(path, 0.0, 0.0, MAX_SECONDS, FIRST_SECONDS, cancel, rate)
        return
    if tail is None or head <= 0:
        return
    try:
        before = decode_clip(path, 0.0, start_at - head, head, cancel, rate)
    except DecodeError as exc:  # gone or damaged since: keep what plays
        log.debug("%s: no preview before %.1f s: %s", path, start_at, exc)
        return
    if before.sample_rate == tail.sample_rate and before.channels == tail.channels:
        n = round(head * tail.sample_rate)  # exactly up to the tail, whatever was decoded
        samples = before.samples[:n]
        if samples.shape[0] < n:
            samples = np.pad(samples, ((0, n - samples.shape[0]), (0, 0)))
        joined = np.concatenate([samples, tail.samples])
        yield Clip(tail.path, joined, tail.sample_rate, start_at - head, tail.start_at)


def iter_clip(
    path: str | Path,
    start_at: float = 0.0,
    offset: float = 0.0,
    max_seconds: float = MAX_SECONDS,
    first_seconds: float | None = None,
    cancel: CancelToken | None = None,
    rate: int | None = None,
) -> Iterator[Clip]:
    """Decode like :func:`decode_clip`, yielding the first ``first_seconds`` as a clip of
    their own as soon as they are decoded (something to play at once), then the whole.

    Stops, yielding nothing more, once ``cancel`` is set (the person moved on).
    """
    import av

    path = Path(path)
    container = audio._open(path)  # the shared error boundary (missing, empty, not audio)
    try:
        stream = container.streams.audio[0]
        cc = stream.codec_context
        native = int(cc.sample_rate or 0)
        if rate is None:
            rate = native if native in NATIVE_RATES else DEFAULT_RATE
        layout = "stereo" if (cc.channels or 1) >= 2 else "mono"
        n_ch = 2 if layout == "stereo" else 1
        resampler = av.AudioResampler(format="s16", layout=layout, rate=rate)
        need = int(max_seconds * rate)
        first = int(first_seconds * rate) if first_seconds is not None else None
        skip = round(offset * rate)
        chunks: list[np.ndarray] = []
        have = 0
        if offset > 0 and stream.time_base is not None:
            container.seek(int(offset / stream.time_base), stream=stream, backward=True)
        try:
            for frame in container.decode(stream):
                if cancel is not None and cancel.cancelled:
                    return
                t0 = float(frame.pts * frame.time_base) if frame.pts is not None else offset
                for out in resampler.resample(frame):
                    data = out.to_ndarray().reshape(-1, n_ch)
                    if offset > 0:
                        drop = min(data.shape[0], max(0, skip - round(t0 * rate)))
                        data = data[drop:]
                        t0 = offset
                    chunks.append(data)
                    have += data.shape[0]
                if first is not None and have >= first and have < need:
                    yield _clip(path, chunks, first, rate, offset, start_at)
                    first = None
                if have >= need:
                    break
        except av.FFmpegError as exc:
            if not chunks:
                raise DecodeError(path, f"corrupt audio data ({audio._short(exc)})") from None
            log.debug("%s: preview decoder stopped early: %s", path, exc)
    except DecodeError:
        raise
    except (av.FFmpegError, OSError, ValueError) as exc:
        raise DecodeError(path, f"cannot decode for preview ({audio._short(exc)})") from None
    finally:
        container.close()
    if not chunks:
        raise DecodeError(path, "no decodable audio")
    yield _clip(path, chunks, need, rate, offset, start_at)


def resample_clip(clip: Clip, rate: int) -> Clip:
    """``clip`` at another sample rate (soxr, as the analysis resamples)."""
    import soxr

    if clip.sample_rate == rate:
        return clip
    y = soxr.resample(clip.samples.astype(np.float32), clip.sample_rate, rate, quality="HQ")
    samples = np.clip(np.rint(y), -32768, 32767).astype(np.int16).reshape(-1, clip.channels)
    return Clip(clip.path, samples, rate, clip.offset, clip.start_at)


def _clip(
    path: Path, chunks: list[np.ndarray], n: int, rate: int, offset: float, start_at: float
) -> Clip:
    """The first ``n`` frames of ``chunks`` as a clip (``start_at`` kept inside it)."""
    samples = np.ascontiguousarray(np.concatenate(chunks)[:n], dtype=np.int16)
    start_at = min(max(offset, start_at), offset + samples.shape[0] / rate)
    return Clip(str(path), samples, rate, offset, start_at)
