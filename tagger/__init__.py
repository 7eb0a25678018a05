"""Mood Tagger: tag the mood of every song in a music library."""

__version__ = "0.1.0"
