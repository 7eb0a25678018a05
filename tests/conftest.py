"""Shared fixtures. Qt runs offscreen; every test gets its own MOOD_TAGGER_HOME."""

from __future__ import annotations

import os

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")

from pathlib import Path

import pytest

from tests.audio_factory import write_audio, write_bad_files

DATASET = Path(__file__).resolve().parent.parent.parent / "shared" / "datasets" / "4q"


@pytest.fixture(autouse=True)
def app_home(tmp_path_factory, monkeypatch) -> Path:
    """Keep all app data (store, settings, user models, logs) inside the test."""
    home = tmp_path_factory.mktemp("home")
    monkeypatch.setenv("MOOD_TAGGER_HOME", str(home))
    return home


@pytest.fixture(scope="session")
def bundled_model():
    from tagger.core.models import load_model

    return load_model()


@pytest.fixture(scope="session")
def library(tmp_path_factory) -> Path:
    """A small Artist/Album/Track library in every format plus bad files (read-only use)."""
    root = tmp_path_factory.mktemp("music")
    kinds = ["calm", "bright", "harsh"]
    for i, (fmt, ext) in enumerate(
        [
            ("mp3", ".mp3"),
            ("flac", ".flac"),
            ("ogg", ".ogg"),
            ("opus", ".opus"),
            ("m4a", ".m4a"),
            ("wav", ".wav"),
            ("aiff", ".aiff"),
        ]
    ):
        write_audio(
            root / "Ärtist Ünïcode" / "Album 1" / f"0{i + 1} Song {fmt}{ext}",
            seconds=12.0,
            kind=kinds[i % 3],
            seed=i,
        )
    write_bad_files(root / "Broken Artist" / "Bad Album")
    (root / "Ärtist Ünïcode" / "Album 1" / "cover.jpg").write_bytes(b"\xff\xd8\xff")
    (root / ".hidden").mkdir()
    write_audio(root / ".hidden" / "secret.wav", seconds=2.0)
    return root


def dataset_available() -> bool:
    return (DATASET / "metadata.csv").is_file()


requires_dataset = pytest.mark.skipif(
    not dataset_available(), reason="../shared/datasets/4q is not present"
)


@pytest.fixture(scope="session")
def tiny_model_path(tmp_path_factory) -> Path:
    """A tiny randomly initialised checkpoint: for testing mechanics, never quality."""
    import torch

    from tagger.core.checkpoint import save_checkpoint
    from tagger.core.features import FeatureConfig
    from tagger.core.model import MoodCNN

    torch.manual_seed(0)
    model = MoodCNN(channels=(4, 8), dropout=0.0)
    model.eval()
    path = tmp_path_factory.mktemp("models") / "tiny.pt"
    save_checkpoint(path, model, FeatureConfig(), {"name": "tiny test model"})
    return path
