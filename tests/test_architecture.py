"""Boundaries that keep the project healthy."""

from __future__ import annotations

import pkgutil
import subprocess
import sys
import zipfile
from pathlib import Path

import tagger.core

REPO = Path(__file__).resolve().parent.parent


def test_core_never_imports_qt():
    modules = [f"tagger.core.{m.name}" for m in pkgutil.iter_modules(tagger.core.__path__)]
    modules += ["tagger.cli", "tagger.commands"]
    code = (
        "import importlib, sys\n"
        f"for m in {modules!r}: importlib.import_module(m)\n"
        "bad = [m for m in sys.modules if m.startswith(('PySide6', 'shiboken6'))]\n"
        "print(bad); sys.exit(1 if bad else 0)\n"
    )
    r = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, cwd=REPO, timeout=120
    )
    assert r.returncode == 0, r.stdout + r.stderr


def test_cli_parser_does_not_load_torch():
    """`mood-tagger --help`, `--version` and usage errors answer at once: torch (about a
    second to import) is loaded only by the commands that run a model."""
    code = (
        "import sys\n"
        "from tagger.cli import main\n"
        "try:\n    main(['--version'])\nexcept SystemExit:\n    pass\n"
        "bad = [m for m in ('torch', 'librosa', 'PySide6') if m in sys.modules]\n"
        "print(bad); sys.exit(1 if bad else 0)\n"
    )
    r = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, cwd=REPO, timeout=120
    )
    assert r.returncode == 0, r.stdout + r.stderr


def test_wheel_ships_the_bundled_model(tmp_path):
    """A non-editable install must find resources/ (it is mapped to tagger/_resources)."""
    r = subprocess.run(
        [
            sys.executable,
            "-m",
            "pip",
            "wheel",
            "--no-deps",
            "--no-build-isolation",
            "-q",
            "-w",
            str(tmp_path),
            str(REPO),
        ],
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert r.returncode == 0, r.stderr
    wheel = next(tmp_path.glob("mood_tagger-*.whl"))
    names = zipfile.ZipFile(wheel).namelist()
    assert "tagger/_resources/models/mood_cnn.pt" in names
    assert "tagger/_resources/models/MODEL_CARD.md" in names
    assert "tagger/core/features.py" in names
    assert not any(n.startswith(("tests/", "training/cache")) for n in names)
