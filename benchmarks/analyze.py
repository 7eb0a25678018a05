"""Analysis speed: cold tracks/s on full-length songs, and a warm re-scan of 1,000 tracks.

    python benchmarks/analyze.py [--tracks 48] [--warm 1000] [--jobs 2] [--dir DIR]

Builds (once, in --dir) a library of full-length (3-5 min, 44.1 kHz stereo) generated songs
in MP3, FLAC, M4A and Ogg, runs the same pipeline as `mood-tagger analyze` in a fresh
MOOD_TAGGER_HOME, and prints the figures. Targets (2 cores): cold >= 8 tracks/s; warm
re-scan of 1,000 unchanged tracks <= 3 s.
"""

from __future__ import annotations

import argparse
import os
import shutil
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))

from tagger.core.library import TrackAnalysed, analyze_library, library_rows  # noqa: E402
from tagger.core.models import load_model  # noqa: E402
from tagger.core.store import Store  # noqa: E402
from tests.audio_factory import write_audio  # noqa: E402

SOURCES = [
    (".mp3", 215.0, "bright"),
    (".flac", 187.0, "calm"),
    (".m4a", 263.0, "harsh"),
    (".ogg", 299.0, "bright"),
    (".mp3", 181.0, "harsh"),
    (".flac", 241.0, "calm"),
]


def build(folder: Path, n: int, prefix: str) -> Path:
    """n tracks under folder/prefix as Artist/Album/Track, copies of a few generated songs."""
    src = folder / "_sources"
    srcs = []
    for i, (ext, seconds, kind) in enumerate(SOURCES):
        p = src / f"src{i}{ext}"
        if not p.exists():
            write_audio(p, seconds=seconds, kind=kind, seed=i)
        srcs.append(p)
    root = folder / prefix
    if root.exists():
        shutil.rmtree(root)
    for k in range(n):
        s = srcs[k % len(srcs)]
        dst = (
            root
            / f"Artist {k // 50:03d}"
            / f"Album {k // 10:04d}"
            / f"{k % 10 + 1:02d} Song {k}{s.suffix}"
        )
        dst.parent.mkdir(parents=True, exist_ok=True)
        os.link(s, dst) if prefix == "warm" else shutil.copyfile(s, dst)
    return root


def run(root: Path, db: Path, loaded, jobs: int) -> tuple[float, int]:
    t = time.perf_counter()
    with Store(db) as store:
        n = sum(
            isinstance(e, TrackAnalysed) for e in analyze_library(root, store, loaded, jobs=jobs)
        )
        library_rows(root, store, loaded.model_id)
    return time.perf_counter() - t, n


def main() -> int:
    ap = argparse.ArgumentParser()
    ap.add_argument("--tracks", type=int, default=48)
    ap.add_argument("--warm", type=int, default=1000)
    ap.add_argument("--jobs", type=int, default=os.cpu_count() or 2)
    ap.add_argument("--dir", type=Path, default=Path(tempfile.gettempdir()) / "mood-bench")
    args = ap.parse_args()
    home = Path(tempfile.mkdtemp(prefix="mood-bench-home-"))
    os.environ["MOOD_TAGGER_HOME"] = str(home)
    loaded = load_model()
    print(f"model {loaded.model_id}, jobs {args.jobs}, cores {os.cpu_count()}")

    cold_root = build(args.dir, args.tracks, "cold")
    secs, n = run(cold_root, home / "cold.sqlite3", loaded, args.jobs)
    print(
        f"cold analysis: {n} full-length tracks in {secs:.1f} s = {n / secs:.1f} tracks/s "
        f"(incl. worker start-up)"
    )
    secs2, n2 = run(cold_root, home / "cold.sqlite3", loaded, args.jobs)
    print(f"warm re-run of the same {args.tracks} tracks: {secs2:.2f} s ({n2} re-analysed)")

    warm_root = build(args.dir, args.warm, "warm")
    secs, n = run(warm_root, home / "warm.sqlite3", loaded, args.jobs)
    print(f"first analysis of {args.warm} tracks: {secs:.1f} s ({n / secs:.1f} tracks/s)")
    times = []
    for _ in range(3):
        secs, n = run(warm_root, home / "warm.sqlite3", loaded, args.jobs)
        assert n == 0
        times.append(secs)
    print(
        f"warm re-scan of {args.warm} unchanged tracks: best {min(times):.2f} s, "
        f"worst {max(times):.2f} s (scan + cache check + rows)"
    )
    shutil.rmtree(home, ignore_errors=True)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
