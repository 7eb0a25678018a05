"""The pretrained (musicnn) part of the mood model: frozen embeddings and a linear head.

The backbone never changes during training, so the penultimate-layer embedding of every
analysis window is computed once per dataset and feature setting and cached on disk
(``training/cache``); fitting the head on it takes well under a second, which makes
cross-validating it cheap. Weights come from ``training/pretrained`` (see
``convert_musicnn.py``).
"""

from __future__ import annotations

import hashlib
import logging
import time
from pathlib import Path

import numpy as np
import torch
import torch.nn.functional as F

from tagger.core import audio
from tagger.core.model import MoodCNN
from tagger.core.musicnn import load_tf_weights
from training.dataset import CACHE_DIR, Dataset

log = logging.getLogger(__name__)

PRETRAINED_DIR = Path(__file__).resolve().parent / "pretrained"


def weights_file(name: str) -> Path:
    return PRETRAINED_DIR / f"musicnn_{name}.npz"


def load_backbone(model: MoodCNN, name: str) -> None:
    """Copy the converted musicnn weights ``name`` (``msd``) into ``model.backbone``."""
    with np.load(weights_file(name)) as z:
        load_tf_weights(model.backbone, {k: z[k] for k in z.files})


def window_embeddings(ds: Dataset, name: str) -> tuple[np.ndarray, np.ndarray]:
    """Penultimate embeddings ``(windows, 200)`` of every song's analysis windows + owners."""
    from training.train import fixed_patches

    key = hashlib.sha256(
        repr((ds.features.to_dict(), ds.songs, audio.DECODE_VERSION)).encode()
        + weights_file(name).read_bytes()
    ).hexdigest()[:12]
    cache = CACHE_DIR / f"emb-{name}-{key}.npz"
    if cache.exists():
        with np.load(cache) as z:
            return z["emb"], z["owner"]
    model = MoodCNN(arch="musicnn", n_mels=ds.features.n_mels)
    load_backbone(model, name)
    model.eval()  # pen_mean/pen_std are 0/1 here: the raw penultimate layer
    x, owner = fixed_patches(ds, np.arange(len(ds.labels)))
    log.info("embedding %d windows with musicnn-%s (cached in %s)", len(x), name, cache)
    t0 = time.perf_counter()
    out = model.embed_windows(x).astype(np.float32)
    log.info("embedded in %.0f s", time.perf_counter() - t0)
    CACHE_DIR.mkdir(parents=True, exist_ok=True)
    np.savez(cache, emb=out, owner=owner)
    return out, owner


def fit_lda_head(
    emb: np.ndarray, y: np.ndarray
) -> tuple[np.ndarray, np.ndarray, torch.Tensor, torch.Tensor]:
    """Standardise ``emb`` and fit linear discriminant analysis on it, as a linear layer.

    A shared-covariance Gaussian per mood, the covariance shrunk by the Ledoit-Wolf
    estimate (computed from the data: no knob to tune). With ~1,800 correlated windows in
    200 dimensions this generalises better than a discriminatively fitted softmax layer
    (training/EXPERIMENTS.md). Its softmax over ``x @ weight.T + bias`` is LDA's posterior.
    The moods' prior is uniform: 4Q is balanced (225 songs per quadrant), the imbalance
    of the shared copy comes from the clips held out of it, and a person's library gives
    no reason to favour a mood before hearing the song.
    Returns ``(mean, std, weight, bias)`` as :func:`fit_head` does.
    """
    from sklearn.discriminant_analysis import LinearDiscriminantAnalysis

    mean = emb.mean(axis=0)
    std = emb.std(axis=0) + 1e-6
    classes = np.unique(y)
    lda = LinearDiscriminantAnalysis(
        solver="lsqr", shrinkage="auto", priors=np.full(len(classes), 1.0 / len(classes))
    )
    lda.fit((emb - mean) / std, y)
    weight = torch.from_numpy(np.asarray(lda.coef_, dtype=np.float32))
    bias = torch.from_numpy(np.asarray(lda.intercept_, dtype=np.float32))
    return mean, std, weight, bias


def fit_head(
    emb: np.ndarray,
    y: np.ndarray,
    weight_decay: float,
    steps: int,
    seed: int,
    n_classes: int = 4,
) -> tuple[np.ndarray, np.ndarray, torch.Tensor, torch.Tensor]:
    """Standardise ``emb`` and fit a linear softmax layer on it (full-batch AdamW).

    Returns ``(mean, std, weight, bias)``.
    """
    torch.manual_seed(seed)
    mean = emb.mean(axis=0)
    std = emb.std(axis=0) + 1e-6
    x = torch.from_numpy((emb - mean) / std)
    t = torch.from_numpy(y).long()
    layer = torch.nn.Linear(x.shape[1], n_classes)
    opt = torch.optim.AdamW(layer.parameters(), lr=3e-3, weight_decay=weight_decay)
    for _ in range(steps):
        loss = F.cross_entropy(layer(x), t)
        opt.zero_grad()
        loss.backward()
        opt.step()
    return mean, std, layer.weight.detach(), layer.bias.detach()
