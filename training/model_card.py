"""Writes MODEL_CARD.md from a training report (metrics.json)."""

from __future__ import annotations

import dataclasses
import json
from pathlib import Path
from typing import Any

import numpy as np

from tagger.core.features import FeatureConfig
from tagger.core.metrics import format_confusion
from tagger.core.moods import MOODS


def _pm(s: dict[str, float]) -> str:
    return f"{s['mean']:.3f} ± {s['std']:.3f}"


#: What the nested CV over window layouts (training/EXPERIMENTS.md) says of the bundled
#: recipe's score; measured for that recipe only, so printed only for it.
_BUNDLED_SELECTION_NOTE = """
The three 5-s windows were chosen for speed (they tied with six under an earlier
head). On the same folds, eight layouts (one to six windows of 3-30 s) score
0.719-0.745 (measured before the decoding fix of 2026-12-02, when these three
windows scored 0.745, the highest). Picking the layout by CV on the other four
folds, for each fold in turn (nested CV), gives 0.727. Expect about 0.73 on new
music rather than the figure above (`training/EXPERIMENTS.md`).
"""


def _selection_note(report: dict[str, Any]) -> str:
    """The note above when ``report`` is of the bundled recipe and features, else ""."""
    from training.train import DEFAULT_FEATURES, Recipe

    recipe = {k: v for k, v in report["recipe"].items() if k != "seed"}
    bundled = {k: v for k, v in dataclasses.asdict(Recipe()).items() if k != "seed"}
    recipe["channels"] = tuple(recipe.get("channels", ()))
    same_features = report["features"] == FeatureConfig(**DEFAULT_FEATURES).to_dict()
    return _BUNDLED_SELECTION_NOTE if recipe == bundled and same_features else ""


def write_model_card(path: Path, report: dict[str, Any]) -> None:
    cv = report["cv"]
    sp = cv["spread"]
    cal = cv["pooled_calibrated"]
    raw = cv["pooled_uncalibrated"]
    folds = ", ".join(str(f) for f in cv["folds"])
    per_fold = "\n".join(
        f"| {m['fold']} | {m['n']} | {m['macro_f1']:.3f} | {m['accuracy']:.3f} | "
        f"{m['energy_accuracy']:.3f} | {m['three_class_macro_f1']:.3f} |"
        for m in cv["per_fold"]
    )
    if len(cv["folds"]) == 1:
        heading = (
            f"Validation metrics (song level; trained on the other folds, scored on "
            f"held-out fold {folds}; a single split, so no spread)"
        )
    else:
        heading = f"Cross-validated metrics (song level, folds {folds})"
    command = report.get("command", "python -m training.train --data ../shared/datasets/4q")
    feats = report["features"]
    n_win, win_s = feats["max_windows"], f"{feats['segment_seconds']:g}"
    recipe = report["recipe"]
    scale = (
        "log10(1 + 10000 x mel power) as musicnn expects"
        if feats.get("scale") == "log1p"
        else "dB re full scale"
    )
    if feats.get("level_db") is not None:
        scale += (
            ";\n  each song's windows scaled together to a mean mel power of "
            f"{feats['level_db']:g} dB (one\n  gain per song, at most 40 dB), so the "
            "master's volume does not change the mood"
        )
    if feats.get("remove_dc"):
        scale += (
            ";\n  each STFT frame's mean taken out first, so a DC offset in the recording "
            "counts\n  neither as level nor as bass"
        )
    if recipe.get("head", "logistic") == "lda":
        head_text = (
            "linear discriminant analysis with Ledoit-Wolf covariance shrinkage (no knob\n"
            "  tuned), written as that linear layer"
        )
    else:
        head_text = "softmax regression (AdamW, full batch)"
    if recipe.get("arch") == "musicnn":
        model_text = (
            "- Model: `MoodCNN` arch `musicnn`. Backbone: musicnn (Pons & Serra 2019), the\n"
            "  CNN pretrained to tag the Million Song Dataset (timbral and temporal filters,\n"
            "  residual mid end, mean+max pooling, 200-unit penultimate layer), ported to\n"
            "  PyTorch (`tagger/core/musicnn.py`, weights converted by\n"
            "  `training/convert_musicnn.py`, ISC licence in `training/pretrained/`). It is\n"
            "  frozen; a linear layer on its standardised penultimate features is fitted:\n"
            f"  {head_text}.\n"
            f"  {report['n_parameters']:,} parameters."
        )
    else:
        model_text = (
            f"- Model: `MoodCNN` {json.dumps(recipe.get('channels'))} channels, conv3x3/BN/"
            "ReLU/max-pool blocks, global mean+max pooling, dropout, linear;"
            f" {report['n_parameters']:,} parameters."
        )
    keys = (
        ("arch", "pretrained", "head", "seed")
        if recipe.get("head") == "lda"
        else ("arch", "pretrained", "head", "head_weight_decay", "head_steps", "seed")
        if recipe.get("arch") == "musicnn"
        else tuple(recipe)
    )
    shown_recipe = {k: recipe[k] for k in keys if k in recipe}
    cm = np.asarray(cal["confusion"])
    pairs = sorted(
        ((cm[i, j] + cm[j, i], MOODS[i], MOODS[j]) for i in range(4) for j in range(i + 1, 4)),
        reverse=True,
    )
    confusions = ", ".join(f"{a} / {b} ({n} songs)" for n, a, b in pairs[:3])
    fold_f1 = [m["macro_f1"] for m in cv["per_fold"]]
    spread_gap = max(fold_f1) - min(fold_f1)
    inf = report.get("inference")
    cost = (
        "- Inference cost (one CPU thread, best of 30 and of 5 runs):"
        f" {inf['ms_per_segment_batch1']:.1f} ms per {feats['segment_seconds']:g}-s segment"
        f" at\n  batch 1, {inf['ms_per_segment_batch32']:.1f} ms at batch 32; weights"
        f" {inf['weights_mb']:.1f} MB. `python benchmarks/inference.py`\n  measures it on"
        " your machine."
        if inf
        else ""
    )
    selection = _selection_note(report)
    text = f"""# Mood CNN (bundled model)

Model id `{report["model_id"]}` · created {report.get("created", "")}

## What it does
Predicts the mood of a song as probabilities over Russell's quadrants: `happy` (Q1),
`aggressive` (Q2), `sad` (Q3), `calm` (Q4). The app scores up to {n_win} evenly spaced
{win_s}-s windows of a song (skipping the first and last 10 s of songs of a minute or
more), averages their probabilities and calibrates the average.

## Data
4Q audio emotion dataset (Panda et al. 2018): the 764 clips of the shared training copy,
30 s each, mono 22,050 Hz. Artist-disjoint folds 0-4 as given in `metadata.csv`.
Labels are AllMusic mood tags mapped to quadrants, so they describe Western popular
music as AllMusic editors hear it.

## Recipe
- Features (`tagger/core/features.py`, saved in the checkpoint): {json.dumps(feats)}
- Input: {feats["n_mels"]} mel bands x {report.get("segment_frames", 0)} frames
  ({feats["segment_seconds"]:g} s) log-mel patches, {scale}.
{model_text}
- Training: {json.dumps(shown_recipe)}
- Calibration: temperature {cv["temperature"]:.3f}, fitted on the out-of-fold predictions and
  applied to each song's averaged probabilities (`p ** (1 / T)`, renormalised), so it
  changes how sure a song's probabilities are, never its top mood.
- The shipped weights are trained on all folds with the recipe fixed by CV; how the
  recipe was chosen, with every variant's CV score: `training/EXPERIMENTS.md`.
- Rebuild: `{command.strip()}`
  ({report["train_seconds"] / 60:.1f} min from scratch on {report["machine"]}, no GPU).
  Every step is seeded: on the same machine the rebuild is byte-identical; on another CPU
  the weights differ by about 1e-6 (float rounding), so the model id differs, while the
  metrics below come out the same.
{cost}

## {heading}
| metric | mean ± std over folds |
|---|---|
| 4-class macro-F1 | {_pm(sp["macro_f1"])} |
| accuracy | {_pm(sp["accuracy"])} |
| energy accuracy (happy+aggressive vs sad+calm) | {_pm(sp["energy_accuracy"])} |
| 3-class macro-F1 (calm / energetic / sad) | {_pm(sp["three_class_macro_f1"])} |

| fold | songs | macro-F1 | accuracy | energy acc | 3-class F1 |
|---|---|---|---|---|---|
{per_fold}

Pooled over all {cal["n"]} out-of-fold songs: macro-F1 {cal["macro_f1"]:.3f}, accuracy
{cal["accuracy"]:.3f}, energy accuracy {cal["energy_accuracy"]:.3f}, 3-class macro-F1
{cal["three_class_macro_f1"]:.3f}.

For comparison, the published 4-class F1 on the full 900-clip 4Q set, each with its own
cross-validation, is 76.4% (handcrafted features + SVM, Panda et al. 2018) and 80.2%
(DNN + CNN ensemble, Louro et al. 2024). This model does not reach them yet.
{selection}
Calibration (pooled out-of-fold, 10 bins): ECE {raw["ece"]:.3f} before, **{cal["ece"]:.3f}** after
temperature scaling (the temperature minimises the held-out log-loss), so `confidence`
can be read as the chance the mood is right.

Pooled confusion matrix (rows = true, columns = predicted):
```
{format_confusion(cal["confusion"])}
```

## Known weaknesses
- Most confused pairs (out-of-fold songs, both directions): {confusions}. Valence
  among quiet songs (sad vs calm) is the hardest call; energy errors are mostly
  soft happy songs taken for sad or calm.
- Trained on 30-s previews of AllMusic-labelled songs; other genres, live recordings and
  very long pieces may be judged less well. Labels are per song, moods inside a song vary.
- Folds differ by up to {spread_gap:.2f} in macro-F1: expect that much variation from one
  collection to another.
- The same song in another format or bit rate (which moves the analysis windows by a few
  milliseconds) gets slightly different probabilities, and a song near the border between
  two moods can change its top mood. `python benchmarks/stability.py` measures it.
"""
    path.write_text(text, encoding="utf-8")


if __name__ == "__main__":
    import sys

    rep = json.loads(Path(sys.argv[1]).read_text())
    write_model_card(Path(sys.argv[2]), rep)
