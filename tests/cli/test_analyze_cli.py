from __future__ import annotations

import hashlib
import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from tagger.cli import main
from tagger.core.moods import MOODS
from tests.audio_factory import write_audio

KEYS = {
    "path",
    "artist",
    "album",
    "title",
    "mood",
    "probabilities",
    "energy",
    "valence",
    "confidence",
    "model",
    "error",
    "no_mood",
}


def _digest(root: Path) -> dict[str, tuple[str, int]]:
    return {
        str(p): (hashlib.sha256(p.read_bytes()).hexdigest(), p.stat().st_mtime_ns)
        for p in sorted(root.rglob("*"))
        if p.is_file()
    }


def _analyze(root: Path, out: Path, capsys) -> tuple[int, list[dict], str]:
    rc = main(["-q", "analyze", str(root), "--json", str(out), "--jobs", "1"])
    stdout = capsys.readouterr().out
    return rc, [json.loads(line) for line in out.read_text(encoding="utf-8").splitlines()], stdout


def test_json_contract_and_summary(library, tmp_path, capsys, bundled_model):
    before = _digest(library)
    rc, rows, stdout = _analyze(library, tmp_path / "out.jsonl", capsys)
    assert rc == 0
    assert _digest(library) == before  # analyze never modifies a music file
    assert len(rows) == 11  # every audio file, hidden ones excluded
    for r in rows:
        assert set(r) == KEYS
        assert Path(r["path"]).is_absolute() and Path(r["path"]).exists()
        if r["error"] is None:
            assert set(r["probabilities"]) == set(MOODS)
            assert sum(r["probabilities"].values()) == pytest.approx(1.0)
            assert r["mood"] == max(r["probabilities"], key=r["probabilities"].get)
            p = r["probabilities"]
            assert r["energy"] == pytest.approx(p["happy"] + p["aggressive"])
            assert r["valence"] == pytest.approx(p["happy"] + p["calm"])
            assert r["confidence"] == pytest.approx(max(p.values()))
            assert r["model"] == bundled_model.model_id
        else:
            assert r["mood"] is None and r["probabilities"] is None
    bad = {Path(r["path"]).name for r in rows if r["error"]}
    assert bad == {"empty.mp3", "notes.flac", "corrupt.ogg", "truncated.wav"}
    uni = [r for r in rows if "Ünïcode" in r["path"]]
    assert uni and all(r["artist"] == "Ärtist Ünïcode" and r["album"] == "Album 1" for r in uni)
    assert "Errors" in stdout and "Calm" in stdout
    # 7 songs got a mood, 4 did not: never "analysed 7 (4 failed)", read as 4 of the 7
    assert f"analysed 7, 4 could not be read, from cache 0, model {bundled_model.model_id}" in (
        stdout
    )


def test_second_run_and_fresh_home_give_identical_results(library, tmp_path, capsys, monkeypatch):
    _, first, _ = _analyze(library, tmp_path / "1.jsonl", capsys)
    _, second, out2 = _analyze(library, tmp_path / "2.jsonl", capsys)
    assert first == second
    assert "analysed 0, 0 could not be read, from cache 11 (4 of them could not be read)" in out2
    monkeypatch.setenv("MOOD_TAGGER_HOME", str(tmp_path / "fresh"))
    _, third, _ = _analyze(library, tmp_path / "3.jsonl", capsys)
    assert third == first


def test_missing_folder_and_bad_arguments(tmp_path, capsys):
    assert main(["analyze", str(tmp_path / "nope")]) == 2
    assert "folder not found" in capsys.readouterr().err
    with pytest.raises(SystemExit) as exc:
        main(["analyze"])
    assert exc.value.code != 0
    assert main(["analyze", str(tmp_path), "--model", str(tmp_path / "x.pt")]) == 2
    assert "model" in capsys.readouterr().err


@pytest.mark.parametrize("command", ["analyze", "eval", "retrain", "playlist"])
@pytest.mark.parametrize("jobs", ["0", "-3", "two"])
def test_jobs_must_be_a_whole_number_of_at_least_one(command, jobs, tmp_path, capsys):
    """--jobs 0 (or negative) is refused, not quietly taken as one process."""
    with pytest.raises(SystemExit) as exc:
        main(
            [command, str(tmp_path), "--jobs", jobs, *(["-o", "x.m3u8"] * (command == "playlist"))]
        )
    assert exc.value.code == 2
    err = capsys.readouterr().err
    assert "argument --jobs:" in err
    assert ("must be at least 1" if jobs != "two" else "needs a whole number") in err


def test_a_json_file_that_cannot_be_written(tmp_path, capsys):
    """Said before analysing when the name cannot work; a failed write is exit 1, no
    traceback, and the summary is still printed."""
    root = tmp_path / "music"
    write_audio(root / "A" / "B" / "1.wav", 3.0)
    assert main(["-q", "analyze", str(root), "--json", str(tmp_path / "no" / "x.jsonl")]) == 2
    assert "folder for the --json file does not exist" in capsys.readouterr().err
    assert main(["-q", "analyze", str(root), "--json", str(tmp_path)]) == 2
    assert "not a folder" in capsys.readouterr().err
    if not Path("/dev/full").exists():
        return
    assert main(["-q", "analyze", str(root), "--json", "/dev/full", "--jobs", "1"]) == 1
    captured = capsys.readouterr()
    assert "cannot write /dev/full" in captured.err and "Traceback" not in captured.err
    assert "1 audio file in " in captured.out  # not "1 audio files"


def test_global_options_work_with_the_app_too(monkeypatch, tmp_path):
    """`mood-tagger -v`, `mood-tagger -q ~/Music`, `mood-tagger ~/Music -v` open the app."""
    import tagger.cli as cli

    opened = []
    monkeypatch.setattr(
        cli, "cmd_gui", lambda args: opened.append((args.folder, args.verbose, args.quiet)) or 0
    )
    folder = str(tmp_path)
    assert main(["-v"]) == 0
    assert main(["-q", folder]) == 0
    assert main([folder, "-vv"]) == 0
    assert main(["--verbose", folder]) == 0
    assert main([]) == 0 and main([folder]) == 0
    assert opened == [
        (None, 1, False),
        (folder, 0, True),
        (folder, 2, False),
        (folder, 1, False),
        (None, 0, False),
        (folder, 0, False),
    ]


def test_help_never_splits_a_word_at_its_hyphen(monkeypatch, capsys):
    """`mood-tagger write --help` once read "Undo with `mood-" / "tagger undo FOLDER`"."""
    import re

    from tagger.commands import COMMANDS

    monkeypatch.setenv("COLUMNS", "80")
    for command in [[], ["gui"], *([c] for c in COMMANDS)]:
        with pytest.raises(SystemExit):
            main([*command, "--help"])
        out = capsys.readouterr().out
        assert "usage: mood-tagger" in out
        assert not re.search(r"[a-z]-\n", out), (command, out)


def test_help_names_the_folder_argument_alike_in_every_command(capsys):
    from tagger.commands import COMMANDS

    for command in COMMANDS:
        with pytest.raises(SystemExit):
            main([command, "--help"])
        usage = capsys.readouterr().out.split("\n\n")[0]
        assert " folder" not in usage, (command, usage)  # FOLDER, as in `analyze`


def test_python_dash_m_tagger_runs_the_cli(tmp_path):
    env = {**os.environ, "MOOD_TAGGER_HOME": str(tmp_path / "home")}
    r = subprocess.run(
        [sys.executable, "-m", "tagger", "analyze", str(tmp_path / "none")],
        capture_output=True,
        text=True,
        env=env,
        timeout=120,
    )
    assert r.returncode == 2 and "folder not found" in r.stderr
    r = subprocess.run(
        [sys.executable, "-m", "tagger", "--help"],
        capture_output=True,
        text=True,
        env=env,
        timeout=120,
    )
    assert r.returncode == 0 and "analyze" in r.stdout


def test_a_folder_without_audio_says_what_is_read(tmp_path, capsys):
    (tmp_path / "notes.txt").write_text("no music")
    assert main(["-q", "analyze", str(tmp_path), "--jobs", "1"]) == 0
    out = capsys.readouterr().out
    assert out.startswith(f"0 audio files in {tmp_path.resolve()}\n")
    assert "reads MP3, FLAC" in out


def test_gui_without_a_display_says_so_instead_of_aborting(monkeypatch, capsys):
    """On a server (no X11/Wayland) Qt would abort the process; the command explains."""
    if not sys.platform.startswith("linux"):
        pytest.skip("the check is for X11/Wayland systems")
    for var in ("DISPLAY", "WAYLAND_DISPLAY", "QT_QPA_PLATFORM"):
        monkeypatch.delenv(var, raising=False)
    assert main([]) == 1
    err = capsys.readouterr().err
    assert "no graphical display" in err and "mood-tagger analyze FOLDER" in err


def test_summary_counts_your_label_first_as_the_app_does(tmp_path, capsys, tiny_model_path):
    """The per-mood counts match the app's status bar: a label wins over the prediction,
    a labelled silent song counts under its label, an unreadable one under Errors."""
    import numpy as np
    import soundfile as sf

    from tagger.core.library import library_rows, mood_counts
    from tagger.core.models import load_model
    from tagger.core.store import Store

    root = tmp_path / "music"
    songs = [write_audio(root / "A" / "B" / f"{i}.wav", seconds=3.0, seed=i) for i in range(3)]
    silent = root / "A" / "B" / "silent.flac"
    sf.write(silent, np.zeros((44100 * 3, 2), np.float32), 44100)
    empty = root / "A" / "B" / "empty.mp3"
    empty.write_bytes(b"")
    # labelled before the first scan, so even the empty file takes its label
    assert main(["-q", "label", "sad", *map(str, [*songs, silent, empty])]) == 0
    model = ["--model", str(tiny_model_path), "--jobs", "1"]
    assert main(["-q", "analyze", str(root), *model]) == 0
    lines = [" ".join(line.split()) for line in capsys.readouterr().out.splitlines()]
    assert "Sad 4" in lines and "Errors 1" in lines
    assert {"Happy 0", "Aggressive 0", "Calm 0"} <= set(lines)
    assert not any(line.startswith("No mood") for line in lines)
    with Store.open_default() as store:
        rows = library_rows(root.resolve(), store, load_model(tiny_model_path).model_id)
    assert mood_counts(rows) == {"sad": 4}  # what the app's status bar shows


def test_a_file_system_error_a_command_lets_through_is_one_line(tmp_path, capsys, monkeypatch):
    """E.g. an app folder that turned read-only mid-run: a message and exit 1, no traceback."""
    import tagger.commands.label as label

    def read_only(args):
        raise PermissionError(13, "Permission denied", str(tmp_path / "data"))

    monkeypatch.setattr(label, "run", read_only)
    assert main(["label", "sad", str(tmp_path / "x.wav")]) == 1
    err = capsys.readouterr().err
    assert err == f"mood-tagger: error: [Errno 13] Permission denied: '{tmp_path / 'data'}'\n"


@pytest.mark.parametrize("command", ["analyze", "write", "forget", "label"])
@pytest.mark.parametrize("how", ["no data folder", "database read-only"])
def test_an_unwritable_data_folder_is_one_line(
    command, how, app_home, tmp_path, capsys, monkeypatch
):
    """The data folder cannot be created, or the database in it not opened for writing
    (as in a read-only folder): one line, a non-zero exit, no traceback."""
    import sqlite3

    import tagger.core.store as store

    music = tmp_path / "music"
    write_audio(music / "A" / "B" / "01.wav", seconds=1.0)
    if how == "no data folder":
        (app_home / "data").write_text("not a folder")
    else:

        def read_only(*a, **kw):
            raise sqlite3.OperationalError("unable to open database file")

        monkeypatch.setattr(store.sqlite3, "connect", read_only)
    args = {
        "analyze": ["analyze", str(music), "--jobs", "1"],
        "write": ["write", str(music)],
        "forget": ["forget", "--missing", str(music)],
        "label": ["label", "sad", str(music / "A" / "B" / "01.wav")],
    }[command]
    assert main(["-q", *args]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and err.startswith("mood-tagger: error:")
    assert (
        "cannot create the app's data folder"
        if how == "no data folder"
        else "unable to open database file"
    ) in err


def test_a_log_folder_that_cannot_be_made_does_not_stop_the_commands(library, app_home, capsys):
    """A file named ``logs`` in the app's folder made every command refuse to run ("cannot
    create the app's data folder .../logs"); only the log file needs that folder."""
    (app_home / "logs").write_text("not a folder")
    assert main(["-q", "analyze", str(library), "--jobs", "1"]) == 0
    assert main(["-q", "write", str(library), "--dry-run"]) == 0
    assert "cannot create" not in capsys.readouterr().err
    assert (app_home / "logs").read_text() == "not a folder"


def test_a_mistyped_command_is_an_error_not_the_app_on_a_missing_folder(
    monkeypatch, capsys, tmp_path, library
):
    """`mood-tagger retrian` opened the app on a folder "retrian" (with a display) or said
    there was no display; `mood-tagger help` did the same. A folder that exists still
    opens the app, whatever its name; "analyse" is "analyze" as the help text spells it."""
    import tagger.cli as cli

    monkeypatch.chdir(tmp_path)
    opened = []
    monkeypatch.setattr(cli, "cmd_gui", lambda args: opened.append(args.folder) or 0)
    assert main(["retrian"]) == 2
    assert "unknown command 'retrian' (did you mean 'retrain'?)" in capsys.readouterr().err
    assert main(["-q", "modle"]) == 2 and opened == []
    assert main(["help"]) == 0 and "COMMAND" in capsys.readouterr().out
    (tmp_path / "model").mkdir()
    (tmp_path / "modle").mkdir()  # a folder of that name is there: the app opens it
    assert main(["modle"]) == 0 and opened == ["modle"]
    capsys.readouterr()
    # no command is near and no folder is there: said so, not the app on nothing
    assert main(["Music"]) == 2 and opened == ["modle"]
    assert "'Music' is not a command or a folder" in capsys.readouterr().err
    assert main(["-q", "analyse", str(library), "--jobs", "1"]) == 0
    assert "analysed" in capsys.readouterr().out


def test_a_display_that_cannot_be_reached_is_said_not_aborted_on(monkeypatch, capsys):
    """A stale DISPLAY (after ssh -X, inside tmux): Qt printed "could not connect to
    display" and aborted the process (exit 134). The command now says so and exits 1."""
    import socket

    from tagger.cli import _reachable

    if not sys.platform.startswith("linux"):
        pytest.skip("X11 sockets")
    monkeypatch.delenv("QT_QPA_PLATFORM", raising=False)
    monkeypatch.delenv("WAYLAND_DISPLAY", raising=False)
    monkeypatch.setenv("DISPLAY", ":9876")
    assert main([]) == 1
    err = capsys.readouterr().err
    assert "(DISPLAY=:9876) cannot be reached" in err and "mood-tagger analyze FOLDER" in err
    with socket.socket(socket.AF_UNIX) as server:  # an X server's (abstract) socket
        server.bind("\0/tmp/.X11-unix/X9876")
        server.listen(8)  # never accepted: room for the three probes
        assert _reachable(":9876") and _reachable(":9876.0") and _reachable("unix:9876")
    assert not _reachable(":9876")


def test_json_to_standard_output_keeps_it_pure_and_tells_no_mood_from_errors(
    tmp_path, capsys, tiny_model_path, monkeypatch
):
    """``--json -`` writes the JSON Lines to stdout (the summary goes to stderr, so the
    output pipes into jq); a silent or too-short song has ``no_mood``, not an ``error``."""
    import numpy as np
    import soundfile as sf

    album = tmp_path / "music" / "A" / "B"
    write_audio(album / "1 song.wav", 6.0)
    album.mkdir(parents=True, exist_ok=True)
    sf.write(album / "2 silent.flac", np.zeros(44100 * 6, np.float32), 44100)
    write_audio(album / "3 short.wav", 0.3)
    (album / "4 broken.mp3").write_bytes(b"not audio")
    args = ["-q", "analyze", str(tmp_path / "music"), "--model", str(tiny_model_path)]
    monkeypatch.chdir(tmp_path)
    assert main([*args, "--json", "-", "--jobs", "1"]) == 0
    captured = capsys.readouterr()
    rows = {Path(r["path"]).name: r for r in map(json.loads, captured.out.splitlines())}
    assert not (tmp_path / "-").exists()
    assert set(rows) == {"1 song.wav", "2 silent.flac", "3 short.wav", "4 broken.mp3"}
    assert all(set(r) == KEYS for r in rows.values())
    song, silent, short, broken = (rows[n] for n in sorted(rows))
    assert song["mood"] in MOODS and song["error"] is None and song["no_mood"] is None
    assert silent["mood"] is None and silent["error"] is None and silent["no_mood"] == "silent"
    assert short["error"] is None and short["no_mood"] == "too short"
    assert broken["error"] and broken["no_mood"] is None
    assert "4 audio files in" in captured.err and "No mood" in captured.err
    assert "analysed 1, 1 could not be read" in captured.err


def test_verbose_says_what_the_analysis_does(tmp_path, capsys, tiny_model_path):
    """``-v`` logs the scan, the analysis and each song that got no mood."""
    root = tmp_path / "music"
    write_audio(root / "A" / "B" / "1.wav", 6.0)
    (root / "A" / "B" / "2.mp3").write_bytes(b"not audio")
    args = ["-v", "analyze", str(root), "--model", str(tiny_model_path), "--jobs", "1"]
    assert main(args) == 0
    err = capsys.readouterr().err
    assert "INFO: scanned" in err and "2 audio file(s)" in err
    assert "INFO: analysing 2 song(s) with model" in err
    assert "INFO: could not analyse" in err and "2.mp3" in err
    assert "INFO: analysed 2 of 2 song(s)" in err


def test_what_the_scan_skips_is_an_error_in_the_summary_and_the_json(
    tmp_path, capsys, tiny_model_path
):
    """A file whose name is not UTF-8, or a named pipe called ``x.mp3``, was only a
    "skipped" line under the summary: the Errors count said 0 and ``--json`` had no
    object for it, so a script never learnt that a song was left out."""
    album = tmp_path / "music" / "A" / "B"
    write_audio(album / "1 song.wav", 6.0)
    bad = os.fsencode(album) + b"/2 caf\xe9.wav"  # Latin-1, as an old rip names it
    os.rename(write_audio(album / "2.wav", 6.0), bad)
    os.mkfifo(album / "3 pipe.mp3")
    out = tmp_path / "moods.jsonl"
    args = ["-q", "analyze", str(tmp_path / "music"), "--model", str(tiny_model_path)]
    assert main([*args, "--json", str(out), "--jobs", "1"]) == 0
    stdout = capsys.readouterr().out
    rows = [json.loads(line) for line in out.read_text(encoding="utf-8").splitlines()]
    assert all(set(r) == KEYS for r in rows)
    by_name = {Path(r["path"]).name: r for r in rows}
    assert set(by_name) == {"1 song.wav", "2 caf\ufffd.wav", "3 pipe.mp3"}
    assert by_name["1 song.wav"]["error"] is None and by_name["1 song.wav"]["mood"] in MOODS
    for name in ("2 caf\ufffd.wav", "3 pipe.mp3"):
        assert by_name[name]["error"] and by_name[name]["mood"] is None
    assert "UTF-8" in by_name["2 caf\ufffd.wav"]["error"]
    assert "Errors" in stdout and "     2\n" in stdout.split("Errors", 1)[1][:20]
    assert "3 pipe.mp3: " in stdout and "(skipped)" in stdout
