"""Stand-ins shared by the GUI tests."""

from __future__ import annotations


class FakeStream:
    """A sounddevice output stream that plays nothing (tests have no sound card)."""

    def __init__(self, samplerate, channels, dtype, callback):
        self.active = False

    def start(self):
        self.active = True

    def stop(self):
        self.active = False

    def close(self):
        pass
