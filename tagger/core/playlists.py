"""Mood playlists: select library rows, order them, limit them, write M3U8 / XSPF.

Rules (the same for the CLI and the GUI):

* A track's mood is the person's label if any, else the model's prediction (``row.mood``).
* Only rows with scores are ever selected. A row without scores failed to decode (or was
  not analysed yet): a player will most likely fail on it too, and every order and the
  energy/valence filters need scores. This holds even when the row has a label.
* Energy and valence always come from the model's scores (a label names a quadrant, not a
  point). Confidence is the prediction's top probability, and 1.0 for a labelled track:
  the person's word is certain.
* Every filter is inclusive (``lo <= value <= hi``, ``confidence >= min``).
* Limits apply after ordering: the first ``limit`` tracks, then as many as fit into
  ``max_minutes`` (the list stops at the first track that would not fit, so the order's
  shape is kept).
"""

from __future__ import annotations

import json
import logging
import math
import os
import random
import re
import stat
import tempfile
import time
import xml.etree.ElementTree as ET
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import asdict, dataclass, field, replace
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

from tagger.core.moods import MOODS, parse_mood
from tagger.core.paths import app_dirs
from tagger.core.text import contains_text

if TYPE_CHECKING:  # only for annotations: the library module brings in torch
    from tagger.core.library import LibraryRow

log = logging.getLogger(__name__)

#: Orders, in the order the UI lists them.
ORDERS: tuple[str, ...] = ("energy-asc", "energy-desc", "smooth", "shuffle")
ORDER_NAMES: dict[str, str] = {
    "energy-asc": "Energy ascending (warm-up)",
    "energy-desc": "Energy descending (cool-down)",
    "smooth": "Smooth (close neighbours)",
    "shuffle": "Shuffle",
}
#: Playlist file formats by suffix.
FORMATS: dict[str, str] = {".m3u8": "m3u8", ".m3u": "m3u8", ".xspf": "xspf"}
XSPF_NS = "http://xspf.org/ns/0/"
DEFINITIONS_VERSION = 1


class PlaylistError(ValueError):
    """A playlist definition or output path that cannot be used (message is for people)."""


@dataclass(frozen=True, slots=True)
class PlaylistSpec:
    """What a playlist is made of; saved as JSON and regenerated after the library changes.

    Empty ``moods`` means every mood; None ranges/limits mean no restriction.
    ``artist``/``album`` match anywhere in the tag, ignoring case and accents.
    ``track_ids`` (e.g. a selection on the mood map) restricts to those tracks.
    """

    name: str = ""
    moods: tuple[str, ...] = ()
    energy: tuple[float, float] | None = None
    valence: tuple[float, float] | None = None
    min_confidence: float | None = None
    artist: str = ""
    album: str = ""
    labelled_only: bool = False
    order: str = "energy-asc"
    seed: int = 0
    limit: int | None = None
    max_minutes: float | None = None
    track_ids: tuple[int, ...] | None = None

    def validate(self) -> PlaylistSpec:
        """Return self, or raise :class:`PlaylistError` saying what is wrong."""
        for m in self.moods:
            if m not in MOODS:
                raise PlaylistError(f"unknown mood {m!r} (choose from {', '.join(MOODS)})")
        for what, rng in (("energy", self.energy), ("valence", self.valence)):
            if rng is None:
                continue
            lo, hi = rng
            if not (0.0 <= lo <= 1.0 and 0.0 <= hi <= 1.0):
                raise PlaylistError(f"{what} range {lo:g}:{hi:g} must lie within 0..1")
            if lo > hi:
                raise PlaylistError(f"{what} range {lo:g}:{hi:g} is empty (low > high)")
        if self.min_confidence is not None and not 0.0 <= self.min_confidence <= 1.0:
            raise PlaylistError(f"minimum confidence {self.min_confidence:g} must lie within 0..1")
        if self.order not in ORDERS:
            raise PlaylistError(f"unknown order {self.order!r} (choose from {', '.join(ORDERS)})")
        if self.limit is not None and self.limit < 1:
            raise PlaylistError(f"track limit must be at least 1, got {self.limit}")
        if self.max_minutes is not None and not self.max_minutes > 0:
            raise PlaylistError(f"minutes limit must be positive, got {self.max_minutes:g}")
        return self

    def to_dict(self) -> dict[str, Any]:
        d = asdict(self)
        d["moods"] = list(self.moods)
        d["energy"] = list(self.energy) if self.energy else None
        d["valence"] = list(self.valence) if self.valence else None
        d["track_ids"] = list(self.track_ids) if self.track_ids is not None else None
        return d

    @classmethod
    def from_dict(cls, d: dict[str, Any]) -> PlaylistSpec:
        """Build and validate a spec from JSON data (unknown keys are ignored)."""
        try:
            moods = []
            for m in d.get("moods") or ():
                key = parse_mood(str(m))
                if key is None:
                    raise PlaylistError(f"unknown mood {m!r}")
                moods.append(key)

            def rng(v: Any) -> tuple[float, float] | None:
                return None if v is None else (float(v[0]), float(v[1]))

            def opt(v: Any, t: type) -> Any:
                return None if v is None else t(v)

            ids = d.get("track_ids")
            spec = cls(
                name=str(d.get("name") or ""),
                moods=tuple(moods),
                energy=rng(d.get("energy")),
                valence=rng(d.get("valence")),
                min_confidence=opt(d.get("min_confidence"), float),
                artist=str(d.get("artist") or ""),
                album=str(d.get("album") or ""),
                labelled_only=bool(d.get("labelled_only", False)),
                order=str(d.get("order") or "energy-asc"),
                seed=int(d.get("seed") or 0),
                limit=opt(d.get("limit"), int),
                max_minutes=opt(d.get("max_minutes"), float),
                track_ids=None if ids is None else tuple(int(i) for i in ids),
            )
        except PlaylistError:
            raise
        except (TypeError, ValueError, IndexError, KeyError) as exc:
            raise PlaylistError(f"bad playlist definition: {exc}") from exc
        return spec.validate()


@dataclass(frozen=True, slots=True)
class Playlist:
    """The result of :func:`build_playlist`: the rows in play order."""

    spec: PlaylistSpec
    rows: tuple[LibraryRow, ...]
    #: how many rows passed the filters before the limits
    matched: int = 0
    seconds: float = field(default=0.0)

    @property
    def track_ids(self) -> list[int]:
        return [r.track_id for r in self.rows]


# -- per-row values ------------------------------------------------------------------

_H, _A, _C = (MOODS.index(m) for m in ("happy", "aggressive", "calm"))


@dataclass(frozen=True, slots=True)
class _Item:
    """A row with the values the filters and orders use, computed once."""

    row: LibraryRow
    energy: float
    valence: float
    confidence: float


def _item(row: LibraryRow) -> _Item | None:
    s = row.scores
    if s is None:
        return None
    p = s.probabilities
    # the same arithmetic as MoodScores.energy / .valence, without building dicts
    conf = 1.0 if row.label else max(p)
    return _Item(row, p[_H] + p[_A], p[_H] + p[_C], conf)


def row_confidence(row: LibraryRow) -> float | None:
    """1.0 for a labelled track, else the prediction's top probability (None: no scores)."""
    if row.scores is None:
        return None
    return 1.0 if row.label else row.scores.confidence


def _inside(value: float, rng: tuple[float, float] | None) -> bool:
    return rng is None or rng[0] <= value <= rng[1]


def _passes(it: _Item, spec: PlaylistSpec, ids: frozenset[int] | None) -> bool:
    row = it.row
    if ids is not None and row.track_id not in ids:
        return False
    if spec.labelled_only and not row.label:
        return False
    if spec.moods and row.mood not in spec.moods:
        return False
    if not _inside(it.energy, spec.energy) or not _inside(it.valence, spec.valence):
        return False
    if spec.min_confidence is not None and it.confidence < spec.min_confidence:
        return False
    if spec.artist and not contains_text(spec.artist, row.artist):
        return False
    return not (spec.album and not contains_text(spec.album, row.album))


def matches(row: LibraryRow, spec: PlaylistSpec) -> bool:
    """Whether ``row`` passes every filter of ``spec`` (limits and order aside)."""
    it = _item(row)
    ids = frozenset(spec.track_ids) if spec.track_ids is not None else None
    return it is not None and _passes(it, spec, ids)


# -- ordering ------------------------------------------------------------------------


def smooth_walk(points: Sequence[Sequence[float]] | np.ndarray) -> Iterator[int]:
    """Greedy nearest-neighbour walk over ``points`` (n, 2), starting at the point with the
    lowest first coordinate, then second (ties: lowest index). Yields indices in walk order;
    stop iterating early to pay only for the steps taken (each step is O(n) in numpy).
    """
    pts = np.asarray(points, dtype=np.float64).reshape(-1, 2)
    n = len(pts)
    if n == 0:
        return
    pos = int(np.lexsort((np.arange(n), pts[:, 1], pts[:, 0]))[0])
    # swap-remove bookkeeping: the first m entries are the unvisited points
    idx = np.arange(n)
    xs = pts[:, 0].copy()
    ys = pts[:, 1].copy()
    m = n
    while True:
        cur = int(idx[pos])
        yield cur
        m -= 1
        if m == 0:
            return
        idx[pos], xs[pos], ys[pos] = idx[m], xs[m], ys[m]
        d = (xs[:m] - pts[cur, 0]) ** 2 + (ys[:m] - pts[cur, 1]) ** 2
        cand = np.flatnonzero(d == d.min())
        # ties: the lowest original index, so the walk does not depend on swap history
        pos = int(cand[np.argmin(idx[cand])]) if len(cand) > 1 else int(cand[0])


def _ordered(items: list[_Item], order: str, seed: int) -> Iterator[_Item]:
    """``items`` (sorted by path) in ``order``: the same for the same set of rows."""
    if order == "energy-asc":
        yield from sorted(items, key=lambda it: (it.energy, it.valence))
    elif order == "energy-desc":
        yield from sorted(items, key=lambda it: (-it.energy, -it.valence))
    elif order == "shuffle":
        shuffled = list(items)
        random.Random(seed).shuffle(shuffled)
        yield from shuffled
    elif order == "smooth":
        # walk on (energy, valence) from the calmest track (lowest energy, then valence)
        pts = np.array([(it.energy, it.valence) for it in items], dtype=np.float64)
        for i in smooth_walk(pts):
            yield items[i]
    else:
        raise PlaylistError(f"unknown order {order!r}")


def order_rows(rows: Iterable[LibraryRow], order: str, seed: int = 0) -> list[LibraryRow]:
    """The rows that have scores, in ``order`` (see :data:`ORDERS`)."""
    return [it.row for it in _ordered(PlaylistIndex(rows).items, order, seed)]


def apply_limits(
    rows: Iterable[LibraryRow], limit: int | None, max_minutes: float | None
) -> list[LibraryRow]:
    """The first ``limit`` rows, cut at the first row that would pass ``max_minutes``.

    A track of unknown duration counts as 0 seconds. Consumes ``rows`` only as far as needed.
    """
    out: list[LibraryRow] = []
    budget = None if max_minutes is None else max_minutes * 60.0 + 1e-9
    total = 0.0
    for r in rows:
        if limit is not None and len(out) >= limit:
            break
        total += r.duration or 0.0
        if budget is not None and total > budget:
            break
        out.append(r)
    return out


class PlaylistIndex:
    """The rows with scores and their values, sorted by path: build many playlists from one
    library without recomputing (the builder view keeps one per library snapshot)."""

    def __init__(self, rows: Iterable[LibraryRow]) -> None:
        self.items: list[_Item] = sorted(
            (it for it in map(_item, rows) if it is not None), key=lambda it: it.row.path
        )

    def build(self, spec: PlaylistSpec) -> Playlist:
        """Filter, order and limit according to ``spec`` (validated first)."""
        spec.validate()
        ids = frozenset(spec.track_ids) if spec.track_ids is not None else None
        selected = [it for it in self.items if _passes(it, spec, ids)]
        ordered = (it.row for it in _ordered(selected, spec.order, spec.seed))
        final = apply_limits(ordered, spec.limit, spec.max_minutes)
        seconds = sum(r.duration or 0.0 for r in final)
        log.debug("playlist %r: %d matched, %d kept", spec.name, len(selected), len(final))
        return Playlist(spec, tuple(final), len(selected), seconds)


def build_playlist(rows: Iterable[LibraryRow], spec: PlaylistSpec) -> Playlist:
    """Filter, order and limit ``rows`` according to ``spec`` (validated first)."""
    return PlaylistIndex(rows).build(spec)


# -- writers -------------------------------------------------------------------------


def _one_line(text: str) -> str:
    return " ".join(text.split())


#: Characters XML 1.0 does not allow, even escaped (C0 controls but tab, LF and CR;
#: lone surrogates; U+FFFE/U+FFFF): a tag holding one would make the XSPF unreadable.
_NOT_XML = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\ud800-\udfff\ufffe\uffff]")


def _xml_text(text: str) -> str:
    return _NOT_XML.sub("", text)


def display_title(row: LibraryRow) -> str:
    """``Artist - Title`` (title falls back to the file name)."""
    title = _one_line(row.title or "") or Path(row.path).stem
    artist = _one_line(row.artist or "")
    return f"{artist} - {title}" if artist else title


def relative_location(track: str | Path, playlist_dir: str | Path) -> str:
    """``track`` relative to ``playlist_dir`` with ``/`` separators (absolute if impossible,
    e.g. another drive on Windows; a ``file:`` URI for names one M3U line cannot hold)."""
    track = Path(track)
    if any(c in str(track) for c in "\r\n") or track.name != track.name.strip():
        # a line break cannot be written on one M3U line, and players strip the spaces
        # around a line: such a path goes in as a (percent-encoded) file URI
        return track.absolute().as_uri()
    try:
        rel = os.path.relpath(track, Path(playlist_dir))
    except ValueError:
        return track.as_posix()
    rel = rel.replace(os.sep, "/")
    if rel.startswith("#") or rel != rel.lstrip():
        # a leading '#' would read as a comment line; a leading space (a folder named
        # " Live") would be stripped by the player
        rel = "./" + rel
    return rel


def m3u8_text(rows: Iterable[LibraryRow], playlist_dir: str | Path) -> str:
    """Extended M3U: ``#EXTM3U``, then ``#EXTINF:<seconds>,<Artist> - <Title>`` and the path
    (relative to ``playlist_dir``) per track; unknown duration is ``-1``."""
    playlist_dir = Path(playlist_dir).resolve()
    lines = ["#EXTM3U"]
    for r in rows:
        secs = round(r.duration) if r.duration is not None and math.isfinite(r.duration) else -1
        lines.append(f"#EXTINF:{secs},{display_title(r)}")
        lines.append(relative_location(r.path, playlist_dir))
    return "\n".join(lines) + "\n"


def xspf_bytes(rows: Iterable[LibraryRow], title: str = "") -> bytes:
    """XSPF 1 with absolute, percent-encoded ``file://`` locations."""
    ET.register_namespace("", XSPF_NS)
    q = f"{{{XSPF_NS}}}"
    root = ET.Element(q + "playlist", {"version": "1"})
    if title:
        ET.SubElement(root, q + "title").text = _xml_text(title)
    ET.SubElement(root, q + "creator").text = "Mood Tagger"
    tl = ET.SubElement(root, q + "trackList")
    for r in rows:
        t = ET.SubElement(tl, q + "track")
        ET.SubElement(t, q + "location").text = Path(r.path).absolute().as_uri()
        title = _one_line(_xml_text(r.title or "")) or Path(r.path).stem
        ET.SubElement(t, q + "title").text = _xml_text(title)
        if r.artist:
            ET.SubElement(t, q + "creator").text = _xml_text(r.artist)
        if r.album:
            ET.SubElement(t, q + "album").text = _xml_text(r.album)
        if r.tracknumber:
            ET.SubElement(t, q + "trackNum").text = str(int(r.tracknumber))
        if r.duration is not None and math.isfinite(r.duration):
            ET.SubElement(t, q + "duration").text = str(round(r.duration * 1000))
    ET.indent(root)
    return ET.tostring(root, encoding="utf-8", xml_declaration=True) + b"\n"


def _umask() -> int:
    mask = os.umask(0o022)
    os.umask(mask)
    return mask


#: The mode of a new file, as ``open()`` would give it (mkstemp's is private, 0600): a
#: playlist is read by players and media servers running as other users.
_NEW_FILE_MODE = 0o666 & ~_umask()


def atomic_write(path: str | Path, data: bytes) -> None:
    """Write ``data`` to ``path`` via a temporary file in the same folder and a rename.
    The file keeps the mode it had; a new one gets the usual mode (umask applied)."""
    path = Path(path)
    try:
        mode = stat.S_IMODE(os.stat(path).st_mode)
    except OSError:
        mode = _NEW_FILE_MODE
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    try:
        with os.fdopen(fd, "wb") as f:
            f.write(data)
            f.flush()
            os.fsync(f.fileno())
        os.chmod(tmp, mode)
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def playlist_format(path: str | Path) -> str:
    """``m3u8`` or ``xspf`` from the file suffix; PlaylistError otherwise. A ``.m3u`` file
    is written as M3U8 (UTF-8): every path is kept, whatever its characters."""
    fmt = FORMATS.get(Path(path).suffix.lower())
    if fmt is None:
        raise PlaylistError(f"playlist file must end in .m3u8, .m3u or .xspf: {path}")
    return fmt


def check_output_folder(path: str | Path) -> None:
    """Raise PlaylistError unless the folder a playlist at ``path`` goes into exists."""
    path = Path(path).expanduser().absolute()
    if not path.parent.is_dir():
        raise PlaylistError(f"the folder for the playlist does not exist: {path.parent}")
    if path.is_dir():  # the rename would fail with a temporary file's name in the message
        raise PlaylistError(f"{path} is a folder: give the playlist a file name in it")


def write_playlist(path: str | Path, rows: Iterable[LibraryRow], title: str = "") -> Path:
    """Write ``rows`` to ``path`` (format from the suffix), atomically. Returns the path.

    A symbolic link is written through, as an editor does: its target gets the playlist
    and the link stays; M3U entries stay relative to the link's folder, where the playlist
    is opened from.

    Raises PlaylistError for a bad suffix or a missing folder, OSError for write failures.
    """
    path = Path(path).expanduser().absolute()
    fmt = playlist_format(path)
    check_output_folder(path)
    target = path.resolve() if path.is_symlink() else path
    if target != path:
        check_output_folder(target)  # a link into a folder that is gone
    if fmt == "m3u8":
        data = m3u8_text(rows, path.parent).encode("utf-8")
    else:
        data = xspf_bytes(rows, title or path.stem)
    atomic_write(target, data)
    log.info("wrote playlist %s", path if target == path else f"{path} (-> {target})")
    return path


# -- saved definitions -----------------------------------------------------------------


def definitions_path() -> Path:
    return app_dirs().data / "playlists.json"


def load_definitions(
    path: Path | None = None, problems: list[str] | None = None
) -> dict[str, PlaylistSpec]:
    """Saved playlist definitions by name. An unreadable file or entry is logged and
    skipped; its description is appended to ``problems`` when given, so that a caller can
    tell "none saved" from "the saved ones could not be read"."""
    path = path or definitions_path()

    def problem(text: str) -> None:
        log.warning("%s", text)
        if problems is not None:
            problems.append(text)

    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        return {}
    except (OSError, ValueError) as exc:
        problem(f"the saved playlists in {path} cannot be read: {exc}")
        return {}
    if not isinstance(data, dict) or not isinstance(data.get("playlists", []), list):
        problem(f"the saved playlists in {path} cannot be read: not a playlists file")
        return {}
    out: dict[str, PlaylistSpec] = {}
    for item in data.get("playlists", []):
        try:
            spec = PlaylistSpec.from_dict(item)
        except (PlaylistError, AttributeError, TypeError) as exc:
            name = item.get("name") if isinstance(item, dict) else None
            what = f"saved playlist {name!r}" if isinstance(name, str) else "a saved playlist"
            problem(f"skipped {what} in {path}: {exc}")
            continue
        if spec.name:
            out[spec.name] = spec
    return out


def _keep_unreadable(path: Path) -> None:
    """Before overwriting a definitions file that does not parse, keep a copy of it."""
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
        if isinstance(data, dict) and isinstance(data.get("playlists", []), list):
            return
    except FileNotFoundError:
        return
    except (OSError, ValueError):
        pass
    backup = path.with_name(f"{path.name}.unreadable-{time.strftime('%Y%m%d-%H%M%S')}")
    try:
        os.replace(path, backup)
        log.warning("kept the unreadable playlist definitions as %s", backup)
    except OSError as exc:
        log.warning("could not keep unreadable %s: %s", path, exc)


def _save_all(specs: dict[str, PlaylistSpec], path: Path | None) -> None:
    path = path or definitions_path()
    path.parent.mkdir(parents=True, exist_ok=True)
    _keep_unreadable(path)
    data = {
        "version": DEFINITIONS_VERSION,
        "playlists": [specs[k].to_dict() for k in sorted(specs, key=str.casefold)],
    }
    atomic_write(path, (json.dumps(data, indent=2, ensure_ascii=False) + "\n").encode("utf-8"))


def save_definition(spec: PlaylistSpec, path: Path | None = None) -> None:
    """Save (or replace) the definition named ``spec.name``."""
    if not spec.name.strip():
        raise PlaylistError("a saved playlist needs a name")
    spec = replace(spec, name=spec.name.strip()).validate()
    specs = load_definitions(path)
    specs[spec.name] = spec
    _save_all(specs, path)


def delete_definition(name: str, path: Path | None = None) -> bool:
    """Remove the definition ``name``; False if there was none."""
    specs = load_definitions(path)
    if specs.pop(name, None) is None:
        return False
    _save_all(specs, path)
    return True
