"""GeneratorWorker: results, throttled progress, errors, cancel; analysis priority."""

from __future__ import annotations

import os
import sys
import threading

import pytest

from tagger.core.progress import Progress
from tagger.ui.workers import GeneratorWorker, lower_thread_priority


def run(qtbot, func, *args):
    w = GeneratorWorker(func, *args)
    got = {"yielded": [], "progress": [], "errored": []}
    w.signals.yielded.connect(got["yielded"].append)
    w.signals.progress.connect(got["progress"].append)
    w.signals.errored.connect(got["errored"].append)
    with qtbot.waitSignal(w.signals.finished, timeout=30_000) as blocker:
        w.start()
    got["cancelled"] = blocker.args[0]
    return w, got


def test_results_and_coalesced_progress(qtbot):
    def job(n, cancel=None):
        for i in range(n + 1):
            yield Progress("count", i, n)
        yield "result"

    w, got = run(qtbot, job, 5000)
    assert got["yielded"] == ["result"] and got["errored"] == [] and w.done
    done = [p.done for p in got["progress"]]
    assert done[0] == 0 and done[-1] == 5000  # the first and last always arrive
    assert len(done) < 100  # thousands of updates, a handful of signals
    assert done == sorted(done)


def test_an_exception_becomes_errored(qtbot):
    def job(cancel=None):
        yield "first"
        raise ValueError("boom")

    _w, got = run(qtbot, job)
    assert got["yielded"] == ["first"]
    assert got["errored"] == ["ValueError: boom"]


def test_cancel_stops_between_items(qtbot):
    started = threading.Event()

    def job(cancel=None):
        for i in range(1_000_000):
            started.set()
            if cancel.cancelled:
                return
            yield i

    w = GeneratorWorker(job)
    with qtbot.waitSignal(w.signals.finished, timeout=30_000) as blocker:
        w.start()
        started.wait(10)
        w.cancel()
    assert blocker.args == [True]


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="per-thread niceness")
def test_analysis_threads_run_at_lower_priority():
    seen = []

    def body():
        seen.append(lower_thread_priority())
        seen.append(os.getpriority(os.PRIO_PROCESS, threading.get_native_id()))

    before = os.getpriority(os.PRIO_PROCESS, 0)
    t = threading.Thread(target=body)
    t.start()
    t.join()
    assert seen[0] is True and seen[1] >= 10
    assert os.getpriority(os.PRIO_PROCESS, 0) == before  # the GUI thread keeps its own
