"""Background jobs of the review view, run by the app's generator worker.

The worker class comes from :mod:`tagger.ui.workers`, the only place the app starts
threads; this module only defines the jobs (core generators) it runs.
"""

from __future__ import annotations

import logging
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from tagger.core.progress import CancelToken
from tagger.ui.workers import GeneratorWorker

log = logging.getLogger(__name__)

__all__ = ["GeneratorWorker", "decode_job", "retrain_job", "spectrogram_job"]


@dataclass(frozen=True, slots=True)
class JobFailed:
    """A job could not do its work; ``message`` is fit for a person."""

    key: object
    message: str


@dataclass(frozen=True, slots=True)
class SpectrogramReady:
    track_id: int
    #: log-mel dB of the analysed windows side by side, ``(n_mels, frames)``.
    image: np.ndarray
    starts: tuple[float, ...]


def decode_job(
    path: str, start_at: float, cancel: CancelToken | None = None, rate: int | None = None
) -> Iterator[object]:
    """Decode a song for the preview (off the GUI thread), at ``rate`` if given."""
    from tagger.core.errors import FileError
    from tagger.core.preview import iter_preview

    try:
        yield from iter_preview(path, start_at, cancel, rate)
    except FileError as exc:
        yield JobFailed(path, exc.message)


def spectrogram_job(
    track_id: int, path: str, loaded: Any, cancel: CancelToken | None = None
) -> Iterator[object]:
    """The analysed windows' log-mel patches, side by side."""
    from tagger.core.analysis import Analyzer
    from tagger.core.errors import FileError
    from tagger.core.features import to_db

    try:
        _, starts, patches = Analyzer(loaded).patches(path)
    except FileError as exc:
        yield JobFailed(track_id, exc.message)
        return
    db = to_db(np.concatenate(list(patches[:, 0]), axis=1), loaded.features)
    yield SpectrogramReady(track_id, db, tuple(starts))


def retrain_job(
    root: str,
    store_path: str,
    model_path: str | None,
    config: Any = None,
    cancel: CancelToken | None = None,
) -> Iterator[object]:
    """Run :func:`tagger.core.retrain.retrain` with a Store and model opened in this thread."""
    from tagger.core.errors import MoodTaggerError
    from tagger.core.models import load_model
    from tagger.core.retrain import RetrainConfig, retrain
    from tagger.core.store import Store

    store = Store(Path(store_path))
    try:
        loaded = load_model(model_path)
        # a model that scores lower than before is held back: the view asks the person
        yield from retrain(
            root, store, loaded, config or RetrainConfig(), cancel, keep_if_worse=True
        )
    except MoodTaggerError as exc:
        yield JobFailed("retrain", str(exc))
    finally:
        store.close()
