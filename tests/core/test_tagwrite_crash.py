"""Crash safety: a writer SIGKILLed at random moments never leaves a half-written file.

20 times: a subprocess writes a new mood into every file of a small library and is
killed at a random moment. Afterwards every file opens, holds either its old or its new
mood, and its decoded audio is unchanged; undoing the interrupted batch brings every
file back to its old mood.
"""

from __future__ import annotations

import os
import random
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from tagger.core.scan import scan
from tagger.core.store import Store
from tagger.core.tags import read_tags
from tagger.core.tagwrite import PlannedChange, WriteSummary, apply_write, undo_last
from tests.tag_factory import audio_hash, make_tagged

ROOT = Path(__file__).resolve().parents[2]

WRITER = """
import sys
from tagger.core.store import Store
from tagger.core.tagwrite import PlannedChange, apply_write

db, root, mood = sys.argv[1:4]
store = Store(db)
changes = [
    PlannedChange(t.id, t.path, t.mood_tag, mood, "label")
    for t in store.tracks_under(root).values()
]
print("ready", flush=True)
for _ in apply_write(changes, store, root):
    pass
print("done", flush=True)
"""

MOODS = ["Happy", "Aggressive", "Sad", "Calm"]  # never "Calm" twice in a row


@pytest.mark.slow
def test_sigkill_during_batch_leaves_every_file_old_or_new(tmp_path):
    rng = random.Random(1234)
    root = tmp_path / "music"
    templates = {
        ".mp3": make_tagged(tmp_path / "t" / "a.mp3", "mp3v23", seconds=1.0),
        ".flac": make_tagged(tmp_path / "t" / "b.flac", "flac", seconds=1.0),
        ".m4a": make_tagged(tmp_path / "t" / "c.m4a", "m4a", seconds=1.0),
        ".ogg": make_tagged(tmp_path / "t" / "d.ogg", "ogg", seconds=1.0),
    }
    hashes = {ext: audio_hash(p) for ext, p in templates.items()}
    files: list[Path] = []
    for i in range(24):
        ext = list(templates)[i % len(templates)]
        dest = root / f"album{i % 3}" / f"{i:02d} song{ext}"
        dest.parent.mkdir(parents=True, exist_ok=True)
        shutil.copy(templates[ext], dest)
        files.append(dest)
    db = tmp_path / "library.sqlite"
    script = tmp_path / "writer.py"
    script.write_text(WRITER)
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    # calibrate: how long one whole batch takes here, from "ready" to "done"
    with Store(db) as store:
        for _ in scan(root, store):
            pass
    t0 = 0.0
    proc = subprocess.Popen(
        [sys.executable, str(script), str(db), str(root), "Calm"],
        env=env,
        stdout=subprocess.PIPE,
        text=True,
    )
    assert proc.stdout is not None
    for line in proc.stdout:
        if line.strip() == "ready":
            t0 = time.monotonic()
        elif line.strip() == "done":
            break
    batch_s = time.monotonic() - t0
    proc.wait(timeout=30)
    proc.stdout.close()
    killed = partial = 0
    for attempt in range(20):
        store = Store(db)
        for _ in scan(root, store):  # the store learns what the last run left behind
            pass
        old = {p: read_tags(p).mood for p in files}
        last_batch = store.last_write_batch(root)
        new = MOODS[attempt % len(MOODS)]
        proc = subprocess.Popen(
            [sys.executable, str(script), str(db), str(root), new],
            env=env,
            stdout=subprocess.PIPE,
            text=True,
        )
        assert proc.stdout is not None
        assert proc.stdout.readline().strip() == "ready"
        time.sleep(rng.uniform(0.0, batch_s))
        proc.send_signal(signal.SIGKILL)
        proc.wait(timeout=30)
        finished = "done" in (proc.stdout.read() or "")
        proc.stdout.close()
        killed += not finished
        moods = []
        for p in files:
            mood = read_tags(p).mood  # opens: not half-written
            assert mood in (old[p], new), (attempt, p, mood)
            assert audio_hash(p) == hashes[p.suffix]
            moods.append(mood)
        partial += 0 < sum(m == new for m in moods) < len(files) and old[files[0]] != new
        journalled = store.last_write_batch(root) != last_batch
        if not journalled:  # killed before the journal was committed: no file touched
            assert moods == [old[p] for p in files]
        elif attempt % 5 == 4:  # every few rounds: undo the interrupted batch
            summary = None
            for ev in undo_last(root, store):
                if isinstance(ev, WriteSummary):
                    summary = ev
            assert summary is not None and summary.failed == 0, summary
            for p in files:
                assert read_tags(p).mood == old[p]
                assert audio_hash(p) == hashes[p.suffix]
        store.close()
    assert killed >= 8  # the kills really landed during batches
    assert partial >= 2  # ... and several of them in the middle of the writing
    # a finished batch removes the temporary files that killed writers left behind
    store = Store(db)
    for _ in scan(root, store):
        pass
    changes = [
        PlannedChange(t.id, t.path, t.mood_tag, "Happy", "label")
        for t in store.tracks_under(root).values()
    ]
    for _ in apply_write(changes, store, root):
        pass
    assert all(read_tags(p).mood == "Happy" for p in files)
    assert not [n for d in root.iterdir() for n in os.listdir(d) if n.startswith(".")]
    store.close()
