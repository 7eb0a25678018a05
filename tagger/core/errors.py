"""The app's own error types; library exceptions are translated at one boundary."""

from __future__ import annotations

from pathlib import Path

#: The per-song message for a silent song; the library view shows it as "silent".
SILENT_MESSAGE = "silent: no sound to judge a mood from"


class MoodTaggerError(Exception):
    """Base class of errors about one item (a file, a model) that do not stop a batch."""


class FileError(MoodTaggerError):
    """A problem with one file; ``str(err)`` is a message fit for a person."""

    def __init__(self, path: str | Path, message: str) -> None:
        super().__init__(message)
        self.path = Path(path)
        self.message = message

    def __str__(self) -> str:
        return self.message

    def __reduce__(self):  # picklable, so worker processes can return it
        return (self.__class__, (self.path, self.message))


class DecodeError(FileError):
    """The file's audio could not be decoded (corrupt, empty, truncated, not audio)."""


class TagError(FileError):
    """The file's tags could not be read or written."""


class CheckpointError(MoodTaggerError):
    """A model file is missing, unreadable or incompatible with this app."""


class StoreError(MoodTaggerError):
    """The library database cannot be used (corrupt, or from a newer version)."""
