"""Reading (and, for the mood, writing) tags through one declarative table.

One row per tag family says which native key holds each logical field; reverse maps and
legacy spellings are derived, never scattered through the code. Every mutagen exception
is turned into :class:`~tagger.core.errors.TagError` here.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from pathlib import Path

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
    "vorbis": FamilyMap(
        "title",
        "artist",
        "album",
        "tracknumber",
        "mood",
        arousal="mood_arousal",
        valence="mood_valence",
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
    "asf": FamilyMap("Title", "Author", "WM/AlbumTitle", "WM/TrackNumber", "WM/Mood"),
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
        raise TagError(path, f"cannot read tags: {exc}") from None
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


def _first_text(tags, key: str) -> str | None:
    """First value of ``key`` as text, whatever the family's value type."""
    if key.startswith("TXXX:"):  # ID3 user text frames match by description, any case
        desc = key[5:]
        for frame in tags.getall("TXXX"):
            if frame.desc == desc and frame.text:
                return str(frame.text[0])
        return None
    try:
        value = tags.get(key) if hasattr(tags, "get") else None
    except (ValueError, KeyError):
        value = None
    if value is None:
        return None
    if hasattr(value, "text"):  # ID3 frame
        return str(value.text[0]) if value.text else None
    if isinstance(value, list):
        if not value:
            return None
        value = value[0]
    if isinstance(value, tuple):  # MP4 trkn (3, 12)
        return str(value[0])
    if isinstance(value, bytes | bytearray):
        return value.decode("utf-8", "replace")
    return str(value)


def _track_number(text: str | None) -> int | None:
    if not text:
        return None
    head = text.split("/")[0].strip()
    return int(head) if head.isdigit() else None


def read_mood_value(f: mutagen.FileType) -> str | None:
    """The mood text stored in an opened file (any accepted spelling), else None."""
    fam = family_of(f)
    if fam is None:
        return None
    row = TAG_TABLE[fam]
    for key in (row.mood, *row.mood_read):
        value = _first_text(f.tags, key)
        if value:
            return value
    return None


def read_tags(path: str | Path) -> TagInfo:
    """Title/artist/album/track number/mood and duration of one file."""
    path = Path(path)
    f = open_file(path)
    duration = getattr(getattr(f, "info", None), "length", None)
    fam = family_of(f)
    if fam is None:
        return TagInfo(duration=duration)
    row = TAG_TABLE[fam]
    try:
        return TagInfo(
            title=_first_text(f.tags, row.title),
            artist=_first_text(f.tags, row.artist),
            album=_first_text(f.tags, row.album),
            tracknumber=_track_number(_first_text(f.tags, row.tracknumber)),
            mood=read_mood_value(f),
            duration=duration,
        )
    except Exception as exc:  # odd tag contents must not stop a scan
        raise TagError(path, f"cannot read tags: {exc}") from None
