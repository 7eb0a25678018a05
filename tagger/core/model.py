"""The mood CNN. Its constructor kwargs travel in the checkpoint (see checkpoint.py)."""

from __future__ import annotations

from collections.abc import Sequence

import torch
from torch import nn


class MoodCNN(nn.Module):
    """Log-mel patch ``(B, 1, n_mels, frames)`` -> mood logits ``(B, n_classes)``.

    Blocks of conv3x3 -> BatchNorm -> ReLU -> MaxPool2, global average + max pooling,
    dropout, linear. Input standardisation (mean/std fitted on the training data) and the
    calibration temperature are buffers, so a checkpoint is self-contained.
    """

    def __init__(
        self,
        n_mels: int = 128,
        n_classes: int = 4,
        channels: Sequence[int] = (16, 32, 64, 128),
        dropout: float = 0.3,
    ) -> None:
        super().__init__()
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
        self.dropout = nn.Dropout(dropout)
        self.head = nn.Linear(2 * c_in, n_classes)
        self.register_buffer("input_mean", torch.zeros(()))
        self.register_buffer("input_std", torch.ones(()))
        self.register_buffer("temperature", torch.ones(()))

    def embed(self, x: torch.Tensor) -> torch.Tensor:
        x = (x - self.input_mean) / self.input_std
        h = self.features(x)
        return torch.cat([h.mean(dim=(2, 3)), h.amax(dim=(2, 3))], dim=1)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """Uncalibrated logits (training uses these)."""
        return self.head(self.dropout(self.embed(x)))

    @torch.no_grad()
    def predict_proba(self, x: torch.Tensor) -> torch.Tensor:
        """Calibrated segment probabilities (eval mode expected)."""
        return torch.softmax(self.forward(x) / self.temperature, dim=1)
