"""Background work for the GUI: the ONLY place the app starts threads.

A :class:`GeneratorWorker` runs a core generator (the same ones the CLI iterates) in a
thread of :data:`POOL` and reports back through a separate signals QObject that lives in
the GUI thread: ``started``, ``yielded(event)`` for every result, ``progress(Progress)``
throttled to about ten per second, ``errored(message)`` and ``finished(cancelled)``.
Events are immutable records (frozen dataclasses), so nothing is shared between threads.

The generator *function* is called inside the worker thread, so a SQLite ``Store`` or a
model opened there belongs to that thread.
"""

from __future__ import annotations

import logging
import os
import sqlite3
import sys
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
from PySide6.QtCore import QObject, QRunnable, QThreadPool, Signal

from tagger.core.errors import MoodTaggerError
from tagger.core.progress import CancelToken, Progress

log = logging.getLogger(__name__)

#: All GUI background work runs here (analysis, spectrograms, tag writes).
POOL = QThreadPool()
POOL.setMaxThreadCount(4)

PROGRESS_INTERVAL = 0.1  # seconds between progress signals


class WorkerSignals(QObject):
    """Signals of one worker; created in (and delivered to) the GUI thread."""

    started = Signal()
    yielded = Signal(object)
    progress = Signal(object)
    errored = Signal(str)
    finished = Signal(bool)  # cancelled


class GeneratorWorker(QRunnable):
    """Runs ``func(*args, cancel=token)`` (a generator) and forwards what it yields.

    ``Progress`` events are coalesced: at most one per :data:`PROGRESS_INTERVAL`, plus the
    first and last one of every stage (bars start at once and always end full).
    """

    def __init__(self, func: Callable[..., Iterator[Any]], *args: Any, **kwargs: Any) -> None:
        super().__init__()
        self.setAutoDelete(False)  # the owner keeps it (and its signals) alive
        self.func = func
        self.args = args
        self.kwargs = kwargs
        self.cancel_token = CancelToken()
        self.signals = WorkerSignals()
        self.done = False

    def cancel(self) -> None:
        self.cancel_token.cancel()

    @property
    def cancelled(self) -> bool:
        return self.cancel_token.cancelled

    def start(self, pool: QThreadPool | None = None) -> GeneratorWorker:
        (pool or POOL).start(self)
        return self

    def run(self) -> None:  # worker thread
        s = self.signals
        s.started.emit()
        last = 0.0
        last_stage = ""
        pending: Progress | None = None
        try:
            for event in self.func(*self.args, cancel=self.cancel_token, **self.kwargs):
                if isinstance(event, Progress):
                    now = time.monotonic()
                    if (
                        now - last >= PROGRESS_INTERVAL
                        or event.stage != last_stage
                        or event.done == 0
                        or event.done >= event.total
                    ):
                        s.progress.emit(event)
                        last, last_stage, pending = now, event.stage, None
                    else:
                        pending = event
                    continue
                if pending is not None:
                    s.progress.emit(pending)
                    pending = None
                s.yielded.emit(event)
                if self.cancel_token.cancelled:
                    break
            if pending is not None:
                s.progress.emit(pending)
        except (OSError, MoodTaggerError, sqlite3.OperationalError) as exc:  # the world, not a bug
            log.warning("background job %s failed: %s", getattr(self.func, "__name__", ""), exc)
            s.errored.emit(str(exc))
        except Exception as exc:  # a bug in the job: report it, keep the app alive
            log.exception("background job %s failed", getattr(self.func, "__name__", self.func))
            s.errored.emit(f"{type(exc).__name__}: {exc}")
        finally:
            self.done = True
            s.finished.emit(self.cancel_token.cancelled)


def wait_for_all(timeout_ms: int = 5000) -> bool:
    """Wait for every background job (call after cancelling them); False on timeout."""
    return POOL.waitForDone(timeout_ms)


# -- jobs (generators run by workers) ------------------------------------------------


@dataclass(frozen=True, slots=True)
class ModelReady:
    """The model was loaded in the worker (``loaded`` is only read by the GUI)."""

    loaded: Any  # LoadedModel
    model_id: str
    name: str
    #: Set when the user's active model could not be loaded and the bundled one stands in.
    fallback: str | None = None


@dataclass(frozen=True, slots=True)
class ModelFailed:
    message: str


@dataclass(frozen=True, slots=True)
class RowsLoaded:
    """A fresh snapshot of the library (``list[LibraryRow]``) from the store."""

    root: str
    rows: tuple
    model_id: str


#: Niceness of analysis work, so the GUI thread wins the CPU when every core is busy.
ANALYSIS_NICENESS = 10


def lower_thread_priority(niceness: int = ANALYSIS_NICENESS) -> bool:
    """Lower the calling thread's CPU priority (Linux: niceness is per thread, and the
    analysis processes it starts inherit it). True if it worked; harmless elsewhere."""
    if not sys.platform.startswith("linux"):
        return False
    try:
        tid = threading.get_native_id()
        current = os.getpriority(os.PRIO_PROCESS, tid)
        if current < niceness:
            os.setpriority(os.PRIO_PROCESS, tid, niceness)
        return True
    except (OSError, AttributeError):
        return False


def analysis_job(
    root: str | Path,
    model: Any = None,
    jobs: int | None = None,
    cancel: CancelToken | None = None,
) -> Iterator[Any]:
    """Load the model, show what the store knows, then run the CLI's analysis pipeline.

    ``model`` is a path, a ``LoadedModel`` or None (the active model). Everything heavy
    (torch import, decoding, inference, SQLite) happens in this worker thread.
    """
    from tagger.core.checkpoint import LoadedModel
    from tagger.core.errors import CheckpointError
    from tagger.core.library import analyze_library, library_rows
    from tagger.core.models import load_model
    from tagger.core.scan import ScanResult
    from tagger.core.store import Store

    root = Path(root).expanduser().resolve()
    lower_thread_priority()
    loaded = None
    notes: list[str] = []
    try:
        loaded = model if isinstance(model, LoadedModel) else load_model(model, notes)
    except CheckpointError as exc:
        log.error("cannot load the mood model: %s", exc)
        yield ModelFailed(str(exc))
    if loaded is not None:
        name = str((loaded.provenance or {}).get("name") or Path(str(loaded.path)).name)
        fallback = (
            f"{notes[0]}. Review ▸ Reset to bundled model makes that permanent." if notes else None
        )
        yield ModelReady(loaded, loaded.model_id, name, fallback)
    model_id = loaded.model_id if loaded is not None else ""
    store = Store.open_default()
    try:
        yield RowsLoaded(str(root), tuple(library_rows(root, store, model_id)), model_id)
        if loaded is None:
            from tagger.core.scan import scan

            for event in scan(root, store, cancel):
                yield event
            yield RowsLoaded(str(root), tuple(library_rows(root, store, model_id)), model_id)
            return
        for event in analyze_library(root, store, loaded, jobs=jobs, cancel=cancel):
            yield event
            if isinstance(event, ScanResult):
                # new and changed tracks appear (queued) before analysis starts
                yield RowsLoaded(str(root), tuple(library_rows(root, store, model_id)), model_id)
    finally:
        store.close()


@dataclass(frozen=True, slots=True)
class SpectrogramReady:
    """RGB image (h, w, 3) uint8 of the analysed segments' log-mel patches side by side."""

    path: str
    rgb: np.ndarray
    starts: tuple[float, ...]
    duration: float
    error: str | None = None


# A perceptual-ish dark-to-bright ramp (magma-like) for spectrogram images.
_RAMP = np.array(
    [
        [0, 0, 4],
        [40, 11, 84],
        [101, 21, 110],
        [159, 42, 99],
        [212, 72, 66],
        [245, 125, 21],
        [250, 193, 39],
        [252, 255, 164],
    ],
    dtype=np.float32,
)


def colourize(values: np.ndarray) -> np.ndarray:
    """Map a 2-D array to RGB uint8 with :data:`_RAMP` after robust min/max scaling."""
    v = np.asarray(values, dtype=np.float32)
    lo, hi = np.percentile(v, 2), np.percentile(v, 99.5)
    t = np.clip((v - lo) / max(float(hi - lo), 1e-6), 0, 1) * (len(_RAMP) - 1)
    i = np.minimum(t.astype(np.int32), len(_RAMP) - 2)
    f = (t - i)[..., None]
    rgb = _RAMP[i] * (1 - f) + _RAMP[i + 1] * f
    return np.ascontiguousarray(rgb.astype(np.uint8))


def spectrogram_job(path: str, loaded: Any, cancel: CancelToken | None = None) -> Iterator[Any]:
    """Decode the analysed windows of ``path`` and render their log-mel patches."""
    from tagger.core.analysis import Analyzer
    from tagger.core.errors import FileError

    try:
        duration, starts, patches = Analyzer(loaded).patches(path)
    except FileError as exc:
        yield SpectrogramReady(path, np.zeros((1, 1, 3), np.uint8), (), 0.0, str(exc))
        return
    if cancel is not None and cancel.cancelled:
        return
    mels = [p[0] for p in patches]  # (mels, frames) each, low frequencies first
    gap = np.full((mels[0].shape[0], 3), np.nan, dtype=np.float32)
    parts: list[np.ndarray] = []
    for k, m in enumerate(mels):
        if k:
            parts.append(gap)
        parts.append(m.astype(np.float32))
    joined = np.concatenate(parts, axis=1)[::-1]  # high frequencies at the top
    finite = np.nan_to_num(joined, nan=float(np.nanmin(joined)))
    rgb = colourize(finite)
    rgb[:, np.isnan(joined).any(axis=0)] = 255  # white separators between segments
    yield SpectrogramReady(path, rgb, tuple(starts), float(duration))
