"""Song -> evenly spaced 5-s windows -> batched CNN inference -> song probabilities.

Deterministic: the same file and model always give the same numbers (fixed windows,
inference in eval mode with one torch thread per process).
"""

from __future__ import annotations

import contextlib
import logging
import multiprocessing
import os
import signal
import threading
import time
from collections.abc import Iterable, Iterator
from concurrent.futures import FIRST_COMPLETED, Future, ProcessPoolExecutor, wait
from concurrent.futures.process import BrokenProcessPool
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch

from tagger.core import audio
from tagger.core.checkpoint import LoadedModel, load_checkpoint
from tagger.core.errors import (
    SILENT_MESSAGE,
    TOO_SHORT_MESSAGE,
    DecodeError,
    FileError,
    UnexpectedError,
    no_mood_reason,
)
from tagger.core.features import segment_patches
from tagger.core.moods import MoodScores
from tagger.core.progress import CancelToken

log = logging.getLogger(__name__)

#: Bump when window placement or pooling changes: cached predictions are then redone.
#: 2: calibration applied to the song's averaged probabilities, not to each window.
#: 3: windows land where asked (MP3 encoder delay, Ogg FLAC seeks, decoder pre-roll).
#: 4: WMA windows two frames (93 ms at 44.1 kHz) later, where a whole decode has them.
ANALYSIS_VERSION = 4
N_WINDOWS = 6
#: Intro/outro skipped on songs at least MIN_SKIP_DURATION long.
SKIP_SECONDS = 10.0
MIN_SKIP_DURATION = 60.0
#: Songs shorter than this get no mood: there is too little to judge from.
MIN_DURATION = 1.0
#: Windows whose RMS level is below this (dBFS) are silence, not a calm song.
SILENCE_DBFS = -70.0


def window_starts(duration: float, seconds: float, n_max: int = N_WINDOWS) -> list[float]:
    """Start times of up to ``n_max`` evenly spaced windows of ``seconds`` in a song."""
    if duration <= 0:
        return [0.0]
    lo, hi = 0.0, duration
    if duration >= MIN_SKIP_DURATION:
        lo, hi = SKIP_SECONDS, duration - SKIP_SECONDS
    body = hi - lo
    n = max(1, min(n_max, round(body / seconds)))
    span = max(0.0, body - seconds)
    if n == 1:
        return [round(lo + span / 2, 3)]
    return [round(lo + i * span / (n - 1), 3) for i in range(n)]


def is_silent(wav: np.ndarray) -> bool:
    """True when the decoded windows hold no sound (RMS under ``SILENCE_DBFS``)."""
    if wav.size == 0:
        return True
    # each window without its DC offset, as the features see it: a constant (a silent
    # track through a faulty converter) is no sound, and level normalisation would turn
    # its hiss up; and without its first and last twentieth, where the resampler rings on the
    # step from nothing to that constant
    w = np.atleast_2d(wav).astype(np.float64)
    edge = w.shape[1] // 20 if w.shape[1] >= 200 else 0
    core = w[:, edge : w.shape[1] - edge]
    ac = core - core.mean(axis=1, keepdims=True)
    rms = float(np.sqrt(np.mean(np.square(ac))))
    return rms < 10 ** (SILENCE_DBFS / 20)


@dataclass(frozen=True, slots=True)
class SongAnalysis:
    path: str
    scores: MoodScores
    duration: float
    window_starts: tuple[float, ...]
    model_id: str


class Analyzer:
    """Runs one loaded model over songs. Not thread-safe: one per worker."""

    def __init__(self, loaded: LoadedModel) -> None:
        self.loaded = loaded
        self.features = loaded.features

    @property
    def model_id(self) -> str:
        return self.loaded.model_id

    def windows(self, path: str | Path) -> tuple[float, list[float], np.ndarray]:
        """``(duration, starts, waveforms)`` of the windows analysis uses."""
        info = audio.probe(path)
        if 0 < info.duration < MIN_DURATION:
            raise DecodeError(path, f"{TOO_SHORT_MESSAGE} ({info.duration:.1f} s)")
        starts = window_starts(
            info.duration, self.features.segment_seconds, self.features.max_windows
        )
        wav = audio.load_windows(
            path, starts, self.features.segment_seconds, self.features.sample_rate
        )
        if is_silent(wav):
            raise DecodeError(path, SILENT_MESSAGE)
        return info.duration, starts, wav

    def patches(self, path: str | Path) -> tuple[float, list[float], np.ndarray]:
        """``(duration, starts, log-mel patches (n, 1, mels, frames))``."""
        duration, starts, wav = self.windows(path)
        return duration, starts, segment_patches(wav, self.features)

    def song_probabilities(self, patches: np.ndarray) -> np.ndarray:
        """A song's calibrated probabilities ``(4,)`` from its patches."""
        return self.loaded.model.song_proba(patches)

    def analyze(self, path: str | Path) -> SongAnalysis:
        duration, starts, patches = self.patches(path)
        probs = self.song_probabilities(patches)
        if not np.isfinite(probs).all():  # never stored, nor written as invalid JSON
            raise DecodeError(path, "the analysis gave no valid mood (the audio is damaged?)")
        return SongAnalysis(
            path=str(path),
            scores=MoodScores.from_probabilities(probs.tolist()),
            duration=duration,
            window_starts=tuple(starts),
            model_id=self.model_id,
        )


def analyze_one(analyzer: Analyzer, path: str | Path) -> SongAnalysis | FileError:
    """Analyse one song; a bad file comes back as its error, never raised."""
    try:
        return analyzer.analyze(path)
    except FileError as exc:
        return exc
    except Exception as exc:  # a bug or an exotic decoder failure: log it, keep going
        log.exception("unexpected error analysing %s", path)
        return UnexpectedError(path, f"unexpected error: {exc}")


# -- parallel execution -----------------------------------------------------------------

_worker_analyzer: Analyzer | None = None


def _limit_native_threads() -> None:
    """One thread for torch AND for NumPy's BLAS: with one worker process per core, any
    extra thread only oversubscribes the CPU (measured: it halves throughput)."""
    torch.set_num_threads(1)
    try:
        from threadpoolctl import threadpool_limits

        threadpool_limits(1)
    except ImportError:  # pragma: no cover - a declared dependency; optional here
        pass


def _init_worker(model_path: str) -> None:
    global _worker_analyzer
    _limit_native_threads()
    _worker_analyzer = Analyzer(load_checkpoint(model_path))


def _work(path: str) -> SongAnalysis | FileError:
    assert _worker_analyzer is not None
    return analyze_one(_worker_analyzer, path)


@contextlib.contextmanager
def _workers_ignore_sigint() -> Iterator[None]:
    """Start worker processes with Ctrl+C ignored (an ignored signal stays ignored in a
    spawned child), so that Ctrl+C stops the parent alone: each worker printed a
    KeyboardInterrupt traceback from inside its imports. Only the main thread can."""
    if threading.current_thread() is not threading.main_thread():
        yield
        return
    old = signal.signal(signal.SIGINT, signal.SIG_IGN)
    try:
        yield
    finally:
        signal.signal(signal.SIGINT, old)


def default_jobs() -> int:
    return max(1, min(os.cpu_count() or 1, 8))


def analyze_many(
    paths: Iterable[str | Path],
    loaded: LoadedModel,
    jobs: int | None = None,
    cancel: CancelToken | None = None,
) -> Iterator[tuple[str, SongAnalysis | FileError]]:
    """Yield ``(path, result or error)`` as songs finish (any order); stops on cancel.

    With ``jobs > 1`` and more than a few songs, songs are spread over worker processes
    (spawned, so it is safe from a GUI thread); results are the same either way.
    """
    todo = [str(p) for p in paths]
    if not todo:
        return
    jobs = default_jobs() if jobs is None else max(1, jobs)
    jobs = 1 if len(todo) <= 2 else min(jobs, len(todo))
    log.info("analysing %d song(s) with model %s, %d process(es)", len(todo), loaded.model_id, jobs)
    start = time.monotonic()
    done = failed = without_mood = 0
    songs = (
        _analyze_serial(todo, loaded, cancel)
        if jobs == 1
        else _analyze_pool(todo, loaded, jobs, cancel)
    )
    for path, result in songs:
        done += 1
        if isinstance(result, FileError) and no_mood_reason(result.message):
            without_mood += 1
            log.info("no mood for %s: %s", path, result.message)
        elif isinstance(result, FileError):
            failed += 1
            log.info("could not analyse %s: %s", path, result.message)
        else:
            log.debug("%s: %s, confidence %.2f", path, result.scores.mood, result.scores.confidence)
        yield path, result
    log.info(
        "analysed %d of %d song(s) in %.1f s: %d could not be read, %d silent or too short",
        done,
        len(todo),
        time.monotonic() - start,
        failed,
        without_mood,
    )


def _analyze_pool(
    todo: list[str], loaded: LoadedModel, jobs: int, cancel: CancelToken | None
) -> Iterator[tuple[str, SongAnalysis | FileError]]:
    """:func:`analyze_many` over ``jobs`` spawned worker processes."""
    ctx = multiprocessing.get_context("spawn")
    with ProcessPoolExecutor(
        max_workers=jobs,
        mp_context=ctx,
        initializer=_init_worker,
        initargs=(str(loaded.path),),
    ) as pool:
        pending: dict[Future, str] = {}
        it = iter(todo)
        window = jobs * 4

        def fill() -> None:
            while len(pending) < window:
                p = next(it, None)
                if p is None:
                    return
                pending[pool.submit(_work, p)] = p

        leftover: list[str] = []
        try:
            with _workers_ignore_sigint():  # the first submits start the processes
                fill()
            while pending:
                done, _ = wait(pending, timeout=0.2, return_when=FIRST_COMPLETED)
                if cancel is not None and cancel.cancelled:
                    return
                for fut in done:
                    p = pending.pop(fut)
                    try:
                        yield p, fut.result()
                    except BrokenProcessPool:
                        leftover.append(p)
                    except Exception as exc:
                        log.exception("worker failed on %s", p)
                        yield p, DecodeError(p, f"analysis worker failed: {exc}")
                if leftover:
                    raise BrokenProcessPool("a worker process died")
                fill()
        except BrokenProcessPool:
            # A worker died (out of memory, a crash in a native library...): finish the
            # remaining songs in this process rather than failing them all.
            log.warning("analysis worker process died; continuing in-process")
            leftover += list(pending.values()) + list(it)
            pending.clear()
        finally:
            for fut in pending:
                fut.cancel()
            pool.shutdown(wait=True, cancel_futures=True)
    if leftover:
        yield from _analyze_serial(leftover, loaded, cancel)


def _analyze_serial(
    paths: list[str], loaded: LoadedModel, cancel: CancelToken | None
) -> Iterator[tuple[str, SongAnalysis | FileError]]:
    _limit_native_threads()
    analyzer = Analyzer(loaded)
    for p in paths:
        if cancel is not None and cancel.cancelled:
            return
        yield p, analyze_one(analyzer, p)
