"""Folder -> audio tracks in the store, incrementally.

Tags come first; a missing artist/album falls back to the ``Artist/Album/Track.ext`` path
parts and a missing title to the file name. Unchanged files (same size and mtime as in
the store) are not opened again, so re-scanning a large library costs little more than a
directory walk.
"""

from __future__ import annotations

import errno
import logging
import os
import re
import stat
import unicodedata
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

from tagger.core.audio import AUDIO_EXTENSIONS
from tagger.core.errors import TagError
from tagger.core.progress import CancelToken, Progress
from tagger.core.store import Store, TrackRow
from tagger.core.tags import read_tags

log = logging.getLogger(__name__)

#: How names are read (tags, then the path). A scan reads them again, once, for every
#: file stored by an older way, though the file did not change: 1 (2026-12-03) reads RIFF
#: INFO names in WAVs and file names with "_" for spaces ("03_-_Artist_-_Title").
NAMES_VERSION = 1

_LEADING_NUMBER = re.compile(r"^\s*(\d{1,3})\s*(?:[-._)]\s*|\s+)(?=\S)")
#: A multi-disc file name's "disc-track" prefix, as iTunes writes it: "1-05 Title".
_DISC_TRACK = re.compile(r"^\s*(\d{1,2})-(\d{2,3})\s+(?=\S)")
#: A multi-disc album's disc folder: "CD1", "CD 2", "Disc 1", "disk-3", "Disc 2 - Live".
_DISC_FOLDER = re.compile(r"^(?:cd|dis[ck])\s*[-_.]?\s*\d+(?:\D.*)?$", re.IGNORECASE)

NOT_UTF8 = "file name is not valid UTF-8 (rename it to include the file)"
NOT_A_FILE = "not a regular file (a named pipe, socket or device)"


def is_utf8(path: str) -> bool:
    """False for a name with bytes that are not UTF-8 (Python keeps them as surrogates);
    such a name cannot be stored, printed or put in a playlist."""
    try:
        path.encode("utf-8")
    except UnicodeEncodeError:
        return False
    return True


def printable(path: str) -> str:
    """``path`` with any undecodable bytes shown as U+FFFD, safe to print and store."""
    return path.encode("utf-8", "surrogateescape").decode("utf-8", "replace")


def _moved_from(path: Path, alike: list[TrackRow]) -> TrackRow | None:
    """The known track that ``path`` (a file never seen before) was moved or renamed from,
    among ``alike`` (known tracks of the same size and modification time) whose old path
    is gone: the only one with the same file name (an album or the music folder moved),
    else the only one in the same folder (the file renamed where it is, as a renaming
    tool does). Its predictions and labels then follow the file."""
    gone = [t for t in alike if t.path != str(path) and not os.path.lexists(t.path)]
    found = [t for t in gone if Path(t.path).name == path.name]
    if not found:
        found = [t for t in gone if Path(t.path).parent == path.parent]
    return found[0] if len(found) == 1 else None


def _exchanged(
    changed: dict[str, tuple[TrackRow, dict]],
    new: dict[str, dict],
    known: dict[str, TrackRow],
    walked: set[str],
    taken: set[int],
) -> tuple[list[tuple[TrackRow, str]], list[TrackRow]]:
    """(track, its new path) for files renamed among themselves in a way a plain move
    does not cover: two names swapped, a cycle, a shift ("03" -> "04", "02" -> "03",
    "01" -> "02"), or a file renamed onto the name of a song that is gone (``mv a b``).
    Each destination (a ``changed`` path: known, with other contents now; or a ``new``
    one) holds what a departed track held, by size and modification time, with the same
    file name or in the same folder; a departed track is one whose path now holds
    something else or is gone (and not ``taken`` by a move already). Second: the tracks
    displaced from a destination and followed nowhere: their file is gone (it was
    overwritten, or deleted before), and the path is another song's now."""
    if not changed:  # every claim needs a known path with other contents now
        return [], []
    changed_ids = {old.id for old, _r in changed.values()}
    by_identity: dict[tuple[int, int], list[TrackRow]] = {}
    departed = [old for old, _r in changed.values()] + [
        t
        for t in known.values()
        if t.path not in walked and t.id not in taken and not os.path.lexists(t.path)
    ]
    for t in departed:
        by_identity.setdefault((t.size, t.mtime_ns), []).append(t)
    claims: dict[str, TrackRow] = {}  # destination -> the track whose file it holds now
    dests = [(p, old.id, r) for p, (old, r) in changed.items()] + [
        (p, None, r) for p, r in new.items()
    ]
    for p, own, record in dests:
        here = Path(p)
        alike = [
            t
            for t in by_identity.get((record["size"], record["mtime_ns"]), [])
            if t.id != own
            and (own is not None or t.id in changed_ids)  # a gone one: a plain move's
            and (Path(t.path).name == here.name or Path(t.path).parent == here.parent)
        ]
        if len(alike) == 1:
            claims[p] = alike[0]
    ids = [t.id for t in claims.values()]
    if len(ids) != len(set(ids)):  # one file claimed twice: copies, not renames
        return [], []
    while True:  # a renamed file's old path, if it is still there, holds another's now
        left = [p for p, t in claims.items() if t.path in changed and t.path not in claims]
        if not left:  # else its file was copied (``cp -p a b``, then a retagged)
            break
        for p in left:
            del claims[p]
    followed = {t.id for t in claims.values()}
    displaced = [changed[p][0] for p in claims if p in changed]
    return [(t, p) for p, t in claims.items()], [t for t in displaced if t.id not in followed]


def _same_file_elsewhere(path: str, alike: list[TrackRow], found: set[str]) -> list[TrackRow]:
    """Known tracks that are this very file (``path`` is a symlink or hard link to them)
    under a path this scan does not find, e.g. a link's target that ``mood-tagger label``
    recorded before the folder was ever scanned."""
    out = []
    for t in alike:
        if t.path == path or t.path in found:
            continue
        try:
            if os.path.samefile(t.path, path):
                out.append(t)
        except OSError:
            continue
    return out


def _relocate_write_batches(store: Store, root: Path, moves: list[tuple[str, str]]) -> None:
    """A tag write whose folder is gone follows its files' move, so that ``undo`` on the
    folder's new name finds it: the folder the same relative paths now sit in, else the
    scanned folder when every file of the write is now inside it."""
    inside = str(root).rstrip("/") + "/"
    for batch_id, old_root in store.open_write_batches():
        if os.path.isdir(old_root):
            continue
        prefix = old_root.rstrip("/") + "/"
        new_root = None
        for old, new in moves:
            rel = old[len(prefix) :] if old.startswith(prefix) else ""
            if rel and new.endswith("/" + rel):
                new_root = new[: -len(rel) - 1]
                break
        if new_root is None:
            paths = [e.path for e in store.journal(batch_id)]
            if paths and all(p.startswith(inside) for p in paths):
                new_root = str(root)
        if new_root is not None:
            store.set_batch_root(batch_id, new_root)
            log.info("tag write %d now belongs to %s", batch_id, new_root)


#: Why a link (to a folder, say) is skipped: what it points to is not there.
DANGLING_LINK = "it links to a folder or file that is not there (a drive not connected?)"
#: Why a link is skipped that leads round in a circle (``a -> b``, ``b -> a``, or a link to
#: itself): following it never reaches a file or folder. Nothing is missing.
SYMLINK_LOOP = "symlink loop: its links lead back to themselves, to no file or folder"


def _dangling(path: str) -> bool:
    return os.path.islink(path) and not os.path.exists(path)


def is_symlink_loop(path: str | Path) -> bool:
    """Whether following ``path``'s links goes round in a loop (ELOOP)."""
    try:
        os.stat(path)
    except OSError as exc:
        return exc.errno == errno.ELOOP
    return False


def _broken_link(path: str) -> str | None:
    """Why the link ``path`` leads to nothing (:data:`SYMLINK_LOOP`, :data:`DANGLING_LINK`),
    or None when it is no broken link."""
    if not _dangling(path):
        return None
    return SYMLINK_LOOP if is_symlink_loop(path) else DANGLING_LINK


#: Why a folder's songs may only look gone: it is a mount point with nothing mounted.
NOT_MOUNTED = (
    "nothing is mounted on this folder, which /etc/fstab names as a mount point "
    "(a drive not connected?)"
)
#: Where the mount points the system knows of are listed (Linux, BSD).
FSTAB = Path("/etc/fstab")


def _fstab_mount_points(root: Path) -> set[str]:
    """The mount points /etc/fstab names at or under ``root`` (resolved paths)."""
    try:
        text = FSTAB.read_text(encoding="utf-8", errors="replace")
    except OSError:
        return set()
    base = os.path.realpath(root)
    points = set()
    for line in text.splitlines():
        fields = line.split()
        if len(fields) < 2 or fields[0].startswith("#") or not fields[1].startswith("/"):
            continue
        # fstab writes a space in a path as \040 (and a tab as \011, a backslash as \134)
        target = re.sub(r"\\([0-7]{3})", lambda m: chr(int(m.group(1), 8)), fields[1])
        target = os.path.realpath(target)
        if target == base or target.startswith(base.rstrip("/") + "/"):
            points.add(target)
    return points


def _not_mounted(folder: str, mount_points: set[str]) -> bool:
    real = os.path.realpath(folder)
    return real in mount_points and not os.path.ismount(real)


def is_hidden(name: str) -> bool:
    """A dot name (``.git``, ``.Trash-1000``, macOS's ``._Song.mp3``) is hidden; one that
    starts with two or more dots is a name, as bands spell them (``...And Oceans``)."""
    return name.startswith(".") and not name.startswith("..")


def iter_audio_files(
    root: str | Path, errors: list[tuple[str, str]] | None = None
) -> Iterator[Path]:
    """Audio files under ``root`` in a stable order; hidden entries skipped, and a folder
    reached again through a link (a link to a folder above it) walked once.

    Unreadable folders are reported into ``errors`` (path, message) and skipped, as are
    links whose target is not there and symlink loops (links that lead back to themselves,
    :data:`SYMLINK_LOOP`). A folder that /etc/fstab names as a mount point but
    that has nothing mounted on it is reported too (what is in it is still walked): its
    songs only look deleted.
    """
    root = Path(root)
    seen: set[tuple[int, int]] = set()
    mount_points = _fstab_mount_points(root) if errors is not None else set()

    def onerror(exc: OSError) -> None:
        log.warning("cannot read folder %s: %s", exc.filename, exc.strerror)
        if errors is not None:
            errors.append((printable(str(exc.filename)), exc.strerror or str(exc)))

    for dirpath, dirnames, filenames in os.walk(root, followlinks=True, onerror=onerror):
        try:
            st = os.stat(dirpath)
        except OSError:
            dirnames[:] = []
            continue
        key = (st.st_dev, st.st_ino)
        if key in seen:  # a symlink loop or a second link to a folder already walked
            dirnames[:] = []
            continue
        seen.add(key)
        if mount_points and _not_mounted(dirpath, mount_points):
            assert errors is not None
            errors.append((printable(dirpath), NOT_MOUNTED))
        dirnames[:] = sorted(d for d in dirnames if not is_hidden(d))
        for name in sorted(filenames):
            if is_hidden(name):
                continue
            if os.path.splitext(name)[1].lower() in AUDIO_EXTENSIONS:
                yield Path(dirpath) / name
            elif errors is not None and (why := _broken_link(os.path.join(dirpath, name))):
                # os.walk lists a link to a folder that is not there (or a symlink loop)
                # as a file; its songs would vanish from the library without a word
                errors.append((printable(os.path.join(dirpath, name)), why))


def path_fallback(path: Path, root: Path) -> tuple[str | None, str | None, str, int | None]:
    """(artist, album, title, track number) from ``Artist/Album/NN Title.ext``; a disc
    folder (``Artist/Album/CD1/...``, ``Disc 2``) belongs to the album above it."""
    try:
        parts = path.relative_to(root).parts
    except ValueError:
        parts = path.parts[-4:]
    folders = parts[:-1]
    if folders and _DISC_FOLDER.match(folders[-1]):
        folders = folders[:-1]
    artist = folders[-2] if len(folders) >= 2 else (folders[-1] if folders else None)
    album = folders[-1] if len(folders) >= 2 else None
    artist, album = _spaced(artist), _spaced(album)
    stem = _spaced(path.stem)
    title, number = stem, None
    m = _DISC_TRACK.match(stem)  # iTunes' "1-05 Title" for disc 1, track 5
    if m:
        title, number = stem[m.end() :].strip() or stem, int(m.group(2))
    elif m := _LEADING_NUMBER.match(stem):
        title, number = stem[m.end() :].strip() or stem, int(m.group(1))
    title = _without_artist(title, artist).strip()
    if not any(c.isalnum() for c in title):  # "06 - .mp3": nothing but the separator left
        title = path.stem
    return artist, album, title, number


def _spaced(name: str | None) -> str | None:
    """A name written with "_" for its spaces ("03_-_Be_My_Husband", "Nina_Simone") with
    its spaces back; a name that has a space keeps its "_" ("my_song remix")."""
    if name is None or "_" not in name or " " in name.strip("_"):
        return name
    return " ".join(name.replace("_", " ").split()) or name


def _without_artist(title: str, artist: str | None) -> str:
    """``title`` less a leading "<artist> - " that repeats the artist folder's name, as in
    "03 - Nina Simone - Be My Husband.mp3" in "Nina Simone/": the title is the rest. The
    names are compared whatever their case and Unicode normalisation (macOS writes NFD)."""
    if artist:
        head, sep, rest = title.partition(" - ")
        if sep and rest.strip() and _same_name(head, artist):
            return rest.strip()
    return title


def _same_name(a: str, b: str) -> bool:
    return unicodedata.normalize("NFC", a.strip()).casefold() == (
        unicodedata.normalize("NFC", b.strip()).casefold()
    )


def _record(path: Path, root: Path, st: os.stat_result) -> dict:
    artist, album, title, number = path_fallback(path, root)
    rec = {
        "path": str(path),
        "size": st.st_size,
        "mtime_ns": st.st_mtime_ns,
        "title": title,
        "artist": artist,
        "album": album,
        "tracknumber": number,
        "mood_tag": None,
        "duration": None,
        "tag_error": None,
        "names_version": NAMES_VERSION,
    }
    try:
        info = read_tags(path)
    except TagError as exc:
        rec["tag_error"] = exc.message
        return rec
    rec.update(
        title=info.title or title,
        artist=info.artist or artist,
        album=info.album or album,
        tracknumber=info.tracknumber if info.tracknumber is not None else number,
        mood_tag=info.mood,
        duration=info.duration,
    )
    return rec


@dataclass
class ScanResult:
    root: Path
    paths: list[str] = field(default_factory=list)
    new_or_changed: int = 0
    removed: int = 0
    errors: list[tuple[str, str]] = field(default_factory=list)
    #: (old path, new path) of files found moved or renamed: they keep moods and labels.
    moved: list[tuple[str, str]] = field(default_factory=list)


def scan(
    root: str | Path,
    store: Store,
    cancel: CancelToken | None = None,
    batch: int = 500,
) -> Iterator[Progress | ScanResult]:
    """Walk ``root`` and bring the store up to date; yields Progress, then the ScanResult.

    Raises FileNotFoundError / NotADirectoryError for a bad root (the caller's error),
    OSError (ELOOP) for a root that is a symlink loop, and OSError (EILSEQ) for a root whose
    name is not UTF-8. A file whose name is not UTF-8 is an error for that file only.
    """
    try:
        root = Path(root).expanduser().resolve()
    except RuntimeError:  # Python 3.11-3.12 pathlib's way of saying ELOOP
        raise OSError(errno.ELOOP, SYMLINK_LOOP, str(root)) from None
    if is_symlink_loop(root):  # 3.13 resolves a loop without a word
        raise OSError(errno.ELOOP, SYMLINK_LOOP, str(root))
    if not is_utf8(str(root)):
        raise OSError(errno.EILSEQ, "folder name is not valid UTF-8", printable(str(root)))
    if not root.exists():
        raise FileNotFoundError(f"folder not found: {root}")
    if not root.is_dir():
        raise NotADirectoryError(f"not a folder: {root}")
    result = ScanResult(root)
    known = store.tracks_under(root, present_only=False)
    present = set(store.tracks_under(root))
    pending: list[dict] = []
    reread: list[dict] = []  # unchanged files whose names are read again (NAMES_VERSION)
    claims: dict[int, list[tuple[str, dict]]] = {}  # moved track id -> (old path, record)
    # paths never seen before that did not move -> known tracks of the same size and mtime
    fresh: dict[str, list[TrackRow]] = {}
    changed: dict[str, tuple[TrackRow, dict]] = {}  # known paths with other contents now
    new_records: dict[str, dict] = {}  # paths never seen before
    for i, path in enumerate(iter_audio_files(root, result.errors)):
        if cancel is not None and cancel.cancelled:
            break
        p = str(path)
        if not is_utf8(p):
            result.errors.append((printable(p), NOT_UTF8))
            continue
        try:
            st = path.stat()
        except OSError as exc:
            why = _broken_link(p) or exc.strerror or str(exc)
            result.errors.append((p, why))
            continue
        if not stat.S_ISREG(st.st_mode):  # a named pipe would block the tag reader forever
            result.errors.append((p, NOT_A_FILE))
            continue
        result.paths.append(p)
        old = known.get(p)
        if (
            old is None
            or old.size != st.st_size
            or old.mtime_ns != st.st_mtime_ns
            or p not in present
        ):
            record = _record(path, root, st)
            pending.append(record)
            if old is not None and (old.size, old.mtime_ns) != (st.st_size, st.st_mtime_ns):
                changed[p] = (old, record)  # missing ones too: a file renamed onto it?
            elif old is None:
                new_records[p] = record
            if old is None and (alike := store.tracks_with_identity(st.st_size, st.st_mtime_ns)):
                if (moved := _moved_from(path, alike)) is not None:
                    claims.setdefault(moved.id, []).append((moved.path, record))
                else:
                    fresh[p] = alike
        elif old.names_version < NAMES_VERSION:  # unchanged, but names read the old way
            reread.append(_record(path, root, st))
        if len(pending) >= batch:
            store.upsert_tracks(pending)
            result.new_or_changed += len(pending)
            pending.clear()
        if len(reread) >= batch:
            store.upsert_tracks(reread)
            reread.clear()
        if i % 200 == 0:
            yield Progress("scan", i, 0, p)
    store.upsert_tracks(pending)
    result.new_or_changed += len(pending)
    store.upsert_tracks(reread)
    taken: set[int] = set()
    for track_id, found in claims.items():
        if len(found) == 1:  # two copies of one file: which one moved is anybody's guess
            ((old_path, record),) = found
            store.move_track(track_id, record["path"])
            store.upsert_tracks([record])  # tags and path fallback as they are now
            result.moved.append((old_path, record["path"]))
            taken.add(track_id)
            new_records.pop(record["path"], None)
    found = set(result.paths)
    exchanged, displaced = _exchanged(changed, new_records, known, found, taken)
    if exchanged:
        records = {p: r for p, (_old, r) in changed.items()} | new_records
        dests = [new for _t, new in exchanged]
        # the rows this scan made for never-seen paths that a renamed file now holds
        made_now = [t.id for p in dests if p in new_records and (t := store.track(p))]
        store.exchange_paths(
            {t.id: new for t, new in exchanged}, drop=made_now, forget=[t.id for t in displaced]
        )
        store.upsert_tracks([records[new] for new in dests])
        result.moved.extend((t.path, new) for t, new in exchanged)
        for t in displaced:
            log.info("%s now holds another song, renamed onto it: its own is forgotten", t.path)
        result.removed += sum(1 for t in displaced if t.path in present)
    if result.moved:
        _relocate_write_batches(store, root, result.moved)
    cancelled = cancel is not None and cancel.cancelled
    inside = str(root).rstrip("/") + "/"
    for p, alike in fresh.items():
        same = _same_file_elsewhere(p, alike, found)
        if cancelled:  # a path under the folder may just not have been reached yet
            same = [t for t in same if not t.path.startswith(inside)]
        track = store.track(p) if same else None
        if track is not None and (mood := store.inherit_label(track.id, [t.id for t in same])):
            log.info("%s takes the label %s of the same file under another path", p, mood)
    if not cancelled:
        # a moved track's old path is not gone: the track is at its new one
        gone = present - set(result.paths) - {old for old, _new in result.moved}
        store.mark_missing(gone)
        result.removed += len(gone)
    log.info(
        "scanned %s%s: %d audio file(s), %d new or changed, %d gone, %d moved, %d unreadable",
        root,
        " (cancelled)" if cancelled else "",
        len(result.paths),
        result.new_or_changed,
        result.removed,
        len(result.moved),
        len(result.errors),
    )
    yield result
