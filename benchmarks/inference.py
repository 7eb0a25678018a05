"""CPU inference cost of a model: ms per segment at batch 1 and 32, one torch thread, and
the whole per-song cost (decode + features + every analysis window) of a 4-min MP3.

python benchmarks/inference.py [--model FILE]
"""

from __future__ import annotations

import argparse
import sys
import tempfile
import time
from pathlib import Path

import torch

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from tagger.core.analysis import Analyzer
from tagger.core.models import load_model
from tests.audio_factory import write_audio
from training.train import per_segment_ms


def main() -> int:
    ap = argparse.ArgumentParser()
    ap.add_argument("--model")
    args = ap.parse_args()
    torch.set_num_threads(1)
    loaded = load_model(args.model)
    m = loaded.model.eval()
    size = loaded.path.stat().st_size / 1e6
    params = sum(p.numel() for p in m.parameters())
    print(f"model {loaded.model_id}: {params:,} parameters, {size:.2f} MB")
    f = loaded.features
    seg = f"{f.segment_seconds:g}-s segment"
    print(f"batch 1:  {per_segment_ms(m, f, 1, 30):.2f} ms per {seg} (1 thread, best of 30)")
    print(f"batch 32: {per_segment_ms(m, f, 32, 5):.2f} ms per {seg} (1 thread, best of 5)")
    with tempfile.TemporaryDirectory() as tmp:
        song = write_audio(Path(tmp) / "song.mp3", 240.0, kind="bright")
        analyzer = Analyzer(loaded)
        analyzer.analyze(song)
        best_all = best_dec = float("inf")
        for _ in range(5):
            t = time.perf_counter()
            analyzer.patches(song)
            best_dec = min(best_dec, time.perf_counter() - t)
            t = time.perf_counter()
            analyzer.analyze(song)
            best_all = min(best_all, time.perf_counter() - t)
    print(
        f"one 4-min MP3 song ({f.max_windows} windows): {best_all * 1000:.0f} ms in all, "
        f"of which decode + features {best_dec * 1000:.0f} ms (1 thread, best of 5)"
    )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
