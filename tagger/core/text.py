"""Text matching shared by the library search and the playlist filters."""

from __future__ import annotations

import functools
import unicodedata


def search_key(text: str) -> str:
    """``text`` for searching: case-folded and, when not plain ASCII, without accents, so
    that "sigur ros" finds "Sigur Rós" and "beyonce" finds "Beyoncé"."""
    folded = text.casefold()
    return folded if folded.isascii() else _without_accents(folded)


@functools.lru_cache(maxsize=65_536)  # only non-ASCII text gets here: a small share
def _without_accents(text: str) -> str:
    return "".join(c for c in unicodedata.normalize("NFKD", text) if not unicodedata.combining(c))


def contains_text(needle: str, hay: str | None) -> bool:
    """True if ``needle`` occurs in ``hay``, ignoring case and accents."""
    return search_key(needle) in search_key(hay or "")
