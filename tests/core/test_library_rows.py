"""library_rows: one snapshot row per present track, with only valid predictions."""

from __future__ import annotations

from pathlib import Path

import pytest

from tagger.core.analysis import ANALYSIS_VERSION
from tagger.core.library import library_rows
from tagger.core.store import Store


def test_rows_join_tracks_predictions_and_labels(tmp_path):
    root = (tmp_path / "music").resolve()
    store = Store(tmp_path / "db.sqlite3")

    def track(name: str, size: int = 10) -> dict:
        return {
            "path": str(root / "A" / "B" / name),
            "size": size,
            "mtime_ns": 1,
            "title": name,
            "artist": "A",
            "album": "B",
            "tracknumber": None,
            "mood_tag": "Calm" if name == "c.mp3" else None,
            "duration": 100.0,
            "tag_error": "cannot read tags: junk" if name == "b.mp3" else None,
        }

    names = ["a.mp3", "b.mp3", "c.mp3", "d.mp3", "e.mp3"]
    store.upsert_tracks([track(n) for n in names])
    store.upsert_tracks([{**track("elsewhere.mp3"), "path": str(tmp_path / "x.mp3")}])
    ids = {Path(p).name: t.id for p, t in store.tracks_under(root).items()}
    probs = [0.1, 0.6, 0.2, 0.1]
    store.save_prediction(ids["a.mp3"], "m", ANALYSIS_VERSION, 10, 1, probs, 90.0, [5.0, 40.0])
    store.save_prediction(ids["b.mp3"], "m", ANALYSIS_VERSION, 10, 1, None, error="corrupt")
    store.save_prediction(ids["c.mp3"], "other", ANALYSIS_VERSION, 10, 1, probs)  # other model
    store.save_prediction(ids["d.mp3"], "m", ANALYSIS_VERSION, 99, 1, probs)  # stale: size
    store.add_label(ids["a.mp3"], "sad")
    store.add_label(ids["e.mp3"], "calm")
    store.mark_missing([str(root / "A" / "B" / "e.mp3")])

    rows = library_rows(root, store, "m")
    by = {Path(r.path).name: r for r in rows}
    assert list(by) == ["a.mp3", "b.mp3", "c.mp3", "d.mp3"]  # path order, present only
    a = by["a.mp3"]
    assert a.scores is not None and a.scores.probabilities == pytest.approx(probs)
    assert a.predicted_mood == "aggressive" and a.label == "sad" and a.mood == "sad"
    assert a.window_starts == (5.0, 40.0) and a.duration == 90.0 and a.model_id == "m"
    b = by["b.mp3"]
    assert b.scores is None and b.error == "corrupt" and b.model_id == "m"
    assert b.tag_error == "cannot read tags: junk" and a.tag_error is None
    for name in ("c.mp3", "d.mp3"):
        r = by[name]
        assert r.scores is None and r.error is None and r.model_id is None
        assert r.window_starts == () and r.duration == 100.0
    assert by["c.mp3"].mood_tag == "Calm"
