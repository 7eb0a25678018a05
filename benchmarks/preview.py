"""Audio preview of a long song: time to the first playable clip, to the whole, memory.

    python benchmarks/preview.py [--minutes 60] [--file SONG] [--start SECONDS]

Without ``--file``, writes a FLAC of ``--minutes`` (a repeated tone) to a temporary
folder. Playback begins at ``--start`` (default: the middle, where analysis has its
windows). Prints how long :func:`tagger.core.preview.iter_preview` takes to yield its
first clip (the first sound) and each longer one, and the clips' sizes and spans.
"""

from __future__ import annotations

import argparse
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))

from tagger.core import audio  # noqa: E402
from tagger.core.preview import iter_preview  # noqa: E402
from tests.audio_factory import tone  # noqa: E402


def write_long(path: Path, minutes: float) -> Path:
    import soundfile as sf

    block = tone(10.0, 44100, seed=1)
    with sf.SoundFile(path, "w", 44100, 2, subtype="PCM_16", format="FLAC") as f:
        for _ in range(round(minutes * 6)):
            f.write(block)
    return path


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--minutes", type=float, default=60.0)
    ap.add_argument("--file", type=Path)
    ap.add_argument("--start", type=float)
    args = ap.parse_args()
    with tempfile.TemporaryDirectory(prefix="preview-bench-") as tmp:
        path = args.file or write_long(Path(tmp) / "long.flac", args.minutes)
        length = audio.probe(path).duration
        start = args.start if args.start is not None else length / 2
        print(f"{path.name}: {length / 60:.1f} min, playback from {start / 60:.1f} min")
        t0 = time.perf_counter()
        for clip in iter_preview(path, start):
            print(
                f"  after {time.perf_counter() - t0:6.2f} s: {clip.offset / 60:5.1f}-"
                f"{clip.duration / 60:5.1f} min, {clip.samples.nbytes / 1e6:6.1f} MB"
            )


if __name__ == "__main__":
    main()
