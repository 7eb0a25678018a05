"""How fast are the mood map and the playlist builder with a big library?

    QT_QPA_PLATFORM=offscreen python -m benchmarks.mood_map [N]

Prints: set_rows, full repaint (cache rebuild), cached repaint, hover lookups, rubber-band
selection, and build_playlist for every order, for N generated rows (default 20,000).
"""

from __future__ import annotations

import os
import statistics
import sys
import time

import numpy as np

from tagger.core.library import LibraryRow
from tagger.core.moods import MOODS, MoodScores


def demo_rows(n: int, seed: int = 0) -> list[LibraryRow]:
    """``n`` plausible rows: each song leans to one mood (Dirichlet), ~5 % labelled,
    ~1 % decode errors, artists/albums/titles and durations of 2-7 minutes."""
    rng = np.random.default_rng(seed)
    words = [
        "blue",
        "night",
        "river",
        "fire",
        "gold",
        "rain",
        "echo",
        "dawn",
        "glass",
        "paper",
        "neon",
        "velvet",
        "storm",
    ]
    rows = []
    for i in range(n):
        k = int(rng.integers(0, 4))
        alpha = np.ones(4) * 1.2
        alpha[k] += 4.0
        probs = rng.dirichlet(alpha)
        artist = f"{words[i % 13].title()} {words[(i // 13) % 13].title()}"
        error = rng.random() < 0.01
        scores = None if error else MoodScores.from_probabilities(probs)
        label = MOODS[k] if (not error and rng.random() < 0.05) else None
        rows.append(
            LibraryRow(
                track_id=i + 1,
                path=f"/music/{artist}/Album {i // 11 % 7}/{i % 11 + 1:02d} {words[i % 11]}.flac",
                title=f"{words[(i * 7) % 13].title()} {words[(i * 3) % 13]} {i}",
                artist=artist,
                album=f"Album {i // 11 % 7}",
                tracknumber=i % 11 + 1,
                duration=float(rng.uniform(120, 420)),
                mood_tag=None,
                scores=scores,
                label=label,
                error="could not decode" if error else None,
                model_id="demo",
            )
        )
    return rows


def _time(fn, repeat: int = 5) -> float:
    times = []
    for _ in range(repeat):
        t = time.perf_counter()
        fn()
        times.append(time.perf_counter() - t)
    return statistics.median(times)


def main() -> None:
    os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
    from PySide6.QtCore import QPoint, QRect
    from PySide6.QtWidgets import QApplication

    from tagger.core.playlists import ORDERS, PlaylistIndex, PlaylistSpec, build_playlist
    from tagger.ui.mood_map import MoodMapView
    from tagger.ui.playlist_view import PlaylistView

    n = int(sys.argv[1]) if len(sys.argv) > 1 else 20_000
    app = QApplication.instance() or QApplication([])
    rows = demo_rows(n)
    print(f"{n} rows ({sum(r.scores is None for r in rows)} errors)")
    view = MoodMapView()
    view.resize(900, 700)
    view.show()
    app.processEvents()
    print(f"map set_rows           {_time(lambda: view.set_rows(rows)) * 1000:8.1f} ms")

    def full() -> None:
        view._invalidate()
        view.grab()

    print(f"map repaint (rebuild)  {_time(full) * 1000:8.1f} ms")
    print(f"map repaint (cached)   {_time(view.grab) * 1000:8.1f} ms")
    rng = np.random.default_rng(0)
    pts = [QPoint(int(x), int(y)) for x, y in rng.random((2000, 2)) * (900, 700)]
    t = _time(lambda: [view.index_at(p) for p in pts], 3)
    print(f"map hover lookup       {t / len(pts) * 1e6:8.1f} µs per mouse move")
    band = QRect(200, 100, 300, 300)
    print(f"map rubber-band select {_time(lambda: view.ids_in_rect(band)) * 1000:8.1f} ms")
    for order in ORDERS:
        t = _time(lambda o=order: build_playlist(rows, PlaylistSpec(order=o)), 3)
        tl = _time(lambda o=order: build_playlist(rows, PlaylistSpec(order=o, limit=50)), 3)
        print(f"build {order:<12} all {t * 1000:7.1f} ms   limit 50 {tl * 1000:7.1f} ms")
    index = PlaylistIndex(rows)
    for order in ORDERS:
        t = _time(lambda o=order: index.build(PlaylistSpec(order=o)), 3)
        tl = _time(lambda o=order: index.build(PlaylistSpec(order=o, limit=50, moods=("calm",))), 3)
        print(f"index {order:<12} all {t * 1000:7.1f} ms   calm, limit 50 {tl * 1000:7.1f} ms")
    pv = PlaylistView()
    pv.resize(1100, 700)
    pv.show()
    app.processEvents()
    print(f"builder set_rows       {_time(lambda: pv.set_rows(rows), 3) * 1000:8.1f} ms")


if __name__ == "__main__":
    main()
