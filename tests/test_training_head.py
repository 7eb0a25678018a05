"""The bundled model's head fit (``training.pretrained.fit_lda_head``) is LDA as a linear layer."""

from __future__ import annotations

import numpy as np
import torch
from sklearn.discriminant_analysis import LinearDiscriminantAnalysis

from training.pretrained import fit_lda_head


def _data(n: int = 400, d: int = 30, seed: int = 0):
    rng = np.random.default_rng(seed)
    y = rng.integers(0, 4, n)
    centres = rng.normal(0, 1.0, (4, d))
    x = centres[y] + rng.normal(0, 2.0, (n, d)) * rng.uniform(0.5, 3, d)
    return (x * 7 + 3).astype(np.float32), y


def test_the_layer_gives_lda_posteriors():
    x, y = _data()
    mean, std, w, b = fit_lda_head(x, y)
    probs = torch.softmax(torch.from_numpy((x - mean) / std) @ w.T + b, dim=1).numpy()
    ref = LinearDiscriminantAnalysis(solver="lsqr", shrinkage="auto", priors=[0.25] * 4)
    ref.fit((x - mean) / std, y)
    assert np.allclose(probs, ref.predict_proba((x - mean) / std), atol=1e-4)
    assert w.shape == (4, x.shape[1]) and b.shape == (4,)


def test_it_learns_held_out_classes():
    x, y = _data(n=800, seed=1)
    mean, std, w, b = fit_lda_head(x[:400], y[:400])
    pred = (torch.from_numpy((x[400:] - mean) / std) @ w.T + b).argmax(dim=1).numpy()
    assert (pred == y[400:]).mean() > 0.6  # chance is 0.25
