"""Test files with realistic tags (title/artist/comment/custom + cover art) in every format,
and exact dumps of tags and decoded audio to compare before/after a write."""

from __future__ import annotations

import base64
import hashlib
from pathlib import Path

import mutagen

from tests.audio_factory import write_audio

#: case name -> extension. ``mp3v23`` is an MP3 whose tag is ID3v2.3.
CASES = {
    "mp3v23": ".mp3",
    "mp3v24": ".mp3",
    "flac": ".flac",
    "ogg": ".ogg",
    "opus": ".opus",
    "m4a": ".m4a",
    "wav": ".wav",
    "aiff": ".aiff",
    "oga": ".oga",
    "wma": ".wma",
    "wavpack": ".wv",
}

#: A tiny valid PNG (1x1 pixel) used as cover art.
COVER = base64.b64decode(
    "iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mP8z8BQDwAEhQGAhKmMIQAAAABJRU5ErkJggg=="
)


def _id3_frames(tags, v23: bool) -> None:
    from mutagen.id3 import APIC, COMM, TALB, TDRC, TIT2, TPE1, TXXX, TYER

    enc = 1 if v23 else 3
    tags.add(TIT2(encoding=enc, text=["Tïtle"]))
    tags.add(TPE1(encoding=enc, text=["Ärtist"]))
    tags.add(TALB(encoding=enc, text=["Album"]))
    tags.add(COMM(encoding=enc, lang="eng", desc="", text=["a comment"]))
    tags.add(TXXX(encoding=enc, desc="CUSTOM", text=["custom value"]))
    if v23:
        tags.add(TYER(encoding=enc, text=["2001"]))  # v2.3-only frame: must survive as is
        tags.add(TXXX(encoding=enc, desc="mood", text=["calm"]))  # Picard's v2.3 spelling
    else:
        tags.add(TDRC(encoding=enc, text=["2001-02-03"]))
    tags.add(APIC(encoding=enc, mime="image/png", type=3, desc="cover", data=COVER))


def make_tagged(path: Path, case: str, seconds: float = 2.0, seed: int = 0) -> Path:
    """Write a short audio file for ``case`` and give it rich tags with cover art."""
    write_audio(path, seconds=seconds, kind="bright", seed=seed)
    f = mutagen.File(path)
    if case.startswith("mp3") or case in ("wav", "aiff"):
        if f.tags is None:
            f.add_tags()
        _id3_frames(f.tags, v23=case == "mp3v23")
        f.save(v2_version=3 if case == "mp3v23" else 4)
    elif case in ("flac", "ogg", "oga", "opus"):
        from mutagen.flac import Picture

        if f.tags is None:
            f.add_tags()
        f.tags["TITLE"] = "Tïtle"
        f.tags["ARTIST"] = "Ärtist"
        f.tags["COMMENT"] = "a comment"
        f.tags["CUSTOM"] = "custom value"
        pic = Picture()
        pic.type, pic.mime, pic.desc, pic.data = 3, "image/png", "cover", COVER
        pic.width = pic.height = 1
        pic.depth = 24
        if case == "flac":
            f.add_picture(pic)
        else:
            f.tags["METADATA_BLOCK_PICTURE"] = base64.b64encode(pic.write()).decode("ascii")
        f.save()
    elif case == "m4a":
        from mutagen.mp4 import MP4Cover, MP4FreeForm

        if f.tags is None:
            f.add_tags()
        f.tags["\xa9nam"] = ["Tïtle"]
        f.tags["\xa9ART"] = ["Ärtist"]
        f.tags["\xa9cmt"] = ["a comment"]
        f.tags["----:com.apple.iTunes:CUSTOM"] = [MP4FreeForm(b"custom value")]
        f.tags["covr"] = [MP4Cover(COVER, imageformat=MP4Cover.FORMAT_PNG)]
        f.save()
    elif case == "wma":
        from mutagen.asf import ASFByteArrayAttribute, ASFUnicodeAttribute

        f.tags["Title"] = "Tïtle"
        f.tags["Author"] = "Ärtist"
        f.tags["WM/AlbumTitle"] = "Album"
        f.tags["Description"] = "a comment"
        f.tags["CUSTOM"] = [ASFUnicodeAttribute("custom value")]
        f.tags["CUSTOM_BIN"] = [ASFByteArrayAttribute(COVER)]
        f.save()
    elif case == "wavpack":
        from mutagen.apev2 import BINARY, APEBinaryValue

        if f.tags is None:
            f.add_tags()
        f.tags["Title"] = "Tïtle"
        f.tags["Artist"] = "Ärtist"
        f.tags["Album"] = "Album"
        f.tags["Comment"] = "a comment"
        f.tags["CUSTOM"] = "custom value"
        f.tags["Cover Art (Front)"] = APEBinaryValue(b"cover.png\0" + COVER, BINARY)
        f.save()
    else:
        raise ValueError(case)
    return path


def tag_dump(path: Path) -> dict:
    """Every tag of a file, exactly (ID3 untranslated, with encodings; Vorbis in order;
    FLAC pictures; MP4 atoms with data formats)."""
    from mutagen.id3 import ID3

    f = mutagen.File(path)
    out: dict = {"type": type(f).__name__}
    tags = f.tags
    if tags is None:
        out["tags"] = None
    elif isinstance(tags, ID3):
        raw = type(tags)(path, translate=False)
        out["version"] = raw.version
        out["tags"] = {k: repr(v) for k, v in raw.items()}
    elif isinstance(tags, list):  # Vorbis comment / ASF: ordered (key, value) pairs
        out["tags"] = [(k, repr(v), getattr(v, "language", None)) for k, v in tags]
    elif type(tags).__name__ == "APEv2":
        out["tags"] = {k: (v.kind, v.value) for k, v in tags.items()}
    else:
        out["tags"] = {
            k: [repr(x) + repr(getattr(x, "dataformat", None)) for x in v] for k, v in tags.items()
        }
    if hasattr(f, "pictures"):
        out["pictures"] = [(p.type, p.mime, p.data) for p in f.pictures]
    return out


def without(dump: dict, *keys: str) -> dict:
    """A dump minus the given native keys (compared case-insensitively for Vorbis)."""
    low = {k.lower() for k in keys}
    d = dict(dump)
    if isinstance(d.get("tags"), list):
        d["tags"] = [t for t in d["tags"] if t[0].lower() not in low]
    elif isinstance(d.get("tags"), dict):
        d["tags"] = {k: v for k, v in d["tags"].items() if k not in keys}
    return d


def audio_hash(path: Path) -> str:
    """Hash of every decoded audio frame (PyAV; no system ffmpeg needed)."""
    import av

    h = hashlib.sha256()
    with av.open(str(path), metadata_errors="ignore") as c:
        stream = c.streams.audio[0]
        for frame in c.decode(stream):
            h.update(frame.to_ndarray().tobytes())
    return h.hexdigest()


def _flac_comment_to_padding(path: Path) -> None:
    """Turn a FLAC file's VORBIS_COMMENT block into PADDING, as ``metaflac --remove
    --block-type=VORBIS_COMMENT`` does: the file then has no tag block at all."""
    data = bytearray(path.read_bytes())
    assert data[:4] == b"fLaC"
    pos = 4
    while True:
        head = data[pos]
        size = int.from_bytes(data[pos + 1 : pos + 4], "big")
        if head & 0x7F == 4:
            data[pos] = (head & 0x80) | 1
            data[pos + 4 : pos + 4 + size] = bytes(size)
        if head & 0x80:
            break
        pos += 4 + size
    path.write_bytes(bytes(data))


def _mp4_without_udta(path: Path) -> None:
    """Cut ``moov.udta`` (where ffmpeg puts its ``ilst``) out of an MP4 whose ``moov`` is
    the last atom, so no chunk offset moves: an M4A with no metadata atoms at all."""
    from mutagen.mp4 import Atoms

    data = path.read_bytes()
    with open(path, "rb") as fh:
        atoms = Atoms(fh)
    moov = atoms[b"moov"]
    assert moov.offset + moov.length == len(data)
    udta = next(a for a in moov.children if a.name == b"udta")
    cut = data[: udta.offset] + data[udta.offset + udta.length :]
    size = int.from_bytes(cut[moov.offset : moov.offset + 4], "big") - udta.length
    path.write_bytes(cut[: moov.offset] + size.to_bytes(4, "big") + cut[moov.offset + 4 :])


def make_untagged(path: Path, seconds: float = 2.0) -> Path:
    """A short audio file with no tag block at all where its format allows that (MP3 and
    WavPack without ID3/APEv2, WAV/AIFF without an ID3 chunk, FLAC without a Vorbis
    comment, M4A without ``udta``); Ogg files keep their (mandatory) comment header, and
    WMA its header objects, with no fields in them."""
    write_audio(path, seconds=seconds)
    ext = path.suffix.lower()
    if ext == ".flac":
        _flac_comment_to_padding(path)
    elif ext == ".m4a":
        _mp4_without_udta(path)
    else:
        f = mutagen.File(path)
        if ext in (".mp3", ".wv"):
            f.delete()
        elif f.tags is not None and ext not in (".wav", ".aiff"):
            f.tags.clear()
            f.save()
    return path
