"""CPU inference cost of a model: ms per 5-s segment at batch 1 and 32, one torch thread.

    python benchmarks/inference.py [--model FILE]
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

import torch

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from tagger.core.models import load_model


def per_segment_ms(model, batch: int, repeats: int) -> float:
    cfg_frames = 212
    x = torch.randn(batch, 1, 128, cfg_frames) * 10 - 40
    with torch.inference_mode():
        model.predict_proba(x)  # warm-up
        best = float("inf")
        for _ in range(repeats):
            t = time.perf_counter()
            model.predict_proba(x)
            best = min(best, time.perf_counter() - t)
    return best / batch * 1000


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
    print(f"batch 1:  {per_segment_ms(m, 1, 30):.2f} ms per segment (1 thread, best of 30)")
    print(f"batch 32: {per_segment_ms(m, 32, 5):.2f} ms per segment (1 thread, best of 5)")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
