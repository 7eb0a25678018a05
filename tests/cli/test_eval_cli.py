from __future__ import annotations

import json
import shutil

import numpy as np
import pytest

from tagger.cli import main
from tagger.core.analysis import Analyzer
from tagger.core.metrics import song_metrics
from tagger.core.moods import MOODS
from tests.audio_factory import write_audio
from tests.conftest import DATASET, requires_dataset


def test_eval_on_labelled_folders_matches_direct_computation(tmp_path, capsys, bundled_model):
    kinds = {"happy": "bright", "Q2": "harsh", "sad": "calm", "Calm": "calm"}
    truth = {}
    for i, (folder, kind) in enumerate(kinds.items()):
        for j in range(2):
            p = write_audio(tmp_path / folder / f"{j}.wav", 6.0, kind=kind, seed=10 * i + j)
            truth[str(p)] = i
    (tmp_path / "unrelated").mkdir()
    write_audio(tmp_path / "unrelated" / "x.wav", 3.0)
    (tmp_path / "sad" / "broken.mp3").write_bytes(b"nope")
    assert main(["-q", "eval", str(tmp_path), "--jobs", "1"]) == 0
    captured = capsys.readouterr()
    out = captured.out
    assert "ignored sub-folder 'unrelated': not a mood name" in captured.err
    report = json.loads(out)  # stdout is the JSON alone; the readable matrix is on stderr
    assert report["n"] == 8 and len(report["errors"]) == 1
    analyzer = Analyzer(bundled_model)
    order = sorted(truth)
    probs = np.array([analyzer.analyze(p).scores.probabilities for p in order])
    expected = song_metrics(probs, np.array([truth[p] for p in order]))
    assert report["confusion"] == expected["confusion"]
    assert report["macro_f1"] == pytest.approx(expected["macro_f1"])
    assert "true \\ pred" in captured.err and all(m in captured.err for m in MOODS)


def test_eval_without_labelled_folders_is_a_usage_error(tmp_path, capsys):
    write_audio(tmp_path / "misc" / "a.wav", 3.0)
    assert main(["eval", str(tmp_path)]) == 2
    assert "no labelled audio" in capsys.readouterr().err
    # a mood folder that is there but holds no audio is named, not "expected sub-folders"
    (tmp_path / "Calm").mkdir()
    (tmp_path / "Calm" / "notes.txt").write_text("x")
    assert main(["eval", str(tmp_path)]) == 2
    err = capsys.readouterr().err
    assert "no audio files in the mood sub-folders" in err and "Calm/" in err
    assert "expected sub-folders" not in err


def test_eval_where_no_file_can_be_analysed_says_why_for_each(tmp_path, capsys):
    (tmp_path / "happy").mkdir()
    (tmp_path / "happy" / "empty.mp3").write_bytes(b"")
    (tmp_path / "sad").mkdir()
    (tmp_path / "sad" / "text.flac").write_text("not audio")
    assert main(["-q", "eval", str(tmp_path), "--jobs", "1"]) == 2
    err = capsys.readouterr().err
    assert "none of the 2 labelled files could be analysed" in err
    assert "happy/empty.mp3: " in err and "sad/text.flac: " in err


@requires_dataset
@pytest.mark.dataset
def test_eval_on_a_4q_sample_scores_far_above_chance(tmp_path, capsys):
    """Real music: the bundled model must do much better than chance (0.25) on 4Q clips."""
    import csv

    rows = list(csv.DictReader((DATASET / "metadata.csv").open(encoding="utf-8")))
    fold0 = [r for r in rows if r["fold"] == "0"]
    for q in ("Q1", "Q2", "Q3", "Q4"):
        for r in [r for r in fold0 if r["quadrant"] == q][:6]:
            (tmp_path / q).mkdir(exist_ok=True)
            (tmp_path / q / f"{r['song']}.mp3").symlink_to(DATASET / r["file"])
    assert main(["-q", "eval", str(tmp_path), "--jobs", "1"]) == 0
    report = json.loads(capsys.readouterr().out)
    assert report["n"] == 24
    assert report["accuracy"] >= 0.5
    assert report["energy_accuracy"] >= 0.75
    shutil.rmtree(tmp_path)


def _silent(path, seconds: float = 6.0) -> None:
    import soundfile as sf

    path.parent.mkdir(parents=True, exist_ok=True)
    sf.write(path, np.zeros(int(44100 * seconds), np.float32), 44100)


def test_silent_and_too_short_songs_are_no_errors_in_the_report(tmp_path, capsys, tiny_model_path):
    """silent.wav was listed under "errors"; like `analyze --json`'s rows, a song with
    nothing to classify is put apart, under "no_mood", with "silent" or "too short"."""
    write_audio(tmp_path / "happy" / "a.wav", 6.0, kind="bright")
    write_audio(tmp_path / "calm" / "b.wav", 6.0)
    _silent(tmp_path / "calm" / "silent.wav")
    write_audio(tmp_path / "sad" / "short.wav", 0.3)
    (tmp_path / "sad" / "broken.mp3").write_bytes(b"nope")
    args = ["-q", "eval", str(tmp_path), "--model", str(tiny_model_path), "--jobs", "1"]
    assert main(args) == 0
    report = json.loads(capsys.readouterr().out)
    assert report["n"] == 2
    assert report["errors"] == [
        {
            "path": str(tmp_path.resolve() / "sad" / "broken.mp3"),
            "error": report["errors"][0]["error"],
        }
    ]
    assert report["errors"][0]["error"].startswith("not a readable audio file")
    assert sorted(report["no_mood"], key=lambda e: e["path"]) == [
        {"path": str(tmp_path.resolve() / "calm" / "silent.wav"), "no_mood": "silent"},
        {"path": str(tmp_path.resolve() / "sad" / "short.wav"), "no_mood": "too short"},
    ]


def test_no_mood_is_an_empty_list_when_every_song_has_one(tmp_path, capsys, tiny_model_path):
    write_audio(tmp_path / "happy" / "a.wav", 6.0, kind="bright")
    args = ["-q", "eval", str(tmp_path), "--model", str(tiny_model_path), "--jobs", "1"]
    assert main(args) == 0
    report = json.loads(capsys.readouterr().out)
    assert report["errors"] == [] and report["no_mood"] == []


def test_eval_where_every_song_is_silent_or_unreadable_says_which(
    tmp_path, capsys, tiny_model_path
):
    _silent(tmp_path / "calm" / "silent.wav")
    (tmp_path / "sad" / "text.flac").parent.mkdir()
    (tmp_path / "sad" / "text.flac").write_text("not audio")
    args = ["-q", "eval", str(tmp_path), "--model", str(tiny_model_path), "--jobs", "1"]
    assert main(args) == 2
    err = capsys.readouterr().err
    assert "calm/silent.wav: silent: no sound to judge a mood from" in err
    assert "sad/text.flac: not a readable audio file" in err
    assert (
        "none of the 2 labelled files has a mood to score (1 silent or too short, 1 could not "
        "be read; why: above)"
    ) in err
    (tmp_path / "sad" / "text.flac").unlink()
    assert main(args) == 2
    assert "the labelled file is silent or too short (why: above)" in capsys.readouterr().err
