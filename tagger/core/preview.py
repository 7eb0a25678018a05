"""Decode a song for the audio preview: int16 frames at 44.1/48 kHz, stereo kept.

Analysis wants mono at the model's rate; a person wants to hear the song as it is, so
this decodes separately (same PyAV boundary and errors as :mod:`tagger.core.audio`),
resampling only when the native rate is unusual. Samples are int16 to keep a long song
small (a 10-minute stereo song is about 100 MB).
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from tagger.core import audio
from tagger.core.errors import DecodeError

log = logging.getLogger(__name__)

#: Native rates kept as they are; anything else is resampled to 44.1 kHz.
NATIVE_RATES = frozenset({44100, 48000})
DEFAULT_RATE = 44100
#: Longest stretch decoded for a preview.
MAX_SECONDS = 600.0


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
) -> Clip:
    """Decode ``max_seconds`` of ``path`` from ``offset``; raise :class:`DecodeError`."""
    import av

    path = Path(path)
    container = audio._open(path)  # the shared error boundary (missing, empty, not audio)
    try:
        stream = container.streams.audio[0]
        cc = stream.codec_context
        native = int(cc.sample_rate or 0)
        rate = native if native in NATIVE_RATES else DEFAULT_RATE
        layout = "stereo" if (cc.channels or 1) >= 2 else "mono"
        n_ch = 2 if layout == "stereo" else 1
        resampler = av.AudioResampler(format="s16", layout=layout, rate=rate)
        need = int(max_seconds * rate)
        skip = round(offset * rate)
        chunks: list[np.ndarray] = []
        have = 0
        if offset > 0 and stream.time_base is not None:
            container.seek(int(offset / stream.time_base), stream=stream, backward=True)
        try:
            for frame in container.decode(stream):
                t0 = float(frame.pts * frame.time_base) if frame.pts is not None else offset
                for out in resampler.resample(frame):
                    data = out.to_ndarray().reshape(-1, n_ch)
                    if offset > 0:
                        drop = min(data.shape[0], max(0, skip - round(t0 * rate)))
                        data = data[drop:]
                        t0 = offset
                    chunks.append(data)
                    have += data.shape[0]
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
    samples = np.ascontiguousarray(np.concatenate(chunks)[:need], dtype=np.int16)
    start_at = min(max(0.0, start_at), offset + samples.shape[0] / rate)
    return Clip(str(path), samples, rate, offset, start_at)
