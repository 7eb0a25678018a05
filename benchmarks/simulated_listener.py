"""Simulated listener: does retraining learn a person's taste without forgetting the rest?

The 4Q clips are split in two halves by artist (deterministic hash). A listener who hears
every "sad" (Q3) song as "calm" labels half A (other songs truthfully); ``retrain`` runs on
those labels; on half B we report the share of sad songs predicted calm and the accuracy on
happy/aggressive songs, before and after. Targets: sad->calm rises by >= 0.30 and is >= 0.60;
happy/aggressive accuracy drops by <= 0.07.

    python benchmarks/simulated_listener.py [--data ../shared/datasets/4q] [--limit N]

Uses a temporary MOOD_TAGGER_HOME and a temporary folder of symlinks to the clips.
Note: the bundled model was trained on all of 4Q, so its "before" accuracy here is optimistic.
"""

from __future__ import annotations

import argparse
import csv
import hashlib
import os
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

DEFAULT_DATA = Path(__file__).resolve().parent.parent.parent / "shared" / "datasets" / "4q"
QUADRANT_MOOD = {"Q1": "happy", "Q2": "aggressive", "Q3": "sad", "Q4": "calm"}


def half_of(artist: str) -> int:
    return int(hashlib.sha1(artist.encode("utf-8")).hexdigest(), 16) % 2


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--data", type=Path, default=DEFAULT_DATA)
    ap.add_argument("--limit", type=int, default=None, help="use the first N clips (quick run)")
    args = ap.parse_args(argv)
    with tempfile.TemporaryDirectory(prefix="listener-") as tmp:
        os.environ["MOOD_TAGGER_HOME"] = str(Path(tmp) / "home")
        return run(args.data, Path(tmp) / "music", args.limit)


def run(data: Path, music: Path, limit: int | None) -> int:
    import torch

    from tagger.core.analysis import Analyzer
    from tagger.core.models import load_model
    from tagger.core.moods import MOODS
    from tagger.core.retrain import RetrainResult, retrain
    from tagger.core.scan import scan
    from tagger.core.store import Store

    with (data / "metadata.csv").open(encoding="utf-8") as f:
        rows = list(csv.DictReader(f))[:limit]
    links: dict[str, tuple[dict, Path]] = {}
    for r in rows:
        link = music / f"half{half_of(r['artist'])}" / r["quadrant"] / Path(r["file"]).name
        link.parent.mkdir(parents=True, exist_ok=True)
        link.symlink_to((data / r["file"]).resolve())
        links[str(link)] = (r, link)
    bundled = load_model()
    with Store.open_default() as store:
        for _ in scan(music, store):
            pass
        tracks = store.tracks_under(music)
        n_a = 0
        for path, (r, _) in links.items():
            if half_of(r["artist"]) == 0:
                truth = QUADRANT_MOOD[r["quadrant"]]
                store.add_label(tracks[path].id, "calm" if truth == "sad" else truth)
                n_a += 1
        t0 = time.perf_counter()
        result = None
        for ev in retrain(music / "half0", store, bundled):
            if isinstance(ev, RetrainResult):
                result = ev
        t_retrain = time.perf_counter() - t0
    assert result is not None
    user = load_model()
    print(f"labelled half: {n_a} songs; retrained in {t_retrain:.0f} s; {result.summary()}")
    torch.set_num_threads(2)
    a_before, a_after = Analyzer(bundled), Analyzer(user)
    truth, before, after = [], [], []
    for _path, (r, link) in links.items():
        if half_of(r["artist"]) != 1:
            continue
        try:
            _, _, patches = a_before.patches(link)
        except Exception as exc:  # report and go on
            print(f"  skipped {link}: {exc}")
            continue
        truth.append(MOODS.index(QUADRANT_MOOD[r["quadrant"]]))
        before.append(int(a_before.song_probabilities(patches).argmax()))
        after.append(int(a_after.song_probabilities(patches).argmax()))
    y, pb, pa = np.array(truth), np.array(before), np.array(after)
    sad, calm = MOODS.index("sad"), MOODS.index("calm")
    high = np.isin(y, [MOODS.index("happy"), MOODS.index("aggressive")])
    s_b, s_a = float((pb[y == sad] == calm).mean()), float((pa[y == sad] == calm).mean())
    h_b, h_a = float((pb[high] == y[high]).mean()), float((pa[high] == y[high]).mean())
    print(f"other half: {len(y)} songs, {int((y == sad).sum())} sad, {int(high.sum())} happy/aggr.")
    print(f"sad songs predicted calm:      before {s_b:.3f}  after {s_a:.3f}  (+{s_a - s_b:.3f})")
    print(f"happy/aggressive accuracy:     before {h_b:.3f}  after {h_a:.3f}  ({h_a - h_b:+.3f})")
    ok = s_a - s_b >= 0.30 and s_a >= 0.60 and h_b - h_a <= 0.07
    print("targets met" if ok else "targets NOT met")
    return 0 if ok else 1


if __name__ == "__main__":
    raise SystemExit(main())
