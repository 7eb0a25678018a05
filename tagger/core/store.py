"""The per-user SQLite library store.

Tables: ``tracks`` (one row per audio file ever seen, with its size/mtime and tags),
``predictions`` (keyed by track + model id, valid while the file's size/mtime match),
``labels`` (the person's moods; the newest per track wins), ``write_batches`` and
``tag_journal`` (what each tag write changed, so it can be undone).

One :class:`Store` per thread: SQLite connections are not shared across threads.
"""

from __future__ import annotations

import json
import logging
import sqlite3
import time
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

from tagger.core.errors import StoreError
from tagger.core.moods import MOODS

log = logging.getLogger(__name__)

SCHEMA_VERSION = 1

_SCHEMA = """
CREATE TABLE IF NOT EXISTS tracks (
    id INTEGER PRIMARY KEY,
    path TEXT NOT NULL UNIQUE,
    size INTEGER NOT NULL,
    mtime_ns INTEGER NOT NULL,
    title TEXT, artist TEXT, album TEXT, tracknumber INTEGER,
    mood_tag TEXT,
    duration REAL,
    tag_error TEXT,
    present INTEGER NOT NULL DEFAULT 1,
    seen_at REAL NOT NULL,
    names_version INTEGER NOT NULL DEFAULT 0
);
CREATE TABLE IF NOT EXISTS predictions (
    track_id INTEGER NOT NULL REFERENCES tracks(id) ON DELETE CASCADE,
    model_id TEXT NOT NULL,
    analysis_version INTEGER NOT NULL,
    size INTEGER NOT NULL,
    mtime_ns INTEGER NOT NULL,
    probs TEXT,
    duration REAL,
    windows TEXT,
    error TEXT,
    created_at REAL NOT NULL,
    PRIMARY KEY (track_id, model_id)
);
CREATE TABLE IF NOT EXISTS labels (
    id INTEGER PRIMARY KEY,
    track_id INTEGER NOT NULL REFERENCES tracks(id) ON DELETE CASCADE,
    mood TEXT,
    source TEXT NOT NULL,
    created_at REAL NOT NULL
);
CREATE INDEX IF NOT EXISTS labels_track ON labels(track_id, id);
CREATE INDEX IF NOT EXISTS tracks_identity ON tracks(size, mtime_ns);
CREATE TABLE IF NOT EXISTS write_batches (
    id INTEGER PRIMARY KEY,
    root TEXT NOT NULL,
    created_at REAL NOT NULL,
    undone_at REAL
);
CREATE TABLE IF NOT EXISTS tag_journal (
    batch_id INTEGER NOT NULL REFERENCES write_batches(id) ON DELETE CASCADE,
    track_id INTEGER NOT NULL REFERENCES tracks(id),
    path TEXT NOT NULL,
    old_values TEXT NOT NULL,
    new_values TEXT NOT NULL,
    status TEXT NOT NULL,
    error TEXT,
    PRIMARY KEY (batch_id, track_id)
);
"""


@dataclass(frozen=True, slots=True)
class TrackRow:
    id: int
    path: str
    size: int
    mtime_ns: int
    title: str | None
    artist: str | None
    album: str | None
    tracknumber: int | None
    mood_tag: str | None
    duration: float | None
    tag_error: str | None
    #: How the title, artist and album were read (``tagger.core.scan.NAMES_VERSION``);
    #: a scan reads them again where it is older, though the file did not change.
    names_version: int = 0


@dataclass(frozen=True, slots=True)
class PredictionRow:
    track_id: int
    model_id: str
    size: int
    mtime_ns: int
    probabilities: tuple[float, ...] | None
    duration: float | None
    window_starts: tuple[float, ...]
    error: str | None


@dataclass(frozen=True, slots=True)
class JournalEntry:
    """One file of a tag-write batch: its mood fields before and after (JSON-able)."""

    track_id: int
    path: str
    old_values: dict
    new_values: dict
    status: str  # pending | written | failed | skipped | undone
    error: str | None = None


def _under(root: str | Path) -> tuple[str, str]:
    """SQL range that selects paths inside ``root`` (a prefix query that uses the index)."""
    r = str(Path(root).resolve())
    prefix = r.rstrip("/") + "/"
    return prefix, prefix[:-1] + chr(ord("/") + 1)


def write_failed_text(exc: sqlite3.Error) -> str:
    """Why a change could not be saved in the library database, in the person's words."""
    code = getattr(exc, "sqlite_errorcode", None)
    if code in (sqlite3.SQLITE_BUSY, sqlite3.SQLITE_LOCKED) or "locked" in str(exc):
        return (
            "the library database is in use by another program (another Mood Tagger "
            "writing to it?); try again in a moment"
        )
    if code == sqlite3.SQLITE_FULL:
        return "the disk holding the library database is full"
    if code == sqlite3.SQLITE_READONLY or "readonly" in str(exc):
        return "the library database is read-only"
    return f"the library database could not be updated: {exc}"


class StoreCorrupt(StoreError):
    """The database file is damaged or is not a database at all."""


def _is_corruption(exc: sqlite3.DatabaseError) -> bool:
    code = getattr(exc, "sqlite_errorcode", None)
    return code in (sqlite3.SQLITE_CORRUPT, sqlite3.SQLITE_NOTADB) or (
        code is None and not isinstance(exc, sqlite3.OperationalError)
    )


class Store:
    #: Where a damaged database was moved by :meth:`open_default` (None if it was not).
    recovered_from: Path | None = None

    def __init__(self, path: str | Path, timeout: float = 30.0) -> None:
        """``timeout``: how long a write waits for another process's write to end (the
        GUI thread waits less: it must not freeze)."""
        self.path = Path(path)
        self.path.parent.mkdir(parents=True, exist_ok=True)
        try:
            self.db = sqlite3.connect(self.path, timeout=timeout)
        except sqlite3.Error as exc:  # a folder in its place, no permission...
            raise StoreError(f"cannot open the library database {self.path}: {exc}") from exc
        try:
            self.db.execute("PRAGMA journal_mode=WAL")
            self.db.execute("PRAGMA synchronous=NORMAL")
            self.db.execute("PRAGMA foreign_keys=ON")
            version = self.db.execute("PRAGMA user_version").fetchone()[0]
            if version > SCHEMA_VERSION:
                raise StoreError(
                    f"{self.path} was written by a newer version of Mood Tagger; "
                    "update the app to use it"
                )
            # A page damaged past the header only shows when a query reaches it, as
            # "database disk image is malformed" on every run: look at every page now, so
            # open_default() can move the file aside (35 ms for 50,000 songs).
            problem = self.db.execute("PRAGMA quick_check(1)").fetchone()[0]
            if problem != "ok":
                what = "; ".join(
                    line for line in problem.splitlines() if line and not line.startswith("***")
                )
                raise StoreCorrupt(f"the library database {self.path} is damaged ({what})")
            with self.db:
                self.db.executescript(_SCHEMA)
                self._add_missing_columns()
                self.db.execute(f"PRAGMA user_version={SCHEMA_VERSION}")
        except sqlite3.DatabaseError as exc:
            self.db.close()
            if _is_corruption(exc):
                raise StoreCorrupt(f"the library database {self.path} is damaged: {exc}") from exc
            if getattr(exc, "sqlite_errorcode", None) in (
                sqlite3.SQLITE_BUSY,
                sqlite3.SQLITE_LOCKED,
            ):
                raise StoreError(
                    f"cannot open the library database {self.path}: it is in use by another "
                    "program (another Mood Tagger writing to it?); try again in a moment"
                ) from exc
            raise StoreError(
                f"cannot open the library database {self.path}: {exc} "
                "(is its disk full, read-only or disconnected?)"
            ) from exc
        except StoreError:
            self.db.close()
            raise

    def _add_missing_columns(self) -> None:
        """Columns added since a database was made. Only ever added, with a default, so
        an older Mood Tagger still reads the file (it leaves them at their default)."""
        have = {r[1] for r in self.db.execute("PRAGMA table_info(tracks)")}
        if "names_version" not in have:
            self.db.execute(
                "ALTER TABLE tracks ADD COLUMN names_version INTEGER NOT NULL DEFAULT 0"
            )

    @classmethod
    def open_default(cls, timeout: float = 30.0) -> Store:
        """The app's database. A damaged one is moved aside (kept for recovery, never
        deleted) and a new, empty one is started, so the app keeps working."""
        from tagger.core.paths import app_dirs

        dirs = app_dirs()
        try:
            path = dirs.ensure().database
        except OSError as exc:
            where = exc.filename or dirs.database.parent
            raise StoreError(
                f"cannot create the app's data folder {where}: {exc.strerror or exc} "
                "(set MOOD_TAGGER_HOME to a writable folder)"
            ) from exc
        try:
            return cls(path, timeout)
        except StoreCorrupt as exc:
            stamp = time.strftime("%Y%m%d-%H%M%S")
            aside = path.with_name(f"{path.name}.damaged-{stamp}")
            n = 1
            while aside.exists():  # never overwrite an earlier damaged copy
                n += 1
                aside = path.with_name(f"{path.name}.damaged-{stamp}-{n}")
            for suffix in ("", "-wal", "-shm"):
                part = Path(str(path) + suffix)
                if part.exists():
                    part.replace(Path(str(aside) + suffix))
            log.error(
                "%s; it was moved to %s and a new library database was started "
                "(songs are analysed again; earlier labels and the undo journal are in the "
                "moved file)",
                exc,
                aside,
            )
            store = cls(path, timeout)
            store.recovered_from = aside
            return store

    def close(self) -> None:
        self.db.close()

    def __enter__(self) -> Store:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    @contextmanager
    def transaction(self) -> Iterator[sqlite3.Connection]:
        with self.db:
            yield self.db

    # -- tracks ---------------------------------------------------------------------
    _TRACK_COLS = (
        "id, path, size, mtime_ns, title, artist, album, tracknumber, mood_tag, duration, "
        "tag_error, names_version"
    )

    def tracks_under(self, root: str | Path, present_only: bool = True) -> dict[str, TrackRow]:
        lo, hi = _under(root)
        sql = f"SELECT {self._TRACK_COLS} FROM tracks WHERE path >= ? AND path < ?"
        if present_only:
            sql += " AND present = 1"
        return {r[1]: TrackRow(*r) for r in self.db.execute(sql, (lo, hi))}

    def track(self, path: str | Path) -> TrackRow | None:
        r = self.db.execute(
            f"SELECT {self._TRACK_COLS} FROM tracks WHERE path = ?", (str(path),)
        ).fetchone()
        return TrackRow(*r) if r else None

    def upsert_tracks(self, rows: Iterable[dict]) -> None:
        """Insert or update tracks from dicts with the ``tracks`` column names (no id)."""
        now = time.time()
        with self.db:
            self.db.executemany(
                """INSERT INTO tracks (path, size, mtime_ns, title, artist, album, tracknumber,
                       mood_tag, duration, tag_error, present, seen_at, names_version)
                   VALUES (:path, :size, :mtime_ns, :title, :artist, :album, :tracknumber,
                       :mood_tag, :duration, :tag_error, 1, :now, :names_version)
                   ON CONFLICT(path) DO UPDATE SET size=excluded.size,
                       mtime_ns=excluded.mtime_ns, title=excluded.title,
                       artist=excluded.artist, album=excluded.album,
                       tracknumber=excluded.tracknumber, mood_tag=excluded.mood_tag,
                       duration=excluded.duration, tag_error=excluded.tag_error,
                       present=1, seen_at=excluded.seen_at,
                       names_version=excluded.names_version""",
                ({"names_version": 0, **r, "now": now} for r in rows),
            )

    def tracks_with_identity(self, size: int, mtime_ns: int) -> list[TrackRow]:
        """Every known track (present or not) with this size and modification time."""
        rows = self.db.execute(
            f"SELECT {self._TRACK_COLS} FROM tracks WHERE size = ? AND mtime_ns = ?",
            (size, mtime_ns),
        )
        return [TrackRow(*r) for r in rows]

    def move_track(self, track_id: int, new_path: str) -> None:
        """Give a track that was moved or renamed its new path, keeping its predictions,
        labels and tag-write journal (a row already made for ``new_path`` is dropped)."""
        with self.db:
            row = self.db.execute("SELECT id FROM tracks WHERE path = ?", (new_path,)).fetchone()
            if row and row[0] != track_id:
                self.db.execute("DELETE FROM tracks WHERE id = ?", (row[0],))
            self.db.execute(
                "UPDATE tracks SET path = ?, present = 1 WHERE id = ?", (new_path, track_id)
            )
            self.db.execute(
                "UPDATE tag_journal SET path = ? WHERE track_id = ?", (new_path, track_id)
            )

    def exchange_paths(
        self, moves: dict[int, str], drop: Iterable[int] = (), forget: Iterable[int] = ()
    ) -> None:
        """Give each track in ``moves`` its new path, where the paths go round among them
        (two files' names swapped, a cycle or a shift of renames): each new path is one of
        theirs now, or a row in ``drop`` (made by this scan for a path never seen before,
        with nothing of the person's), which is removed, or the path of a track in
        ``forget`` (a song whose file is gone, a moved file now in its place), which is
        forgotten as :meth:`forget_tracks` does. Their predictions, labels and tag-write
        journal go with them. One transaction."""
        with self.db:
            self._forget([(i,) for i in forget])
            self.db.executemany("DELETE FROM tracks WHERE id = ?", ((i,) for i in drop))
            taken = {
                r[0]
                for p in moves.values()
                for r in self.db.execute("SELECT id FROM tracks WHERE path = ?", (p,))
            }
            if not taken <= set(moves):
                raise ValueError("exchange_paths: a new path belongs to a track not moving")
            for track_id in moves:  # off their paths first: a path is unique
                self.db.execute(
                    "UPDATE tracks SET path = ? WHERE id = ?", (f"\0moving\0{track_id}", track_id)
                )
            for track_id, path in moves.items():
                self.db.execute(
                    "UPDATE tracks SET path = ?, present = 1 WHERE id = ?", (path, track_id)
                )
                self.db.execute(
                    "UPDATE tag_journal SET path = ? WHERE track_id = ?", (path, track_id)
                )

    def mark_missing(self, paths: Iterable[str]) -> None:
        with self.db:
            self.db.executemany(
                "UPDATE tracks SET present = 0 WHERE path = ?", ((p,) for p in paths)
            )

    def missing_tracks(self, root: str | Path) -> dict[str, tuple[int, bool]]:
        """``{path: (track id, has a label)}`` of the tracks under ``root`` that the last
        scan did not find (deleted, or moved out of the folder)."""
        lo, hi = _under(root)
        rows = self.db.execute(
            """SELECT t.path, t.id, (SELECT mood FROM labels WHERE track_id = t.id
                                     ORDER BY id DESC LIMIT 1) IS NOT NULL
               FROM tracks t WHERE t.path >= ? AND t.path < ? AND t.present = 0""",
            (lo, hi),
        )
        return {r[0]: (int(r[1]), bool(r[2])) for r in rows}

    def forget_tracks(self, track_ids: Iterable[int]) -> None:
        """Delete tracks with their predictions, labels and tag-write journal lines (a
        write batch left with no file goes too, so undo goes to the one before)."""
        with self.db:
            self._forget([(i,) for i in track_ids])

    def _forget(self, ids: list[tuple[int]]) -> None:
        """:meth:`forget_tracks`, inside the caller's transaction."""
        batches = {
            r[0]
            for i in ids
            for r in self.db.execute(
                "SELECT batch_id FROM tag_journal WHERE track_id = ?", i
            ).fetchall()
        }
        self.db.executemany("DELETE FROM tag_journal WHERE track_id = ?", ids)
        self.db.executemany(
            """DELETE FROM write_batches WHERE id = ? AND NOT EXISTS
                   (SELECT 1 FROM tag_journal WHERE batch_id = ?)""",
            ((b, b) for b in batches),
        )
        self.db.executemany("DELETE FROM tracks WHERE id = ?", ids)  # cascades

    def data_version(self) -> int:
        """A number that changes whenever another connection (another program, or a
        worker thread's store) commits to the database; this connection's own commits
        leave it alone (SQLite's ``PRAGMA data_version``)."""
        return int(self.db.execute("PRAGMA data_version").fetchone()[0])

    def set_mood_tag(self, track_ids: Iterable[int], mood_tag: str | None) -> None:
        """The mood tag a file holds now, read by an undo that left the file alone: its
        size/mtime stay as they were, so a scan still reads a changed file again."""
        with self.db:
            self.db.executemany(
                "UPDATE tracks SET mood_tag = ? WHERE id = ?", ((mood_tag, i) for i in track_ids)
            )

    def update_file_identity(
        self,
        track_id: int,
        size: int,
        mtime_ns: int,
        mood_tag: str | None,
        before: tuple[int, int] | None = None,
    ) -> None:
        """After our own tag write: keep predictions valid (tags are not audio).

        ``before``: the file's size/mtime just before the write (default: the stored
        ones, which a scan that saw the new file first has already replaced)."""
        with self.db:
            old = before
            if old is None:
                sql = "SELECT size, mtime_ns FROM tracks WHERE id = ?"
                old = self.db.execute(sql, (track_id,)).fetchone()
            self.db.execute(
                "UPDATE tracks SET size = ?, mtime_ns = ?, mood_tag = ? WHERE id = ?",
                (size, mtime_ns, mood_tag, track_id),
            )
            if old:
                self.db.execute(
                    "UPDATE predictions SET size = ?, mtime_ns = ? "
                    "WHERE track_id = ? AND size = ? AND mtime_ns = ?",
                    (size, mtime_ns, track_id, old[0], old[1]),
                )

    # -- predictions ----------------------------------------------------------------
    def save_prediction(
        self,
        track_id: int,
        model_id: str,
        analysis_version: int,
        size: int,
        mtime_ns: int,
        probabilities: Iterable[float] | None,
        duration: float | None = None,
        window_starts: Iterable[float] = (),
        error: str | None = None,
    ) -> None:
        probs = json.dumps([float(p) for p in probabilities]) if probabilities is not None else None
        with self.db:
            self.db.execute(
                """INSERT OR REPLACE INTO predictions (track_id, model_id, analysis_version,
                       size, mtime_ns, probs, duration, windows, error, created_at)
                   VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)""",
                (
                    track_id,
                    model_id,
                    analysis_version,
                    size,
                    mtime_ns,
                    probs,
                    duration,
                    json.dumps(list(window_starts)),
                    error,
                    time.time(),
                ),
            )

    def predictions_under(
        self, root: str | Path, model_id: str, analysis_version: int
    ) -> dict[str, PredictionRow]:
        """Valid predictions (file unchanged since analysis) by track path."""
        lo, hi = _under(root)
        rows = self.db.execute(
            """SELECT t.path, p.track_id, p.model_id, p.size, p.mtime_ns, p.probs, p.duration,
                      p.windows, p.error
               FROM predictions p JOIN tracks t ON t.id = p.track_id
               WHERE t.path >= ? AND t.path < ? AND t.present = 1 AND p.model_id = ?
                 AND p.analysis_version = ? AND p.size = t.size AND p.mtime_ns = t.mtime_ns""",
            (lo, hi, model_id, analysis_version),
        )
        out = {}
        for path, *rest in rows:
            probs = tuple(json.loads(rest[4])) if rest[4] else None
            out[path] = PredictionRow(
                rest[0],
                rest[1],
                rest[2],
                rest[3],
                probs,
                rest[5],
                tuple(json.loads(rest[6] or "[]")),
                rest[7],
            )
        return out

    def read_error(self, track_id: int) -> str | None:
        """Why the file, as it is now, could not be analysed, from its newest analysis
        (None: it was read, or was never analysed since it last changed)."""
        row = self.db.execute(
            """SELECT p.error FROM predictions p JOIN tracks t ON t.id = p.track_id
               WHERE p.track_id = ? AND p.probs IS NULL
                 AND p.size = t.size AND p.mtime_ns = t.mtime_ns
                 AND p.created_at = (SELECT MAX(created_at) FROM predictions
                                     WHERE track_id = p.track_id)""",
            (track_id,),
        ).fetchone()
        return row[0] if row and row[0] else None

    # -- labels ---------------------------------------------------------------------
    def add_label(self, track_id: int, mood: str | None, source: str = "user") -> int:
        """Record the person's mood for a track (None clears it); the newest label wins."""
        if mood is not None and mood not in MOODS:
            raise ValueError(f"unknown mood {mood!r}")
        with self.db:
            cur = self.db.execute(
                "INSERT INTO labels (track_id, mood, source, created_at) VALUES (?, ?, ?, ?)",
                (track_id, mood, source, time.time()),
            )
        return int(cur.lastrowid)

    def add_labels(self, track_ids: Iterable[int], mood: str | None, source: str = "user") -> None:
        """:meth:`add_label` for many tracks at once (one transaction)."""
        if mood is not None and mood not in MOODS:
            raise ValueError(f"unknown mood {mood!r}")
        now = time.time()
        with self.db:
            self.db.executemany(
                "INSERT INTO labels (track_id, mood, source, created_at) VALUES (?, ?, ?, ?)",
                [(t, mood, source, now) for t in track_ids],
            )

    def inherit_label(self, track_id: int, from_ids: Iterable[int]) -> str | None:
        """Give ``track_id`` the newest current label of other tracks of the same file (a
        song labelled under another path before the scan found it); returns the mood."""
        ids = list(from_ids)
        if not ids:
            return None
        marks = ", ".join("?" * len(ids))
        row = self.db.execute(
            f"""SELECT mood, source, created_at FROM labels l
                WHERE track_id IN ({marks}) AND mood IS NOT NULL
                  AND id = (SELECT MAX(id) FROM labels WHERE track_id = l.track_id)
                ORDER BY created_at DESC, id DESC LIMIT 1""",
            ids,
        ).fetchone()
        if row is None:
            return None
        with self.db:
            self.db.execute(
                "INSERT INTO labels (track_id, mood, source, created_at) VALUES (?, ?, ?, ?)",
                (track_id, *row),
            )
        return str(row[0])

    def remove_label_entry(self, label_id: int) -> None:
        """Forget one label decision (undo): the previous one, if any, wins again."""
        with self.db:
            self.db.execute("DELETE FROM labels WHERE id = ?", (label_id,))

    def label(self, track_id: int) -> str | None:
        """The track's current label (newest wins; None: no label, or cleared)."""
        row = self.db.execute(
            "SELECT mood FROM labels WHERE track_id = ? ORDER BY id DESC LIMIT 1", (track_id,)
        ).fetchone()
        return row[0] if row else None

    def labels_under(self, root: str | Path) -> dict[str, str]:
        """Current label (newest wins; cleared labels omitted) by track path."""
        lo, hi = _under(root)
        rows = self.db.execute(
            """SELECT t.path, l.mood FROM labels l JOIN tracks t ON t.id = l.track_id
               WHERE t.path >= ? AND t.path < ? AND t.present = 1
                 AND l.id = (SELECT MAX(id) FROM labels WHERE track_id = l.track_id)""",
            (lo, hi),
        )
        return {p: m for p, m in rows if m is not None}

    def missing_under(self, root: str | Path, model_id: str, analysis_version: int) -> list[str]:
        """Paths of tracks under ``root`` that a scan no longer finds but that have a mood
        to write: a label, or a prediction of ``model_id`` made from the file as last seen
        (a song deleted before it was analysed had nothing to write, so it is left out)."""
        lo, hi = _under(root)
        rows = self.db.execute(
            """SELECT t.path FROM tracks t
               WHERE t.path >= ? AND t.path < ? AND t.present = 0
                 AND (EXISTS (SELECT 1 FROM predictions p
                              WHERE p.track_id = t.id AND p.model_id = ?
                                AND p.analysis_version = ? AND p.error IS NULL
                                AND p.size = t.size AND p.mtime_ns = t.mtime_ns)
                      OR (SELECT mood FROM labels WHERE track_id = t.id
                          ORDER BY id DESC LIMIT 1) IS NOT NULL)
               ORDER BY t.path""",
            (lo, hi, model_id, analysis_version),
        )
        return [r[0] for r in rows]

    # -- tag writing ----------------------------------------------------------------
    def begin_write_batch(self, root: str | Path, entries: Iterable[JournalEntry]) -> int:
        """Record a tag-write batch and every file's old/new values in one transaction.

        Called BEFORE any file is touched, so an interrupted batch can always be undone.
        """
        with self.db:
            cur = self.db.execute(
                "INSERT INTO write_batches (root, created_at) VALUES (?, ?)",
                (str(root), time.time()),
            )
            batch_id = int(cur.lastrowid)
            self.db.executemany(
                """INSERT INTO tag_journal (batch_id, track_id, path, old_values, new_values,
                       status, error) VALUES (?, ?, ?, ?, ?, ?, ?)""",
                (
                    (
                        batch_id,
                        e.track_id,
                        e.path,
                        json.dumps(e.old_values),
                        json.dumps(e.new_values),
                        e.status,
                        e.error,
                    )
                    for e in entries
                ),
            )
        return batch_id

    def set_journal_status(
        self,
        batch_id: int,
        track_id: int,
        status: str,
        error: str | None = None,
        new_values: dict | None = None,
    ) -> None:
        """Set an entry's status (and error); ``new_values`` replaces what it says the
        write made (e.g. with the file's size after it)."""
        with self.db:
            self.db.execute(
                "UPDATE tag_journal SET status = ?, error = ? WHERE batch_id = ? AND track_id = ?",
                (status, error, batch_id, track_id),
            )
            if new_values is not None:
                self.db.execute(
                    "UPDATE tag_journal SET new_values = ? WHERE batch_id = ? AND track_id = ?",
                    (json.dumps(new_values), batch_id, track_id),
                )

    def journal(self, batch_id: int) -> list[JournalEntry]:
        rows = self.db.execute(
            """SELECT track_id, path, old_values, new_values, status, error FROM tag_journal
               WHERE batch_id = ? ORDER BY path""",
            (batch_id,),
        )
        return [
            JournalEntry(r[0], r[1], json.loads(r[2]), json.loads(r[3]), r[4], r[5]) for r in rows
        ]

    def written_count(self, batch_id: int) -> int:
        """How many files batch ``batch_id`` wrote (one count query, not the journal)."""
        row = self.db.execute(
            "SELECT COUNT(*) FROM tag_journal WHERE batch_id = ? AND status = 'written'",
            (batch_id,),
        ).fetchone()
        return int(row[0])

    def last_write_batch(self, root: str | Path) -> int | None:
        """The newest batch written for ``root`` that has not been undone."""
        r = self.db.execute(
            """SELECT id FROM write_batches WHERE root = ? AND undone_at IS NULL
               ORDER BY id DESC LIMIT 1""",
            (str(root),),
        ).fetchone()
        return int(r[0]) if r else None

    def open_write_batches(self) -> list[tuple[int, str]]:
        """``(id, root)`` of every tag-write batch not undone yet."""
        rows = self.db.execute("SELECT id, root FROM write_batches WHERE undone_at IS NULL")
        return [(int(r[0]), str(r[1])) for r in rows]

    def set_batch_root(self, batch_id: int, root: str) -> None:
        """The folder a batch was written in, after that folder was moved or renamed."""
        with self.db:
            self.db.execute("UPDATE write_batches SET root = ? WHERE id = ?", (root, batch_id))

    def mark_batch_undone(self, batch_id: int) -> None:
        with self.db:
            self.db.execute(
                "UPDATE write_batches SET undone_at = ? WHERE id = ?", (time.time(), batch_id)
            )

    def delete_write_batch(self, batch_id: int) -> None:
        """Forget a batch that changed no file (so undo goes to the one before)."""
        with self.db:
            self.db.execute("DELETE FROM tag_journal WHERE batch_id = ?", (batch_id,))
            self.db.execute("DELETE FROM write_batches WHERE id = ?", (batch_id,))

    # -- library snapshot (GUI speed) ------------------------------------------------------
    def library_snapshot(
        self, root: str | Path, model_id: str, analysis_version: int
    ) -> list[tuple]:
        """Every present track under ``root`` with its valid prediction, in one query.

        Rows (path order): ``(track_id, path, title, artist, album, tracknumber,
        track_duration, mood_tag, probs_json, prediction_duration, windows_json, error,
        prediction_model_id, tag_error)``; the prediction columns are None without a valid
        prediction.
        One LEFT JOIN is several times faster than reading tracks and predictions apart
        (what makes a 50,000-track library show quickly).
        """
        lo, hi = _under(root)
        return self.db.execute(
            """SELECT t.id, t.path, t.title, t.artist, t.album, t.tracknumber, t.duration,
                      t.mood_tag, p.probs, p.duration, p.windows, p.error, p.model_id,
                      t.tag_error
               FROM tracks t
               LEFT JOIN predictions p ON p.track_id = t.id AND p.model_id = ?
                    AND p.analysis_version = ? AND p.size = t.size AND p.mtime_ns = t.mtime_ns
               WHERE t.path >= ? AND t.path < ? AND t.present = 1
               ORDER BY t.path""",
            (model_id, analysis_version, lo, hi),
        ).fetchall()
