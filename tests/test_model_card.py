"""The model card's note on selection is printed for the recipe it was measured for only."""

from __future__ import annotations

import dataclasses
import json
from pathlib import Path

from tagger.core.features import FeatureConfig
from training.model_card import _selection_note
from training.train import DEFAULT_FEATURES, Recipe


def _report(**recipe_changes) -> dict:
    recipe = dataclasses.asdict(dataclasses.replace(Recipe(), **recipe_changes))
    # as metrics.json holds it (tuples become lists)
    return json.loads(
        json.dumps({"recipe": recipe, "features": FeatureConfig(**DEFAULT_FEATURES).to_dict()})
    )


def test_note_only_for_the_bundled_recipe():
    assert "nested CV" in _selection_note(_report())
    assert "nested CV" in _selection_note(_report(seed=3))  # the seed is not the recipe
    assert _selection_note(_report(head="logistic")) == ""
    other = _report()
    other["features"]["max_windows"] = 6
    assert _selection_note(other) == ""


def test_bundled_card_carries_the_note():
    card = Path(__file__).resolve().parents[1] / "resources" / "models" / "MODEL_CARD.md"
    assert "nested CV" in card.read_text(encoding="utf-8")
