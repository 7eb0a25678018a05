"""How stable the bundled model's moods are when the same music reaches it differently.

    python benchmarks/stability.py [--songs 20] [--data ../shared/datasets/4q] [--model FILE]

Takes ``--songs`` clips spread over the 4Q dataset (real music) and prints, per variant, the
mean and largest change of any mood probability against the original file, and how many
songs changed their top mood:

- re-encoded: the decoded clip written again as FLAC, 96 kb/s MP3, 64 kb/s AAC (M4A) and
  48 kb/s Opus, then analysed through the app's own pipeline (``Analyzer.analyze``);
- quieter: the FLAC copy 6, 10 and 20 dB down (an older, quieter master);
- DC offset: the FLAC copy 6 dB down with a constant 0.1 or 0.3 added (a faulty converter);
- shifted: every analysis window moved later by 10 ms ... 500 ms (same samples).

A re-encode moves the windows by the codec's delay (a few to tens of milliseconds), so the
two parts tell the same story: what a user sees when one song exists in two formats.
"""

from __future__ import annotations

import argparse
import sys
import tempfile
from pathlib import Path

import numpy as np

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))

from tagger.core import audio  # noqa: E402
from tagger.core.analysis import Analyzer, window_starts  # noqa: E402
from tagger.core.features import segment_patches  # noqa: E402
from tagger.core.models import load_model  # noqa: E402
from training.dataset import DEFAULT_DATA  # noqa: E402

#: name -> (container, codec, sample rate, bit rate, extension)
ENCODINGS = {
    "MP3 96 kb/s": ("mp3", "libmp3lame", 44100, 96_000, ".mp3"),
    "AAC 64 kb/s": ("mp4", "aac", 44100, 64_000, ".m4a"),
    "Opus 48 kb/s": ("ogg", "libopus", 48000, 48_000, ".opus"),
}
SHIFTS_MS = (10, 20, 50, 100, 500)
GAINS_DB = (-6, -10, -20)
DC_OFFSETS = (0.01, 0.03, 0.1, 0.3)


def encode(y: np.ndarray, path: Path, fmt: str, codec: str, rate: int, bit_rate: int) -> None:
    """Write mono ``y`` (at ``rate``) as a stereo file with PyAV."""
    import av

    with av.open(str(path), "w", format=fmt) as out:
        stream = out.add_stream(codec, rate=rate, layout="stereo")
        stream.bit_rate = bit_rate
        stream.codec_context.open()
        size = stream.codec_context.frame_size or 1024
        planar = np.ascontiguousarray(np.stack([y, y]).astype(np.float32))
        for i in range(0, planar.shape[1], size):
            chunk = np.ascontiguousarray(planar[:, i : i + size])
            if chunk.shape[1] < size:
                chunk = np.pad(chunk, ((0, 0), (0, size - chunk.shape[1])))
            frame = av.AudioFrame.from_ndarray(chunk, format="fltp", layout="stereo")
            frame.sample_rate, frame.pts = rate, i
            for packet in stream.encode(frame):
                out.mux(packet)
        for packet in stream.encode(None):
            out.mux(packet)


def shifted_probs(analyzer: Analyzer, y: np.ndarray, shift_s: float) -> np.ndarray:
    """Song probabilities with every window moved ``shift_s`` later in ``y`` (model rate)."""
    fp = analyzer.features
    n = round(fp.segment_seconds * fp.sample_rate)
    starts = window_starts(len(y) / fp.sample_rate, fp.segment_seconds, fp.max_windows)
    rows = []
    for s in starts:
        a = round((s + shift_s) * fp.sample_rate)
        seg = y[a : a + n]
        rows.append(np.pad(seg, (0, n - len(seg))))
    return analyzer.song_probabilities(segment_patches(np.stack(rows), fp))


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--songs", type=int, default=20)
    ap.add_argument("--data", type=Path, default=DEFAULT_DATA)
    ap.add_argument("--model", type=Path, default=None, help="model file (default: bundled)")
    args = ap.parse_args()
    clips = sorted(args.data.glob("Q*/*.mp3"))
    if not clips:
        print(f"no 4Q clips under {args.data}", file=sys.stderr)
        return 2
    clips = clips[:: max(1, len(clips) // args.songs)][: args.songs]
    loaded = load_model(args.model)
    analyzer = Analyzer(loaded)
    rate = analyzer.features.sample_rate
    change: dict[str, list[float]] = {}
    flips: dict[str, int] = {}

    def note(name: str, ref: np.ndarray, p: np.ndarray) -> None:
        change.setdefault(name, []).append(float(np.abs(p - ref).max()))
        flips[name] = flips.get(name, 0) + int(p.argmax() != ref.argmax())

    with tempfile.TemporaryDirectory() as tmp:
        for clip in clips:
            ref = np.array(analyzer.analyze(clip).scores.probabilities)
            y44 = audio.load_all(clip, 44100)
            flac = Path(tmp) / "song.flac"
            import soundfile as sf

            sf.write(flac, np.stack([y44, y44], 1), 44100)
            note("FLAC (lossless)", ref, np.array(analyzer.analyze(flac).scores.probabilities))
            for db in GAINS_DB:  # the same file, mastered quieter
                sf.write(flac, np.stack([y44, y44], 1) * 10 ** (db / 20), 44100)
                note(f"FLAC {db} dB", ref, np.array(analyzer.analyze(flac).scores.probabilities))
            for dc in DC_OFFSETS:  # at most 0.5 + 0.3: no clipping
                sf.write(flac, np.stack([y44, y44], 1) * 0.5 + dc, 44100)
                note(f"DC offset {dc}", ref, np.array(analyzer.analyze(flac).scores.probabilities))
            for name, (fmt, codec, sr, br, ext) in ENCODINGS.items():
                path = Path(tmp) / f"song{ext}"
                encode(audio.load_all(clip, sr), path, fmt, codec, sr, br)
                note(name, ref, np.array(analyzer.analyze(path).scores.probabilities))
            y = audio.load_all(clip, rate)
            base = shifted_probs(analyzer, y, 0.0)
            for ms in SHIFTS_MS:
                note(f"shifted {ms} ms", base, shifted_probs(analyzer, y, ms / 1000))
    print(f"model {loaded.model_id}, {len(clips)} songs from {args.data}")
    print(f"{'variant':<18}{'mean change':>12}{'max change':>12}{'top mood changed':>18}")
    for name, values in change.items():
        print(
            f"{name:<18}{np.mean(values):>12.3f}{np.max(values):>12.3f}"
            f"{flips[name]:>12} of {len(values)}"
        )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
