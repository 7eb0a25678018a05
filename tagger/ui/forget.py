"""Forgetting missing songs from the GUI: find (worker) -> confirm -> forget (worker).

The same core code as ``mood-tagger forget --missing``: :func:`tagger.core.library.
find_missing` and :func:`~tagger.core.library.forget_missing`. Each job opens its own
``Store`` inside the worker.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from tagger.core.progress import CancelToken
from tagger.core.text import count_text, name_in


@dataclass(frozen=True, slots=True)
class ForgetRefused:
    """The folder is not there or shows no songs (an unplugged drive): nothing forgotten."""

    message: str


@dataclass(frozen=True, slots=True)
class Forgotten:
    count: int


def find_missing_job(root: str, cancel: CancelToken | None = None) -> Iterator[Any]:
    """Yields the ``MissingSongs`` of ``root``, or a :class:`ForgetRefused`. The scan's
    progress is not passed on (the window's job bar speaks of writing tags)."""
    from tagger.core.errors import FolderUnavailable
    from tagger.core.library import MissingSongs, find_missing
    from tagger.core.store import Store

    with Store.open_default() as store:
        try:
            for event in find_missing(Path(root), store, cancel):
                if isinstance(event, MissingSongs):
                    yield event
        except FolderUnavailable as exc:
            yield ForgetRefused(str(exc))


def forget_job(missing: Any, cancel: CancelToken | None = None) -> Iterator[Forgotten]:
    from tagger.core.library import forget_missing
    from tagger.core.store import Store

    with Store.open_default() as store:
        yield Forgotten(forget_missing(store, missing, cancel))


#: How many of the songs to be forgotten the question names.
SHOWN = 5


def forget_question(missing: Any) -> str:
    """The confirmation: how many songs and labels will be forgotten, and what that means."""
    n, labels = len(missing.paths), missing.labelled
    files = "file is" if n == 1 else "files are"
    text = f"Forget {count_text(n, 'song')} whose {files} no longer in {missing.root}"
    text += f", and {count_text(labels, 'mood label')} of yours?" if labels else "?"
    # which songs, named from the music folder
    names = [name_in(p, missing.root) for p in sorted(missing.paths)[:SHOWN]]
    if n > SHOWN:
        names.append(f"and {n - SHOWN} more")
    text += "\n\n" + "\n".join(f"  {name}" for name in names)
    text += (
        "\n\nTheir moods, labels and tag-write history are removed from the library. If "
        "the files come back, they are new songs, analysed again without those labels. "
        "No file is changed."
    )
    if missing.unreadable:
        text += (
            f"\n\n{count_text(len(missing.unreadable), 'folder or file')} could not be read; "
            "the songs in them are kept."
        )
    return text
