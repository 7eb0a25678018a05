"""Reading (and, for the mood, writing) tags through one declarative table.

One row per tag family says which native key holds each logical field; reverse maps and
legacy spellings are derived, never scattered through the code. Every mutagen exception
is turned into :class:`~tagger.core.errors.TagError` here.
"""

from __future__ import annotations

import contextlib
import dataclasses
import logging
import os
import struct
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import mutagen

from tagger.core.errors import TagError

log = logging.getLogger(__name__)


@dataclass(frozen=True, slots=True)
class FamilyMap:
    """Native keys of one tag family. ``mood_read`` lists extra spellings accepted on read."""

    title: str
    artist: str
    album: str
    tracknumber: str
    mood: str
    mood_read: tuple[str, ...] = ()
    arousal: str = ""
    valence: str = ""


#: The mapping table (MusicBrainz Picard's and beets/mediafile's keys).
TAG_TABLE: dict[str, FamilyMap] = {
    # ID3v2.4: TMOO. v2.3 files get TXXX:MOOD (see issue: update_to_v23 drops TMOO).
    "id3": FamilyMap(
        "TIT2",
        "TPE1",
        "TALB",
        "TRCK",
        "TMOO",
        mood_read=("TXXX:MOOD", "TXXX:mood"),
        arousal="TXXX:MOOD_AROUSAL",
        valence="TXXX:MOOD_VALENCE",
    ),
    "id3v23": FamilyMap(
        "TIT2",
        "TPE1",
        "TALB",
        "TRCK",
        "TXXX:MOOD",
        mood_read=("TXXX:mood", "TMOO"),
        arousal="TXXX:MOOD_AROUSAL",
        valence="TXXX:MOOD_VALENCE",
    ),
    # Vorbis keys are case-insensitive; written upper case as in Picard and foobar2000.
    "vorbis": FamilyMap(
        "TITLE",
        "ARTIST",
        "ALBUM",
        "TRACKNUMBER",
        "MOOD",
        arousal="MOOD_AROUSAL",
        valence="MOOD_VALENCE",
    ),
    "mp4": FamilyMap(
        "\xa9nam",
        "\xa9ART",
        "\xa9alb",
        "trkn",
        "----:com.apple.iTunes:MOOD",
        mood_read=("----:com.apple.iTunes:mood",),
        arousal="----:com.apple.iTunes:MOOD_AROUSAL",
        valence="----:com.apple.iTunes:MOOD_VALENCE",
    ),
    "ape": FamilyMap(
        "Title", "Artist", "Album", "Track", "Mood", arousal="MOOD_AROUSAL", valence="MOOD_VALENCE"
    ),
    "asf": FamilyMap(
        "Title",
        "Author",
        "WM/AlbumTitle",
        "WM/TrackNumber",
        "WM/Mood",
        arousal="MOOD_AROUSAL",
        valence="MOOD_VALENCE",
    ),
}


@dataclass(frozen=True, slots=True)
class TagInfo:
    title: str | None = None
    artist: str | None = None
    album: str | None = None
    tracknumber: int | None = None
    mood: str | None = None
    duration: float | None = None


def open_file(path: str | Path) -> mutagen.FileType:
    """mutagen.File with errors translated; raises TagError for unreadable files."""
    path = Path(path)
    try:
        f = mutagen.File(path)
    except FileNotFoundError:
        raise TagError(path, "file not found") from None
    except PermissionError:
        raise TagError(path, "permission denied") from None
    except (mutagen.MutagenError, OSError, ValueError, EOFError) as exc:
        cause = exc.__cause__ or exc.__context__  # mutagen wraps OS errors
        if isinstance(cause, FileNotFoundError):
            raise TagError(path, "file not found") from None
        if isinstance(cause, PermissionError):
            raise TagError(path, "permission denied") from None
        with contextlib.suppress(OSError):
            if path.stat().st_size == 0:  # mutagen says "can't sync to MPEG frame"
                raise TagError(path, "cannot read tags: empty file (0 bytes)") from None
        # mutagen names the file ("'/music/a.flac' is not a valid FLAC file"): the row
        # it is shown in already does
        text = str(exc).replace(f"{str(path)!r} is ", "").replace(repr(str(path)), "the file")
        if "can't sync to MPEG frame" in text:  # mutagen's words for "no MP3 audio found"
            text = "no MP3 audio found in the file"
        raise TagError(path, f"cannot read tags: {text}") from None
    if f is None:
        raise TagError(path, "not a recognised audio file")
    return f


def family_of(f: mutagen.FileType) -> str | None:
    """Which row of :data:`TAG_TABLE` applies to an opened file (None: no tags yet)."""
    from mutagen._vorbis import VCommentDict
    from mutagen.apev2 import APEv2
    from mutagen.asf import ASFTags
    from mutagen.id3 import ID3
    from mutagen.mp4 import MP4Tags

    tags = f.tags
    if isinstance(tags, ID3):
        return "id3v23" if tags.version[:2] == (2, 3) else "id3"
    if isinstance(tags, VCommentDict):
        return "vorbis"
    if isinstance(tags, MP4Tags):
        return "mp4"
    if isinstance(tags, APEv2):
        return "ape"
    if isinstance(tags, ASFTags):
        return "asf"
    return None


#: How several values of one field are shown (and compared) as one text.
MULTI_VALUE_SEPARATOR = "; "


def _real_key(tags, key: str) -> str | None:
    """The key ``key`` is stored under in ``tags``, else None.

    A lower-case legacy spelling of an ID3 ``TXXX`` description or an MP4 freeform name
    (``TXXX:mood``, ``----:com.apple.iTunes:mood``) also stands for any other case of it
    (``TXXX:Mood``) but the upper-case one, which is a key of its own: players match
    these names in any case, so a write must replace them too."""
    if key in tags:
        return key
    head, _, name = key.rpartition(":")
    if not key.startswith(("TXXX:", "----:")) or name != name.lower():
        return None
    low, taken = key.lower(), f"{head}:{name.upper()}"
    return next((k for k in tags if k != taken and k.lower() == low), None)


def _texts(tags, key: str) -> list[str]:
    """Every value of ``key`` as text, whatever the family's value type."""
    if key.startswith(("TXXX:", "----:")):
        key = _real_key(tags, key) or key
    if key.startswith("TXXX:"):  # ID3 user text frames match by description
        frames = tags.getall(key)
        return [str(t) for t in frames[0].text] if frames else []
    try:
        value = tags.get(key) if hasattr(tags, "get") else None
    except (ValueError, KeyError):
        value = None
    if value is None:
        return []
    if hasattr(value, "text"):  # ID3 frame
        return [str(t) for t in value.text]
    if isinstance(value, list):
        values = value
    elif getattr(value, "kind", None) == 0:  # an APEv2 text item: values split at NUL
        values = list(value)
    else:
        values = [value]
    out = []
    for v in values:
        if isinstance(v, tuple):  # MP4 trkn (3, 12)
            v = v[0]
        if isinstance(v, bytes | bytearray):
            v = v.decode("utf-8", "replace")
        out.append(str(v))
    return out


def _first_text(tags, key: str) -> str | None:
    """First value of ``key`` as text, whatever the family's value type."""
    values = _texts(tags, key)
    return values[0] if values else None


def _clean(text: str | None) -> str | None:
    """A tag value without surrounding whitespace; None when nothing is left (a blank
    title must not hide the file name)."""
    return (text.strip() or None) if text else None


def _track_number(text: str | None) -> int | None:
    """``"3"``, ``"3/12"`` -> 3; None for no number (``"A1"``, ``"²"``) and for 0 (what
    iTunes stores for "no track number")."""
    if not text:
        return None
    head = text.split("/")[0].strip()
    # isdecimal, not isdigit: "²" is a digit that int() refuses
    return (int(head) or None) if head.isdecimal() else None


def read_mood_value(f: mutagen.FileType) -> str | None:
    """The mood text stored in an opened file (any accepted spelling), else None; several
    values are joined with ``"; "``, as Picard shows them."""
    fam = family_of(f)
    if fam is None:
        return None
    row = TAG_TABLE[fam]
    for key in (row.mood, *row.mood_read):
        values = [v for v in _texts(f.tags, key) if v]
        if values:
            return MULTI_VALUE_SEPARATOR.join(values)
    return None


def read_tags(path: str | Path) -> TagInfo:
    """Title/artist/album/track number/mood and duration of one file."""
    path = Path(path)
    f = open_file(path)
    duration = getattr(getattr(f, "info", None), "length", None)
    fam = family_of(f)
    info = TagInfo(duration=duration)
    if fam is not None:
        row = TAG_TABLE[fam]
        try:
            info = TagInfo(
                title=_clean(_first_text(f.tags, row.title)),
                artist=_clean(_first_text(f.tags, row.artist)),
                album=_clean(_first_text(f.tags, row.album)),
                tracknumber=_track_number(_first_text(f.tags, row.tracknumber)),
                mood=read_mood_value(f),
                duration=duration,
            )
        except Exception as exc:  # odd tag contents must not stop a scan
            raise TagError(path, f"cannot read tags: {exc}") from None
    return _with_riff_info(path, f, _with_ape_names(path, f, info))


#: RIFF INFO chunk ids of the names the scan reads (Windows, Audacity, ffmpeg write them).
_RIFF_INFO = {
    b"INAM": "title",
    b"IART": "artist",
    b"IPRD": "album",
    b"ITRK": "tracknumber",
    b"IPRT": "tracknumber",  # ffmpeg's spelling
}


def _riff_info(path: Path, limit: int = 1 << 20) -> dict[str, str]:
    """The title, artist, album and track of a WAV file's ``LIST``/``INFO`` chunk (text in
    UTF-8, else Windows-1252); {} when it has none. Reads chunk headers only, up to the
    INFO list (``limit`` bytes of it at most)."""
    out: dict[str, str] = {}
    with open(path, "rb") as fh:
        head = fh.read(12)
        if len(head) < 12 or head[:4] not in (b"RIFF", b"RF64") or head[8:12] != b"WAVE":
            return out
        while True:
            hdr = fh.read(8)
            if len(hdr) < 8:
                return out
            cid, size = hdr[:4], struct.unpack("<I", hdr[4:])[0]
            pad = size & 1  # chunks are padded to an even size
            if cid == b"LIST" and size >= 4:
                if fh.read(4) == b"INFO":
                    data = fh.read(min(size - 4, limit))
                    break
                fh.seek(size - 4 + pad, 1)
            else:
                fh.seek(size + pad, 1)
    pos = 0
    while pos + 8 <= len(data):
        sid, n = data[pos : pos + 4], struct.unpack("<I", data[pos + 4 : pos + 8])[0]
        raw = data[pos + 8 : pos + 8 + n].split(b"\0", 1)[0]
        if sid in _RIFF_INFO and raw:
            try:
                text = raw.decode("utf-8")
            except UnicodeDecodeError:
                text = raw.decode("cp1252", "replace")
            out[_RIFF_INFO[sid]] = text
        pos += 8 + n + (n & 1)
    return out


def _lacks_names(info: TagInfo) -> bool:
    return None in (info.title, info.artist, info.album, info.tracknumber)


def _fill_names(
    info: TagInfo, title: str | None, artist: str | None, album: str | None, track: str | None
) -> TagInfo:
    """``info`` with its missing title, artist, album and track number taken from a second
    tag (an MP3's APEv2, a WAV's RIFF INFO): the first tag wins where both have one."""
    return dataclasses.replace(
        info,
        title=info.title or _clean(title),
        artist=info.artist or _clean(artist),
        album=info.album or _clean(album),
        tracknumber=info.tracknumber or _track_number(track),
    )


def _with_riff_info(path: Path, f: mutagen.FileType, info: TagInfo) -> TagInfo:
    """A WAV file's RIFF INFO names fill what its ID3 tag (if any) lacks; the mood is not
    read from it (the app writes a WAV's mood to ID3)."""
    from mutagen.wave import WAVE

    if not isinstance(f, WAVE) or not _lacks_names(info):
        return info
    try:
        riff = _riff_info(path)
    except (OSError, ValueError) as exc:
        log.info("ignoring the RIFF INFO of %s: %s", path, exc)
        return info
    if not riff:
        return info
    return _fill_names(
        info, riff.get("title"), riff.get("artist"), riff.get("album"), riff.get("tracknumber")
    )


def _has_id3v1(path: Path) -> bool:
    try:
        with open(path, "rb") as fh:
            fh.seek(-128, os.SEEK_END)
            return fh.read(3) == b"TAG"
    except OSError:
        return False


def _names(tags: Any, row: Any) -> tuple[str | None, ...]:
    return tuple(_first_text(tags, k) for k in (row.title, row.artist, row.album, row.tracknumber))


def _with_ape_names(path: Path, f: mutagen.FileType, info: TagInfo) -> TagInfo:
    """An MP3's APEv2 tag (foobar2000, Mp3tag and MP3Gain write them) fills the title,
    artist, album and track number its ID3v2 tag lacks, before its ID3v1 tag does: v1
    holds 30 characters of Latin-1, so an APEv2 "Сплин" must not lose to a v1 "?????".
    The mood is not read from it: the app writes an MP3's mood to ID3 only, so an APEv2
    mood would go stale beside it."""
    from mutagen.id3 import ID3
    from mutagen.mp3 import MP3

    if not isinstance(f, MP3):
        return info
    v1 = _has_id3v1(path)
    if not v1 and not _lacks_names(info):
        return info
    from mutagen.apev2 import APEv2

    try:
        ape = APEv2(path)
    except (mutagen.MutagenError, OSError, ValueError, EOFError):
        return info  # no APEv2 tag (the usual case), or one too broken to use
    try:
        ape_names = _names(ape, TAG_TABLE["ape"])
    except Exception as exc:  # odd item contents: keep what the ID3 tag gave
        log.info("ignoring the APEv2 tag of %s: %s", path, exc)
        return info
    if not v1:
        return _fill_names(info, *ape_names)
    # mutagen merges the v1 fields into the tag it read: start again from v2 alone
    base = dataclasses.replace(info, title=None, artist=None, album=None, tracknumber=None)
    tags = f.tags
    if isinstance(tags, ID3) and tags.version >= (2, 2, 0):
        try:
            v2 = ID3(path, load_v1=False)
            base = _fill_names(base, *_names(v2, TAG_TABLE[family_of(f) or "id3"]))
        except Exception as exc:
            log.info("re-reading the ID3v2 tag of %s without v1: %s", path, exc)
            return _fill_names(info, *ape_names)
    merged = _fill_names(base, *ape_names)
    return dataclasses.replace(  # and last what only v1 has
        merged,
        title=merged.title or info.title,
        artist=merged.artist or info.artist,
        album=merged.album or info.album,
        tracknumber=merged.tracknumber or info.tracknumber,
    )


# -- writing the mood ----------------------------------------------------------------
#
# A value is kept as a JSON-able *snapshot* of the native field (text, encoding, data
# format, position), so the journal can put a field back exactly as it was; ``None``
# means "absent". Only the keys from :func:`mood_keys` are ever touched.

#: The families this module can write (APEv2/ASF are read-only: no supported container).
WRITABLE_FAMILIES = frozenset({"id3", "id3v23", "vorbis", "mp4", "ape", "asf"})

#: Logical fields that may be written: the mood and the opt-in energy/valence scores.
MOOD_FIELDS = ("mood", "arousal", "valence")

Snapshot = dict | list | None


def mood_keys(family: str, fields: tuple[str, ...] = ("mood",)) -> tuple[str, ...]:
    """Native keys a write of ``fields`` touches: the mood key, its legacy spellings
    (removed so a file never carries two different moods) and the score keys asked for."""
    row = TAG_TABLE[family]
    keys: list[str] = []
    if "mood" in fields:
        keys += [row.mood, *row.mood_read]
    for name in ("arousal", "valence"):
        key = getattr(row, name)
        if name in fields and key:
            keys.append(key)
    return tuple(dict.fromkeys(keys))


class _DropWatch(dict):
    """mutagen's frame classes by ID (its ``known_frames``), noting each frame it drops
    while reading because the content does not parse (text not in its declared encoding,
    a truncated field): saving the tag would lose such a frame for good."""

    def __init__(self, frames: dict) -> None:
        super().__init__(frames)
        self.dropped: list[str] = []

    def __getitem__(self, name: str) -> Any:
        return _WatchedFrame(super().__getitem__(name), name, self.dropped)


class _WatchedFrame:
    def __init__(self, cls: Any, name: str, dropped: list[str]) -> None:
        self._cls, self._name, self._dropped = cls, name, dropped

    def _fromData(self, header: Any, flags: int, data: bytes) -> Any:
        from mutagen.id3 import ID3JunkFrameError

        try:
            return self._cls._fromData(header, flags, data)
        except ID3JunkFrameError:
            if data[1:].strip(b"\0"):  # an empty value (an encoding byte alone) is no loss
                self._dropped.append(self._name)
            raise


def prepare_for_write(f: mutagen.FileType) -> str:
    """Make ``f`` ready for a mood write and return its family.

    Files without tags get their format's natural tag (ID3v2.4 for MP3/WAV/AIFF, a Vorbis
    comment for FLAC/Ogg/Opus, an ``ilst`` for MP4). ID3 tags are re-read *untranslated*
    and without the ID3v1 fields, so every other frame is saved exactly as it was read
    (mutagen would otherwise turn v2.3 ``TYER`` into ``TDRC`` and copy v1 fields into the
    v2 tag); v2.2 tags are refused because mutagen cannot write them.
    """
    from mutagen.id3 import ID3

    path = Path(f.filename)
    added = f.tags is None
    if added:
        try:
            f.add_tags()
        except Exception as exc:
            raise TagError(path, f"cannot add tags to this file: {exc}") from None
    tags = f.tags
    if isinstance(tags, ID3) and not added and tags.version < (2, 0, 0):
        f.tags = type(tags)()  # only an ID3v1 tag: a new v2.4 tag; save_file keeps the v1
    elif isinstance(tags, ID3) and not added:
        if tags.version < (2, 3, 0):
            raise TagError(path, "ID3v2.2 tags cannot be written (update them to v2.3 first)")
        from mutagen.id3 import Frames

        watch = _DropWatch(Frames)
        try:
            f.tags = type(tags)(f.filename, translate=False, load_v1=False, known_frames=watch)
        except Exception as exc:
            raise TagError(path, f"cannot read tags: {exc}") from None
        if watch.dropped:
            names = ", ".join(dict.fromkeys(watch.dropped))
            raise TagError(
                path,
                f"its ID3 tag has frames that cannot be read ({names}: text not in the "
                "encoding the frame declares, or damaged); writing would delete them, so "
                "the file is left as it is (a tag editor can repair them)",
            )
    family = family_of(f)
    if family not in WRITABLE_FAMILIES:
        raise TagError(path, f"writing {family or 'these'} tags is not supported")
    if family == "vorbis" and not added:
        _refuse_replaced_text(path, f.tags)
    return family


_REPLACEMENT = "\ufffd"


def _refuse_replaced_text(path: Path, tags: Any) -> None:
    """mutagen reads a Vorbis comment that is not UTF-8 (a legacy cp1251 ``ARTIST=``)
    with each bad byte replaced by U+FFFD, and would save it so: the original text lost
    for good. Refuse such a file. A U+FFFD that the file really holds (its UTF-8 bytes are
    there as often) is text like any other."""
    texts = [getattr(tags, "vendor", "") or ""] + [k + v for k, v in tags]
    seen = sum(t.count(_REPLACEMENT) for t in texts)
    if not seen:
        return
    try:
        held = path.read_bytes().count(_REPLACEMENT.encode("utf-8"))
    except OSError as exc:
        raise TagError(path, f"cannot read the file: {exc.strerror or exc}") from None
    if held < seen:
        keys = sorted({k.upper() for k, v in tags if _REPLACEMENT in k + v})
        raise TagError(
            path,
            f"its comments hold text that is not UTF-8 ({', '.join(keys) or 'vendor'}); "
            "writing would replace it with '\ufffd' for good, so the file is left as it "
            "is (a tag editor can convert it)",
        )


def has_tag(f: mutagen.FileType) -> bool:
    """Whether the file has a tag of its own (an MP3's ID3v1 alone does not count: the
    ID3v2 tag a write adds is removed again by undo, the v1 tag is never touched)."""
    from mutagen.id3 import ID3

    if f.tags is None:
        return False
    return not (isinstance(f.tags, ID3) and f.tags.version < (2, 0, 0))


def _id3_snapshot(tags, key: str) -> Snapshot:
    real = _real_key(tags, key)
    frames = tags.getall(real) if real else []
    if not frames:
        return None
    fr = frames[0]
    snap = {"encoding": int(fr.encoding), "text": [str(t) for t in fr.text]}
    if real != key:  # another case of a TXXX description: put back as it was
        snap["desc"] = fr.desc
    return snap


def _vorbis_snapshot(tags, key: str) -> Snapshot:
    low = key.lower()
    pairs = [[i, k, v] for i, (k, v) in enumerate(tags) if k.lower() == low]
    return pairs or None


def _mp4_snapshot(tags, key: str) -> Snapshot:
    import base64

    real = _real_key(tags, key)
    values = tags.get(real) if real else None
    if not values:
        return None
    spelling = {"key": real} if real != key else {}  # another case of the name
    return [
        {
            "b64": base64.b64encode(bytes(v)).decode("ascii"),
            "dataformat": int(getattr(v, "dataformat", 1)),
            "version": int(getattr(v, "version", 0)),
            **spelling,
        }
        for v in values
    ]


def _ape_snapshot(tags, key: str) -> Snapshot:
    """APEv2 (WavPack): one item per key, matched in any case; its spelling and kind kept."""
    import base64

    from mutagen.apev2 import BINARY, EXTERNAL

    real = next((k for k in tags if k.lower() == key.lower()), None)
    if real is None:
        return None
    v = tags[real]
    if v.kind == BINARY:
        raw = bytes(v.value)
        text = [raw.decode("utf-8", "replace")]
        return {"key": real, "kind": BINARY, "text": text, "b64": base64.b64encode(raw).decode()}
    text = [str(v.value)] if v.kind == EXTERNAL else [str(t) for t in v]
    return {"key": real, "kind": int(v.kind), "text": text}


def _asf_snapshot(tags, key: str) -> Snapshot:
    """ASF (WMA): every attribute named ``key``, in place, with its type, language and
    stream: ``[index, key, text, type, value, language, stream]``."""
    import base64

    items = []
    for i, (k, attr) in enumerate(tags):
        if k == key:  # ASF attribute names are case-sensitive
            value = attr.value
            if isinstance(value, bytes):
                value = base64.b64encode(value).decode("ascii")
            elif isinstance(value, bool):
                value = int(value)
            items.append([i, k, str(attr), int(attr.TYPE), value, attr.language, attr.stream])
    return items or None


_SNAPSHOT = {
    "id3": _id3_snapshot,
    "id3v23": _id3_snapshot,
    "vorbis": _vorbis_snapshot,
    "mp4": _mp4_snapshot,
    "ape": _ape_snapshot,
    "asf": _asf_snapshot,
}


def snapshot(f: mutagen.FileType, family: str, keys: tuple[str, ...]) -> dict[str, Snapshot]:
    """The current state of ``keys`` in an opened file (``None`` where absent)."""
    take = _SNAPSHOT[family]
    if f.tags is None:
        return dict.fromkeys(keys)
    return {key: take(f.tags, key) for key in keys}


def snapshot_text(snap: Snapshot) -> tuple[str, ...]:
    """The text values of a snapshot, to compare states whatever their encoding/position."""
    import base64

    if snap is None:
        return ()
    if isinstance(snap, dict):
        return tuple(snap["text"])
    out = []
    for item in snap:
        if isinstance(item, dict):
            out.append(base64.b64decode(item["b64"]).decode("utf-8", "replace"))
        else:
            out.append(item[2])
    return tuple(out)


def same_state(a: dict[str, Snapshot], b: dict[str, Snapshot]) -> bool:
    """Whether two snapshots hold the same values for every key in either."""
    return all(snapshot_text(a.get(k)) == snapshot_text(b.get(k)) for k in {*a, *b})


def text_snapshot(family: str, key: str, value: str, current: Snapshot = None) -> Snapshot:
    """The snapshot of ``key`` set to ``value`` (keeping an existing ID3 encoding or
    Vorbis key spelling/position where there is one)."""
    if family in ("id3", "id3v23"):
        # UTF-8 (3) does not exist in v2.3: UTF-16 (1) there
        default = 3 if family == "id3" else 1
        encoding = current["encoding"] if isinstance(current, dict) else default
        if encoding == 0 and not value.isascii():
            encoding = default
        return {"encoding": encoding, "text": [value]}
    if family == "vorbis":
        if current:
            i, k, _ = current[0]
            return [[i, k, value]]
        return [[-1, key.upper(), value]]
    if family == "ape":
        return {
            "key": current["key"] if isinstance(current, dict) else key,
            "kind": 0,
            "text": [value],
        }
    if family == "asf":
        from mutagen.asf import UNICODE

        i, lang, stream = (
            (current[0][0], current[0][5], current[0][6]) if current else (-1, None, None)
        )
        return [[i, key, value, UNICODE, value, lang, stream]]
    import base64

    return [
        {
            "b64": base64.b64encode(value.encode("utf-8")).decode("ascii"),
            "dataformat": 1,
            "version": 0,
        }
    ]


def _id3_set(tags, key: str, snap: Snapshot) -> None:
    from mutagen.id3 import TXXX, Frames

    tags.delall(_real_key(tags, key) or key)
    if snap is None:
        return
    if key.startswith("TXXX:"):
        desc = snap.get("desc", key[5:])
        tags.add(TXXX(encoding=snap["encoding"], desc=desc, text=list(snap["text"])))
    else:
        tags.add(Frames[key](encoding=snap["encoding"], text=list(snap["text"])))


def _vorbis_set(tags, key: str, snap: Snapshot) -> None:
    low = key.lower()
    kept = [(k, v) for k, v in tags if k.lower() != low]
    for i, k, v in sorted(snap or [], key=lambda p: (p[0] < 0, p[0])):
        kept.insert(i if 0 <= i <= len(kept) else len(kept), (k, v))
    tags[:] = kept


def _mp4_set(tags, key: str, snap: Snapshot) -> None:
    import base64

    from mutagen.mp4 import MP4FreeForm

    tags.pop(_real_key(tags, key) or key, None)
    if snap:
        tags[snap[0].get("key", key)] = [
            MP4FreeForm(
                base64.b64decode(v["b64"]), dataformat=v["dataformat"], version=v["version"]
            )
            for v in snap
        ]


def _ape_set(tags, key: str, snap: Snapshot) -> None:
    import base64

    from mutagen.apev2 import BINARY, EXTERNAL, APEBinaryValue, APEExtValue, APETextValue

    for k in [k for k in tags if k.lower() == key.lower()]:
        del tags[k]
    if not snap:
        return
    kind = snap["kind"]
    if kind == BINARY:
        value = APEBinaryValue(base64.b64decode(snap["b64"]), BINARY)
    elif kind == EXTERNAL:
        value = APEExtValue(snap["text"][0], EXTERNAL)
    else:
        value = APETextValue("\0".join(snap["text"]), kind)
    tags[snap["key"]] = value


def _asf_set(tags, key: str, snap: Snapshot) -> None:
    import base64

    from mutagen.asf import BYTEARRAY, GUID, ASFValue

    kept = [(k, a) for k, a in tags if k != key]
    for i, k, _text, kind, value, lang, stream in sorted(
        snap or [], key=lambda p: (p[0] < 0, p[0])
    ):
        if kind in (BYTEARRAY, GUID):
            value = base64.b64decode(value)
        attr = ASFValue(value, kind, language=lang, stream=stream)
        kept.insert(i if 0 <= i <= len(kept) else len(kept), (k, attr))
    tags[:] = kept


_SET = {
    "id3": _id3_set,
    "id3v23": _id3_set,
    "vorbis": _vorbis_set,
    "mp4": _mp4_set,
    "ape": _ape_set,
    "asf": _asf_set,
}


def apply_snapshot(f: mutagen.FileType, family: str, state: dict[str, Snapshot]) -> None:
    """Set (or remove) every key of ``state`` in an opened file; nothing else changes."""
    put = _SET[family]
    for key, snap in state.items():
        put(f.tags, key, snap)


def tags_empty(f: mutagen.FileType) -> bool:
    tags = f.tags
    if tags is None:
        return True
    try:
        return len(tags) == 0 if not hasattr(tags, "keys") else not list(tags.keys())
    except TypeError:
        return False


def save_file(
    f: mutagen.FileType, family: str, remove_empty: bool = False, size_before: int | None = None
) -> None:
    """Save an opened file, keeping its ID3 version; ``remove_empty`` drops a tag that a
    write created and an undo emptied again (the file had no tag before), so the file is
    again what it was byte for byte; ``size_before``: its size then (an undo: the padding
    is sized so that the file has its old size, and bytes, again)."""
    from mutagen.asf import ASF
    from mutagen.flac import FLAC
    from mutagen.id3 import ID3FileType
    from mutagen.mp4 import MP4
    from mutagen.ogg import OggFileType

    path = Path(f.filename)
    try:
        if isinstance(f, OggFileType):  # the comment header must stay; its padding is
            # sized back on an undo, so the file has its old size and bytes again
            if remove_empty and tags_empty(f):
                f.tags.clear()
            _save_sized(f, size_before, zero=remove_empty)
        elif isinstance(f, ID3FileType):  # MP3: the ID3v1 tag at the end stays byte for byte
            if remove_empty and tags_empty(f):
                f.tags.delete(f.filename, delete_v1=False, delete_v2=True)
            else:
                _save_keeping_v1(f, 3 if family == "id3v23" else 4, size_before)
        elif remove_empty and tags_empty(f) and isinstance(f, FLAC):
            _flac_drop_comment(f, size_before)
        elif remove_empty and tags_empty(f) and isinstance(f, MP4):
            f.save()  # an empty ilst, with any atoms mutagen could not parse
            _mp4_drop_empty_meta(f.filename)
        elif remove_empty and tags_empty(f):
            f.delete()
        elif family == "id3v23":  # WAV, AIFF
            _save_sized(f, size_before, v2_version=3, v23_sep=None)  # see _save_keeping_v1
        elif family == "id3":
            _save_sized(f, size_before, v2_version=4)
        elif isinstance(f, (FLAC, MP4, ASF)):
            _save_sized(f, size_before)
        else:  # APEv2 (WavPack) has no padding: its old items give it its old size
            f.save()
    except PermissionError:
        raise TagError(path, "permission denied") from None
    except (mutagen.MutagenError, OSError, ValueError, EOFError, struct.error) as exc:
        raise TagError(path, f"cannot write tags: {exc}") from None


def _save_keeping_v1(f: mutagen.FileType, v2_version: int, size_before: int | None = None) -> None:
    """Save an MP3's ID3v2 tag without regenerating its ID3v1 tag (mutagen would rebuild
    it from the v2 frames): drop it while saving, then put the original bytes back.

    ``size_before`` (an undo: the file's size before the write): the padding is chosen so
    that the file has that size again, as when a write had to grow the tag; so an undone
    file is byte for byte what it was, not just tag for tag."""
    from mutagen.id3._id3v1 import find_id3v1

    padding = _padding_back_to(f.filename, size_before)
    with open(f.filename, "rb") as fh:
        v1, offset = find_id3v1(fh)
        tail = b""
        if v1 is not None and offset < 0:
            fh.seek(offset, 2)
            tail = fh.read()
    # v23_sep=None: several values of a v2.3 frame stay apart (NUL-separated) as they were
    # read; mutagen would join them with "/" ("A", "B" -> "A/B"), changing other tags.
    f.save(v2_version=v2_version, v1=0, v23_sep=None, padding=padding)
    if tail:
        with open(f.filename, "ab") as fh:
            fh.write(tail)


def _padding_back_to(path: str, size_before: int | None) -> Callable[[Any], int] | None:
    """A mutagen ``padding`` callback that gives a file ``size_before`` bytes
    again (an undo after a write had to grow the tag), or as close to that as it can;
    None without ``size_before`` (a write: mutagen's default)."""
    import os

    if size_before is None:
        return None
    grown = os.path.getsize(path) - size_before

    def padding(info: Any) -> int:
        # below 0: the tag renders longer than it was read (another tool wrote it more
        # tightly than mutagen can), so none at all comes closest to the old file
        return max(info.padding - grown, 0)

    return padding


def _save_sized(
    f: mutagen.FileType, size_before: int | None, zero: bool = False, **kwargs: Any
) -> None:
    """Save ``f``; on an undo (``size_before``) with the padding that gives the file its old
    size, and so its old bytes, again. Where the first guess misses by a few bytes (an Ogg
    page's lacing table grows a byte per 255 bytes of packet, a RIFF or AIFF chunk is padded
    to an even size, a FLAC padding block has a header) it is corrected, at most twice.
    ``zero``: no padding otherwise (a tag emptied again), as mutagen's ``delete`` does."""
    import os

    padding = _padding_back_to(f.filename, size_before)
    f.save(padding=padding or ((lambda info: 0) if zero else None), **kwargs)
    for _ in range(2):
        off = os.path.getsize(f.filename) - size_before if size_before is not None else 0
        if off == 0:
            return
        f.save(padding=lambda info, off=off: max(info.padding - off, 0), **kwargs)


def _flac_drop_comment(f: mutagen.FileType, size_before: int | None) -> None:
    """Remove a FLAC file's Vorbis comment block, giving its space back to the padding
    (mutagen's ``delete`` drops the padding): the padding a write took or added is given
    back, so the file has its old size (and bytes) again."""
    import os

    grown = os.path.getsize(f.filename) - size_before if size_before is not None else 0
    f.metadata_blocks[:] = [b for b in f.metadata_blocks if b is not f.tags]
    f.tags = None
    f.save(padding=lambda info: max(info.padding - grown, 0))


def _mp4_drop_empty_meta(filename: str) -> None:
    """Cut an empty ``moov.udta.meta`` (and a ``udta`` left empty by that) out of an MP4
    file: the atoms a first write added. Parent sizes and the chunk offsets of a file
    whose ``mdat`` follows are moved back as mutagen moved them on insert."""
    from mutagen._util import delete_bytes
    from mutagen.mp4 import Atoms

    with open(filename, "r+b") as fh:
        atoms = Atoms(fh)
        try:
            moov, udta, meta = atoms.path(b"moov", b"udta", b"meta")
        except KeyError:
            return
        children = meta.children or []
        ilst = next((a for a in children if a.name == b"ilst"), None)
        if (
            ilst is None
            or ilst.children
            or {a.name for a in children} - {b"hdlr", b"ilst", b"free"}
        ):
            return  # not what a write adds: someone else's metadata
        if len(udta.children) == 1:
            cut, parents = udta, [moov]
        else:
            cut, parents = meta, [moov, udta]
        delete_bytes(fh, cut.length, cut.offset)
        for atom in parents:  # they start before the cut: their offsets stand
            fh.seek(atom.offset)
            size = struct.unpack(">I", fh.read(4))[0]
            if size == 1:  # 64-bit size after the name
                fh.seek(atom.offset + 8)
                size = struct.unpack(">Q", fh.read(8))[0]
                fh.seek(atom.offset + 8)
                fh.write(struct.pack(">Q", size - cut.length))
            else:
                fh.seek(atom.offset)
                fh.write(struct.pack(">I", size - cut.length))
        fh.seek(0)
        _mp4_shift_offsets(fh, Atoms(fh), -cut.length, cut.offset)


def _mp4_shift_offsets(fh, atoms, delta: int, offset: int) -> None:
    """Add ``delta`` to every chunk offset (``stco``/``co64``, fragment base offsets)
    that points past ``offset``, as mutagen does when it resizes a tag."""
    moov = atoms[b"moov"]
    for name, fmt in ((b"stco", "I"), (b"co64", "Q")):
        for atom in moov.findall(name, True):
            fh.seek(atom.offset + 12)
            count = struct.unpack(">I", fh.read(4))[0]
            table = struct.unpack(f">{count}{fmt}", fh.read(count * struct.calcsize(fmt)))
            fh.seek(atom.offset + 16)
            fh.write(
                struct.pack(f">{count}{fmt}", *(o + delta if o > offset else o for o in table))
            )
    try:
        fragments = list(atoms[b"moof"].findall(b"tfhd", True))
    except KeyError:
        fragments = []
    for atom in fragments:
        fh.seek(atom.offset + 9)
        flags = int.from_bytes(fh.read(3), "big")
        if flags & 1:  # base-data-offset present, after the track id
            fh.seek(atom.offset + 16)
            base = struct.unpack(">Q", fh.read(8))[0]
            if base > offset:
                fh.seek(atom.offset + 16)
                fh.write(struct.pack(">Q", base + delta))
