"""The mood vocabulary: Russell's quadrants as used by the 4Q dataset."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

#: Canonical order of the model's outputs and of every probability vector.
MOODS: tuple[str, ...] = ("happy", "aggressive", "sad", "calm")

DISPLAY_NAMES: dict[str, str] = {m: m.capitalize() for m in MOODS}

#: 4Q quadrant -> mood key.
QUADRANTS: dict[str, str] = {"Q1": "happy", "Q2": "aggressive", "Q3": "sad", "Q4": "calm"}

#: Colours for chips and plots (readable on light and dark backgrounds).
COLOURS: dict[str, str] = {
    "happy": "#f2b705",
    "aggressive": "#d9453d",
    "sad": "#3d7dd9",
    "calm": "#3dae6b",
}

#: Text colour for errors (unreadable files, files that cannot be written).
ERROR_COLOUR = "#d9453d"

HIGH_ENERGY = frozenset({"happy", "aggressive"})
POSITIVE_VALENCE = frozenset({"happy", "calm"})


def parse_mood(text: str | None) -> str | None:
    """Return the mood key for a key, display name or quadrant (any case), else None."""
    if text is None:
        return None
    t = text.strip()
    if t.upper() in QUADRANTS:
        return QUADRANTS[t.upper()]
    t = t.lower()
    return t if t in MOODS else None


def display_name(mood: str | None) -> str:
    return DISPLAY_NAMES.get(mood or "", "")


@dataclass(frozen=True, slots=True)
class MoodScores:
    """Song-level probabilities over :data:`MOODS` and the scores derived from them."""

    probabilities: tuple[float, float, float, float]

    @classmethod
    def from_probabilities(cls, probs: Sequence[float]) -> MoodScores:
        if len(probs) != len(MOODS):
            raise ValueError(f"expected {len(MOODS)} probabilities, got {len(probs)}")
        total = float(sum(probs))
        if total <= 0:
            raise ValueError("probabilities must sum to a positive number")
        return cls(tuple(float(p) / total for p in probs))  # type: ignore[arg-type]

    def as_dict(self) -> dict[str, float]:
        return dict(zip(MOODS, self.probabilities, strict=True))

    @property
    def mood(self) -> str:
        return MOODS[max(range(len(MOODS)), key=self.probabilities.__getitem__)]

    @property
    def confidence(self) -> float:
        return max(self.probabilities)

    @property
    def energy(self) -> float:
        p = self.as_dict()
        return p["happy"] + p["aggressive"]

    @property
    def valence(self) -> float:
        p = self.as_dict()
        return p["happy"] + p["calm"]
