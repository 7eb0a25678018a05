"""Seconds to retrain from 70 labels on 2 CPU cores, feature extraction included.

    python benchmarks/retrain_speed.py [--data ../shared/datasets/4q] [--labels 70]

70 4Q clips (balanced over the quadrants, 30 s each) are labelled with their quadrant in a
temporary MOOD_TAGGER_HOME; the whole ``retrain`` job is timed (decode + features +
embeddings + 5-fold estimate + final fit + save). Target: <= 60 s.
"""

from __future__ import annotations

import argparse
import csv
import os
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

DEFAULT_DATA = Path(__file__).resolve().parent.parent.parent / "shared" / "datasets" / "4q"
QUADRANT_MOOD = {"Q1": "happy", "Q2": "aggressive", "Q3": "sad", "Q4": "calm"}


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--data", type=Path, default=DEFAULT_DATA)
    ap.add_argument("--labels", type=int, default=70)
    args = ap.parse_args(argv)
    with tempfile.TemporaryDirectory(prefix="retrain-speed-") as tmp:
        os.environ["MOOD_TAGGER_HOME"] = str(Path(tmp) / "home")
        return run(args.data, Path(tmp) / "music", args.labels)


def run(data: Path, music: Path, n: int) -> int:
    from tagger.core.models import load_model
    from tagger.core.progress import Progress
    from tagger.core.retrain import RetrainConfig, RetrainResult, retrain
    from tagger.core.scan import scan
    from tagger.core.store import Store

    with (data / "metadata.csv").open(encoding="utf-8") as f:
        rows = list(csv.DictReader(f))
    by_q: dict[str, list[dict]] = {}
    for r in sorted(rows, key=lambda r: r["song"]):
        by_q.setdefault(r["quadrant"], []).append(r)
    chosen = [by_q[q][i] for i in range(n) for q in sorted(by_q)][:n]
    for r in chosen:
        link = music / r["quadrant"] / Path(r["file"]).name
        link.parent.mkdir(parents=True, exist_ok=True)
        link.symlink_to((data / r["file"]).resolve())
    loaded = load_model()
    with Store.open_default() as store:
        for _ in scan(music, store):
            pass
        for path, t in store.tracks_under(music).items():
            store.add_label(t.id, QUADRANT_MOOD[Path(path).parent.name])
        cfg = RetrainConfig()
        t0 = time.perf_counter()
        t_feat = None
        result = None
        for ev in retrain(music, store, loaded, cfg):
            if isinstance(ev, Progress) and ev.stage == "train" and t_feat is None:
                t_feat = time.perf_counter() - t0
            if isinstance(ev, RetrainResult):
                result = ev
        total = time.perf_counter() - t0
    assert result is not None
    print(f"retrain from {result.n_used} labels, torch threads {cfg.threads}: {total:.1f} s")
    print(
        f"  reading + features + embeddings: {t_feat:.1f} s; fitting + estimate + save: "
        f"{total - t_feat:.1f} s"
    )
    print(f"  {result.summary()}")
    print(f"  load average at end: {os.getloadavg()[0]:.1f} (the CPU may be shared)")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
