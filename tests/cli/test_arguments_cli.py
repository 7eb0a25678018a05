"""What the command line says about arguments that are no folder, no command, empty, or
asking for more worker processes than the machine can use."""

from __future__ import annotations

import os
import sys

import pytest

from tagger.cli import main
from tagger.commands import COMMANDS
from tests.audio_factory import write_audio


@pytest.fixture
def no_display(monkeypatch):
    for var in ("DISPLAY", "WAYLAND_DISPLAY", "QT_QPA_PLATFORM"):
        monkeypatch.delenv(var, raising=False)


@pytest.fixture
def opened(monkeypatch) -> list:
    """The folders the app would have been opened on (it never is, here)."""
    import tagger.ui.app

    seen: list = []
    monkeypatch.setattr(tagger.ui.app, "run_app", lambda folder=None: seen.append(folder) or 0)
    return seen


def _with_display(monkeypatch, display: bool) -> None:
    """A machine with a display (Qt offscreen) or a server without one."""
    for var in ("DISPLAY", "WAYLAND_DISPLAY"):
        monkeypatch.delenv(var, raising=False)
    if display:
        monkeypatch.setenv("QT_QPA_PLATFORM", "offscreen")
    else:
        monkeypatch.delenv("QT_QPA_PLATFORM", raising=False)


@pytest.mark.parametrize("display", [False, True])
def test_a_missing_folder_is_said_before_the_display(
    display, monkeypatch, capsys, tmp_path, opened
):
    """`mood-tagger /nonexistent` said "no graphical display found" (exit 1) on a server,
    and opened an empty app with a display: the folder's absence is what to hear first."""
    _with_display(monkeypatch, display)
    monkeypatch.chdir(tmp_path)
    missing = str(tmp_path / "nonexistent")
    for given in (missing, "./Music", "Music/Jazz", "~/no-such-folder-here"):
        assert main([given]) == 2
        err = capsys.readouterr().err
        assert err == f"mood-tagger: folder not found: {given}\n"
    assert main(["-v", missing]) == 2
    assert main(["gui", missing]) == 2
    assert "folder not found" in capsys.readouterr().err
    song = write_audio(tmp_path / "song.wav", 1.0)
    assert main([str(song)]) == 2
    assert capsys.readouterr().err == f"mood-tagger: not a folder: {song}\n"
    assert opened == []


@pytest.mark.parametrize("display", [False, True])
def test_a_word_that_is_no_command_and_no_folder_says_so(
    display, monkeypatch, capsys, tmp_path, opened
):
    _with_display(monkeypatch, display)
    monkeypatch.chdir(tmp_path)
    assert main(["bogus"]) == 2
    err = capsys.readouterr().err
    assert err == (
        f"mood-tagger: 'bogus' is not a command or a folder (commands: {', '.join(COMMANDS)})\n"
    )
    assert err.startswith("mood-tagger: 'bogus' is not a command or a folder (commands: analyze, ")
    assert "graphical display" not in err
    assert main(["-q", "bogus"]) == 2
    assert "'bogus' is not a command or a folder" in capsys.readouterr().err
    # a typo of a command still gets its guess
    assert main(["retrian"]) == 2
    assert "did you mean 'retrain'?" in capsys.readouterr().err
    assert opened == []
    # a folder of that name is there: the app opens on it (or says there is no display)
    (tmp_path / "bogus").mkdir()
    if display:
        assert main(["bogus"]) == 0 and opened == ["bogus"]
    else:
        assert main(["bogus"]) == 1 and "no graphical display" in capsys.readouterr().err


def test_no_argument_and_an_existing_folder_still_reach_the_display_check(
    no_display, capsys, tmp_path
):
    if not sys.platform.startswith("linux"):
        pytest.skip("the check is for X11/Wayland systems")
    assert main([]) == 1
    assert "no graphical display found" in capsys.readouterr().err
    assert main([str(tmp_path)]) == 1
    assert "no graphical display found" in capsys.readouterr().err


def test_a_symlink_loop_as_the_app_s_folder_is_called_one(no_display, capsys, tmp_path):
    (tmp_path / "loop1").symlink_to(tmp_path / "loop2")
    (tmp_path / "loop2").symlink_to(tmp_path / "loop1")
    assert main([str(tmp_path / "loop1")]) == 2
    err = capsys.readouterr().err
    assert "symlink loop" in err and "folder not found" not in err


#: Every subcommand's path arguments, with "" where the path goes.
EMPTY_PATH_CASES = [
    ["analyze", ""],
    ["analyze", "{dir}", "--json", ""],
    ["analyze", "{dir}", "--model", ""],
    ["eval", ""],
    ["eval", "{dir}", "--model", ""],
    ["retrain", ""],
    ["retrain", "--reset", ""],
    ["playlist", "", "-o", "x.m3u8"],
    ["playlist", "{dir}", "-o", ""],
    ["playlist", "{dir}", "-o", "x.m3u8", "--model", ""],
    ["label", "happy", ""],
    ["label", "happy", "{dir}/a.wav", ""],
    ["write", ""],
    ["write", "{dir}", "--model", ""],
    ["undo", ""],
    ["forget", "--missing", ""],
]


@pytest.mark.parametrize("argv", EMPTY_PATH_CASES, ids=" ".join)
def test_an_empty_path_is_refused_by_every_command(argv, tmp_path, capsys, monkeypatch):
    """`mood-tagger analyze ""` (an unset shell variable) analysed the current folder."""
    monkeypatch.chdir(tmp_path)
    write_audio(tmp_path / "a.wav", 1.0)
    argv = [a.replace("{dir}", str(tmp_path)) for a in argv]
    with pytest.raises(SystemExit) as exc:
        main(["-q", *argv])
    assert exc.value.code == 2
    err = capsys.readouterr().err
    assert "empty path ('')" in err and "Traceback" not in err
    assert not (tmp_path / "x.m3u8").exists()


def test_an_empty_folder_is_refused_by_the_app_and_the_helpers(no_display, capsys):
    from tagger.commands.common import UsageError, folder_arg

    assert main([""]) == 2
    assert "empty path ('')" in capsys.readouterr().err
    assert main(["gui", ""]) == 2
    assert "empty path ('')" in capsys.readouterr().err
    with pytest.raises(UsageError, match=r"empty path \(''\)"):
        folder_arg("")


@pytest.mark.parametrize(("cores", "most"), [(1, 2), (2, 4), (6, 12), (16, 32), (128, 32)])
def test_jobs_is_lowered_to_two_per_core_and_32(cores, most, monkeypatch):
    from tagger.commands import common

    monkeypatch.setattr(os, "cpu_count", lambda: cores)
    common.deferred_warnings.clear()
    assert common.max_jobs() == most
    assert common.jobs_arg(str(most)) == most and not common.deferred_warnings
    assert common.jobs_arg("99999") == most
    assert common.deferred_warnings == [
        f"--jobs 99999 lowered to {most}: at most two processes per core "
        f"({cores} core{'s' if cores != 1 else ''} here) and 32 in all"
    ]
    common.deferred_warnings.clear()


@pytest.mark.parametrize("command", ["analyze", "eval", "retrain", "playlist"])
def test_too_many_jobs_are_lowered_with_a_warning(command, monkeypatch, tmp_path, capsys):
    """`--jobs 99999` was taken as it was: 40 workers on 2 cores used 6 GB."""
    import importlib

    monkeypatch.setattr(os, "cpu_count", lambda: 2)
    seen = []
    # the command itself is not run: the parser's answer is what is looked at
    module = importlib.import_module(f"tagger.commands.{command}")
    monkeypatch.setattr(module, "run", lambda args: seen.append(args.jobs) or 0)
    extra = ["-o", str(tmp_path / "x.m3u8")] if command == "playlist" else []
    assert main([command, str(tmp_path), "--jobs", "99999", *extra]) == 0
    assert seen == [4]
    assert (
        "WARNING: --jobs 99999 lowered to 4: at most two processes per core (2 cores here) "
        "and 32 in all\n"
    ) in capsys.readouterr().err
    assert main([command, str(tmp_path), "--jobs", "3", *extra]) == 0  # within: as given
    assert seen == [4, 3] and "lowered" not in capsys.readouterr().err
    assert main([command, str(tmp_path), *extra]) == 0  # the default is left to analysis
    assert seen == [4, 3, None]


def test_too_many_jobs_analyse_with_the_lowered_number(
    monkeypatch, tmp_path, capsys, tiny_model_path
):
    """End to end: the analysis gets the lowered number (and -q keeps the warning quiet)."""
    import tagger.core.library as library

    monkeypatch.setattr(os, "cpu_count", lambda: 1)
    real = library.analyze_library
    jobs = []

    def spy(*args, **kwargs):
        jobs.append(kwargs.get("jobs"))
        return real(*args, **kwargs)

    monkeypatch.setattr(library, "analyze_library", spy)
    (tmp_path / "notes.txt").write_text("no music")
    args = ["analyze", str(tmp_path), "--model", str(tiny_model_path), "--jobs", "40"]
    assert main(args) == 0
    assert jobs == [2]
    assert "--jobs 40 lowered to 2" in capsys.readouterr().err
    assert main(["-q", *args]) == 0
    assert jobs == [2, 2] and "lowered" not in capsys.readouterr().err


@pytest.mark.parametrize("command", ["analyze", "write", "undo", "eval"])
def test_a_symlink_loop_given_as_the_folder_is_said_to_be_one(command, tmp_path, capsys):
    """`analyze lib/Bad/loop1` said "folder not found"."""
    (tmp_path / "loop1").symlink_to("loop2")
    (tmp_path / "loop2").symlink_to("loop1")
    assert main(["-q", command, str(tmp_path / "loop1")]) == 2
    err = capsys.readouterr().err
    assert err == (
        f"mood-tagger: error: not a folder: {tmp_path / 'loop1'} (symlink loop: its links "
        "lead back to themselves, to no file or folder)\n"
    )
