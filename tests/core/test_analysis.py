from __future__ import annotations

import os
import shutil

import numpy as np
import pytest

from tagger.core.analysis import (
    ANALYSIS_VERSION,
    Analyzer,
    analyze_many,
    analyze_one,
    window_starts,
)
from tagger.core.checkpoint import load_checkpoint
from tagger.core.errors import SILENT_MESSAGE, FileError
from tagger.core.library import AnalysisSummary, TrackAnalysed, analyze_library, library_rows
from tagger.core.moods import MOODS
from tagger.core.store import Store
from tests.audio_factory import write_audio


def test_window_plan():
    assert window_starts(30.0, 5.0) == [0.0, 5.0, 10.0, 15.0, 20.0, 25.0]
    w = window_starts(240.0, 5.0)
    assert w[0] == 10.0 and w[-1] + 5.0 == 230.0 and len(w) == 6  # intro/outro skipped
    assert window_starts(3.0, 5.0) == [0.0]
    assert window_starts(12.0, 5.0) == [0.0, 7.0]
    assert window_starts(240.0, 5.0, n_max=3) == [10.0, 117.5, 225.0]


def test_song_analysis_is_deterministic_and_consistent(tmp_path, bundled_model):
    path = write_audio(tmp_path / "a.mp3", seconds=70.0, kind="bright")
    a = Analyzer(bundled_model).analyze(path)
    b = Analyzer(bundled_model).analyze(path)
    assert a.scores == b.scores
    p = np.array(a.scores.probabilities)
    assert p.sum() == pytest.approx(1.0) and (p >= 0).all()
    assert a.scores.energy == pytest.approx(p[0] + p[1])
    assert a.scores.valence == pytest.approx(p[0] + p[3])
    assert a.scores.confidence == pytest.approx(p.max())
    n = bundled_model.features.max_windows
    assert a.window_starts[0] == 10.0 and len(a.window_starts) == n
    assert a.window_starts[-1] + bundled_model.features.segment_seconds == pytest.approx(60.008)


def test_parallel_and_serial_agree(library, bundled_model):
    paths = sorted(str(p) for p in library.rglob("*.*") if p.suffix in (".flac", ".mp3", ".wav"))
    serial = dict(analyze_many(paths, bundled_model, jobs=1))
    parallel = dict(analyze_many(paths, bundled_model, jobs=2))
    assert serial.keys() == parallel.keys()
    for p in paths:
        s, q = serial[p], parallel[p]
        if isinstance(s, FileError):
            assert isinstance(q, FileError) and str(s) == str(q)
        else:
            assert s.scores == q.scores


def test_library_analysis_end_to_end(library, tmp_path, bundled_model):
    with Store(tmp_path / "db.sqlite3") as store:
        events = list(analyze_library(library, store, bundled_model, jobs=1))
        summary = events[-1]
        assert isinstance(summary, AnalysisSummary)
        done = [e for e in events if isinstance(e, TrackAnalysed)]
        assert len(done) == 11 and summary.failed == 4
        assert summary.cached_errors == 0 and summary.errors == 4
        rows = library_rows(library, store, bundled_model.model_id)
        # a second run retries nothing, but still counts the files that could not be read
        again = list(analyze_library(library, store, bundled_model, jobs=1))[-1]
        assert (again.analysed, again.failed, again.cached) == (0, 0, 11)
        assert again.cached_errors == 4 and again.errors == 4
    errors = {os.path.basename(r.path): r.error for r in rows if r.scores is None}
    assert set(errors) == {"empty.mp3", "notes.flac", "corrupt.ogg", "truncated.wav"}
    assert all(errors.values())
    good = [r for r in rows if r.scores]
    assert len(good) == 7
    assert len({r.scores.probabilities for r in good}) == 7


def test_store_invalidation_on_file_and_model_change(tmp_path, bundled_model, tiny_model_path):
    root = tmp_path / "music"
    for i in range(3):
        write_audio(root / "A" / "B" / f"{i}.flac", 6.0, seed=i)
    db = tmp_path / "db.sqlite3"

    def analysed(model) -> int:
        with Store(db) as store:
            return sum(
                isinstance(e, TrackAnalysed) for e in analyze_library(root, store, model, jobs=1)
            )

    assert analysed(bundled_model) == 3
    assert analysed(bundled_model) == 0  # cached
    changed = root / "A" / "B" / "1.flac"
    write_audio(changed, 7.0, seed=9)
    os.utime(changed, ns=(1, 2 * 10**18))
    assert analysed(bundled_model) == 1  # only the changed file
    tiny = load_checkpoint(tiny_model_path)
    assert analysed(tiny) == 3  # another model: everything again
    assert analysed(bundled_model) == 0  # the first model's results are still cached
    with Store(db) as store:
        assert len(store.predictions_under(root, bundled_model.model_id, ANALYSIS_VERSION)) == 3


def test_cancel_stops_analysis(tmp_path, bundled_model):
    from tagger.core.progress import CancelToken

    root = tmp_path / "music"
    for i in range(6):
        write_audio(root / "A" / "B" / f"{i}.wav", 6.0, seed=i)
    token = CancelToken()
    seen = 0
    with Store(tmp_path / "db.sqlite3") as store:
        for e in analyze_library(root, store, bundled_model, jobs=1, cancel=token):
            if isinstance(e, TrackAnalysed):
                seen += 1
                if seen == 2:
                    token.cancel()
            if isinstance(e, AnalysisSummary):
                assert e.cancelled
        assert seen == 2
        with Store(tmp_path / "db.sqlite3") as s2:
            cached = s2.predictions_under(root, bundled_model.model_id, ANALYSIS_VERSION)
        assert len(cached) == 2
    shutil.rmtree(root)


def test_silence_and_tiny_files_get_a_message_not_a_mood(tmp_path, bundled_model):
    import soundfile as sf

    silent = tmp_path / "silence.wav"
    sf.write(silent, np.zeros((44100 * 40, 2), np.float32), 44100)
    dithered = tmp_path / "dithered.flac"  # +-1 LSB of 16-bit dither is still silence
    rng = np.random.default_rng(0)
    sf.write(dithered, rng.integers(-1, 2, 44100 * 40).astype(np.int16), 44100)
    tiny = write_audio(tmp_path / "tiny.wav", seconds=0.4, kind="bright")
    quiet = tmp_path / "quiet.wav"  # a very soft song (-50 dBFS) still gets a mood
    sf.write(quiet, write_tone(40.0) * 10 ** (-50 / 20) / 0.2, 44100)
    analyzer = Analyzer(bundled_model)
    for path in (silent, dithered):
        err = analyze_one(analyzer, path)
        assert isinstance(err, FileError) and str(err) == SILENT_MESSAGE
    err = analyze_one(analyzer, tiny)
    assert isinstance(err, FileError) and "too short" in str(err)
    assert analyze_one(analyzer, quiet).scores.mood in MOODS


def test_nan_and_inf_samples_do_not_stop_analysis(tmp_path, bundled_model):
    import soundfile as sf

    y = write_tone(40.0)
    y[1000:2000] = np.inf
    y[5000:6000] = np.nan
    path = tmp_path / "broken export.wav"
    sf.write(path, y, 44100, subtype="FLOAT")
    result = analyze_one(Analyzer(bundled_model), path)
    assert not isinstance(result, FileError), result
    assert np.isfinite(result.scores.probabilities).all()


def write_tone(seconds: float) -> np.ndarray:
    """A mono chord at about -14 dBFS RMS."""
    t = np.arange(int(seconds * 44100)) / 44100
    return sum(0.2 * np.sin(2 * np.pi * f * t) for f in (220.0, 277.2, 329.6)).astype(np.float32)


def test_an_unexpected_error_is_not_cached_as_the_files_own(tmp_path, bundled_model, monkeypatch):
    """A broken install (a decoding library whose API changed) made every song fail with
    "unexpected error: ..."; that was stored as each file's error, so the songs stayed
    unreadable after the install was fixed. Such an error now shows for the run, and the
    next run tries the file again."""
    root = tmp_path / "music"
    for i in range(2):
        write_audio(root / "A" / "B" / f"{i}.flac", 6.0, seed=i)
    real = Analyzer.analyze

    def broken(self, path):
        raise TypeError("open() got an unexpected keyword argument 'metadata_errors'")

    with Store(tmp_path / "db.sqlite3") as store:
        monkeypatch.setattr(Analyzer, "analyze", broken)
        events = list(analyze_library(root, store, bundled_model, jobs=1))
        failed = [e for e in events if isinstance(e, TrackAnalysed)]
        assert len(failed) == 2 and all(e.error.startswith("unexpected error: ") for e in failed)
        assert events[-1].failed == 2
        monkeypatch.setattr(Analyzer, "analyze", real)  # the install is fixed
        summary = list(analyze_library(root, store, bundled_model, jobs=1))[-1]
        assert (summary.analysed, summary.failed, summary.cached_errors) == (2, 0, 0)
        rows = library_rows(root, store, bundled_model.model_id)
    assert all(r.scores is not None and not r.error for r in rows)


def _sigint_disposition(q) -> None:
    import signal

    q.put(signal.getsignal(signal.SIGINT) == signal.SIG_IGN)


def test_analysis_workers_start_with_ctrl_c_ignored():
    """Ctrl+C while the workers were starting printed a KeyboardInterrupt traceback from
    each of them (inside `import torch`); only the parent is to stop on it, and the
    parent's own handler is back afterwards."""
    import multiprocessing
    import signal

    from tagger.core.analysis import _workers_ignore_sigint

    before = signal.getsignal(signal.SIGINT)
    ctx = multiprocessing.get_context("spawn")
    q = ctx.Queue()
    with _workers_ignore_sigint():
        p = ctx.Process(target=_sigint_disposition, args=(q,))
        p.start()
    assert signal.getsignal(signal.SIGINT) is before
    assert q.get(timeout=60) is True
    p.join(30)
    plain = ctx.Process(target=_sigint_disposition, args=(q,))
    plain.start()
    assert q.get(timeout=60) is False  # without it, a child has Python's own handler
    plain.join(30)


def test_one_huge_float_sample_gives_a_mood_not_nan(tmp_path, bundled_model):
    """A single sample of 1e30 in a float WAV (finite, so not cleaned as NaN/Inf was)
    made the power overflow: every probability NaN, stored as a success, written as
    invalid JSON. Such samples are clipped; a non-finite result is an error, never a mood."""
    import soundfile as sf

    y = np.stack([write_tone(20.0)] * 2, axis=1)
    y[100_000, 0] = 1e30
    path = tmp_path / "spike.wav"
    sf.write(path, y, 44100, subtype="FLOAT")
    analyzer = Analyzer(bundled_model)
    result = analyze_one(analyzer, path)
    assert not isinstance(result, FileError), result
    assert np.isfinite(result.scores.probabilities).all()

    analyzer.song_probabilities = lambda patches: np.full(4, np.nan)  # whatever the cause
    err = analyze_one(analyzer, path)
    assert isinstance(err, FileError) and "no valid mood" in str(err)


def test_a_dc_offset_alone_is_silent(tmp_path, bundled_model):
    """A constant 0.5 (or a silent track's hiss on a DC offset, from a faulty converter)
    read as -6 dBFS of sound and got a confident "aggressive"."""
    import soundfile as sf

    rng = np.random.default_rng(0)
    n = 20 * 44100
    dc = tmp_path / "dc.wav"
    sf.write(dc, np.full(n, 0.5, np.float32), 44100, subtype="PCM_16")
    hiss = tmp_path / "dc hiss.wav"
    sf.write(hiss, (0.05 + 1e-4 * rng.standard_normal(n)).astype(np.float32), 44100)
    analyzer = Analyzer(bundled_model)
    for path in (dc, hiss):
        err = analyze_one(analyzer, path)
        assert isinstance(err, FileError) and str(err) == SILENT_MESSAGE, (path, err)
    music = tmp_path / "tone on dc.wav"
    sf.write(music, write_tone(20.0) + 0.05, 44100, subtype="FLOAT")
    assert analyze_one(analyzer, music).scores.mood in MOODS


def test_a_permission_error_is_read_again_next_run(tmp_path, bundled_model):
    """ "permission denied" was cached under the file's size and mtime, which a chmod (the
    fix the message asks for) leaves as they were: the file was never read again."""
    root = tmp_path / "music"
    song = write_audio(root / "A" / "B" / "song.flac", 6.0, seed=1)
    other = write_audio(root / "A" / "B" / "other.flac", 6.0, seed=2)
    with Store(tmp_path / "db.sqlite3") as store:
        list(analyze_library(root, store, bundled_model, jobs=1))
        tracks = store.tracks_under(root)
        for path, why in ((song, "permission denied"), (other, "not a readable audio file")):
            t = tracks[str(path)]
            key = (t.id, bundled_model.model_id, ANALYSIS_VERSION, t.size, t.mtime_ns)
            store.save_prediction(*key, None, error=why)  # as a run without access left it
        summary = list(analyze_library(root, store, bundled_model, jobs=1))[-1]
        assert (summary.analysed, summary.cached, summary.cached_errors) == (1, 1, 1)
        rows = {r.path: r for r in library_rows(root, store, bundled_model.model_id)}
        assert rows[str(song)].scores is not None  # read now that it can be
        assert rows[str(other)].scores is None  # a file's own fault stays cached
