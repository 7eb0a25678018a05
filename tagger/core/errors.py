"""The app's own error types; library exceptions are translated at one boundary."""

from __future__ import annotations

from pathlib import Path

#: Per-song messages for songs that decode but have nothing to judge a mood from. They are
#: not failures: the CLI and the views list them apart, as "silent" / "too short".
SILENT_MESSAGE = "silent: no sound to judge a mood from"
TOO_SHORT_MESSAGE = "too short to judge a mood"


def no_mood_reason(message: str | None) -> str | None:
    """``"silent"`` or ``"too short"`` for those songs' messages, else None (a real error)."""
    if message == SILENT_MESSAGE:
        return "silent"
    if message and message.startswith(TOO_SHORT_MESSAGE):
        return "too short"
    return None


def may_pass(message: str | None) -> bool:
    """Whether a read error may be gone next time without the file changing (a chmod
    or a reconnected drive leaves its size and mtime, which key the cache, as they were)."""
    text = (message or "").lower()
    return "permission denied" in text or "input/output error" in text


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


class UnexpectedError(DecodeError):
    """Analysis failed for a reason that is not the file's (a bug, a broken install, a
    library that changed): not remembered as the file's error, so the next run tries again."""


class TagError(FileError):
    """The file's tags could not be read or written."""


class FolderUnavailable(FileError):
    """A library folder is not there, or shows none of its songs (a drive not mounted):
    nothing may be concluded about its songs from it."""


class CheckpointError(MoodTaggerError):
    """A model file is missing, unreadable or incompatible with this app."""


class StoreError(MoodTaggerError):
    """The library database cannot be used (corrupt, or from a newer version)."""
