"""Progress events and cancellation shared by every long core job (CLI and GUI alike)."""

from __future__ import annotations

import threading
from dataclasses import dataclass


class CancelToken:
    """Set from any thread; long jobs check it between items and stop cleanly."""

    def __init__(self) -> None:
        self._event = threading.Event()

    def cancel(self) -> None:
        self._event.set()

    @property
    def cancelled(self) -> bool:
        return self._event.is_set()


@dataclass(frozen=True, slots=True)
class Progress:
    """``done`` of ``total`` items of ``stage`` are finished."""

    stage: str
    done: int
    total: int
    current: str = ""
