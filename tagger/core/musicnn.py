"""The musicnn CNN (Pons & Serra, 2019) in PyTorch: a music-tagging backbone.

musicnn was trained to tag the Million Song Dataset (50 Last.fm tags: genres, eras and
moods such as *Mellow*, *chill*, *sad*, *happy*, *party*). Its front end is musically
motivated: vertical filters spanning 40% and 70% of the mel axis catch timbre, horizontal
filters of 0.5-2 s catch rhythm and tempo; a residual 1-D mid end and global mean/max
pooling over time follow. Mood Tagger uses the pooled features as a pretrained sound
representation and learns only the mood layers on top (see ``model.MoodCNN``).

Input: ``(B, 1, 96, frames)`` of ``log10(1 + 10000 * mel power)``, 16 kHz, 512-point FFT,
hop 256 (``FeatureConfig`` with ``scale="log1p"``). Any length of at least one frame works.

Weights: converted once from the ISC-licensed ``musicnn`` package by
``training/convert_musicnn.py``; the layout here mirrors the original TensorFlow graph so the
conversion is a plain copy (checked against TensorFlow's output there).
"""

from __future__ import annotations

import torch
from torch import nn
from torch.nn import functional as F

#: The Million Song Dataset tags the original output layer predicts, in order.
MSD_TAGS = (
    "rock", "pop", "alternative", "indie", "electronic", "female vocalists", "dance", "00s",
    "alternative rock", "jazz", "beautiful", "metal", "chillout", "male vocalists",
    "classic rock", "soul", "indie rock", "Mellow", "electronica", "80s", "folk", "90s",
    "chill", "instrumental", "punk", "oldies", "blues", "hard rock", "ambient", "acoustic",
    "experimental", "female vocalist", "guitar", "Hip-Hop", "70s", "party", "country",
    "easy listening", "sexy", "catchy", "funk", "electro", "heavy metal", "Progressive rock",
    "60s", "rnb", "indie pop", "sad", "House", "happy",
)  # fmt: skip

_BN_EPS = 1e-3  # TensorFlow's default
#: Front-end filters whose weights sum (in absolute value) to no more than this are zero.
DEAD_FILTER_L1 = 1e-6


def _bn2d(c: int) -> nn.BatchNorm2d:
    return nn.BatchNorm2d(c, eps=_BN_EPS)


def _bn1d(c: int) -> nn.BatchNorm1d:
    return nn.BatchNorm1d(c, eps=_BN_EPS)


class _FreqMaxBlock(nn.Module):
    """conv2d -> ReLU -> BatchNorm -> max over the frequency axis: ``(B, C, T)``.

    In eval mode the max is taken first, on the convolution alone, and the bias, ReLU and
    BatchNorm are applied to the ``(B, C, T)`` result: all three are monotonic per channel
    (BatchNorm decreasing where its scale is negative, where the min is taken instead), so
    the numbers are the same while the large ``(B, C, T, F)`` tensor is read once, not
    four times; filters that training left at zero are not convolved at all.
    """

    def __init__(self, filters: int, kernel: tuple[int, int], pad_t: tuple[int, int]) -> None:
        super().__init__()
        self.pad_t = pad_t
        self.conv = nn.Conv2d(1, filters, kernel)
        self.bn = _bn2d(filters)
        self._folded: tuple | None = None

    def _eval_constants(self) -> tuple:
        """The live filters, their signed weights and the per-channel affine, computed once
        per set of weights (redone when a weight or BatchNorm statistic is changed in place,
        as loading a checkpoint does)."""
        bn, w = self.bn, self.conv.weight
        tensors = (w, self.conv.bias, bn.weight, bn.bias, bn.running_mean, bn.running_var)
        key = tuple((t.data_ptr(), t._version) for t in tensors)
        if self._folded is None or self._folded[0] != key:
            with torch.no_grad():
                scale = bn.weight / torch.sqrt(bn.running_var + bn.eps)
                sign = torch.where(scale < 0, -1.0, 1.0)
                # Training left most filters at zero (MSD: all but 65 of 561 have an L1 norm
                # under 1e-6, most under 1e-9): their convolution changes no output by more
                # than DEAD_FILTER_L1 x the largest input, so only the others are computed.
                live = torch.nonzero(w.flatten(1).abs().sum(dim=1) > DEAD_FILTER_L1).flatten()
                signed = w[live] * sign[live, None, None, None]
                affine = (bn.running_mean[:, None], scale[:, None], bn.bias[:, None])
                self._folded = (key, live, signed, sign[:, None], *affine)
        return self._folded[1:]

    def forward(self, x: torch.Tensor) -> torch.Tensor:  # x: (B, 1, T, F)
        x = F.pad(x, (0, 0, *self.pad_t))
        if self.training:  # batch statistics: no shortcut
            return self.bn(F.relu(self.conv(x))).amax(dim=3)
        live, signed, sign, mean, scale, beta = self._eval_constants()
        extreme = x.new_zeros(x.shape[0], self.conv.out_channels, x.shape[2] - signed.shape[2] + 1)
        if len(live):
            # max over frequency of sign * conv: the max, or (negated) the min, per channel
            extreme[:, live] = F.conv2d(x, signed).amax(dim=3)
        z = F.relu(extreme * sign + self.conv.bias[:, None])
        return (z - mean) * scale + beta


def _same(k: int) -> tuple[int, int]:
    """TensorFlow's 'same' padding for an odd or even kernel."""
    return ((k - 1) // 2, k - 1 - (k - 1) // 2)


class MusicnnBackbone(nn.Module):
    """musicnn front end + mid end + pooling: ``(B, 1, n_mels, T)`` -> ``(B, 1506)``.

    ``tags`` runs the original 200-unit dense layer and the 50-tag output on top.
    """

    def __init__(self, n_mels: int = 96, midend: int = 64, backend: int = 200) -> None:
        super().__init__()
        timbral = int(1.6 * 128)  # 204, as in the original
        temporal = int(1.6 * 32)  # 51
        self.bn_in = _bn2d(1)
        self.timbral = nn.ModuleList(
            [
                _FreqMaxBlock(timbral, (7, int(0.4 * n_mels)), (3, 3)),
                _FreqMaxBlock(timbral, (7, int(0.7 * n_mels)), (3, 3)),
            ]
        )
        self.temporal = nn.ModuleList(
            [_FreqMaxBlock(temporal, (k, 1), _same(k)) for k in (128, 64, 32)]
        )
        front = 2 * timbral + 3 * temporal  # 561
        self.mid = nn.ModuleList(
            [nn.Conv1d(front, midend, 7, padding=3)]
            + [nn.Conv1d(midend, midend, 7, padding=3) for _ in range(2)]
        )
        self.mid_bn = nn.ModuleList([_bn1d(midend) for _ in range(3)])
        self.out_features = 2 * (front + 3 * midend)  # 1506
        self.pool_bn = _bn1d(self.out_features)
        self.dense = nn.Linear(self.out_features, backend)
        self.dense_bn = _bn1d(backend)
        self.tag_layer = nn.Linear(backend, len(MSD_TAGS))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = self.bn_in(x.transpose(2, 3))  # (B, 1, T, F), the original layout
        front = torch.cat([b(x) for b in (*self.timbral, *self.temporal)], dim=1)
        h = self.mid_bn[0](F.relu(self.mid[0](front)))
        feats = [front, h]
        for conv, bn in zip(self.mid[1:], self.mid_bn[1:], strict=True):
            h = bn(F.relu(conv(h))) + h
            feats.append(h)
        m = torch.cat(feats, dim=1)  # (B, 753, T)
        # The original flattens [max, mean] per channel: interleaved.
        return torch.stack([m.amax(dim=2), m.mean(dim=2)], dim=2).flatten(1)

    def penultimate(self, pooled: torch.Tensor) -> torch.Tensor:
        """The original 200-unit layer (after its BatchNorm)."""
        return self.dense_bn(F.relu(self.dense(self.pool_bn(pooled))))

    def tags(self, x: torch.Tensor) -> torch.Tensor:
        """MSD tag probabilities ``(B, 50)``."""
        return torch.sigmoid(self.tag_layer(self.penultimate(self.forward(x))))


@torch.no_grad()
def load_tf_weights(model: MusicnnBackbone, w: dict) -> None:
    """Copy weights named as in the musicnn TensorFlow checkpoint (``/`` or ``.``), in
    place (so the front end's cached eval constants see the change)."""
    w = {k.replace("/", "."): torch.as_tensor(v) for k, v in w.items()}

    def bn(mod: nn.Module, name: str) -> None:
        mod.weight.copy_(w[f"{name}.gamma"])
        mod.bias.copy_(w[f"{name}.beta"])
        mod.running_mean.copy_(w[f"{name}.moving_mean"])
        mod.running_var.copy_(w[f"{name}.moving_variance"])

    def bn_name(i: int) -> str:
        return "batch_normalization" + (f"_{i}" if i else "")

    def conv_name(i: int) -> str:
        return "conv2d" + (f"_{i}" if i else "")

    bn(model.bn_in, bn_name(0))
    for i, block in enumerate((*model.timbral, *model.temporal)):
        block.conv.weight.copy_(w[f"{conv_name(i)}.kernel"].permute(3, 2, 0, 1))
        block.conv.bias.copy_(w[f"{conv_name(i)}.bias"])
        bn(block.bn, bn_name(i + 1))
    for j, (conv, b) in enumerate(zip(model.mid, model.mid_bn, strict=True)):
        k = w[f"{conv_name(5 + j)}.kernel"][:, :, 0, :]  # (7, in, out)
        conv.weight.copy_(k.permute(2, 1, 0))
        conv.bias.copy_(w[f"{conv_name(5 + j)}.bias"])
        bn(b, bn_name(6 + j))
    bn(model.pool_bn, bn_name(9))
    model.dense.weight.copy_(w["dense.kernel"].T)
    model.dense.bias.copy_(w["dense.bias"])
    bn(model.dense_bn, bn_name(10))
    model.tag_layer.weight.copy_(w["dense_1.kernel"].T)
    model.tag_layer.bias.copy_(w["dense_1.bias"])
