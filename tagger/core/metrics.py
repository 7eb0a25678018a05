"""Song-level evaluation metrics shared by ``training/`` and ``mood-tagger eval``."""

from __future__ import annotations

import itertools
from typing import Any

import numpy as np

from tagger.core.moods import MOODS

#: The seed project's three classes: calm / energetic / sad.
THREE_CLASS = ("calm", "energetic", "sad")
_TO_THREE = {"happy": "energetic", "aggressive": "energetic", "sad": "sad", "calm": "calm"}


def confusion(y_true: np.ndarray, y_pred: np.ndarray, n: int) -> np.ndarray:
    cm = np.zeros((n, n), dtype=np.int64)
    np.add.at(cm, (y_true, y_pred), 1)
    return cm


def macro_f1(cm: np.ndarray) -> float:
    tp = np.diag(cm).astype(float)
    prec = np.divide(tp, cm.sum(0), out=np.zeros_like(tp), where=cm.sum(0) > 0)
    rec = np.divide(tp, cm.sum(1), out=np.zeros_like(tp), where=cm.sum(1) > 0)
    f1 = np.divide(2 * prec * rec, prec + rec, out=np.zeros_like(tp), where=(prec + rec) > 0)
    present = cm.sum(1) > 0
    return float(f1[present].mean()) if present.any() else 0.0


def expected_calibration_error(probs: np.ndarray, y_true: np.ndarray, bins: int = 10) -> float:
    """ECE of the top-class confidence, ``bins`` equal-width bins."""
    conf = probs.max(axis=1)
    correct = probs.argmax(axis=1) == y_true
    edges = np.linspace(0.0, 1.0, bins + 1)
    ece = 0.0
    for lo, hi in itertools.pairwise(edges):
        m = (conf > lo) & (conf <= hi)
        if m.any():
            ece += m.mean() * abs(correct[m].mean() - conf[m].mean())
    return float(ece)


def song_metrics(probs: np.ndarray, y_true: np.ndarray) -> dict[str, Any]:
    """All metrics for song probabilities ``(n, 4)`` in MOODS order and labels ``(n,)``."""
    probs = np.asarray(probs, dtype=np.float64)
    y_true = np.asarray(y_true, dtype=np.int64)
    y_pred = probs.argmax(axis=1)
    cm = confusion(y_true, y_pred, len(MOODS))
    high = np.array([m in ("happy", "aggressive") for m in MOODS])
    three_idx = {name: i for i, name in enumerate(THREE_CLASS)}
    t3 = np.array([three_idx[_TO_THREE[MOODS[i]]] for i in y_true], dtype=np.int64)
    p3 = np.array([three_idx[_TO_THREE[MOODS[i]]] for i in y_pred], dtype=np.int64)
    return {
        "n": len(y_true),
        "macro_f1": macro_f1(cm),
        "accuracy": float((y_pred == y_true).mean()) if len(y_true) else 0.0,
        "energy_accuracy": float((high[y_pred] == high[y_true]).mean()) if len(y_true) else 0.0,
        "three_class_macro_f1": macro_f1(confusion(t3, p3, 3)),
        "ece": expected_calibration_error(probs, y_true),
        "confusion": cm.tolist(),
        "labels": list(MOODS),
    }


def format_confusion(cm: list[list[int]] | np.ndarray, labels: tuple[str, ...] = MOODS) -> str:
    """A readable confusion matrix: rows = true mood, columns = predicted."""
    cm = np.asarray(cm)
    w = max(10, *(len(x) + 1 for x in labels))
    head = "true \\ pred".ljust(w) + "".join(x.rjust(w) for x in labels)
    rows = [
        lab.ljust(w) + "".join(str(v).rjust(w) for v in row)
        for lab, row in zip(labels, cm, strict=True)
    ]
    return "\n".join([head, *rows])
