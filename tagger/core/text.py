"""Text matching shared by the library search and the playlist filters, and file names
that match but for their Unicode normalisation."""

from __future__ import annotations

import functools
import os
import re
import unicodedata
from pathlib import Path


def search_key(text: str) -> str:
    """``text`` for searching: case-folded and, when not plain ASCII, without accents and
    with the letters that have none spelt in Latin, so that "sigur ros" finds "Sigur Rós",
    "beyonce" finds "Beyoncé" and "agaetis" finds "Ágætis"."""
    folded = text.casefold()
    return folded if folded.isascii() else _without_accents(folded)


#: Letters of their own that NFKD leaves whole, by their usual Latin spelling (the
#: capitals are case-folded to them first; ß and ẞ are folded to "ss" already).
_LATIN = str.maketrans(
    {"æ": "ae", "ø": "o", "œ": "oe", "ð": "d", "þ": "th", "ł": "l", "đ": "d", "ı": "i"}
)


@functools.lru_cache(maxsize=65_536)  # only non-ASCII text gets here: a small share
def _without_accents(text: str) -> str:
    plain = "".join(c for c in unicodedata.normalize("NFKD", text) if not unicodedata.combining(c))
    return plain.translate(_LATIN)


#: A "quoted phrase" (its closing quote may not be typed yet) or a word.
_TERM = re.compile(r'"([^"]*)"?|(\S+)')


def search_terms(query: str) -> tuple[str, ...]:
    """What a search ``query`` asks for, folded by :func:`search_key`: its words and its
    "quoted phrases", each once; a match holds every one, in any order."""
    terms = (word or " ".join(phrase.split()) for phrase, word in _TERM.findall(search_key(query)))
    return tuple(dict.fromkeys(t for t in terms if t))


def name_in(path: str | Path, root: str | Path) -> str:
    """``path`` as shown under the music folder ``root`` ("Artist/Album/01.mp3": a bare
    "01.mp3" could be on any album); in full where it is not under ``root``."""
    try:
        return Path(path).relative_to(root).as_posix()
    except ValueError:
        return str(path)


def contains_text(needle: str, hay: str | None) -> bool:
    """True if ``needle`` occurs in ``hay``, ignoring case and accents."""
    return search_key(needle) in search_key(hay or "")


def _form(name: str) -> str:
    if unicodedata.is_normalized("NFC", name):
        return "NFC"
    return "NFD" if unicodedata.is_normalized("NFD", name) else "mixed"


def other_normalisation(path: str | Path) -> tuple[Path, str, str] | None:
    """For a ``path`` that does not exist: the one that does and differs only in the
    Unicode normalisation of its names ("é" typed as one code point, stored as "e" and an
    accent, as macOS writes names), with the forms of the first name that differs (as
    given, as found); None if there is none.

    Linux compares names byte for byte, so such a path is rightly not found; this is for
    saying why, in words a person can act on."""
    given = Path(os.path.abspath(Path(path).expanduser()))
    if os.path.lexists(given):
        return None
    found, forms = Path(given.anchor), None
    for part in given.parts[1:]:
        here = found / part
        if not os.path.lexists(here):
            if part.isascii():  # only itself in any normalisation
                return None
            key = unicodedata.normalize("NFC", part)
            try:
                names = sorted(os.listdir(found))
            except OSError:
                return None
            match = next((n for n in names if unicodedata.normalize("NFC", n) == key), None)
            if match is None:
                return None
            here = found / match
            forms = forms or (_form(part), _form(match))
        found = here
    return (found, *forms) if forms else None


def not_found_hint(path: str | Path) -> str:
    """``""``, or a note for a "not found" message naming the path that differs from
    ``path`` only in Unicode normalisation (see :func:`other_normalisation`)."""
    other = other_normalisation(path)
    if other is None:
        return ""
    found, given_form, found_form = other
    return (
        f"; {found} has the same name in another Unicode form ({found_form}; the name given "
        f"is {given_form}), which is another name to the file system"
    )


def count_text(count: int, word: str, plural: str | None = None) -> str:
    """``"1 song"``, ``"2 songs"``: a count and its noun, in the plural (``plural``, or
    ``word`` + s) unless one."""
    return f"{count} {word if count == 1 else plural or word + 's'}"


def format_length(seconds: float) -> str:
    """A length as a player shows it: ``0:12``, ``42:05``, ``1:02:03``."""
    total = round(seconds)
    h, rest = divmod(total, 3600)
    m, sec = divmod(rest, 60)
    return f"{h}:{m:02d}:{sec:02d}" if h else f"{m}:{sec:02d}"
