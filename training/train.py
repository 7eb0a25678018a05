"""Train the bundled mood CNN on 4Q: cross-validate the recipe, calibrate, fit, save.

One command rebuilds ``resources/models`` (weights + model card + metrics)::

    python -m training.train --data ../shared/datasets/4q

Every step is seeded; features come from ``tagger.core.features`` (the app's own code).
"""

from __future__ import annotations

import argparse
import dataclasses
import datetime as dt
import json
import logging
import math
import platform
import sys
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import torch
import torch.nn.functional as F

from tagger.core.analysis import window_starts
from tagger.core.checkpoint import save_checkpoint
from tagger.core.features import FeatureConfig, normalise_level, silence_value
from tagger.core.metrics import song_metrics
from tagger.core.model import MoodCNN, pool_song
from training import pretrained
from training.dataset import DEFAULT_DATA, Dataset, load_dataset

log = logging.getLogger("training")

REPO = Path(__file__).resolve().parent.parent


#: The bundled model's features: what musicnn was trained on (16 kHz, 512-point FFT, hop
#: 256, 96 mel bands, log10(1 + 10000 x)); three 5-s windows per song keep the analysis
#: above 8 songs/s on two cores (see the model card); each song's windows are brought to
#: one level together, so a quieter master of the same music gets the same mood; each
#: frame's DC offset is taken out, so a converter's offset is neither level nor bass.
DEFAULT_FEATURES: dict[str, Any] = {
    "sample_rate": 16000,
    "n_fft": 512,
    "hop_length": 256,
    "n_mels": 96,
    "fmax": 8000.0,
    "scale": "log1p",
    "segment_seconds": 5.0,
    "max_windows": 3,
    # the median level of the 4Q clips: the average song keeps its input as it was
    "level_db": -3.0,
    "remove_dc": True,
}


@dataclass(frozen=True)
class Recipe:
    """How the model is trained. The defaults are the bundled model's recipe.

    ``arch="cnn2d"`` trains a small CNN from scratch with the fields up to ``swa_epochs``
    (the earlier recipe; ``--features '{}'`` gives it its 22 kHz dB input).
    """

    epochs: int = 24
    batch_size: int = 32
    lr: float = 1e-3
    weight_decay: float = 1e-4
    channels: tuple[int, ...] = (16, 32, 64, 128)
    dropout: float = 0.3
    #: "fixed": the analysis windows of each clip; "random": random crops each epoch.
    crops: str = "fixed"
    crops_per_clip: int = 6
    spec_augment: bool = False
    gain_db: float = 0.0
    mixup: float = 0.0
    label_smoothing: float = 0.0
    #: Average the weights of the last ``swa_epochs`` epochs (then refresh BatchNorm).
    swa_epochs: int = 0
    #: "musicnn" (pretrained, frozen) or "cnn2d" (see ``tagger.core.model.ARCHS``).
    arch: str = "musicnn"
    #: arch "musicnn": pretrained weights (training/pretrained/musicnn_<name>.npz); how the
    #: linear head is fitted: "lda" (shrinkage LDA) or "logistic" (softmax regression with
    #: AdamW, ``head_weight_decay`` and ``head_steps`` full-batch steps).
    pretrained: str = "msd"
    head: str = "lda"
    head_weight_decay: float = 0.01
    head_steps: int = 300
    seed: int = 0


# -- data -------------------------------------------------------------------------------


def _fixed_frames(n_frames: int, cfg: FeatureConfig) -> list[int]:
    """Frame offsets of the windows the app analyses in a clip of ``n_frames`` frames."""
    t = cfg.segment_frames
    duration = ((n_frames - 1) * cfg.hop_length + cfg.n_fft) / cfg.sample_rate
    starts = window_starts(duration, cfg.segment_seconds, cfg.max_windows)
    return [max(0, min(round(s * cfg.sample_rate / cfg.hop_length), n_frames - t)) for s in starts]


def _crop(mel: np.ndarray, start: int, t: int, floor: float) -> np.ndarray:
    patch = mel[:, start : start + t].astype(np.float32)
    if patch.shape[1] < t:  # a short clip: pad with silence, as the app pads the audio
        patch = np.pad(patch, ((0, 0), (0, t - patch.shape[1])), constant_values=floor)
    return patch


def fixed_patches(ds: Dataset, idx: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """All analysis-window patches of songs ``idx`` and the song index of each patch."""
    t = ds.features.segment_frames
    floor = silence_value(ds.features)
    xs, owner = [], []
    for i in idx:
        frames = _fixed_frames(ds.mels[i].shape[1], ds.features)
        song = [_crop(ds.mels[i], f, t, floor) for f in frames]
        xs.extend(normalise_level(np.stack(song), ds.features))  # per song, as the app does
        owner.extend([i] * len(song))
    return np.stack(xs)[:, None], np.array(owner)


def _epoch_patches(ds: Dataset, idx: np.ndarray, recipe: Recipe, rng: np.random.Generator):
    if recipe.crops == "fixed":
        x, owner = fixed_patches(ds, idx)
        return x, ds.labels[owner]
    t = ds.features.segment_frames
    xs, ys = [], []
    for i in idx:
        n = ds.mels[i].shape[1]
        starts = rng.integers(0, max(1, n - t + 1), size=recipe.crops_per_clip)
        floor = silence_value(ds.features)
        song = np.stack([_crop(ds.mels[i], int(s), t, floor) for s in starts])
        xs.extend(normalise_level(song, ds.features))
        ys.extend([ds.labels[i]] * len(song))
    return np.stack(xs)[:, None], np.array(ys)


def _augment(x: torch.Tensor, recipe: Recipe, gen: torch.Generator) -> torch.Tensor:
    if recipe.gain_db:
        x = x + (torch.rand(x.shape[0], 1, 1, 1, generator=gen) * 2 - 1) * recipe.gain_db
    if recipe.spec_augment:
        b, _, m, t = x.shape
        x = x.clone()
        floor = x.amin(dim=(1, 2, 3), keepdim=True)
        for j in range(b):
            f0 = int(torch.randint(0, m - 16, (1,), generator=gen))
            fw = int(torch.randint(0, 16, (1,), generator=gen))
            t0 = int(torch.randint(0, t - 24, (1,), generator=gen))
            tw = int(torch.randint(0, 24, (1,), generator=gen))
            x[j, :, f0 : f0 + fw, :] = floor[j]
            x[j, :, :, t0 : t0 + tw] = floor[j]
    return x


# -- training ---------------------------------------------------------------------------


def train_model(ds: Dataset, train_idx: np.ndarray, recipe: Recipe) -> MoodCNN:
    if recipe.arch == "musicnn":
        return train_pretrained(ds, train_idx, recipe)
    torch.manual_seed(recipe.seed)
    rng = np.random.default_rng(recipe.seed)
    gen = torch.Generator().manual_seed(recipe.seed)
    model = MoodCNN(n_mels=ds.features.n_mels, channels=recipe.channels, dropout=recipe.dropout)
    x0, _ = fixed_patches(ds, train_idx)
    model.input_mean.fill_(float(x0.mean()))
    model.input_std.fill_(float(x0.std()))
    del x0
    opt = torch.optim.AdamW(model.parameters(), lr=recipe.lr, weight_decay=recipe.weight_decay)
    n_seg = len(train_idx) * (6 if recipe.crops == "fixed" else recipe.crops_per_clip)
    steps = recipe.epochs * math.ceil(n_seg / recipe.batch_size)
    sched = torch.optim.lr_scheduler.OneCycleLR(opt, max_lr=recipe.lr, total_steps=steps + 10)
    swa = torch.optim.swa_utils.AveragedModel(model) if recipe.swa_epochs else None
    for epoch in range(recipe.epochs):
        t0 = time.perf_counter()
        model.train()
        x, y = _epoch_patches(ds, train_idx, recipe, rng)
        order = rng.permutation(len(y))
        total = 0.0
        for b in range(0, len(order), recipe.batch_size):
            sel = order[b : b + recipe.batch_size]
            if len(sel) < 2:
                continue
            xb = _augment(torch.from_numpy(x[sel]), recipe, gen)
            yb = torch.from_numpy(y[sel]).long()
            if recipe.mixup > 0:
                lam = float(rng.beta(recipe.mixup, recipe.mixup))
                perm = torch.from_numpy(rng.permutation(len(sel)))
                xb = lam * xb + (1 - lam) * xb[perm]
                logits = model(xb)
                loss = lam * F.cross_entropy(logits, yb, label_smoothing=recipe.label_smoothing) + (
                    1 - lam
                ) * F.cross_entropy(logits, yb[perm], label_smoothing=recipe.label_smoothing)
            else:
                loss = F.cross_entropy(model(xb), yb, label_smoothing=recipe.label_smoothing)
            opt.zero_grad()
            loss.backward()
            opt.step()
            sched.step()
            total += float(loss.detach()) * len(sel)
        log.info(
            "epoch %2d/%d loss %.4f (%.0f s)",
            epoch + 1,
            recipe.epochs,
            total / len(y),
            time.perf_counter() - t0,
        )
        if swa is not None and epoch >= recipe.epochs - recipe.swa_epochs:
            swa.update_parameters(model)
    if swa is not None:
        model.load_state_dict(swa.module.state_dict())
        _refresh_batchnorm(model, ds, train_idx)
    model.eval()
    return model


@torch.no_grad()
def _refresh_batchnorm(model: MoodCNN, ds: Dataset, idx: np.ndarray) -> None:
    """Recompute BatchNorm statistics for averaged weights (one pass, no augmentation)."""
    x, _ = fixed_patches(ds, idx)
    for m in model.modules():
        if isinstance(m, torch.nn.BatchNorm2d):
            m.reset_running_stats()
            m.momentum = None  # cumulative average over the pass
    model.train()
    for b in range(0, len(x), 64):
        model(torch.from_numpy(x[b : b + 64]))
    model.eval()


def train_pretrained(ds: Dataset, train_idx: np.ndarray, recipe: Recipe) -> MoodCNN:
    """musicnn backbone (frozen) + a linear head fitted on its cached embeddings."""
    emb, owner = pretrained.window_embeddings(ds, recipe.pretrained)
    sel = np.isin(owner, train_idx)
    if recipe.head == "lda":
        mean, std, w, b = pretrained.fit_lda_head(emb[sel], ds.labels[owner[sel]])
    else:
        mean, std, w, b = pretrained.fit_head(
            emb[sel],
            ds.labels[owner[sel]],
            recipe.head_weight_decay,
            recipe.head_steps,
            recipe.seed,
        )
    model = MoodCNN(n_mels=ds.features.n_mels, arch="musicnn")
    pretrained.load_backbone(model, recipe.pretrained)
    with torch.no_grad():
        model.pen_mean.copy_(torch.from_numpy(mean))
        model.pen_std.copy_(torch.from_numpy(std))
        model.head.weight.copy_(w)
        model.head.bias.copy_(b)
    model.eval()
    return model


@torch.no_grad()
def segment_logits(
    model: MoodCNN, ds: Dataset, idx: np.ndarray, recipe: Recipe | None = None
) -> tuple[np.ndarray, np.ndarray]:
    """Window logits of songs ``idx`` (sorted) and each window's song index.

    For a pretrained model the embeddings come from the cache (the same numbers
    ``model.embed`` computes, without running the backbone again).
    """
    model.eval()
    if model.arch == "musicnn":
        emb, owner = pretrained.window_embeddings(ds, (recipe or Recipe()).pretrained)
        sel = np.isin(owner, idx)
        z = (torch.from_numpy(emb[sel]) - model.pen_mean) / model.pen_std
        return model.head(z).numpy(), owner[sel]
    x, owner = fixed_patches(ds, idx)
    out = [model(torch.from_numpy(x[b : b + 256])) for b in range(0, len(x), 256)]
    return torch.cat(out).numpy(), owner


def song_probs(logits: np.ndarray, owner: np.ndarray, songs: np.ndarray, temperature: float):
    """Song probabilities from window logits, pooled as the app pools them."""
    return np.stack([pool_song(logits[owner == s], temperature) for s in songs])


def fit_temperature(logits: np.ndarray, owner: np.ndarray, ds: Dataset) -> float:
    """The temperature minimising song-level NLL on held-out predictions."""
    songs = np.unique(owner)
    y = ds.labels[songs]
    best = (math.inf, 1.0)
    for t in np.exp(np.linspace(np.log(0.3), np.log(5.0), 121)):
        p = song_probs(logits, owner, songs, float(t))
        nll = -np.log(np.clip(p[np.arange(len(y)), y], 1e-9, None)).mean()
        best = min(best, (nll, float(t)))
    return best[1]


# -- the command ------------------------------------------------------------------------


def cross_validate(
    ds: Dataset, recipe: Recipe, folds: list[int], save_dir: Path | None = None
) -> dict[str, Any]:
    """Train on the other folds, score each fold; ``save_dir`` keeps each fold's model
    (``fold<k>.pt``, calibrated with temperature 1) to check ``mood-tagger eval`` with."""
    all_logits, all_owner, per_fold, seconds = [], [], [], []
    for k in folds:
        t0 = time.perf_counter()
        train_idx = np.flatnonzero(ds.folds != k)
        test_idx = np.flatnonzero(ds.folds == k)
        model = train_model(ds, train_idx, recipe)
        if save_dir is not None:
            save_checkpoint(
                save_dir / f"fold{k}.pt",
                model,
                ds.features,
                {"name": f"mood-cnn-4q fold {k}", "data": f"4Q without fold {k}"},
            )
        logits, owner = segment_logits(model, ds, test_idx, recipe)
        all_logits.append(logits)
        all_owner.append(owner)
        seconds.append(round(time.perf_counter() - t0, 1))
    logits = np.concatenate(all_logits)
    owner = np.concatenate(all_owner)
    temperature = fit_temperature(logits, owner, ds)
    # Each fold is scored as the app scores songs (the temperature only calibrates).
    for k, fold_logits, fold_owner, secs in zip(folds, all_logits, all_owner, seconds, strict=True):
        test_idx = np.flatnonzero(ds.folds == k)
        probs = song_probs(fold_logits, fold_owner, test_idx, temperature)
        m = song_metrics(probs, ds.labels[test_idx])
        m["fold"] = k
        m["train_seconds"] = secs
        per_fold.append(m)
        log.info(
            "fold %d: macro-F1 %.3f acc %.3f energy %.3f (%.0f s)",
            k,
            m["macro_f1"],
            m["accuracy"],
            m["energy_accuracy"],
            m["train_seconds"],
        )
    songs = np.unique(owner)
    raw = song_metrics(song_probs(logits, owner, songs, 1.0), ds.labels[songs])
    cal = song_metrics(song_probs(logits, owner, songs, temperature), ds.labels[songs])
    spread = {
        key: {
            "mean": float(np.mean([m[key] for m in per_fold])),
            "std": float(np.std([m[key] for m in per_fold])),
        }
        for key in ("macro_f1", "accuracy", "energy_accuracy", "three_class_macro_f1")
    }
    return {
        "folds": folds,
        "per_fold": per_fold,
        "spread": spread,
        "temperature": temperature,
        "pooled_uncalibrated": raw,
        "pooled_calibrated": cal,
        "_oof": (logits, owner),
    }


def per_segment_ms(model: MoodCNN, cfg: FeatureConfig, batch: int, repeats: int) -> float:
    """ms per segment at ``batch`` on the current threads: the best of ``repeats`` after a
    warm-up (the best, not the median: other work on the machine only ever adds time)."""
    x = torch.rand(batch, 1, cfg.n_mels, cfg.segment_frames) * 3
    with torch.inference_mode():
        model.predict_proba(x)
        best = float("inf")
        for _ in range(repeats):
            t0 = time.perf_counter()
            model.predict_proba(x)
            best = min(best, time.perf_counter() - t0)
    return best / batch * 1000


def inference_cost(model: MoodCNN, cfg: FeatureConfig, path: Path) -> dict[str, float]:
    """ms per segment on one thread at batch 1 (best of 30) and 32 (best of 5), weights
    size. ``benchmarks/inference.py`` prints the same figures for any model."""
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    model.eval()
    out = {"weights_mb": path.stat().st_size / 1e6}
    try:
        for batch, repeats in ((1, 30), (32, 5)):
            out[f"ms_per_segment_batch{batch}"] = per_segment_ms(model, cfg, batch, repeats)
    finally:
        torch.set_num_threads(threads)
    return out


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(
        prog="python -m training.train",
        description=__doc__,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    ap.add_argument("--data", type=Path, default=DEFAULT_DATA, help="4Q dataset folder")
    ap.add_argument("--out", type=Path, default=REPO / "resources" / "models")
    ap.add_argument("--folds", default="0,1,2,3,4", help="folds to cross-validate (comma list)")
    ap.add_argument("--epochs", type=int, default=Recipe.epochs)
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument(
        "--recipe",
        type=json.loads,
        default={},
        help='recipe overrides as JSON, e.g. \'{"crops": "random"}\'',
    )
    ap.add_argument(
        "--features",
        type=json.loads,
        default=DEFAULT_FEATURES,
        help="feature settings as JSON (default: the bundled model's); '{}' = FeatureConfig()",
    )
    ap.add_argument("--no-final", action="store_true", help="cross-validate only")
    ap.add_argument("--oof", type=Path, help="save the out-of-fold window logits here (.npz)")
    ap.add_argument(
        "--save-fold-models", type=Path, metavar="DIR", help="keep each CV fold's model here"
    )
    args = ap.parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(name)s: %(message)s")
    torch.set_num_threads(args.threads)
    try:
        recipe = dataclasses.replace(Recipe(epochs=args.epochs, seed=args.seed), **args.recipe)
        cfg = FeatureConfig(**args.features)
    except TypeError as exc:  # an unknown field in --recipe / --features
        ap.error(str(exc))
    if recipe.head not in ("lda", "logistic"):
        ap.error(f"unknown head {recipe.head!r} (lda or logistic)")
    if isinstance(recipe.channels, list):
        recipe = dataclasses.replace(recipe, channels=tuple(recipe.channels))
    if recipe.arch == "musicnn" and not pretrained.weights_file(recipe.pretrained).is_file():
        found = pretrained.PRETRAINED_DIR.glob("musicnn_*.npz")
        have = sorted(p.stem.removeprefix("musicnn_") for p in found)
        ap.error(f"no pretrained weights {recipe.pretrained!r} (have: {', '.join(have)})")
    if not (args.data / "metadata.csv").is_file():
        ap.error(f"no 4Q dataset at {args.data} (metadata.csv missing); see --data")
    t_start = time.perf_counter()
    ds = load_dataset(args.data, cfg)
    folds = [int(f) for f in args.folds.split(",") if f != ""]
    cv = cross_validate(ds, recipe, folds, args.save_fold_models)
    oof_logits, oof_owner = cv.pop("_oof")
    if args.oof:
        np.savez(args.oof, logits=oof_logits, owner=oof_owner, labels=ds.labels)
    log.info("CV: %s", json.dumps(cv["spread"]))
    log.info(
        "temperature %.3f; calibrated ECE %.3f (uncalibrated %.3f)",
        cv["temperature"],
        cv["pooled_calibrated"]["ece"],
        cv["pooled_uncalibrated"]["ece"],
    )
    report = {"recipe": dataclasses.asdict(recipe), "features": cfg.to_dict(), "cv": cv}
    if args.no_final:
        print(json.dumps(report, indent=2))
        return 0
    model = train_model(ds, np.arange(len(ds.labels)), recipe)
    model.temperature.fill_(cv["temperature"])
    train_seconds = time.perf_counter() - t_start
    provenance = {
        "name": "mood-cnn-4q",
        "created": dt.date.today().isoformat(),
        "data": f"4Q audio emotion dataset, {len(ds.labels)} clips (all folds)",
        "recipe": dataclasses.asdict(recipe),
        "cv_macro_f1": cv["spread"]["macro_f1"],
        "temperature": cv["temperature"],
    }
    args.out.mkdir(parents=True, exist_ok=True)
    model_id = save_checkpoint(args.out / "mood_cnn.pt", model, cfg, provenance)
    report.update(
        command="python -m training.train " + " ".join(argv if argv is not None else sys.argv[1:]),
        model_id=model_id,
        created=provenance["created"],
        segment_frames=cfg.segment_frames,
        train_seconds=round(train_seconds),
        n_parameters=sum(p.numel() for p in model.parameters()),
        machine=f"{platform.machine()}, torch threads {args.threads}",
        inference=inference_cost(model, cfg, args.out / "mood_cnn.pt"),
    )
    (args.out / "metrics.json").write_text(json.dumps(report, indent=2) + "\n")
    from training.model_card import write_model_card

    write_model_card(args.out / "MODEL_CARD.md", report)
    log.info("saved model %s to %s (%.0f min in all)", model_id, args.out, train_seconds / 60)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
