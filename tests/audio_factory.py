"""Small audio files generated for the tests, in every format the app supports."""

from __future__ import annotations

from pathlib import Path

import numpy as np

#: format name -> file extension
FORMATS = {
    "mp3": ".mp3",
    "flac": ".flac",
    "ogg": ".ogg",
    "opus": ".opus",
    "m4a": ".m4a",
    "wav": ".wav",
    "aiff": ".aiff",
    "oga": ".oga",
    "wma": ".wma",
    "wavpack": ".wv",
}

#: Lossy formats are encoded with PyAV (libsndfile crashes writing Opus after Vorbis).
_AV = {
    ".mp3": ("mp3", "libmp3lame"),
    ".ogg": ("ogg", "vorbis"),
    ".opus": ("ogg", "libopus"),
    ".m4a": ("mp4", "aac"),
    ".mp4": ("mp4", "aac"),
    ".oga": ("ogg", "flac"),  # FLAC in Ogg
    ".wma": ("asf", "wmav2"),
    ".wv": ("wv", "wavpack"),
}
_SF = {
    ".flac": ("FLAC", "PCM_16"),
    ".wav": ("WAV", "PCM_16"),
    ".aiff": ("AIFF", "PCM_16"),
    ".aif": ("AIFF", "PCM_16"),
}


def tone(
    seconds: float, sr: int = 44100, kind: str = "calm", seed: int = 0, stereo: bool = True
) -> np.ndarray:
    """A deterministic test signal: ``calm`` (soft chord), ``bright`` (fast major arpeggio),
    ``harsh`` (loud distorted noise and low square waves)."""
    rng = np.random.default_rng(seed)
    t = np.arange(int(seconds * sr)) / sr
    if kind == "calm":
        y = sum(0.08 * np.sin(2 * np.pi * f * t) for f in (220.0, 277.2, 329.6))
        y = y * (0.6 + 0.4 * np.sin(2 * np.pi * 0.1 * t))
    elif kind == "bright":
        notes = np.array([523.3, 659.3, 784.0, 1046.5])
        idx = (t * 8).astype(int) % 4
        y = 0.25 * np.sin(2 * np.pi * notes[idx] * t) * np.exp(-((t * 8) % 1) * 3)
        y = y + 0.1 * rng.standard_normal(t.size) * (((t * 4) % 1) < 0.05)
    elif kind == "harsh":
        sq = np.sign(np.sin(2 * np.pi * 82.4 * t)) * 0.5
        y = np.clip(3 * (sq + 0.6 * rng.standard_normal(t.size)), -1, 1) * 0.8
    else:
        raise ValueError(kind)
    y = y.astype(np.float32)
    if stereo:
        return np.stack([y, np.roll(y, 17)], axis=1)
    return y


def write_audio(
    path: Path,
    seconds: float = 8.0,
    kind: str = "calm",
    seed: int = 0,
    sr: int = 44100,
    options: dict[str, str] | None = None,
) -> Path:
    """Write a test file whose format follows the extension of ``path``; ``options``: for
    the PyAV muxer (``{"movflags": "+faststart"}``: an MP4 with ``moov`` first)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    ext = path.suffix.lower()
    if ext == ".opus":
        sr = 48000
    data = tone(seconds, sr, kind, seed)
    if ext in _AV:
        _write_av(path, data, sr, *_AV[ext], options=options)
    else:
        import soundfile as sf

        fmt, sub = _SF[ext]
        sf.write(path, data, sr, format=fmt, subtype=sub)
    return path


def _write_av(
    path: Path, data: np.ndarray, sr: int, fmt: str, codec: str, options: dict | None = None
) -> None:
    import av

    with av.open(str(path), "w", format=fmt, options=options or {}) as out:
        stream = out.add_stream(codec, rate=sr, layout="stereo")
        if codec == "vorbis":
            stream.codec_context.options = {"strict": "experimental"}
        elif codec == "wmav2":
            stream.codec_context.bit_rate = 128_000  # it has no default
        elif codec == "wavpack":
            stream.codec_context.format = "s16p"  # 16-bit lossless, not its default 8-bit
        stream.codec_context.open()
        frame_size = stream.codec_context.frame_size or 1024
        planar = np.ascontiguousarray(data.T.astype(np.float32))
        for i in range(0, planar.shape[1], frame_size):
            chunk = np.ascontiguousarray(planar[:, i : i + frame_size])
            if chunk.shape[1] < frame_size:
                chunk = np.pad(chunk, ((0, 0), (0, frame_size - chunk.shape[1])))
            # PyAV converts to the encoder's sample format itself
            frame = av.AudioFrame.from_ndarray(chunk, format="fltp", layout="stereo")
            frame.sample_rate = sr
            frame.pts = i
            for packet in stream.encode(frame):
                out.mux(packet)
        for packet in stream.encode(None):
            out.mux(packet)


def write_bad_files(folder: Path) -> dict[str, Path]:
    """Empty, non-audio-with-audio-extension, corrupt and truncated files."""
    folder.mkdir(parents=True, exist_ok=True)
    empty = folder / "empty.mp3"
    empty.write_bytes(b"")
    text = folder / "notes.flac"
    text.write_text("these are not the sounds you are looking for\n" * 50)
    corrupt = folder / "corrupt.ogg"
    corrupt.write_bytes(np.random.default_rng(1).integers(0, 256, 20000, dtype=np.uint8).tobytes())
    good = write_audio(folder / "_full.wav", seconds=30.0)
    truncated = folder / "truncated.wav"
    truncated.write_bytes(good.read_bytes()[: good.stat().st_size // 3])
    good.unlink()
    return {"empty": empty, "text": text, "corrupt": corrupt, "truncated": truncated}
