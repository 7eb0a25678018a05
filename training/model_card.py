"""Writes MODEL_CARD.md from a training report (metrics.json)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from tagger.core.metrics import format_confusion


def _pm(s: dict[str, float]) -> str:
    return f"{s['mean']:.3f} ± {s['std']:.3f}"


def write_model_card(path: Path, report: dict[str, Any], extra: str = "") -> None:
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
    text = f"""# Mood CNN (bundled model)

Model id `{report["model_id"]}` · created {report.get("created", "")}

## What it does
Predicts the mood of a song as probabilities over Russell's quadrants: `happy` (Q1),
`aggressive` (Q2), `sad` (Q3), `calm` (Q4). The app cuts a song into up to six evenly
spaced 5-s windows (skipping the first and last 10 s of songs of a minute or more),
scores each window and averages the calibrated probabilities.

## Data
4Q audio emotion dataset (Panda et al. 2018): the 764 clips of the shared training copy,
30 s each, mono 22,050 Hz. Artist-disjoint folds 0-4 as given in `metadata.csv`.
Labels are AllMusic mood tags mapped to quadrants, so they describe Western popular
music as AllMusic editors hear it.

## Recipe
- Features (`tagger/core/features.py`, saved in the checkpoint): {json.dumps(report["features"])}
- Input: 128 mel bands x {report.get("segment_frames", 212)} frames (5 s) log-mel patches,
  dB re full scale.
- Model: `MoodCNN` {json.dumps(report["recipe"].get("channels"))} channels, conv3x3/BN/ReLU/max-pool
  blocks, global mean+max pooling, dropout, linear; {report["n_parameters"]:,} parameters.
- Training: {json.dumps(report["recipe"])}
- Calibration: temperature {cv["temperature"]:.3f}, fitted on the out-of-fold predictions.
- The shipped weights are trained on all folds with the recipe and epoch count fixed by CV.
- Rebuild: `{command}`
  ({report["train_seconds"] / 60:.0f} min on {report["machine"]}).

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

Calibration (pooled out-of-fold, 10 bins): ECE {raw["ece"]:.3f} before, **{cal["ece"]:.3f}** after
temperature scaling.

Pooled confusion matrix (rows = true, columns = predicted):
```
{format_confusion(cal["confusion"])}
```

## Known weaknesses
- Sad vs calm (valence among quiet songs) is the main confusion, then happy vs aggressive.
- Trained on 30-s previews of AllMusic-labelled songs; other genres, live recordings and
  very long pieces may be judged less well. Labels are per song, moods inside a song vary.
{extra}
"""
    path.write_text(text, encoding="utf-8")


if __name__ == "__main__":
    import sys

    rep = json.loads(Path(sys.argv[1]).read_text())
    write_model_card(Path(sys.argv[2]), rep)
