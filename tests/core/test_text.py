"""tagger.core.text: folding for search, search terms, names under the music folder."""

from __future__ import annotations

import pytest

from tagger.core import text
from tagger.core.text import contains_text, name_in, search_key, search_terms


@pytest.mark.parametrize(
    ("given", "key"),
    [
        ("Sigur Rós", "sigur ros"),
        ("Beyoncé", "beyonce"),
        ("Ágætis byrjun", "agaetis byrjun"),
        ("ÆRØ", "aero"),
        ("Mø", "mo"),
        ("Œuvre", "oeuvre"),
        ("Þórður Guðmundsson", "thordur gudmundsson"),
        ("Straße", "strasse"),
        ("GROẞ", "gross"),
        ("Łódź", "lodz"),
        ("Đorđe Balašević", "dorde balasevic"),
        ("Işık", "isik"),
        ("İstanbul", "istanbul"),
        ("Plain ASCII", "plain ascii"),
    ],
)
def test_search_key_folds_case_accents_and_letters_of_their_own(given, key):
    """Letters NFKD leaves whole (æ, ø, œ, ð, þ, ł, đ, ı) fold to their usual Latin
    spelling, so "agaetis" finds "Ágætis"."""
    assert search_key(given) == key


def test_search_key_of_ascii_text_takes_the_fast_path():
    """Plain ASCII text (most of a library) is only case-folded: no Unicode work."""
    text._without_accents.cache_clear()
    assert search_key("Track 4242 Of The Album") == "track 4242 of the album"
    info = text._without_accents.cache_info()
    assert info.hits == info.misses == 0


def test_contains_text_folds_both_sides():
    assert contains_text("agaetis", "Ágætis byrjun")
    assert contains_text("Ágætis", "AGAETIS BYRJUN")
    assert not contains_text("svefn", None)


@pytest.mark.parametrize(
    ("query", "terms"),
    [
        ("", ()),
        ("   ", ()),
        ("Sigur Rós  Ágætis", ("sigur", "ros", "agaetis")),
        ("ros ROS rós", ("ros",)),  # the same word twice is one term
        ('"sigur ros" svefn', ("sigur ros", "svefn")),
        ('svefn  "  sigur   ros "', ("svefn", "sigur ros")),
        ('"sigur ros', ("sigur ros",)),  # a quote not closed yet runs to the end
        ('"" bjork', ("bjork",)),
    ],
)
def test_search_terms_are_folded_words_and_quoted_phrases(query, terms):
    assert search_terms(query) == terms


def test_name_in_gives_the_name_under_the_root():
    assert name_in("/m/Artist/Album/01.mp3", "/m") == "Artist/Album/01.mp3"
    assert name_in("/elsewhere/01.mp3", "/m") == "/elsewhere/01.mp3"
