"""GUI responsiveness: event-loop stalls while analysing, and showing a 50,000-track library.

    python benchmarks/gui.py [--tracks 200] [--seconds 20] [--jobs N] [--big 50000]
                             [--tiny] [--skip-analysis] [--skip-big]

1. Stall: a QTimer heartbeat (every 10 ms) runs while the main window analyses ``--tracks``
   generated songs with the bundled model (``--tiny``: a tiny random model) in its worker;
   the longest lateness of a beat is the longest time the GUI could not respond.
   Target: <= 100 ms.
2. Big library: ``--big`` fake tracks + predictions are inserted into a fresh store; the
   time from "open folder" to the table painted with every row (library_rows + model +
   first paint) is measured, plus sorting by mood, a mood filter and a search.
   Target: <= 2 s to show.

Runs offscreen (QT_QPA_PLATFORM=offscreen unless set) in a temporary MOOD_TAGGER_HOME.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import sys
import tempfile
import time
from pathlib import Path

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))


def _app():
    from tagger.ui.app import create_application

    return create_application(["bench"])


class GcPauses:
    """Longest garbage-collector pause per generation (gc.callbacks)."""

    def __init__(self) -> None:
        import gc

        self.max_ms = [0.0, 0.0, 0.0]
        self.count = [0, 0, 0]
        self._t = 0.0
        gc.callbacks.append(self._cb)

    def _cb(self, phase: str, info: dict) -> None:
        if phase == "start":
            self._t = time.perf_counter()
        else:
            g = info["generation"]
            self.count[g] += 1
            self.max_ms[g] = max(self.max_ms[g], 1000 * (time.perf_counter() - self._t))

    def stop(self) -> None:
        import gc

        gc.callbacks.remove(self._cb)


class Heartbeat:
    """Measures how late a periodic QTimer fires (the GUI thread's stalls)."""

    def __init__(self, interval_ms: int = 10) -> None:
        from PySide6.QtCore import Qt, QTimer

        self.interval = interval_ms / 1000
        self.lateness: list[float] = []
        self.at: list[float] = []  # when each beat fired (s since start)
        self._start = self._last = time.perf_counter()
        self.timer = QTimer()
        self.timer.setTimerType(Qt.TimerType.PreciseTimer)
        self.timer.timeout.connect(self._beat)
        self.timer.start(interval_ms)

    def _beat(self) -> None:
        now = time.perf_counter()
        self.lateness.append(max(0.0, now - self._last - self.interval))
        self.at.append(now - self._start)
        self._last = now

    def stop(self) -> None:
        self.timer.stop()


def bench_stall(tracks: int, seconds: float, jobs: int | None, tiny: bool, tmp: Path) -> None:
    from PySide6.QtCore import QEventLoop, QTimer

    from tagger.ui.main_window import MainWindow
    from tests.audio_factory import write_audio

    root = tmp / "lib200"
    print(f"generating {tracks} songs of {seconds:.0f} s…", flush=True)
    kinds = ("calm", "bright", "harsh")
    exts = (".flac", ".wav", ".mp3", ".ogg")
    for i in range(tracks):
        write_audio(
            root / f"Artist {i % 10}" / f"Album {i % 4}" / f"{i:03d} Song{exts[i % 4]}",
            seconds=seconds,
            kind=kinds[i % 3],
            seed=i,
        )
    model = None
    if tiny:
        import torch

        from tagger.core.checkpoint import save_checkpoint
        from tagger.core.features import FeatureConfig
        from tagger.core.model import MoodCNN

        torch.manual_seed(0)
        m = MoodCNN(channels=(4, 8), dropout=0.0).eval()
        model = tmp / "tiny.pt"
        save_checkpoint(model, m, FeatureConfig(), {"name": "tiny"})

    app = _app()
    window = MainWindow(None, model=model, jobs=jobs)
    window.show()
    app.processEvents()
    loop = QEventLoop()
    window.analysis_finished.connect(lambda _c: loop.quit())
    beat = Heartbeat()
    gcp = GcPauses()
    t0 = time.perf_counter()
    QTimer.singleShot(0, lambda: window.open_folder(root))
    loop.exec()
    elapsed = time.perf_counter() - t0
    beat.stop()
    gcp.stop()
    window.close()
    late = sorted(beat.lateness)
    big = [
        (round(t, 1), round(1000 * v))
        for t, v in zip(beat.at, beat.lateness, strict=True)
        if v > 0.05
    ]
    done = sum(r.scores is not None for r in window.rows)
    print(
        json.dumps(
            {
                "benchmark": "gui stall while analysing",
                "tracks": tracks,
                "analysed": done,
                "seconds_per_track": seconds,
                "jobs": jobs or "default",
                "wall_s": round(elapsed, 2),
                "beats": len(late),
                "max_stall_ms": round(1000 * late[-1], 1) if late else None,
                "p99_stall_ms": round(1000 * late[int(len(late) * 0.99)], 1) if late else None,
                "median_lateness_ms": round(1000 * statistics.median(late), 2) if late else None,
                "target_max_stall_ms": 100,
                "stalls_over_50ms_at_s_ms": big[:10],
                "load_average_1min": round(os.getloadavg()[0], 2),
                "gc_max_pause_ms_by_generation": [round(x, 1) for x in gcp.max_ms],
                "gc_collections_by_generation": gcp.count,
            }
        ),
        flush=True,
    )


def bench_big(n: int, tmp: Path) -> None:
    import torch
    from PySide6.QtCore import Qt

    from tagger.core.analysis import ANALYSIS_VERSION
    from tagger.core.checkpoint import load_checkpoint, save_checkpoint
    from tagger.core.features import FeatureConfig
    from tagger.core.model import MoodCNN
    from tagger.core.store import Store
    from tagger.ui.library_model import Column
    from tagger.ui.main_window import MainWindow

    torch.manual_seed(0)
    path = tmp / "tiny-big.pt"
    save_checkpoint(path, MoodCNN(channels=(4, 8)).eval(), FeatureConfig(), {"name": "tiny"})
    loaded = load_checkpoint(path)

    root = (tmp / "big").resolve()
    root.mkdir()
    print(f"inserting {n} fake tracks + predictions…", flush=True)
    t0 = time.perf_counter()
    store = Store.open_default()
    rows = [
        {
            "path": f"{root}/Artist {i % 997}/Album {i % 53}/{i:05d} Track {i}.flac",
            "size": 1000 + i,
            "mtime_ns": 1,
            "title": f"Track {i}",
            "artist": f"Artist {i % 997}",
            "album": f"Album {i % 53}",
            "tracknumber": i % 20,
            "mood_tag": None,
            "duration": 200.0,
            "tag_error": None,
        }
        for i in range(n)
    ]
    store.upsert_tracks(rows)
    ids = store.db.execute("SELECT id, size FROM tracks").fetchall()
    with store.db:
        store.db.executemany(
            """INSERT INTO predictions (track_id, model_id, analysis_version, size, mtime_ns,
                   probs, duration, windows, error, created_at) VALUES (?,?,?,?,?,?,?,?,?,?)""",
            (
                (
                    tid,
                    loaded.model_id,
                    ANALYSIS_VERSION,
                    size,
                    1,
                    json.dumps([0.55 if (tid % 4) == k else 0.15 for k in range(4)]),
                    200.0,
                    "[10.0, 40.0]",
                    None,
                    0.0,
                )
                for tid, size in ids
            ),
        )
    store.close()
    print(f"  setup {time.perf_counter() - t0:.1f} s", flush=True)

    app = _app()
    window = MainWindow(None, model=loaded, auto_analyse=False)
    window.show()
    app.processEvents()
    t0 = time.perf_counter()
    window.open_folder(root)  # no analysis: rows straight from the store
    window.table.viewport().repaint()
    app.processEvents()
    show = time.perf_counter() - t0
    shown = window.proxy.rowCount()
    with_mood = sum(r.mood is not None for r in window.rows)

    def timed(fn) -> float:
        t = time.perf_counter()
        fn()
        window.table.viewport().repaint()
        app.processEvents()
        return time.perf_counter() - t

    # the GUI thread's share when rows arrive from a worker (library_rows runs there)
    from tagger.core.library import library_rows

    snapshot = library_rows(root, window.store, loaded.model_id)
    window.library_model.set_rows([])
    gui_t = timed(lambda: window._rows_arrived(snapshot))

    sort_t = timed(lambda: window.table.sortByColumn(Column.MOOD, Qt.SortOrder.AscendingOrder))
    filter_t = timed(lambda: window.mood_actions["happy"].trigger())
    window.mood_actions["happy"].trigger()
    search_t = timed(lambda: window.proxy.set_search("track 4242"))
    found = window.proxy.rowCount()
    clear_t = timed(lambda: window.proxy.set_search(""))
    window.table.selectAll()  # label every song at once (Tags > Set Mood of Selected Songs)
    label_t = timed(lambda: window.label_selected("calm"))
    unlabel_t = timed(lambda: window.label_selected(None))
    window.close()
    print(
        json.dumps(
            {
                "benchmark": "show big library",
                "tracks": n,
                "rows_shown": shown,
                "rows_with_mood": with_mood,
                "show_s": round(show, 3),
                "target_show_s": 2.0,
                "gui_thread_rows_arrived_s": round(gui_t, 3),
                "sort_by_mood_s": round(sort_t, 3),
                "mood_filter_s": round(filter_t, 3),
                "search_s": round(search_t, 3),
                "search_hits": found,
                "clear_search_s": round(clear_t, 3),
                "label_all_s": round(label_t, 3),
                "clear_all_labels_s": round(unlabel_t, 3),
            }
        ),
        flush=True,
    )


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--tracks", type=int, default=200)
    ap.add_argument("--seconds", type=float, default=20.0, help="length of each song")
    ap.add_argument("--jobs", type=int, default=None, help="analysis processes (default: cores)")
    ap.add_argument("--big", type=int, default=50_000)
    ap.add_argument("--tiny", action="store_true", help="tiny random model (mechanics only)")
    ap.add_argument("--skip-analysis", action="store_true")
    ap.add_argument("--skip-big", action="store_true")
    args = ap.parse_args()
    with tempfile.TemporaryDirectory(prefix="gui-bench-") as d:
        tmp = Path(d)
        os.environ["MOOD_TAGGER_HOME"] = str(tmp / "home")
        if not args.skip_big:
            bench_big(args.big, tmp)
        if not args.skip_analysis:
            bench_stall(args.tracks, args.seconds, args.jobs, args.tiny, tmp)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
