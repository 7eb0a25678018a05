"""The mood CNN. Its constructor kwargs travel in the checkpoint (see checkpoint.py)."""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import torch
from torch import nn

#: "cnn2d": a small CNN trained from scratch, treating the log-mel patch as an image
#: (conv3x3 blocks, ``channels``); "musicnn": the pretrained music-tagging CNN of
#: ``tagger.core.musicnn``, frozen, its 200-d penultimate layer standardised.
ARCHS = ("cnn2d", "musicnn")


class MoodCNN(nn.Module):
    """Log-mel patch ``(B, 1, n_mels, frames)`` -> mood logits ``(B, n_classes)``.

    ``embed`` gives the features that the linear ``head`` turns into logits; retraining
    refits only the head. Input standardisation (fitted on the training data) and the
    calibration temperature are buffers, so a checkpoint is self-contained.
    """

    def __init__(
        self,
        n_mels: int = 128,
        n_classes: int = 4,
        channels: Sequence[int] = (16, 32, 64, 128),
        dropout: float = 0.3,
        arch: str = "cnn2d",
    ) -> None:
        super().__init__()
        if arch not in ARCHS:
            raise ValueError(f"unknown architecture {arch!r}")
        self.arch = arch
        if arch == "musicnn":
            from tagger.core.musicnn import MusicnnBackbone

            self.kwargs = {"n_mels": n_mels, "n_classes": n_classes, "arch": arch}
            self.backbone = MusicnnBackbone(n_mels)
            width = self.backbone.dense.out_features
            self.register_buffer("pen_mean", torch.zeros(width))
            self.register_buffer("pen_std", torch.ones(width))
        else:
            # The keys older checkpoints carry, so they load unchanged.
            self.kwargs = {
                "n_mels": n_mels,
                "n_classes": n_classes,
                "channels": list(channels),
                "dropout": dropout,
            }
            layers: list[nn.Module] = []
            c_in = 1
            for c in channels:
                layers += [
                    nn.Conv2d(c_in, c, 3, padding=1, bias=False),
                    nn.BatchNorm2d(c),
                    nn.ReLU(inplace=True),
                    nn.MaxPool2d(2),
                ]
                c_in = c
            self.features = nn.Sequential(*layers)
            self.register_buffer("input_mean", torch.zeros(()))
            self.register_buffer("input_std", torch.ones(()))
            width = 2 * c_in
        self.dropout = nn.Dropout(dropout)
        self.head = nn.Linear(width, n_classes)
        self.register_buffer("temperature", torch.ones(()))

    def train(self, mode: bool = True) -> MoodCNN:
        """As ``nn.Module.train``, but a pretrained backbone always stays frozen."""
        super().train(mode)
        if self.arch == "musicnn":
            self.backbone.eval()
            self.backbone.requires_grad_(False)
        return self

    def embed(self, x: torch.Tensor) -> torch.Tensor:
        if self.arch == "musicnn":
            pen = self.backbone.penultimate(self.backbone(x))
            return (pen - self.pen_mean) / self.pen_std
        h = self.features((x - self.input_mean) / self.input_std)
        return torch.cat([h.mean(dim=(2, 3)), h.amax(dim=(2, 3))], dim=1)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """Uncalibrated logits (training uses these)."""
        return self.head(self.dropout(self.embed(x)))

    @torch.no_grad()
    def predict_proba(self, x: torch.Tensor) -> torch.Tensor:
        """Segment probabilities (eval mode expected). Uncalibrated: the temperature applies
        to a whole song's averaged probabilities (:func:`pool_song`, :meth:`song_proba`)."""
        return torch.softmax(self.forward(x), dim=1)

    @torch.inference_mode()
    def embed_windows(self, patches: np.ndarray) -> np.ndarray:
        """``embed`` of ``(n, 1, mels, frames)`` patches, one window at a time: on a CPU
        the activations of a batch outgrow the caches (musicnn: ~2x slower per window)."""
        return np.concatenate([self.embed(torch.from_numpy(p[None])).numpy() for p in patches])

    @torch.inference_mode()
    def window_logits(self, patches: np.ndarray) -> np.ndarray:
        """Uncalibrated logits of patches, one window at a time (see ``embed_windows``)."""
        return np.concatenate([self.forward(torch.from_numpy(p[None])).numpy() for p in patches])

    def song_proba(self, patches: np.ndarray) -> np.ndarray:
        """One song's calibrated mood probabilities ``(n_classes,)`` from its windows."""
        return pool_song(self.window_logits(patches), float(self.temperature))


def pool_song(logits: np.ndarray, temperature: float = 1.0) -> np.ndarray:
    """A song's window logits ``(n, classes)`` -> its probabilities ``(classes,)``.

    The windows' softmax probabilities are averaged, then calibrated as a whole:
    ``p ** (1 / T)``, renormalised. Scaling the song's log-probabilities (not each window's
    logits) keeps calibration from changing the song's top mood; it changes only how sure
    the song's probabilities say it is.
    """
    z = np.asarray(logits, dtype=np.float64)
    p = np.exp(z - z.max(axis=1, keepdims=True))
    p = (p / p.sum(axis=1, keepdims=True)).mean(axis=0)
    logp = np.log(np.clip(p, 1e-300, None)) / temperature
    q = np.exp(logp - logp.max())
    return q / q.sum()
