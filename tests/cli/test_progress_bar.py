"""The CLI's progress line: its ETA is measured from the first item done."""

from __future__ import annotations

import io

from tagger.commands import common
from tagger.commands.common import ProgressBar


def test_eta_leaves_the_start_up_out(monkeypatch):
    """30 s of start-up (model, worker processes), then 1 song a second: the first line
    said "ETA 1119s" for a run of under a minute."""
    clock = [100.0]
    monkeypatch.setattr(common.time, "monotonic", lambda: clock[0])
    out = io.StringIO()
    bar = ProgressBar("analysing", stream=out)
    clock[0] += 30.0
    bar.update(1, 40, force=True)  # nothing to measure a rate from yet
    assert out.getvalue().splitlines()[-1].endswith("1/40   2% ETA --")
    clock[0] += 10.0
    bar.update(11, 40, force=True)  # 10 songs in 10 s: 29 s left
    assert out.getvalue().splitlines()[-1].endswith("11/40  28% ETA 0:29")
