"""A music folder as the app sees it: scan + analysis + labels, over the store.

The CLI and the GUI both run :func:`analyze_library` (a generator of progress and
per-track events that honours a cancel token) and read :func:`library_rows`.
"""

from __future__ import annotations

import json
import logging
import os
from collections import Counter
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from pathlib import Path

from tagger.core.analysis import ANALYSIS_VERSION, SongAnalysis, analyze_many
from tagger.core.checkpoint import LoadedModel
from tagger.core.errors import (
    FileError,
    FolderUnavailable,
    UnexpectedError,
    may_pass,
    no_mood_reason,
)
from tagger.core.moods import MOODS, MoodScores
from tagger.core.progress import CancelToken, Progress
from tagger.core.scan import ScanResult, scan
from tagger.core.store import Store
from tagger.core.text import count_text
from tagger.core.writelock import WriteLock

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
    #: Why the scan could not read the file's tags (then ``mood_tag`` says nothing).
    tag_error: str | None = None

    @property
    def predicted_mood(self) -> str | None:
        return self.scores.mood if self.scores else None

    @property
    def mood(self) -> str | None:
        """The person's label if any, else the prediction."""
        return self.label or self.predicted_mood

    @property
    def no_mood(self) -> str | None:
        """ "silent" / "too short" for a song read fine but with nothing to judge."""
        return no_mood_reason(self.error) if self.scores is None else None

    @property
    def unreadable(self) -> bool:
        """The file could not be analysed (a real error, not silence)."""
        return self.scores is None and bool(self.error) and self.no_mood is None


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
    #: Files that failed in this run (``analysed`` counts the songs that got a mood).
    failed: int
    cancelled: bool
    scan_errors: tuple[tuple[str, str], ...] = ()
    #: Unchanged files whose stored result is an error (they are not retried).
    cached_errors: int = 0
    #: Songs, now or before, that are silent or too short to have a mood (not failures).
    no_mood: int = 0

    @property
    def errors(self) -> int:
        """All songs that could not be read: failed now or before."""
        return self.failed + self.cached_errors


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
    for p in [p for p, c in cached.items() if c.probabilities is None and may_pass(c.error)]:
        del cached[p]  # a chmod or a reconnected drive fixes it: read again every run
    todo = [p for p in scan_result.paths if p not in cached and p in tracks]
    total = len(todo)
    cached_errors = no_mood = 0
    for p in scan_result.paths:
        if p in cached and cached[p].probabilities is None:
            if no_mood_reason(cached[p].error):
                no_mood += 1
            else:
                cached_errors += 1
    done = failed = no_mood_now = 0
    yield Progress("analyse", 0, total)
    cancelled = bool(cancel and cancel.cancelled)
    if not cancelled:
        for path, result in analyze_many(todo, loaded, jobs, cancel):
            track = tracks[path]
            # the file as analysed, by this model and analysis version
            key = (track.id, loaded.model_id, ANALYSIS_VERSION, track.size, track.mtime_ns)
            if isinstance(result, SongAnalysis):
                store.save_prediction(
                    *key, result.scores.probabilities, result.duration, result.window_starts
                )
                yield TrackAnalysed(path, track.id, result.scores, None, result.window_starts)
            else:
                assert isinstance(result, FileError)
                if no_mood_reason(result.message):
                    no_mood_now += 1
                else:
                    failed += 1
                if not isinstance(result, UnexpectedError):  # else: tried again next run
                    store.save_prediction(*key, None, error=result.message)
                yield TrackAnalysed(path, track.id, None, result.message)
            done += 1
            yield Progress("analyse", done, total, path)
        cancelled = bool(cancel and cancel.cancelled)
    yield AnalysisSummary(
        root,
        len(scan_result.paths),
        done - failed - no_mood_now,
        len(scan_result.paths) - total,
        failed,
        cancelled,
        tuple(scan_result.errors),
        cached_errors,
        no_mood + no_mood_now,
    )


def mood_counts(rows: Iterable[LibraryRow]) -> Counter[str]:
    """Songs per mood as the app's status bar counts them: the person's label wins over the
    prediction; a file that could not be read counts under no mood (even if labelled)."""
    return Counter(r.mood for r in rows if r.mood and not r.unreadable)


def library_rows(root: str | Path, store: Store, model_id: str) -> list[LibraryRow]:
    """Snapshot of every present track under ``root`` with its prediction and label."""
    root = Path(root).expanduser().resolve()
    labels = store.labels_under(root)
    windows_seen: dict[str, tuple[float, ...]] = {}  # songs of one length share windows
    rows = []
    for (
        track_id,
        path,
        title,
        artist,
        album,
        tracknumber,
        track_duration,
        mood_tag,
        probs,
        pred_duration,
        windows,
        error,
        pred_model,
        tag_error,
    ) in store.library_snapshot(root, model_id, ANALYSIS_VERSION):
        has_pred = pred_model is not None
        starts: tuple[float, ...] = ()
        if has_pred and windows:
            starts = windows_seen.get(windows) or windows_seen.setdefault(
                windows, tuple(json.loads(windows))
            )
        rows.append(
            LibraryRow(
                track_id=track_id,
                path=path,
                title=title,
                artist=artist,
                album=album,
                tracknumber=tracknumber,
                duration=pred_duration if pred_duration else track_duration,
                mood_tag=mood_tag,
                scores=_scores(probs) if probs else None,
                label=labels.get(path),
                error=error if has_pred else None,
                model_id=pred_model,
                window_starts=starts,
                tag_error=tag_error,
            )
        )
    return rows


def _scores(probs_json: str) -> MoodScores | None:
    """Stored probabilities -> scores; a fast path for what :meth:`Store.save_prediction`
    wrote (a JSON list of floats that already sums to 1)."""
    try:
        p = tuple(float(x) for x in probs_json.strip()[1:-1].split(","))
    except ValueError:
        p = tuple(json.loads(probs_json))
    if not p:
        return None
    if len(p) == len(MOODS) and abs(sum(p) - 1.0) < 1e-9:
        return MoodScores(p)  # type: ignore[arg-type]
    return MoodScores.from_probabilities(p)


@dataclass(frozen=True, slots=True)
class MissingSongs:
    """The songs of a library whose files a scan no longer finds (deleted, or moved out of
    the folder), which :func:`forget_missing` would forget."""

    root: Path
    paths: tuple[str, ...]
    track_ids: tuple[int, ...]
    #: How many of them have a label of the person's (lost with them).
    labelled: int = 0
    #: (folder or file, why) that could not be read: the songs in or under them are kept.
    unreadable: tuple[tuple[str, str], ...] = ()


def find_missing(
    root: str | Path, store: Store, cancel: CancelToken | None = None
) -> Iterator[Progress | ScanResult | MissingSongs]:
    """Scan ``root`` (so moved files keep their labels), then yield the songs under it
    whose files are missing. Nothing is yielded after a cancelled scan.

    Raises :class:`FolderUnavailable` when the folder is not there, or holds no audio file
    at all while the library has songs in it (an unmounted drive, an empty mount point):
    then every song would look missing, and forgetting them would wipe the library."""
    path = Path(root).expanduser()
    if not path.is_dir():
        raise FolderUnavailable(
            path,
            f"{path} is not there (on a drive that is not connected?); nothing was forgotten",
        )
    path = path.resolve()
    result: ScanResult | None = None
    for event in scan(path, store, cancel):
        if isinstance(event, ScanResult):
            result = event
        yield event
    if result is None or (cancel is not None and cancel.cancelled):
        return
    missing = store.missing_tracks(path)
    if missing and not result.paths:
        raise FolderUnavailable(
            path,
            f"no audio files found in {path}, but the library has "
            f"{count_text(len(missing), 'song')} there: is its drive connected? "
            "Nothing was forgotten",
        )
    # an unreadable folder's songs only look missing, as do those behind a link whose
    # target is not there (a folder link to a drive not connected): the scan reports both
    blocked = tuple(str(p).rstrip("/") for p, _ in result.errors)
    kept = [p for p in missing if any(p == b or p.startswith(b + "/") for b in blocked)]
    for p in kept:
        del missing[p]
    paths = tuple(sorted(missing))
    yield MissingSongs(
        path,
        paths,
        tuple(missing[p][0] for p in paths),
        sum(1 for p in paths if missing[p][1]),
        tuple(result.errors),
    )


#: Logged while :func:`forget_missing` waits for a write or undo batch to finish.
FORGET_WAITING = "another write or undo is running; waiting to forget the missing songs..."


def forget_missing(store: Store, missing: MissingSongs, cancel: CancelToken | None = None) -> int:
    """Forget the songs of ``missing`` (their moods, labels and tag-write history) that
    are still missing: one whose file came back since is kept. Returns how many (0 when
    cancelled while waiting).

    Holds the database's write lock, as a write or undo batch does (waiting, with a
    logged warning, while one runs), so no batch loses the rows it is using."""
    lock = WriteLock(store.path)
    if not lock.acquire(FORGET_WAITING, cancel):
        log.info("forgetting the missing songs of %s was cancelled", missing.root)
        return 0
    try:
        still = store.missing_tracks(missing.root)
        ids = [
            track_id
            for path, track_id in zip(missing.paths, missing.track_ids, strict=True)
            if still.get(path, (None,))[0] == track_id and not os.path.lexists(path)
        ]
        store.forget_tracks(ids)
    finally:
        lock.release()
    log.info("forgot %d missing song(s) of %s", len(ids), missing.root)
    return len(ids)
