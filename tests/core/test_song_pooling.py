"""How window logits become a song's calibrated probabilities (``model.pool_song``)."""

from __future__ import annotations

import numpy as np
import pytest

from tagger.core.model import pool_song


def _softmax(z: np.ndarray) -> np.ndarray:
    e = np.exp(z - z.max(axis=1, keepdims=True))
    return e / e.sum(axis=1, keepdims=True)


def test_temperature_one_is_the_mean_of_the_window_softmaxes():
    z = np.random.default_rng(0).normal(0, 3, (5, 4))
    assert np.allclose(pool_song(z, 1.0), _softmax(z).mean(axis=0))


@pytest.mark.parametrize("temperature", [0.5, 1.7, 4.0])
def test_temperature_never_changes_the_top_mood(temperature):
    rng = np.random.default_rng(1)
    for _ in range(200):
        z = rng.normal(0, 4, (rng.integers(1, 7), 4))
        p = pool_song(z, temperature)
        assert p.argmax() == pool_song(z, 1.0).argmax()
        assert p.sum() == pytest.approx(1.0)


def test_a_higher_temperature_is_less_sure():
    z = np.array([[4.0, 0.0, -1.0, 0.0], [2.0, 1.0, 0.0, -2.0]])
    assert pool_song(z, 2.0).max() < pool_song(z, 1.0).max() < pool_song(z, 0.5).max()


def test_windows_that_disagree_are_averaged_before_calibration():
    # Calibrating each window first (the old way) let a large temperature flip the winner.
    z = np.array([[9.0, 0.0, 0.0, 0.0], [0.0, 2.5, 0.0, 0.0], [0.0, 2.5, 0.0, 0.0]])
    assert pool_song(z, 1.0).argmax() == 1
    per_window = _softmax(z / 3.0).mean(axis=0)
    assert per_window.argmax() == 0  # what calibrating each window would have said
    assert pool_song(z, 3.0).argmax() == 1
