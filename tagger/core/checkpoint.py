"""Save and load model weights together with everything needed to use them.

A checkpoint is a plain dict (loadable with ``torch.load(weights_only=True)``):
architecture kwargs, state dict, labels, :class:`FeatureConfig`, provenance. The model id
is a hash of the file's bytes, so it changes whenever the weights change; the store keys
its predictions by it.
"""

from __future__ import annotations

import hashlib
import io
import logging
import os
import re
import tempfile
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import torch

from tagger.core.errors import CheckpointError
from tagger.core.features import FeatureConfig
from tagger.core.model import MoodCNN
from tagger.core.moods import MOODS
from tagger.core.text import not_found_hint

log = logging.getLogger(__name__)

FORMAT_VERSION = 1


@dataclass(frozen=True)
class LoadedModel:
    model: MoodCNN
    features: FeatureConfig
    labels: tuple[str, ...]
    model_id: str
    path: Path
    provenance: dict[str, Any] = field(default_factory=dict)


def save_checkpoint(
    path: str | Path,
    model: MoodCNN,
    features: FeatureConfig,
    provenance: dict[str, Any] | None = None,
    labels: tuple[str, ...] = MOODS,
) -> str:
    """Write atomically; return the new model id."""
    return write_checkpoint(path, encode_checkpoint(model, features, provenance, labels))


def encode_checkpoint(
    model: MoodCNN,
    features: FeatureConfig,
    provenance: dict[str, Any] | None = None,
    labels: tuple[str, ...] = MOODS,
) -> bytes:
    """The checkpoint's bytes: the same weights, features and provenance give the same
    bytes, hence the same model id (:func:`model_id_of`)."""
    payload = {
        "format_version": FORMAT_VERSION,
        "arch": "MoodCNN",
        "kwargs": model.kwargs,
        "state_dict": {k: v.detach().cpu().clone() for k, v in model.state_dict().items()},
        "labels": list(labels),
        "features": features.to_dict(),
        "provenance": provenance or {},
    }
    buf = io.BytesIO()
    torch.save(payload, buf)
    return buf.getvalue()


def write_checkpoint(path: str | Path, data: bytes) -> str:
    """Write :func:`encode_checkpoint`'s bytes atomically (never a partial file, even when
    the disk fills up or the write is interrupted); return the model id. Raises OSError."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=".tmp-", suffix=".pt")
    try:
        with os.fdopen(fd, "wb") as f:
            f.write(data)
            f.flush()
            os.fsync(f.fileno())
        os.chmod(tmp, 0o644)  # mkstemp makes it private; a model file is not secret
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
    return model_id_of(data)


#: How the app names a retrained model's file: after its model id, a hash of its bytes.
_USER_MODEL_NAME = re.compile(r"user-([0-9a-f]{16})\.pt")


def model_id_of(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()[:16]


def load_checkpoint(path: str | Path) -> LoadedModel:
    """Load a checkpoint; any problem becomes :class:`CheckpointError`."""
    path = Path(path)
    try:
        data = path.read_bytes()
    except OSError as exc:
        hint = not_found_hint(path) if isinstance(exc, FileNotFoundError) else ""
        raise CheckpointError(
            f"cannot read model file {path}: {exc.strerror or exc}{hint}"
        ) from None
    try:
        payload = torch.load(io.BytesIO(data), map_location="cpu", weights_only=True)
    except Exception as exc:  # torch raises many types for a bad file
        log.debug("torch.load(%s) failed: %s", path, exc)  # long, and advice not to follow
        raise CheckpointError(
            f"{path} is not a Mood Tagger model (damaged, or another kind of file)"
        ) from None
    if not isinstance(payload, dict) or payload.get("arch") != "MoodCNN":
        raise CheckpointError(f"{path} is not a Mood Tagger model")
    if payload.get("format_version") != FORMAT_VERSION:
        raise CheckpointError(f"{path}: unsupported model format {payload.get('format_version')}")
    labels = tuple(payload.get("labels", ()))
    if labels != MOODS:
        raise CheckpointError(f"{path}: labels {labels} differ from the app's moods {MOODS}")
    try:
        features = FeatureConfig.from_dict(payload["features"])
        model = MoodCNN(**payload["kwargs"])
        model.load_state_dict(payload["state_dict"])
    except (KeyError, TypeError, ValueError, RuntimeError) as exc:
        raise CheckpointError(f"{path}: incompatible model ({exc})") from None
    model.eval()
    bad = [
        k for k, v in model.state_dict().items() if v.is_floating_point() and not v.isfinite().all()
    ]
    if bad:  # every song would come out one mood, with NaN probabilities
        raise CheckpointError(f"{path} is damaged: invalid numbers (NaN or infinity) in {bad[0]}")
    model_id = model_id_of(data)
    named = _USER_MODEL_NAME.fullmatch(path.name)
    if named and named.group(1) != model_id:
        # the app names a retrained model after its contents: they changed since
        raise CheckpointError(f"{path} is damaged: its contents changed since it was saved")
    provenance = payload.get("provenance", {})
    if not isinstance(provenance, dict):
        raise CheckpointError(f"{path}: incompatible model (its provenance is not a mapping)")
    return LoadedModel(
        model=model,
        features=features,
        labels=labels,
        model_id=model_id,
        path=path,
        provenance=dict(provenance),
    )
