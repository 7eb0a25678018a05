"""The 4Q dataset as whole-clip log-mel spectrograms, computed by ``tagger.core`` and cached."""

from __future__ import annotations

import csv
import hashlib
import json
import logging
from concurrent.futures import ProcessPoolExecutor
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from tagger.core import audio
from tagger.core.features import FeatureConfig, log_mel
from tagger.core.moods import MOODS, QUADRANTS

log = logging.getLogger(__name__)

DEFAULT_DATA = Path(__file__).resolve().parent.parent.parent / "shared" / "datasets" / "4q"
CACHE_DIR = Path(__file__).resolve().parent / "cache"


@dataclass
class Dataset:
    songs: list[str]
    artists: list[str]
    labels: np.ndarray  # (n,) index into MOODS
    folds: np.ndarray  # (n,)
    mels: list[np.ndarray]  # each (n_mels, frames), float16
    features: FeatureConfig


def _clip_mel(args: tuple[str, dict]) -> np.ndarray:
    path, cfg_dict = args
    cfg = FeatureConfig(**cfg_dict)
    y = audio.load_all(path, cfg.sample_rate)
    return log_mel(y, cfg).astype(np.float16)


def load_dataset(data_dir: Path, cfg: FeatureConfig, jobs: int = 2) -> Dataset:
    rows = list(csv.DictReader((data_dir / "metadata.csv").open(encoding="utf-8")))
    # Whole-clip spectrograms do not depend on the window settings or the song-level
    # normalisation (applied to each song's patches): keep those out of the key.
    spec = {
        k: v
        for k, v in cfg.to_dict().items()
        if k not in ("segment_seconds", "max_windows", "level_db")
    }
    key = hashlib.sha256(
        json.dumps([spec, [r["file"] for r in rows], audio.DECODE_VERSION], sort_keys=True).encode()
    ).hexdigest()[:12]
    cache = CACHE_DIR / f"4q-{key}.npz"
    labels = np.array([MOODS.index(QUADRANTS[r["quadrant"]]) for r in rows])
    folds = np.array([int(r["fold"]) for r in rows])
    if cache.exists():
        z = np.load(cache, allow_pickle=False)
        lengths = z["lengths"]
        flat = z["mels"]
        mels = np.split(flat, np.cumsum(lengths)[:-1], axis=1)
        log.info("loaded cached features %s", cache)
    else:
        log.info("computing log-mels of %d clips (cached in %s)", len(rows), cache)
        args = [(str(data_dir / r["file"]), cfg.to_dict()) for r in rows]
        with ProcessPoolExecutor(jobs) as pool:
            mels = list(pool.map(_clip_mel, args, chunksize=8))
        CACHE_DIR.mkdir(parents=True, exist_ok=True)
        np.savez(
            cache, mels=np.concatenate(mels, axis=1), lengths=np.array([m.shape[1] for m in mels])
        )
    return Dataset(
        songs=[r["song"] for r in rows],
        artists=[r["artist"] for r in rows],
        labels=labels,
        folds=folds,
        mels=mels,
        features=cfg,
    )
