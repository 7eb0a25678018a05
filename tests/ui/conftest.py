"""Fixtures for the GUI tests (Qt runs offscreen; see tests/conftest.py)."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.audio_factory import write_audio


@pytest.fixture
def make_window(qtbot, tiny_model_path):
    """Build a MainWindow on a folder with the tiny model and one analysis process."""
    from tagger.ui.main_window import MainWindow

    made = []

    def make(folder=None, **kw):
        kw.setdefault("model", tiny_model_path)
        kw.setdefault("jobs", 1)
        w = MainWindow(folder, **kw)
        qtbot.addWidget(w)
        made.append(w)
        return w

    yield make
    for w in made:
        assert w.shutdown(10_000), "background work did not stop"


@pytest.fixture
def small_library(tmp_path) -> Path:
    """Twelve short songs (a fresh copy per test, safe to write to)."""
    root = tmp_path / "small"
    for i in range(12):
        write_audio(
            root / f"Band {i % 2}" / "Record" / f"{i + 1:02d} Track {i}.wav",
            seconds=3.0,
            kind=("calm", "bright", "harsh")[i % 3],
            seed=i,
        )
    return root
