"""Text matching shared by the library search and the playlist filters."""

from __future__ import annotations

import functools
import unicodedata


@functools.lru_cache(maxsize=200_000)
def search_key(text: str) -> str:
    """``text`` for searching: case-folded and, when not plain ASCII, without accents, so
    that "sigur ros" finds "Sigur Rós" and "beyonce" finds "Beyoncé"."""
    folded = text.casefold()
    if folded.isascii():
        return folded
    return "".join(c for c in unicodedata.normalize("NFKD", folded) if not unicodedata.combining(c))


def contains_text(needle: str, hay: str | None) -> bool:
    """True if ``needle`` occurs in ``hay``, ignoring case and accents."""
    return search_key(needle) in search_key(hay or "")
