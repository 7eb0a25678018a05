"""Tag writing speed: write (and undo) the mood of N MP3/FLAC files.

    python benchmarks/write_tags.py [--files 1000] [--seconds 5] [--dir DIR]

Generates one tagged MP3 and one tagged FLAC (title/artist/comment/custom + cover art),
copies them into an Artist/Album/Track library of N files, labels every track, and times
the same batch `mood-tagger write` runs (journal + atomic copy/fsync/replace per file),
then `mood-tagger undo`. Target (2 cores): 1,000 files <= 30 s.

Each file is rewritten through a full copy, so time grows with file size: try
``--seconds 240 --files 100`` for full-length songs.
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

from tagger.core.moods import MOODS  # noqa: E402
from tagger.core.scan import scan  # noqa: E402
from tagger.core.store import Store  # noqa: E402
from tagger.core.tagwrite import (  # noqa: E402
    WriteSummary,
    apply_write,
    plan_write,
    preflight,
    undo_last,
)
from tests.tag_factory import make_tagged  # noqa: E402


def build(folder: Path, n: int, seconds: float) -> Path:
    root = folder / "music"
    if root.exists():
        shutil.rmtree(root)
    templates = [
        make_tagged(folder / "templates" / "t.mp3", "mp3v24", seconds=seconds),
        make_tagged(folder / "templates" / "t.flac", "flac", seconds=seconds),
    ]
    for i in range(n):
        src = templates[i % 2]
        dest = root / f"Artist {i // 100:02d}" / f"Album {i // 10 % 10}" / f"{i:04d}{src.suffix}"
        dest.parent.mkdir(parents=True, exist_ok=True)
        shutil.copyfile(src, dest)
    return root


def run(gen) -> WriteSummary:
    summary = None
    for ev in gen:
        if isinstance(ev, WriteSummary):
            summary = ev
    assert summary is not None
    return summary


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--files", type=int, default=1000)
    ap.add_argument("--seconds", type=float, default=5.0, help="length of each file")
    ap.add_argument("--dir", type=Path, help="work folder (default: a temporary one)")
    args = ap.parse_args()
    work = args.dir or Path(tempfile.mkdtemp(prefix="mood-tagger-bench-"))
    work.mkdir(parents=True, exist_ok=True)
    os.environ["MOOD_TAGGER_HOME"] = str(work / "home")
    try:
        t0 = time.perf_counter()
        root = build(work, args.files, args.seconds)
        size_mb = sum(p.stat().st_size for p in root.rglob("*") if p.is_file()) / 1e6
        print(f"built {args.files} files ({size_mb:.0f} MB) in {time.perf_counter() - t0:.1f} s")
        store = Store(work / "home" / "library.sqlite")
        t0 = time.perf_counter()
        for _ in scan(root, store):
            pass
        print(f"scan: {time.perf_counter() - t0:.2f} s")
        for i, t in enumerate(store.tracks_under(root).values()):
            store.add_label(t.id, MOODS[i % len(MOODS)])
        t0 = time.perf_counter()
        changes = plan_write(root, store, "no-model")
        plan_s = time.perf_counter() - t0
        print(f"plan: {len(changes)} changes in {plan_s:.2f} s")
        t0 = time.perf_counter()
        problems = preflight(changes, store)  # what a dry run and the app's preview add
        print(
            f"preflight (reads every file's tags): {len(problems)} problems in "
            f"{time.perf_counter() - t0:.2f} s"
        )
        t0 = time.perf_counter()
        summary = run(apply_write(changes, store, root))
        write_s = time.perf_counter() - t0
        assert summary.written == args.files and summary.failed == 0, summary
        print(
            f"write: {summary.written} files in {write_s:.2f} s "
            f"= {summary.written / write_s:.0f} files/s (target: 1,000 files <= 30 s)"
        )
        t0 = time.perf_counter()
        summary = run(undo_last(root, store))
        undo_s = time.perf_counter() - t0
        assert summary.written == args.files and summary.failed == 0, summary
        print(
            f"undo: {summary.written} files in {undo_s:.2f} s "
            f"= {summary.written / undo_s:.0f} files/s"
        )
        store.close()
    finally:
        if args.dir is None:
            shutil.rmtree(work, ignore_errors=True)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
