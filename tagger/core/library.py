"""A music folder as the app sees it: scan + analysis + labels, over the store.

The CLI and the GUI both run :func:`analyze_library` (a generator of progress and
per-track events that honours a cancel token) and read :func:`library_rows`.
"""

from __future__ import annotations

import logging
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

from tagger.core.analysis import ANALYSIS_VERSION, SongAnalysis, analyze_many
from tagger.core.checkpoint import LoadedModel
from tagger.core.errors import FileError
from tagger.core.moods import MoodScores
from tagger.core.progress import CancelToken, Progress
from tagger.core.scan import ScanResult, scan
from tagger.core.store import Store

log = logging.getLogger(__name__)


@dataclass(frozen=True, slots=True)
class LibraryRow:
    """Everything the views and exports need about one track (immutable snapshot)."""

    track_id: int
    path: str
    title: str | None
    artist: str | None
    album: str | None
    tracknumber: int | None
    duration: float | None
    mood_tag: str | None
    scores: MoodScores | None
    label: str | None
    error: str | None
    model_id: str | None
    window_starts: tuple[float, ...] = ()

    @property
    def predicted_mood(self) -> str | None:
        return self.scores.mood if self.scores else None

    @property
    def mood(self) -> str | None:
        """The person's label if any, else the prediction."""
        return self.label or self.predicted_mood


@dataclass(frozen=True, slots=True)
class TrackAnalysed:
    """One song finished analysing (``error`` set when it could not be read)."""

    path: str
    track_id: int
    scores: MoodScores | None
    error: str | None
    window_starts: tuple[float, ...] = ()


@dataclass(frozen=True, slots=True)
class AnalysisSummary:
    root: Path
    total: int
    analysed: int
    cached: int
    failed: int
    cancelled: bool
    scan_errors: tuple[tuple[str, str], ...] = ()


def analyze_library(
    root: str | Path,
    store: Store,
    loaded: LoadedModel,
    jobs: int | None = None,
    cancel: CancelToken | None = None,
) -> Iterator[Progress | ScanResult | TrackAnalysed | AnalysisSummary]:
    """Scan ``root``, analyse every track without a valid prediction, store the results."""
    scan_result: ScanResult | None = None
    for event in scan(root, store, cancel):
        if isinstance(event, ScanResult):
            scan_result = event
        yield event
    assert scan_result is not None
    root = scan_result.root
    tracks = store.tracks_under(root)
    cached = store.predictions_under(root, loaded.model_id, ANALYSIS_VERSION)
    todo = [p for p in scan_result.paths if p not in cached and p in tracks]
    total = len(todo)
    done = failed = 0
    yield Progress("analyse", 0, total)
    cancelled = bool(cancel and cancel.cancelled)
    if not cancelled:
        for path, result in analyze_many(todo, loaded, jobs, cancel):
            track = tracks[path]
            if isinstance(result, SongAnalysis):
                store.save_prediction(
                    track.id,
                    loaded.model_id,
                    ANALYSIS_VERSION,
                    track.size,
                    track.mtime_ns,
                    result.scores.probabilities,
                    result.duration,
                    result.window_starts,
                )
                yield TrackAnalysed(path, track.id, result.scores, None, result.window_starts)
            else:
                assert isinstance(result, FileError)
                failed += 1
                store.save_prediction(
                    track.id,
                    loaded.model_id,
                    ANALYSIS_VERSION,
                    track.size,
                    track.mtime_ns,
                    None,
                    error=result.message,
                )
                yield TrackAnalysed(path, track.id, None, result.message)
            done += 1
            yield Progress("analyse", done, total, path)
        cancelled = bool(cancel and cancel.cancelled)
    yield AnalysisSummary(
        root,
        len(scan_result.paths),
        done - failed,
        len(scan_result.paths) - total,
        failed,
        cancelled,
        tuple(scan_result.errors),
    )


def library_rows(root: str | Path, store: Store, model_id: str) -> list[LibraryRow]:
    """Snapshot of every present track under ``root`` with its prediction and label."""
    root = Path(root).expanduser().resolve()
    tracks = store.tracks_under(root)
    preds = store.predictions_under(root, model_id, ANALYSIS_VERSION)
    labels = store.labels_under(root)
    rows = []
    for path in sorted(tracks):
        t = tracks[path]
        p = preds.get(path)
        scores = MoodScores.from_probabilities(p.probabilities) if p and p.probabilities else None
        rows.append(
            LibraryRow(
                track_id=t.id,
                path=path,
                title=t.title,
                artist=t.artist,
                album=t.album,
                tracknumber=t.tracknumber,
                duration=(p.duration if p and p.duration else t.duration),
                mood_tag=t.mood_tag,
                scores=scores,
                label=labels.get(path),
                error=p.error if p else None,
                model_id=p.model_id if p else None,
                window_starts=p.window_starts if p else (),
            )
        )
    return rows
