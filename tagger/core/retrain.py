"""Fit the person's own mood layer on their labels (bundled weights untouched).

Method (chosen so that retraining is quick on two CPU cores and cannot forget what the
bundled model knows): the conv blocks are frozen, so each labelled song is embedded once
(the same analysis windows the app uses, :meth:`Analyzer.patches`), and only the linear
head is re-fitted on those embeddings: class-balanced cross-entropy (every song weighs the
same, whatever its number of windows) plus an L2-SP penalty that pulls the head toward the
bundled model's head. Because it is that cheap, the before/after estimate is an honest
k-fold cross-validation over the labelled songs: each song is predicted by a head fitted
without it.

:func:`retrain` is a generator (``Progress`` ... then one :class:`RetrainResult`) that
honours a :class:`CancelToken`, like every long core job. :func:`reset_model` goes back to
the bundled model.
"""

from __future__ import annotations

import contextlib
import copy
import logging
from collections.abc import Iterable, Iterator
from dataclasses import asdict, dataclass, field, replace
from pathlib import Path
from typing import Any

import numpy as np
import torch
import torch.nn.functional as F

from tagger.core.analysis import Analyzer
from tagger.core.checkpoint import (
    LoadedModel,
    encode_checkpoint,
    load_checkpoint,
    model_id_of,
    write_checkpoint,
)
from tagger.core.errors import CheckpointError, FileError, MoodTaggerError
from tagger.core.model import pool_song
from tagger.core.moods import MOODS
from tagger.core.paths import app_dirs, bundled_model_path
from tagger.core.progress import CancelToken, Progress
from tagger.core.settings import load_settings, save_settings, update_settings
from tagger.core.store import Store

log = logging.getLogger(__name__)

#: Retraining is offered from this many labelled songs.
MIN_LABELS = 10
#: Labels of one mood teach the layer nothing but to say that mood more.
MIN_MOODS = 2


class RetrainError(MoodTaggerError):
    """Retraining cannot run (too few labels, no model); ``str()`` is fit for a person."""


class ModelSaveError(RetrainError):
    """The retrained model could not be saved or made active (disk full, read-only
    folder); nothing was left behind and the current model stays active."""


@dataclass(frozen=True, slots=True)
class RetrainConfig:
    """Knobs of the head fine-tuning (defaults tuned on the simulated-listener benchmark)."""

    #: Full-batch Adam steps per fit (the fit is on cached embeddings: milliseconds each).
    steps: int = 150
    lr: float = 0.01
    #: Weight of the L2-SP penalty ``||W - W_bundled||^2 + ||b - b_bundled||^2``. 0.1 for
    #: the musicnn model's standardised 200-d features: with 0.01 the head drifted on small,
    #: truthful label sets (70 songs: held-out accuracy 61%, not 70%), with 0.3 and more it
    #: learnt a listener's taste too slowly (sad->calm 0.72 at 0.3, 0.48 at 1.0; 0.85 at 0.1).
    l2sp: float = 0.1
    #: Folds of the song-level cross-validation behind the before/after estimate.
    folds: int = 5
    seed: int = 0
    #: torch and BLAS threads while embedding the songs (restored afterwards; head fits
    #: use one torch thread).
    threads: int = 2


@dataclass(frozen=True, slots=True)
class RetrainResult:
    """A user model was fitted: saved and made active, or (``activated`` false) held back
    because it does not look better than before, to be activated with :func:`activate`."""

    #: Where the model was saved (``None`` while it is held back).
    model_path: Path | None
    model_id: str
    #: The model that was active (and is now replaced, when ``activated``).
    base_model_id: str
    n_labels: int
    n_used: int
    #: Song accuracy on the labels: the starting point (the bundled model, or the current
    #: model when it does not share the bundled sound features), then fine-tuned (k-fold,
    #: held out). Neither was fitted on the songs it is scored on.
    before: float
    after: float
    folds: int
    skipped: tuple[tuple[str, str], ...] = ()
    label_counts: dict[str, int] = field(default_factory=dict)
    #: What ``before`` measured: "the bundled model" or "the current model".
    before_model: str = "the current model"
    #: The id of the model ``before`` measured (the bundled one while a user model is
    #: active: that one learnt from these labels, so it cannot be scored on them).
    before_model_id: str = ""
    activated: bool = True
    #: The encoded checkpoint of a held-back model (what :func:`activate` saves).
    data: bytes | None = field(default=None, repr=False)

    @property
    def before_is_active(self) -> bool:
        """Whether ``before`` scored the model that was active (else that model is kept
        unscored when this one is held back)."""
        return not self.before_model_id or self.before_model_id == self.base_model_id

    @property
    def looks_worse(self) -> bool:
        """Fewer of the labels right after retraining than before (both held out)."""
        return self.after < self.before

    def summary(self) -> str:
        return (
            f"accuracy on your labels (cross-validated, {self.n_used} songs): "
            f"{self.before:.0%} before (with {self.before_model}) -> {self.after:.0%} after"
        )


# -- the job ----------------------------------------------------------------------------


def retrain(
    root: str | Path,
    store: Store,
    loaded: LoadedModel | None = None,
    config: RetrainConfig = RetrainConfig(),
    cancel: CancelToken | None = None,
    keep_if_worse: bool = False,
) -> Iterator[Progress | RetrainResult]:
    """Fine-tune on the labels under ``root``; save, activate and yield the user model.

    With ``keep_if_worse``, a model that scores lower on the labels than the starting
    point (:attr:`RetrainResult.looks_worse`) is neither saved nor activated: the result
    holds it (``activated`` false) for :func:`activate`, so the person can choose.

    Raises :class:`RetrainError` before any work when fewer than :data:`MIN_LABELS` songs
    are labelled or they all have one mood (or either is so once unreadable files are
    skipped), :class:`ModelSaveError` when the result cannot be saved. Yields nothing more
    (and saves nothing) when cancelled. A user model is never built on: retraining starts
    again from the bundled model, so the same labels give the same model (and model id).
    """
    from tagger.core.models import load_model

    labels = store.labels_under(Path(root).expanduser().resolve())
    if len(labels) < MIN_LABELS:
        raise RetrainError(
            f"retraining needs at least {MIN_LABELS} labelled songs; this library has {len(labels)}"
        )
    _check_moods(labels.values(), "labelled songs")
    if loaded is None:
        loaded = load_model()
    active_id = loaded.model_id
    loaded = _base_model(loaded)
    old_threads = torch.get_num_threads()
    torch.set_num_threads(max(1, config.threads))
    try:
        # NumPy's BLAS too (the features' matrix products): its sums, hence the model's
        # last bits and its id, depend on the thread count, which an analysis in this
        # process may have changed.
        with _blas_threads(max(1, config.threads)):
            yield from _retrain(labels, loaded, active_id, config, cancel, keep_if_worse)
    finally:
        torch.set_num_threads(old_threads)


def _retrain(
    labels: dict[str, str],
    loaded: LoadedModel,
    active_id: str,
    config: RetrainConfig,
    cancel: CancelToken | None,
    keep_if_worse: bool = False,
) -> Iterator[Progress | RetrainResult]:
    model = copy.deepcopy(loaded.model).eval()
    analyzer = Analyzer(loaded)
    paths = sorted(labels)
    embeddings: list[np.ndarray] = []
    ys: list[int] = []
    skipped: list[tuple[str, str]] = []
    yield Progress("features", 0, len(paths))
    for i, path in enumerate(paths, 1):
        if cancel is not None and cancel.cancelled:
            return
        try:
            _, _, patches = analyzer.patches(path)
            emb = model.embed_windows(patches).astype(np.float32)
            embeddings.append(emb)
            ys.append(MOODS.index(labels[path]))
        except FileError as exc:
            skipped.append((path, exc.message))
        except Exception as exc:  # an unexpected decoder failure: log it, keep going
            log.exception("unexpected error reading %s for retraining", path)
            skipped.append((path, f"unexpected error: {exc}"))
        yield Progress("features", i, len(paths), path)
    if len(embeddings) < MIN_LABELS:
        first = f", such as {skipped[0][0]}: {skipped[0][1]}" if skipped else ""
        raise RetrainError(
            f"only {len(embeddings)} labelled songs could be read ({len(skipped)} skipped"
            f"{first}); retraining needs at least {MIN_LABELS}"
        )
    _check_moods((MOODS[i] for i in ys), "readable labelled songs")
    y = np.array(ys)
    # The head fits are tiny: threading overhead would dominate them.
    torch.set_num_threads(1)
    head = model.head
    anchor_w, anchor_b, anchor_id = _anchor(
        loaded, head.weight.detach().clone(), head.bias.detach().clone()
    )
    # Every retrain starts from the anchor (the bundled head for a user model) and uses all
    # the labels. Starting from an earlier user model would score "before" on songs that
    # model was fitted on, and leak each held-out fold's labels into its fit.
    w0, b0 = anchor_w.clone(), anchor_b.clone()
    temperature = float(model.temperature)

    before = _accuracy(_predict(embeddings, w0, b0, temperature), y)
    folds = _folds(y, config.folds, config.seed)
    k = int(folds.max()) + 1
    held_out = np.zeros((len(y), len(MOODS)))
    yield Progress("train", 0, k + 1)
    for f in range(k):
        if cancel is not None and cancel.cancelled:
            return
        tr, te = np.flatnonzero(folds != f), np.flatnonzero(folds == f)
        w, b = fit_head([embeddings[i] for i in tr], y[tr], w0, b0, anchor_w, anchor_b, config)
        held_out[te] = _predict([embeddings[i] for i in te], w, b, temperature)
        yield Progress("train", f + 1, k + 1)
    after = _accuracy(held_out, y)
    w, b = fit_head(embeddings, y, w0, b0, anchor_w, anchor_b, config)
    if cancel is not None and cancel.cancelled:
        return
    yield Progress("train", k + 1, k + 1)

    with torch.no_grad():
        head.weight.copy_(w)
        head.bias.copy_(b)
    counts = {m: int((y == i).sum()) for i, m in enumerate(MOODS)}
    # Only what the labels and the base model determine (no date: the file's time says
    # when), so that the same labels give the same bytes, model id and cached predictions.
    provenance: dict[str, Any] = {
        **{k_: v for k_, v in loaded.provenance.items() if k_ in ("training_data",)},
        "name": "user model",
        "kind": "user",
        "base_model_id": loaded.model_id,
        "anchor_model_id": anchor_id,
        "method": "frozen conv blocks; class-balanced head fine-tune with L2-SP",
        "n_labels": len(labels),
        "n_used": len(y),
        "label_counts": counts,
        "estimate": {"metric": "song accuracy", "before": before, "after": after, "folds": k},
        "config": asdict(config),
    }
    data = encode_checkpoint(model, loaded.features, provenance, loaded.labels)
    model_id = model_id_of(data)
    result = RetrainResult(
        model_path=None,
        model_id=model_id,
        base_model_id=active_id,
        n_labels=len(labels),
        n_used=len(y),
        before=before,
        after=after,
        folds=k,
        skipped=tuple(skipped),
        label_counts=counts,
        before_model=(
            "the bundled model"
            if anchor_id != loaded.model_id or _is_bundled(loaded)
            else "the current model"
        ),
        before_model_id=anchor_id,
        activated=False,
        data=data,
    )
    if keep_if_worse and result.looks_worse:
        log.info(
            "user model %s held back: before %.3f, after %.3f (%d songs)",
            model_id,
            before,
            after,
            len(y),
        )
        yield result
        return
    yield activate(result)


def activate(result: RetrainResult) -> RetrainResult:
    """Save a held-back retrained model and make it the active one (all or nothing, as
    :func:`retrain` does; :class:`ModelSaveError` when it cannot be saved)."""
    if result.activated:
        return result
    if result.data is None:
        raise RetrainError("this retrained model is no longer there; retrain again")
    path = _save_and_activate(result.data, result.model_id)
    log.info(
        "user model %s saved to %s (%d songs, before %.3f, after %.3f)",
        result.model_id,
        path,
        result.n_used,
        result.before,
        result.after,
    )
    return replace(result, model_path=path, activated=True, data=None)


def _save_and_activate(data: bytes, model_id: str) -> Path:
    """Write the user model and make it the active one, all or nothing: when either step
    fails (disk full, read-only folder, Ctrl+C) no new file is left behind and the current
    model stays active."""
    path: Path | None = None
    existed = False
    try:
        path = app_dirs().ensure().user_models / f"user-{model_id}.pt"
        existed = path.is_file()  # the same labels retrained: the same bytes
        write_checkpoint(path, data)
        update_settings(active_model=str(path))
    except BaseException as exc:
        if path is not None and not existed and load_settings().get("active_model") != str(path):
            path.unlink(missing_ok=True)
        if isinstance(exc, OSError):
            where = path.parent if path is not None else app_dirs().user_models
            raise ModelSaveError(
                f"your retrained model could not be saved in {where}: {exc.strerror or exc} "
                "(is the disk full or the folder read-only?); the current model stays active"
            ) from exc
        raise
    return path


def _check_moods(moods: Iterable[str], what: str) -> None:
    """RetrainError unless the labels name at least two moods.

    Fitted on one mood only, the layer learns nothing but "say this mood more" (12 songs
    labelled sad turned every calm song sad), while the held-out estimate still rises.
    """
    seen = set(moods)
    if len(seen) < MIN_MOODS:
        only = f"all your {what} are {next(iter(seen))}" if seen else f"you have no {what}"
        raise RetrainError(
            f"retraining needs songs of at least two different moods, and {only}: "
            "label some songs of another mood too"
        )


def reset_model() -> None:
    """Go back to the bundled model (user model files are kept; bundled is never touched)."""
    s = load_settings()
    if s.pop("active_model", None) is not None:
        save_settings(s)


def can_retrain(labels: Iterable[str | None]) -> bool:
    """Whether :func:`retrain` would accept these labels (None: no label): at least
    :data:`MIN_LABELS` of them, of at least :data:`MIN_MOODS` moods."""
    given = [m for m in labels if m]
    return len(given) >= MIN_LABELS and len(set(given)) >= MIN_MOODS


# -- pieces -----------------------------------------------------------------------------


def _is_bundled(loaded: LoadedModel) -> bool:
    path = bundled_model_path()
    return path.is_file() and Path(loaded.path).resolve() == path.resolve()


def _blas_threads(n: int) -> contextlib.AbstractContextManager[object]:
    try:
        from threadpoolctl import threadpool_limits
    except ImportError:  # pragma: no cover - a declared dependency; optional here
        return contextlib.nullcontext()
    return threadpool_limits(n, user_api="blas")


def _base_model(loaded: LoadedModel) -> LoadedModel:
    """The model to fine-tune: the bundled one in place of a user model.

    A user model's layer was fitted on these very labels, and one made before an app
    update carries the old bundled model's sound features; either way, building on it
    would not be "your labels on the bundled model".
    """
    if loaded.provenance.get("kind") != "user" or _is_bundled(loaded):
        return loaded
    try:
        return load_checkpoint(bundled_model_path())
    except CheckpointError as exc:
        log.warning("retraining from %s: the bundled model cannot be loaded: %s", loaded.path, exc)
        return loaded


def _anchor(
    loaded: LoadedModel, w0: torch.Tensor, b0: torch.Tensor
) -> tuple[torch.Tensor, torch.Tensor, str]:
    """The bundled head when the current model shares the bundled conv weights, else its own.

    Anchoring to the bundled head (not to the current one) keeps repeated retraining from
    drifting away from what the bundled model knows.
    """
    if not _is_bundled(loaded) and bundled_model_path().is_file():
        try:
            bundled = load_checkpoint(bundled_model_path())
            cur = loaded.model.state_dict()
            ref = bundled.model.state_dict()
            same = cur.keys() == ref.keys() and all(
                cur[k].shape == ref[k].shape and torch.equal(cur[k], ref[k])
                for k in cur
                if not k.startswith("head.")
            )
            if same:
                m = bundled.model.head
                return m.weight.detach().clone(), m.bias.detach().clone(), bundled.model_id
        except MoodTaggerError as exc:
            log.warning("bundled model not usable as anchor: %s", exc)
    return w0, b0, loaded.model_id


def _folds(y: np.ndarray, k: int, seed: int) -> np.ndarray:
    """Deterministic stratified fold number of every song."""
    k = max(2, min(k, len(y)))
    rng = np.random.default_rng(seed)
    folds = np.empty(len(y), dtype=int)
    offset = 0
    for c in range(len(MOODS)):
        idx = np.flatnonzero(y == c)
        idx = idx[rng.permutation(len(idx))]
        folds[idx] = (np.arange(len(idx)) + offset) % k
        offset += len(idx)
    return folds


def fit_head(
    embeddings: list[np.ndarray],
    y: np.ndarray,
    w_init: torch.Tensor,
    b_init: torch.Tensor,
    w_anchor: torch.Tensor,
    b_anchor: torch.Tensor,
    config: RetrainConfig,
) -> tuple[torch.Tensor, torch.Tensor]:
    """Class-balanced, song-weighted cross-entropy + L2-SP, full-batch Adam (seeded)."""
    torch.manual_seed(config.seed)
    x = torch.from_numpy(np.concatenate(embeddings))
    owner = np.concatenate([np.full(len(e), i) for i, e in enumerate(embeddings)])
    n_win = np.array([len(e) for e in embeddings], dtype=np.float64)
    counts = np.bincount(y, minlength=len(MOODS)).astype(np.float64)
    present = int((counts > 0).sum())
    class_w = np.where(counts > 0, len(y) / (present * np.maximum(counts, 1)), 0.0)
    weights = class_w[y[owner]] / n_win[owner]
    weights = torch.from_numpy(weights / weights.sum()).float()
    target = torch.from_numpy(y[owner]).long()
    w = w_init.clone().requires_grad_(True)
    b = b_init.clone().requires_grad_(True)
    opt = torch.optim.Adam([w, b], lr=config.lr)
    for _ in range(config.steps):
        logits = x @ w.T + b
        ce = (F.cross_entropy(logits, target, reduction="none") * weights).sum()
        loss = ce + config.l2sp * (((w - w_anchor) ** 2).sum() + ((b - b_anchor) ** 2).sum())
        opt.zero_grad()
        loss.backward()
        opt.step()
    return w.detach(), b.detach()


def _predict(
    embeddings: list[np.ndarray], w: torch.Tensor, b: torch.Tensor, temperature: float
) -> np.ndarray:
    """Song probabilities as the app computes them (:func:`model.pool_song`)."""
    with torch.no_grad():
        out = [pool_song((torch.from_numpy(e) @ w.T + b).numpy(), temperature) for e in embeddings]
    return np.stack(out) if out else np.zeros((0, len(MOODS)))


def _accuracy(probs: np.ndarray, y: np.ndarray) -> float:
    return float((probs.argmax(axis=1) == y).mean()) if len(y) else 0.0
