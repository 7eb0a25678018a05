"""Writing mood tags in batches: plan, apply (journalled, atomic per file) and undo.

Safety rules (issue 4):

* Only the mood keys of :func:`tagger.core.tags.mood_keys` change; every other tag, the
  cover art, the tag version and the audio bytes stay as they were.
* Before any file is touched, every file's previous values (``None`` = absent) are
  journalled in the store, so a batch can be undone even after a crash.
* Each file is rewritten atomically: a copy in the same folder gets the new tags, is
  flushed and fsynced, keeps the permission bits and then replaces the original with
  ``os.replace``. A killed process leaves the old file (plus at worst a hidden temporary
  file that the next batch removes), never a half-written one.
* The file's size/mtime are re-checked right before writing: a file that changed since
  the scan, was deleted, is read-only or could not be read is a per-file error and the
  rest of the batch goes on.
* After each write :meth:`Store.update_file_identity` records the new size/mtime (for
  every track of that file: a symlink in the library is a second track), so a tag write
  never triggers re-analysis.
* A file the library holds under several paths (symlinks) is planned and written once.

Tag writes are serialised: one file at a time, and one batch at a time per database
(:class:`~tagger.core.writelock.WriteLock`, waited for with a message). The GUI runs these
generators in its tag-writing worker, so a wait never blocks the window.
"""

from __future__ import annotations

import contextlib
import logging
import os
import shutil
import stat
import tempfile
import time
from collections import Counter
from collections.abc import Collection, Generator, Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path

from tagger.core.errors import FileError, TagError, no_mood_reason
from tagger.core.moods import display_name
from tagger.core.progress import CancelToken, Progress
from tagger.core.store import JournalEntry, Store
from tagger.core.tags import (
    MULTI_VALUE_SEPARATOR,
    TAG_TABLE,
    Snapshot,
    apply_snapshot,
    has_tag,
    mood_keys,
    open_file,
    prepare_for_write,
    same_state,
    save_file,
    snapshot,
    snapshot_text,
    text_snapshot,
)
from tagger.core.text import count_text
from tagger.core.writelock import WriteLock

log = logging.getLogger(__name__)

#: Temporary copies are hidden files (the scan skips them) named after the writer's pid.
#: They end in ``.tmp`` plus the original's extension (``.mood-tagger-PID-XXXX.tmp.mp3``):
#: mutagen tells some formats apart by the extension alone (an MP3 without an ID3 tag
#: whose first frame is MPEG 2.5, a FLAC file with an ID3 tag in front).
TMP_PREFIX = ".mood-tagger-"
TMP_SUFFIX = ".tmp"


def _is_temp_name(name: str) -> bool:
    """A temporary copy's file name: ``.mood-tagger-PID-XXXX.tmp[.ext]``."""
    if not name.startswith(TMP_PREFIX):
        return False
    return name.endswith(TMP_SUFFIX) or os.path.splitext(name)[0].endswith(TMP_SUFFIX)


@dataclass(frozen=True, slots=True)
class PlannedChange:
    """One file's planned mood write. ``extra`` holds opt-in score fields
    (``{"arousal": "73", "valence": "40"}``: 0-100 integers as text)."""

    track_id: int
    path: str
    old_value: str | None
    new_value: str
    source: str  # "label" | "prediction"
    extra: dict[str, str] = field(default_factory=dict, hash=False)
    #: Other library paths of this same file (symlinks): not written apart.
    same_file: tuple[str, ...] = ()


@dataclass(frozen=True, slots=True)
class WriteOutcome:
    """One file done: ``ok`` or a message fit for a person in ``error``."""

    path: str
    ok: bool
    error: str | None = None
    #: Undo only: the file was left as it is on purpose (its tags changed after the write;
    #: why is in ``error``). Not a failure, and running undo again will not retry it.
    kept: bool = False


@dataclass(frozen=True, slots=True)
class WriteSummary:
    """The end of a write (or undo) batch. ``batch_id`` is None when nothing was written.

    ``failed``/``errors``: the files that could not be changed. ``kept`` (undo only): the
    (path, reason) of files left as they are on purpose, not counted as failed."""

    batch_id: int | None
    written: int
    failed: int
    errors: tuple[tuple[str, str], ...] = ()
    cancelled: bool = False
    kept: tuple[tuple[str, str], ...] = ()
    #: Undo only: the files written that already were as before the write again (put
    #: back by hand): nothing to restore, not counted as updated.
    already: tuple[str, ...] = ()


def summary_text(title: str, written: int, failed: int = 0, kept: int = 0, already: int = 0) -> str:
    """The one-line outcome of a write or undo batch, worded alike in the CLI and the app
    (``"Undo last write: 3 files updated, 1 kept as they are (changed since the write)"``)."""
    text = f"{title}: {count_text(written, 'file')} updated"
    if already:
        text += f", {already} already as {'it was' if already == 1 else 'they were'} before it"
    if failed:
        text += f", {failed} failed"
    if kept:
        text += f", {kept} kept as {'it is' if kept == 1 else 'they are'} (changed since the write)"
    return text


@dataclass(frozen=True, slots=True)
class WriteOptions:
    """How a write is planned (see :func:`plan_write`); the app remembers the last ones."""

    #: Predictions under this confidence are not written (labels always are).
    min_confidence: float = 0.0
    #: Also write MOOD_AROUSAL / MOOD_VALENCE (0-100).
    energy_valence: bool = False
    #: Leave a mood tag already in a file alone: predictions only fill in.
    keep_existing: bool = False

    @classmethod
    def from_settings(cls) -> WriteOptions:
        """The ``write_min_confidence`` / ``write_energy_valence`` / ``write_keep_existing``
        settings (a bad value counts as unset)."""
        from tagger.core.settings import load_settings

        s = load_settings()
        try:
            min_conf = min(1.0, max(0.0, float(s.get("write_min_confidence", 0.0))))
        except (TypeError, ValueError):
            min_conf = 0.0
        return cls(
            min_conf,
            bool(s.get("write_energy_valence", False)),
            bool(s.get("write_keep_existing", False)),
        )

    def save(self) -> None:
        from tagger.core.settings import update_settings

        update_settings(
            write_min_confidence=self.min_confidence,
            write_energy_valence=self.energy_valence,
            write_keep_existing=self.keep_existing,
        )


@dataclass(frozen=True, slots=True)
class NoMood:
    """A file a write leaves alone because it has no mood: it could not be analysed
    (``kind`` "unreadable": empty, corrupt, truncated...) or is "silent" / "too short".
    A note, not a failure: there is nothing to write, so nothing failed."""

    path: str
    kind: str  # "unreadable" | "silent" | "too short"
    reason: str  # for a person, per file


def without_mood(
    root: str | Path, store: Store, model_id: str, only: Collection[int] | None = None
) -> list[NoMood]:
    """The files under ``root`` that a write skips for want of a mood (in path order);
    a labelled file is not among them (its label is written). ``only``: these track ids.
    ``mood-tagger write`` and the app's preview both list these, the same way."""
    from tagger.core.library import library_rows

    notes = []
    for row in library_rows(root, store, model_id):
        if row.scores is not None or row.label or not row.error:
            continue
        if only is not None and row.track_id not in only:
            continue
        notes.append(NoMood(row.path, no_mood_reason(row.error) or "unreadable", row.error))
    return notes


def keeping_existing(changes: Sequence[PlannedChange]) -> list[PlannedChange]:
    """``changes`` less the predictions that would replace a mood tag already in a file."""
    return [c for c in changes if c.source != "prediction" or not c.old_value]


# -- planning ---------------------------------------------------------------------------
def plan_write(
    root: str | Path,
    store: Store,
    model_id: str,
    min_confidence: float = 0.0,
    energy_valence: bool = False,
    keep_existing: bool = False,
    only: Collection[int] | None = None,
) -> list[PlannedChange]:
    """What a write of ``root`` would change, from the store (files are opened only to
    compare energy/valence, which the store does not keep: see :func:`_scores_differ`).

    Per track: the person's label if any, else the prediction of ``model_id`` (skipped
    under ``min_confidence``, and, with ``keep_existing``, where the file already has a
    mood tag: see :func:`keeping_existing`). Tracks whose mood tag already holds the value
    (and, with ``energy_valence``, the same scores) are skipped. ``only``: just these
    track ids (a selection).
    Energy/valence come from the prediction, and are left out for a labelled track whose
    label disagrees with the prediction (the scores would contradict the mood).
    Tracks that are one file (symlinks) give one change: a label wins over a prediction,
    else the first path in order; the others are its ``same_file``.
    """
    from tagger.core.library import library_rows

    candidates = []
    for row in library_rows(root, store, model_id):
        if only is not None and row.track_id not in only:
            continue
        if row.label:
            candidates.append((row, row.label, "label"))
        elif row.scores is not None and row.scores.confidence >= min_confidence:
            candidates.append((row, row.scores.mood, "prediction"))
    changes: list[PlannedChange] = []
    for (row, mood, source), same_file in _one_per_file(candidates, store, root):
        new = display_name(mood)
        extra: dict[str, str] = {}
        if energy_valence and row.scores is not None and mood == row.scores.mood:
            extra = {
                "arousal": str(round(row.scores.energy * 100)),
                "valence": str(round(row.scores.valence * 100)),
            }
        if row.mood_tag == new and not extra:
            continue
        change = PlannedChange(row.track_id, row.path, row.mood_tag, new, source, extra, same_file)
        if row.mood_tag == new and not _scores_differ(change):
            continue
        changes.append(change)
    return keeping_existing(changes) if keep_existing else changes


def _scores_differ(change: PlannedChange) -> bool:
    """Whether writing ``change`` (its mood already in the file) would change the file's
    energy/valence tags, read now; True when the file cannot be read (the write says why)."""
    try:
        family, _, old = _read_state(change.path, _fields_of(change))
        return not same_state(old, _target(family, old, change))
    except Exception:  # unreadable, gone, odd tags: left to preflight and the write
        return True


def _one_per_file(candidates: list, store: Store, root: str | Path) -> Iterator[tuple]:
    """``((row, mood, source), other paths)`` per real file of ``candidates`` (in order).

    Only tracks that share a size/mtime with another can be one file, so only theirs
    are resolved (a plan stays a store query, not a stat of every path)."""
    identity = {t.id: (t.size, t.mtime_ns) for t in store.tracks_under(root).values()}
    shared = Counter(identity.get(row.track_id) for row, _, _ in candidates)
    files: dict[str, list] = {}
    for c in candidates:
        row = c[0]
        key = row.path
        if shared[identity.get(row.track_id)] > 1:
            key = os.path.realpath(row.path)
        files.setdefault(key, []).append(c)
    for group in files.values():
        best = next((c for c in group if c[2] == "label"), group[0])
        yield best, tuple(c[0].path for c in group if c is not best)


# -- one file -----------------------------------------------------------------------------
_GONE = "file not found (deleted or moved since the scan)"


def _stat(path: str, missing: str = _GONE) -> os.stat_result:
    try:
        return os.stat(path)
    except FileNotFoundError:
        raise FileError(path, missing) from None
    except PermissionError:
        raise FileError(path, "permission denied") from None
    except OSError as exc:
        raise FileError(path, exc.strerror or str(exc)) from None


def _check_writable(path: str, st: os.stat_result) -> None:
    # Mode bits first: as root os.access() says yes to everything, but a read-only file
    # is the person's way of saying "do not change this".
    if not stat.S_ISREG(st.st_mode):
        raise FileError(path, "not a regular file")
    if not st.st_mode & (stat.S_IWUSR | stat.S_IWGRP | stat.S_IWOTH) or not os.access(
        path, os.W_OK
    ):
        raise FileError(path, "file is read-only")
    if st.st_nlink > 1:  # os.replace would split the links: the others keep the old file
        raise FileError(path, f"file has {st.st_nlink} hard links; not written")
    folder = os.path.dirname(path) or "."
    if not os.access(folder, os.W_OK | os.X_OK):
        raise FileError(path, "the folder is not writable")


#: Extended attributes a copy need not keep when it cannot: the kernel or a security
#: module sets these (an SELinux label comes from the folder), not the person.
_SYSTEM_XATTRS = ("security.", "trusted.")


def _keep_file_attributes(path: str, real: str, tmp: str, st: os.stat_result) -> None:
    """Give the copy ``tmp`` what the original ``real`` has besides its bytes: owner and
    group, mode (after the owner: a chown clears set-group-ID), and extended attributes,
    which hold POSIX ACLs and desktop tags and ratings (``user.xdg.tags``). A file whose
    owner or attributes the copy cannot keep is not written (FileError): replacing it
    would change who may open it, or drop what other programs stored on it."""
    if hasattr(os, "chown") and (st.st_uid, st.st_gid) != (os.getuid(), os.getgid()):
        try:
            os.chown(tmp, st.st_uid, st.st_gid)
        except OSError:
            raise FileError(
                path, "the file belongs to another user, which a rewritten copy cannot keep"
            ) from None
    os.chmod(tmp, stat.S_IMODE(st.st_mode))
    if not hasattr(os, "listxattr"):
        return
    try:
        names = os.listxattr(real)
    except OSError:  # a file system without extended attributes: nothing to keep
        return
    for name in names:
        try:
            os.setxattr(tmp, name, os.getxattr(real, name))
        except OSError as exc:
            if name.startswith(_SYSTEM_XATTRS):
                log.debug("%s: extended attribute %s not copied: %s", path, name, exc)
                continue
            what = "access control list" if name.startswith("system.posix_acl") else name
            raise FileError(
                path, f"cannot keep its {what} on the rewritten copy ({exc.strerror or exc})"
            ) from None


def _fsync_dir(folder: str) -> None:
    try:
        fd = os.open(folder, os.O_RDONLY)
    except OSError:
        return
    try:
        os.fsync(fd)
    except OSError:
        pass
    finally:
        os.close(fd)


def _pid_alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def remove_stale_temp_files(folders: set[str]) -> int:
    """Delete temporary copies left by a writer that was killed (its pid is gone)."""
    removed = 0
    for folder in folders:
        try:
            names = os.listdir(folder)
        except OSError:
            continue
        for name in names:
            if not _is_temp_name(name):
                continue
            pid_text = name[len(TMP_PREFIX) :].split("-", 1)[0]
            if pid_text.isdigit() and _pid_alive(int(pid_text)):
                continue  # a live writer's copy (or a reused pid: left alone, harmless)
            with contextlib.suppress(OSError):
                os.unlink(os.path.join(folder, name))
                removed += 1
                log.info("removed stale temporary file %s", os.path.join(folder, name))
    return removed


_FICLONE = 0x40049409  # Linux ioctl: share the blocks (btrfs, XFS); instant copy


def _copy(src, dst, size: int) -> None:
    """Copy an open file: a reflink where the file system has them, else an in-kernel
    copy, else a plain read/write loop."""
    try:
        import fcntl

        fcntl.ioctl(dst.fileno(), _FICLONE, src.fileno())
        return
    except (ImportError, OSError):
        pass
    if hasattr(os, "copy_file_range"):
        try:
            done = 0
            while done < size:
                n = os.copy_file_range(src.fileno(), dst.fileno(), size - done)
                if n == 0:
                    break
                done += n
            if done == size:
                return
        except OSError:
            pass
        src.seek(0)
        dst.seek(0)
        dst.truncate()
    shutil.copyfileobj(src, dst, 1 << 20)


def _read_state(path: str, fields: tuple[str, ...]) -> tuple[str, bool, dict[str, Snapshot]]:
    """(family, had_tags, snapshot of the mood keys) of a file as it is now."""
    f = open_file(path)
    had_tags = has_tag(f)
    family = prepare_for_write(f)
    return family, had_tags, snapshot(f, family, mood_keys(family, fields))


def _rewrite(
    path: str,
    family: str,
    expect: dict[str, Snapshot],
    target: dict[str, Snapshot],
    identity: tuple[int, int] | None,
    remove_empty: bool = False,
    synced: set[str] | None = None,
    size_before: int | None = None,
) -> os.stat_result:
    """Atomically replace ``path`` by a copy whose mood keys hold ``target``.

    Refuses (FileError) when the file is gone, read-only, changed since ``identity``
    (size, mtime_ns) or when its mood keys no longer hold ``expect``. The copy is
    fsynced before the rename (so a power cut never leaves an empty file); the folder
    is fsynced here, or added to ``synced`` for the caller to fsync once per batch
    (until then a power cut can only bring back the old file, which undo handles).
    ``remove_empty`` / ``size_before``: see :func:`~tagger.core.tags.save_file`.
    """
    real = os.path.realpath(path)  # replace the file a symlink points to, not the link
    st = _stat(real)
    if identity is not None and (st.st_size, st.st_mtime_ns) != identity:
        raise FileError(path, "file changed since it was scanned; scan the folder again")
    _check_writable(real, st)
    folder = os.path.dirname(real)
    # the copy keeps the extension: mutagen must recognise it as the same kind of file
    suffix = TMP_SUFFIX + os.path.splitext(real)[1]
    fd, tmp = tempfile.mkstemp(dir=folder, prefix=f"{TMP_PREFIX}{os.getpid()}-", suffix=suffix)
    try:
        with open(real, "rb") as src, os.fdopen(fd, "wb") as dst:
            _copy(src, dst, st.st_size)
        f = open_file(tmp)
        if prepare_for_write(f) != family:
            raise TagError(path, "the file's tag type changed since the batch was planned")
        keys = tuple(target)
        if not same_state(snapshot(f, family, keys), expect):
            raise TagError(path, "the mood tag changed since the batch was planned")
        apply_snapshot(f, family, target)
        save_file(f, family, remove_empty=remove_empty, size_before=size_before)
        _keep_file_attributes(path, real, tmp, st)
        wfd = os.open(tmp, os.O_RDONLY)
        try:
            os.fsync(wfd)
        finally:
            os.close(wfd)
        now = _stat(real)
        if (now.st_size, now.st_mtime_ns) != (st.st_size, st.st_mtime_ns):
            raise FileError(path, "file changed while its tags were being written")
        os.replace(tmp, real)
    except BaseException as exc:
        with contextlib.suppress(OSError):
            os.unlink(tmp)
        if isinstance(exc, OSError):  # disk full, I/O error...: this file's problem
            raise FileError(path, f"cannot write: {exc.strerror or exc}") from None
        raise
    if synced is None:
        _fsync_dir(folder)
    else:  # the caller fsyncs each folder once, at the end of the batch
        synced.add(folder)
    return os.stat(real)


def _fields_of(change: PlannedChange) -> tuple[str, ...]:
    return ("mood", *[k for k in ("arousal", "valence") if k in change.extra])


def _target(family: str, old: dict[str, Snapshot], change: PlannedChange) -> dict[str, Snapshot]:
    row = TAG_TABLE[family]
    target: dict[str, Snapshot] = dict.fromkeys(old)  # legacy spellings: removed
    target[row.mood] = text_snapshot(family, row.mood, change.new_value, old.get(row.mood))
    for name, value in change.extra.items():
        key = getattr(row, name, "")
        if key:
            target[key] = text_snapshot(family, key, value, old.get(key))
    return target


def _mood_of(family: str, state: dict[str, Snapshot]) -> str | None:
    """The mood a reader would see in ``state`` (same order as tags.read_mood_value)."""
    row = TAG_TABLE[family]
    for key in (row.mood, *row.mood_read):
        values = [t for t in snapshot_text(state.get(key)) if t]
        if values:
            return MULTI_VALUE_SEPARATOR.join(values)
    return None


def _tags_unreadable(path: str, tag_error: str) -> FileError:
    """The scan could not read the file's tags (said once: not "...: cannot read tags: ...")."""
    return FileError(
        path, f"tags could not be read: {tag_error.removeprefix('cannot read tags: ')}"
    )


def preflight(changes: Sequence[PlannedChange], store: Store) -> list[tuple[str, str]]:
    """(path, message) for planned files that cannot be written now (gone, changed since
    the scan, read-only, tags unreadable, or tags the write would refuse: ID3v2.2, frames
    that do not parse, comments that are not UTF-8), as a dry run and the app's preview
    list them. Each file's tags are read (not written): the preview says what the write
    will do."""
    problems = []
    for change in changes:
        try:
            track = store.track(change.path)
            if track is None:
                raise FileError(change.path, "not in the library; scan the folder again")
            if track.tag_error:
                raise _tags_unreadable(change.path, track.tag_error)
            real = os.path.realpath(change.path)
            st = _stat(real)
            if (st.st_size, st.st_mtime_ns) != (track.size, track.mtime_ns):
                raise FileError(change.path, "file changed since it was scanned; scan again")
            _check_writable(real, st)
            prepare_for_write(open_file(real))  # in memory: refuses what the write would
        except FileError as exc:
            problems.append((change.path, str(exc)))
        except Exception as exc:  # an odd file: the write would fail on it too
            log.info("preflight of %s: %s", change.path, exc)
            problems.append((change.path, f"cannot read tags: {exc}"))
    return problems


# -- batches ------------------------------------------------------------------------------
#: Said (logged, and yielded as ``Progress("wait", 0, 1, WAITING)``) while a batch waits
#: for another process's (or thread's) batch on the same database to finish.
WAITING = "another write or undo is running; waiting..."
_LOCK_POLL_S = 0.2


def _wait_for(lock: WriteLock, cancel: CancelToken | None) -> Generator[Progress, None, bool]:
    """Take ``lock``, waiting while another batch holds it; False if cancelled first."""
    if lock.try_acquire():
        return True
    log.warning("%s (%s)", WAITING, lock.path)
    yield Progress("wait", 0, 1, WAITING)
    while not lock.try_acquire():
        if cancel is not None and cancel.cancelled:
            return False
        time.sleep(_LOCK_POLL_S)
    return True


def _record_identity(
    store: Store,
    track_id: int,
    path: str,
    before: tuple[int, int],
    st: os.stat_result,
    mood: str | None,
) -> None:
    """After our own write of ``path`` (size/mtime ``before`` -> ``st``): the new
    identity for its track and every other track of the same file (a symlink in the
    library), so none of them is analysed again."""
    real = os.path.realpath(path)
    ids = {track_id}
    for size, mtime_ns in (before, (st.st_size, st.st_mtime_ns)):  # new: a scan saw it first
        ids.update(
            t.id
            for t in store.tracks_with_identity(size, mtime_ns)
            if os.path.realpath(t.path) == real
        )
    for i in sorted(ids):
        store.update_file_identity(i, st.st_size, st.st_mtime_ns, mood, before=before)


def apply_write(
    changes: Sequence[PlannedChange],
    store: Store,
    root: str | Path,
    cancel: CancelToken | None = None,
) -> Iterator[Progress | WriteOutcome | WriteSummary]:
    """Write ``changes``; yields Progress, a WriteOutcome per file, then a WriteSummary.

    Holds the database's write lock throughout (first waiting, with a ``"wait"``
    Progress, while another batch holds it). Every file is read and its old values
    journalled first (one transaction), then the files are rewritten one by one. A
    change for a file already in the batch under another path (a symlink) is dropped.
    """
    lock = WriteLock(store.path)
    if not (yield from _wait_for(lock, cancel)):
        yield WriteSummary(None, 0, 0, cancelled=True)
        return
    try:
        yield from _apply_write(changes, store, root, cancel)
    finally:
        lock.release()


def _apply_write(
    changes: Sequence[PlannedChange],
    store: Store,
    root: str | Path,
    cancel: CancelToken | None,
) -> Iterator[Progress | WriteOutcome | WriteSummary]:
    root = Path(root).expanduser().resolve()
    total = len(changes)
    remove_stale_temp_files({os.path.dirname(os.path.realpath(c.path)) for c in changes})
    entries: list[JournalEntry] = []
    todo: list[tuple[JournalEntry, tuple[int, int]]] = []
    failures: list[WriteOutcome] = []
    seen: dict[str, str] = {}  # real path -> the path it is written through
    for i, change in enumerate(changes):
        if i % 50 == 0:
            yield Progress("read", i, total, change.path)
        real = os.path.realpath(change.path)
        if real in seen:
            log.info("%s is the same file as %s: written once", change.path, seen[real])
            continue
        seen[real] = change.path
        try:
            track = store.track(change.path)
            if track is None:
                raise FileError(change.path, "not in the library; scan the folder again")
            if track.tag_error:
                raise _tags_unreadable(change.path, track.tag_error)
            st = _stat(change.path)
            identity = (track.size, track.mtime_ns)
            if (st.st_size, st.st_mtime_ns) != identity:
                raise FileError(change.path, "file changed since it was scanned; scan again")
            family, had_tags, old = _read_state(change.path, _fields_of(change))
            new = _target(family, old, change)
        except FileError as exc:
            entries.append(JournalEntry(change.track_id, change.path, {}, {}, "failed", str(exc)))
            failures.append(WriteOutcome(change.path, False, str(exc)))
            continue
        except Exception as exc:  # a bug or an odd file: log it, keep going
            log.exception("unexpected error reading %s", change.path)
            msg = f"cannot read tags: {exc}"
            entries.append(JournalEntry(change.track_id, change.path, {}, {}, "failed", msg))
            failures.append(WriteOutcome(change.path, False, msg))
            continue
        if same_state(old, new):  # already holds exactly these values
            continue
        entry = JournalEntry(
            change.track_id,
            change.path,
            {"family": family, "had_tags": had_tags, "fields": old, "size": identity[0]},
            {"family": family, "fields": new, "mood": change.new_value},
            "pending",
        )
        entries.append(entry)
        todo.append((entry, identity))
    if not todo and not failures:
        yield WriteSummary(None, 0, 0)
        return
    batch_id = store.begin_write_batch(root, entries)
    yield from failures
    errors = [(o.path, o.error or "") for o in failures]
    yield Progress("write", 0, len(todo))
    synced: set[str] = set()
    counts: list = [0, False]
    try:
        yield from _write_all(batch_id, todo, store, cancel, errors, synced, counts)
    finally:
        for folder in synced:
            _fsync_dir(folder)
    written, cancelled = counts
    if written == 0:
        store.delete_write_batch(batch_id)
    kept = batch_id if written else None
    yield WriteSummary(kept, written, len(errors), tuple(errors), cancelled)


def _write_all(
    batch_id: int,
    todo: list[tuple[JournalEntry, tuple[int, int]]],
    store: Store,
    cancel: CancelToken | None,
    errors: list[tuple[str, str]],
    synced: set[str],
    counts: list,
) -> Iterator[Progress | WriteOutcome]:
    """The write phase of :func:`apply_write`; ``counts`` gets [written, cancelled]."""
    written = 0
    for n, (entry, identity) in enumerate(todo, 1):
        if cancel is not None and cancel.cancelled:
            counts[1] = True
            for rest, _ in todo[n - 1 :]:
                store.set_journal_status(batch_id, rest.track_id, "skipped", "cancelled")
            break
        try:
            st = _rewrite(
                entry.path,
                entry.old_values["family"],
                entry.old_values["fields"],
                entry.new_values["fields"],
                identity,
                synced=synced,
            )
        except FileError as exc:
            store.set_journal_status(batch_id, entry.track_id, "failed", str(exc))
            errors.append((entry.path, str(exc)))
            yield WriteOutcome(entry.path, False, str(exc))
        except Exception as exc:
            log.exception("unexpected error writing %s", entry.path)
            msg = f"cannot write tags: {exc}"
            store.set_journal_status(batch_id, entry.track_id, "failed", msg)
            errors.append((entry.path, msg))
            yield WriteOutcome(entry.path, False, msg)
        else:
            mood = _mood_of(entry.new_values["family"], entry.new_values["fields"])
            _record_identity(store, entry.track_id, entry.path, identity, st, mood)
            # the size the write left: undo gives the old size back only to a file that
            # still has it (one shrunk since, by a cover removed elsewhere, is not padded)
            done = {**entry.new_values, "size": st.st_size}
            store.set_journal_status(batch_id, entry.track_id, "written", new_values=done)
            written += 1
            counts[0] = written
            yield WriteOutcome(entry.path, True)
        yield Progress("write", n, len(todo), entry.path)


class UndoConflict(TagError):
    """The file's mood tags were changed by someone else after the write: left alone."""


def undo_last(
    root: str | Path, store: Store, cancel: CancelToken | None = None
) -> Iterator[Progress | WriteOutcome | WriteSummary]:
    """Restore the mood keys of the newest not-undone batch of ``root`` exactly.

    A file whose mood keys were changed by someone else since the write is not touched
    (a ``kept`` outcome, not a failure, and final: that person's change wins and it is not
    retried). The store then records the mood tag the file holds now, as it does for a
    restored file. The batch counts as undone once every other file is restored; after a
    failure that may pass (a read-only or missing file), running undo again retries the
    files that are left.
    Holds the database's write lock throughout, like :func:`apply_write`.
    """
    lock = WriteLock(store.path)
    if not (yield from _wait_for(lock, cancel)):
        yield WriteSummary(None, 0, 0, cancelled=True)
        return
    try:
        yield from _undo_last(root, store, cancel)
    finally:
        lock.release()


def _undo_last(
    root: str | Path, store: Store, cancel: CancelToken | None
) -> Iterator[Progress | WriteOutcome | WriteSummary]:
    root = Path(root).expanduser().resolve()
    batch_id = store.last_write_batch(root)
    if batch_id is None:
        yield WriteSummary(None, 0, 0)
        return
    entries = [e for e in store.journal(batch_id) if e.status in ("written", "pending")]
    remove_stale_temp_files({os.path.dirname(os.path.realpath(e.path)) for e in entries})
    errors: list[tuple[str, str]] = []
    kept: list[tuple[str, str]] = []
    yield Progress("undo", 0, len(entries))
    synced: set[str] = set()
    counts: list = [0, False]
    already: list[str] = []
    try:
        yield from _undo_all(
            batch_id, entries, store, cancel, errors, synced, counts, kept, already
        )
    finally:
        for folder in synced:
            _fsync_dir(folder)
    restored, cancelled = counts
    if not errors and not cancelled:
        store.mark_batch_undone(batch_id)
    yield WriteSummary(
        batch_id, restored, len(errors), tuple(errors), cancelled, tuple(kept), tuple(already)
    )


def _undo_all(
    batch_id: int,
    entries: list[JournalEntry],
    store: Store,
    cancel: CancelToken | None,
    errors: list[tuple[str, str]],
    synced: set[str],
    counts: list,
    kept: list[tuple[str, str]],
    already: list[str],
) -> Iterator[Progress | WriteOutcome]:
    """The restore phase of :func:`undo_last`; ``counts`` gets [restored, cancelled],
    ``kept`` the files left as they are because their tags changed since the write,
    ``already`` those that were as before it."""
    for n, entry in enumerate(entries, 1):
        if cancel is not None and cancel.cancelled:
            counts[1] = True
            break
        family = entry.old_values["family"]
        old = entry.old_values["fields"]
        new = entry.new_values["fields"]
        untouched = False  # as it was before the write: nothing to restore, not counted
        try:
            fam_now, _, current = _read_state(entry.path, tuple(_fields_from_keys(family, old)))
            if fam_now != family:
                _record_mood(store, entry.track_id, entry.path, _mood_of(fam_now, current))
                raise UndoConflict(entry.path, "the file's tag type changed since the write")
            if same_state(current, old):
                # never written (interrupted batch) or already restored (by hand, maybe)
                _record_mood(store, entry.track_id, entry.path, _mood_of(family, old))
                untouched = True
            elif same_state(current, new):
                _restore(entry, family, new, old, store, synced, whole=True)
            else:
                _undo_what_is_unchanged(entry, family, old, new, current, store, synced)
        except UndoConflict as exc:
            kept.append((entry.path, str(exc)))
            store.set_journal_status(batch_id, entry.track_id, "skipped", str(exc))
            yield WriteOutcome(entry.path, False, str(exc), kept=True)
        except FileError as exc:
            errors.append((entry.path, str(exc)))
            yield WriteOutcome(entry.path, False, str(exc))
        except Exception as exc:
            log.exception("unexpected error undoing %s", entry.path)
            errors.append((entry.path, f"cannot restore tags: {exc}"))
            yield WriteOutcome(entry.path, False, f"cannot restore tags: {exc}")
        else:
            store.set_journal_status(batch_id, entry.track_id, "undone")
            if untouched:
                if entry.status == "written":  # not one an interrupted batch never wrote
                    already.append(entry.path)
            else:
                counts[0] += 1
            yield WriteOutcome(entry.path, True)
        yield Progress("undo", n, len(entries), entry.path)


def _restore(
    entry: JournalEntry,
    family: str,
    expect: dict[str, Snapshot],
    target: dict[str, Snapshot],
    store: Store,
    synced: set[str],
    whole: bool,
) -> None:
    """Rewrite ``entry``'s file from ``expect`` to ``target`` and record its new identity;
    ``whole``: every key goes back, so an untagged file loses its tag and the old size
    (padding) comes back too."""
    was = _stat(os.path.realpath(entry.path))
    st = _rewrite(
        entry.path,
        family,
        expect,
        target,
        None,
        remove_empty=whole and not entry.old_values.get("had_tags", True),
        synced=synced,
        size_before=_size_to_restore(entry, was.st_size) if whole else None,
    )
    before = (was.st_size, was.st_mtime_ns)
    _record_identity(store, entry.track_id, entry.path, before, st, _mood_of(family, target))


def _undo_what_is_unchanged(
    entry: JournalEntry,
    family: str,
    old: dict[str, Snapshot],
    new: dict[str, Snapshot],
    current: dict[str, Snapshot],
    store: Store,
    synced: set[str],
) -> None:
    """Someone changed some of the keys the write set: those stay as they are now, the
    others (energy and valence written beside a mood retagged by hand) get their old
    values back. Always raises UndoConflict, saying what was kept."""
    changed = [k for k in current if not same_state({k: current[k]}, {k: new.get(k)})]
    target = {k: current[k] if k in changed else old.get(k) for k in current}
    if not same_state(target, current):
        _restore(entry, family, current, target, store, synced, whole=False)
    else:
        _record_mood(store, entry.track_id, entry.path, _mood_of(family, current))
    row = TAG_TABLE[family]
    names = {row.mood: "mood", row.arousal: "energy", row.valence: "valence"}
    what = [names[k] for k in changed if k in names] or ["mood"]
    tags = " and ".join(dict.fromkeys(what))
    restored = " (the rest restored)" if not same_state(target, current) else ""
    noun = "tags were" if len(set(what)) > 1 else "tag was"
    raise UndoConflict(
        entry.path, f"the {tags} {noun} changed since the write; left as is{restored}"
    )


def _size_to_restore(entry: JournalEntry, size_now: int) -> int | None:
    """The size an undo gives the file back (its size before the write, so its old bytes
    too), or None to leave the padding to mutagen: when the file's size changed since the
    write, something else (another tagger removing a cover) changed it, and padding it
    back to the old size would fill it with that much nothing. Journals written before
    the size after the write was kept size back a file that did not shrink."""
    before = entry.old_values.get("size")
    after = entry.new_values.get("size")
    if before is None:
        return None
    if after is None:
        return before if size_now >= before else None
    return before if size_now == after else None


def _record_mood(store: Store, track_id: int, path: str, mood: str | None) -> None:
    """The mood tag ``path`` holds now, for its track and every other track of the same
    file (a symlink in the library), after an undo that did not rewrite it."""
    ids = {track_id}
    track = store.track(path)
    if track is not None:
        real = os.path.realpath(path)
        ids.update(
            t.id
            for t in store.tracks_with_identity(track.size, track.mtime_ns)
            if os.path.realpath(t.path) == real
        )
    store.set_mood_tag(sorted(ids), mood)


def _fields_from_keys(family: str, state: dict[str, Snapshot]) -> list[str]:
    """Which logical fields a journalled state covers (to read the same keys back)."""
    row = TAG_TABLE[family]
    fields = ["mood"]
    for name in ("arousal", "valence"):
        if getattr(row, name) in state:
            fields.append(name)
    return fields


def ensure_tracks(paths: Sequence[str | Path], store: Store) -> dict[str, int]:
    """Track ids for files given one by one (e.g. ``mood-tagger label``), adding a row
    for a file that was never scanned (read the same way as the scan, with the
    ``Artist/Album/Track`` fallback). Raises FileError for a missing or non-audio file."""
    from tagger.core.audio import AUDIO_EXTENSIONS
    from tagger.core.scan import (
        NOT_UTF8,
        _moved_from,
        _record,
        _relocate_write_batches,
        is_utf8,
        printable,
    )
    from tagger.core.text import not_found_hint

    out: dict[str, int] = {}
    for p in paths:
        given = Path(os.path.abspath(Path(p).expanduser()))
        if not is_utf8(str(given)):  # the store keeps UTF-8 paths, as the scan does
            raise FileError(printable(str(given)), NOT_UTF8)
        # The scan keeps the names of symlinks met below the (resolved) music folder, so a
        # symlinked file or folder is known by the path it was found at, not its target's.
        # A file never scanned is added where a scan of its Artist/Album/Track library
        # (two folders up) will find it; a scan of another folder carries the label over.
        top = given.parents[2] if len(given.parents) > 2 else given.parent
        try:
            as_scanned = top.resolve() / given.relative_to(top)
            candidates = [given, given.parent.resolve() / given.name, given.resolve()]
        except (RuntimeError, OSError):  # 3.11 raises RuntimeError for a loop
            raise FileError(str(given), "symlink loop (the link leads back to itself)") from None
        candidates.append(as_scanned)
        known = (c for c in dict.fromkeys(candidates) if store.track(c) is not None)
        path = next(known, as_scanned)
        st = _stat(str(path), missing=f"file not found{not_found_hint(given)}")
        if stat.S_ISDIR(st.st_mode):
            raise FileError(path, "is a folder: give its audio files (for example Album/*)")
        if not stat.S_ISREG(st.st_mode) or path.suffix.lower() not in AUDIO_EXTENSIONS:
            raise FileError(path, "not an audio file")
        track = store.track(path)
        moved = None
        if track is None:  # renamed or moved since the last scan: the track follows it
            alike = store.tracks_with_identity(st.st_size, st.st_mtime_ns)
            if (moved := _moved_from(path, alike)) is not None:
                store.move_track(moved.id, str(path))
                # a write whose folder is gone follows, as after a scan: undo finds it
                _relocate_write_batches(store, path.parent, [(moved.path, str(path))])
        if (
            track is None
            or moved is not None
            or (track.size, track.mtime_ns) != (st.st_size, st.st_mtime_ns)
        ):
            root = path.parents[2] if len(path.parents) > 2 else path.parent
            # the names as read with a guessed music folder: the next scan reads them again
            store.upsert_tracks([{**_record(path, root, st), "names_version": 0}])
            track = store.track(path)
        assert track is not None
        out[str(path)] = track.id
    return out
