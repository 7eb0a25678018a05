"""File names with newlines or other control characters, in every human-readable list of
paths: each item stays one line (the JSON keeps the exact name)."""

from __future__ import annotations

import json
from pathlib import Path

import mutagen
import pytest

from tagger.cli import main
from tagger.commands.common import rel_path, shown
from tests.audio_factory import write_audio
from tests.tag_factory import make_tagged


@pytest.mark.parametrize(
    ("name", "expected"),
    [
        ("plain/Ärtist – Sœng.mp3", "plain/Ärtist – Sœng.mp3"),
        ("a\nb.mp3", "a\\nb.mp3"),
        ("a\rb\tc.mp3", "a\\rb\\tc.mp3"),
        ("bell\x07esc\x1b[31mred\x7f.mp3", "bell\\x07esc\\x1b[31mred\\x7f.mp3"),
        ("c1\x85\x9b.mp3", "c1\\x85\\x9b.mp3"),
        ("sep\u2028par\u2029.mp3", "sep\\u2028par\\u2029.mp3"),
        ("nul\x00.mp3", "nul\\x00.mp3"),
        ("bad\udcffbyte.mp3", "bad\ufffdbyte.mp3"),  # not UTF-8: U+FFFD, as before
    ],
)
def test_shown_escapes_control_characters_only(name, expected):
    assert shown(name) == expected
    assert shown(Path("/m") / name) == "/m/" + expected
    assert "\n" not in shown(name) and "\r" not in shown(name)


def test_rel_path_is_shown_too():
    assert rel_path("/music/A/x\ny.mp3", "/music") == "A/x\\ny.mp3"


def _album(tmp_path: Path) -> tuple[Path, Path]:
    root = tmp_path / "music"
    album = root / "Artist" / "Album"
    make_tagged(album / "01 one\nfake: line.mp3", "mp3", seed=1)
    make_tagged(album / "02 two\rtab\t.flac", "flac", seed=2)
    (album / "03 broken\nname.mp3").write_bytes(b"not audio")
    (album / "04 gone\x1b[2K.mp3").symlink_to(tmp_path / "nowhere.mp3")
    return root, album


def _lines_naming(out: str, fragment: str) -> list[str]:
    return [line for line in out.splitlines() if fragment in line]


def test_analyze_lists_each_file_on_one_line_and_the_json_keeps_the_name(
    tmp_path, capsys, tiny_model_path
):
    root, album = _album(tmp_path)
    jsonl = tmp_path / "out.jsonl"
    args = ["-q", "analyze", str(root), "--model", str(tiny_model_path), "--jobs", "1"]
    assert main([*args, "--json", str(jsonl)]) == 0
    out = capsys.readouterr().out
    assert f"    {album}/03 broken\\nname.mp3: not a readable audio file" in out
    assert f"    {album}/04 gone\\x1b[2K.mp3: it links to" in out
    assert "\x1b" not in out and "\r" not in out
    assert not any(line.startswith("name.mp3") for line in out.splitlines())
    names = {Path(json.loads(line)["path"]).name for line in jsonl.read_text().splitlines()}
    assert "03 broken\nname.mp3" in names and "02 two\rtab\t.flac" in names
    assert "04 gone\x1b[2K.mp3" in names


def test_write_dry_run_write_and_undo_list_each_file_on_one_line(tmp_path, capsys, tiny_model_path):
    root, album = _album(tmp_path)
    model = ["--model", str(tiny_model_path)]
    assert main(["-q", "analyze", str(root), *model, "--jobs", "1"]) == 0
    capsys.readouterr()
    assert main(["-q", "write", str(root), "--dry-run", *model]) == 0
    out = capsys.readouterr().out
    assert "\r" not in out and "\x1b" not in out
    assert _lines_naming(out, "01 one\\nfake: line.mp3")[0].startswith(
        "Artist/Album/01 one\\nfake: line.mp3: "
    )
    assert _lines_naming(out, "02 two\\rtab\\t.flac")[0].startswith("Artist/Album/02 two")
    assert "  Artist/Album/03 broken\\nname.mp3: not a readable audio file" in out
    assert "  Artist/Album/04 gone\\x1b[2K.mp3: it links to" in out
    assert not any(line.startswith(("fake: line", "name.mp3")) for line in out.splitlines())

    assert main(["-q", "write", str(root), *model]) == 0
    out = capsys.readouterr().out
    assert "wrote the mood of 2 files" in out and "\r" not in out
    # retagged by hand: undo keeps it and names it, on one line
    f = mutagen.File(album / "02 two\rtab\t.flac")
    f.tags["MOOD"] = "Chill"
    f.save()
    assert main(["-q", "undo", str(root)]) == 0
    out = capsys.readouterr().out
    assert "  Artist/Album/02 two\\rtab\\t.flac: the mood tag was changed since the write" in out
    assert "\r" not in out and "\t" not in out


def test_label_and_forget_show_names_on_one_line(tmp_path, capsys, tiny_model_path):
    root, album = _album(tmp_path)
    assert main(["label", "happy", str(tmp_path / "no\nsuch.mp3")]) == 1
    err = capsys.readouterr().err
    assert f"  {tmp_path}/no\\nsuch.mp3: " in err
    assert main(["-q", "analyze", str(root), "--model", str(tiny_model_path), "--jobs", "1"]) == 0
    (album / "01 one\nfake: line.mp3").unlink()
    capsys.readouterr()
    assert main(["forget", "--missing", str(root), "--dry-run"]) == 0
    out = capsys.readouterr().out
    assert "  Artist/Album/01 one\\nfake: line.mp3\n" in out


def test_a_folder_argument_with_a_newline_is_shown_escaped(tmp_path, capsys):
    assert main(["analyze", str(tmp_path / "no\nsuch")]) == 2
    assert f"folder not found: {tmp_path}/no\\nsuch\n" in capsys.readouterr().err
    write_audio(tmp_path / "two\nlines" / "a.wav", 1.0)
    assert main(["-q", "analyze", str(tmp_path / "two\nlines"), "--jobs", "1"]) == 0
    assert f"1 audio file in {tmp_path.resolve()}/two\\nlines\n" in capsys.readouterr().out
