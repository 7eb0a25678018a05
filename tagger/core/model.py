"""The mood CNN. Its constructor kwargs travel in the checkpoint (see checkpoint.py)."""

from __future__ import annotations

from collections.abc import Sequence

import torch
from torch import nn
from torch.nn import functional as F

#: Front ends: "cnn2d" treats the log-mel patch as an image (conv3x3 blocks); "cnn1d"
#: treats each mel band as an input channel and convolves over time only, so every
#: frequency band keeps its own weights (frequency-aware, and cheap on a CPU);
#: "musicnn" is the pretrained music-tagging CNN of ``tagger.core.musicnn`` (frozen), its
#: 200-d penultimate layer standardised, optionally beside a small "cnn2d" branch
#: (``channels``) trained on the same patches; the head sees both.
ARCHS = ("cnn2d", "cnn1d", "musicnn")


class MoodCNN(nn.Module):
    """Log-mel patch ``(B, 1, n_mels, frames)`` -> mood logits ``(B, n_classes)``.

    ``embed`` gives the pooled features (global mean + max over time/frequency) that the
    linear ``head`` turns into logits; retraining refits only the head. Input
    standardisation (fitted on the training data, one value or one per mel band) and the
    calibration temperature are buffers, so a checkpoint is self-contained.
    """

    def __init__(
        self,
        n_mels: int = 128,
        n_classes: int = 4,
        channels: Sequence[int] = (16, 32, 64, 128),
        dropout: float = 0.3,
        arch: str = "cnn2d",
        time_pool: int = 1,
        band_norm: bool = False,
    ) -> None:
        super().__init__()
        if arch not in ARCHS:
            raise ValueError(f"unknown architecture {arch!r}")
        self.kwargs = {
            "n_mels": n_mels,
            "n_classes": n_classes,
            "channels": list(channels),
            "dropout": dropout,
        }
        # Only non-default options are recorded, so older checkpoints load unchanged.
        if arch != "cnn2d":
            self.kwargs["arch"] = arch
        if time_pool != 1:
            self.kwargs["time_pool"] = time_pool
        if band_norm:
            self.kwargs["band_norm"] = True
        self.arch = arch
        self.time_pool = time_pool
        layers: list[nn.Module] = []
        width = 0
        if arch == "musicnn":
            from tagger.core.musicnn import MusicnnBackbone

            self.backbone = MusicnnBackbone(n_mels)
            pen = self.backbone.dense.out_features
            self.register_buffer("pen_mean", torch.zeros(pen))
            self.register_buffer("pen_std", torch.ones(pen))
            width = pen
        if arch in ("cnn2d", "musicnn"):
            c_in = 1
            for c in channels:
                layers += [
                    nn.Conv2d(c_in, c, 3, padding=1, bias=False),
                    nn.BatchNorm2d(c),
                    nn.ReLU(inplace=True),
                    nn.MaxPool2d(2),
                ]
                c_in = c
            width += 2 * c_in if channels else 0
        else:
            c_in = n_mels
            for i, c in enumerate(channels):
                layers += [
                    nn.Conv1d(c_in, c, 3, padding=1, bias=False),
                    nn.BatchNorm1d(c),
                    nn.ReLU(inplace=True),
                ]
                if i < len(channels) - 1:
                    layers.append(nn.MaxPool1d(2))
                c_in = c
            width = 2 * c_in
        self.features = nn.Sequential(*layers)
        self.dropout = nn.Dropout(dropout)
        self.head = nn.Linear(width, n_classes)
        norm_shape = (n_mels, 1) if band_norm else ()
        self.register_buffer("input_mean", torch.zeros(norm_shape))
        self.register_buffer("input_std", torch.ones(norm_shape))
        self.register_buffer("temperature", torch.ones(()))

    def train(self, mode: bool = True) -> MoodCNN:
        """As ``nn.Module.train``, but the pretrained backbone always stays frozen."""
        super().train(mode)
        if self.arch == "musicnn":
            self.backbone.eval()
            self.backbone.requires_grad_(False)
        return self

    def embed(self, x: torch.Tensor) -> torch.Tensor:
        if self.arch == "musicnn":
            parts = [self.pretrained_embed(x)]
            if len(self.features):
                parts.append(self.branch_embed(x))
            return torch.cat(parts, dim=1)
        return self.branch_embed(x)

    def pretrained_embed(self, x: torch.Tensor) -> torch.Tensor:
        """The standardised penultimate layer of the pretrained backbone (musicnn only)."""
        pen = self.backbone.penultimate(self.backbone(x))
        return (pen - self.pen_mean) / self.pen_std

    def branch_embed(self, x: torch.Tensor) -> torch.Tensor:
        """Pooled features of the trained conv blocks."""
        x = (x - self.input_mean) / self.input_std
        if self.time_pool > 1:
            x = F.avg_pool2d(x, (1, self.time_pool))
        if self.arch == "cnn1d":
            h = self.features(x.flatten(1, 2))
            return torch.cat([h.mean(dim=2), h.amax(dim=2)], dim=1)
        h = self.features(x)
        return torch.cat([h.mean(dim=(2, 3)), h.amax(dim=(2, 3))], dim=1)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """Uncalibrated logits (training uses these)."""
        return self.head(self.dropout(self.embed(x)))

    @torch.no_grad()
    def predict_proba(self, x: torch.Tensor) -> torch.Tensor:
        """Calibrated segment probabilities (eval mode expected)."""
        return torch.softmax(self.forward(x) / self.temperature, dim=1)
