"""Convert musicnn's pretrained MSD tagger (TensorFlow 1 checkpoint) to ``pretrained/*.npz``.

A one-off step whose output is committed (``training/pretrained/musicnn_msd.npz``, ISC
licence in ``LICENSE-musicnn.md``): rebuilding the mood model needs neither TensorFlow nor
the network. To redo it, in a throw-away virtual environment::

    pip install tensorflow-cpu tf_keras && pip download --no-deps musicnn==0.1.0
    python -m training.convert_musicnn musicnn-0.1.0-py3-none-any.whl --check

``--check`` runs the original TensorFlow graph (musicnn's own ``models.py``) on random
input and compares its pooled features, penultimate layer and tags with the PyTorch port
``tagger.core.musicnn``; it fails unless they agree to 1e-3.
"""

from __future__ import annotations

import argparse
import logging
import os
import sys
import tempfile
import zipfile
from pathlib import Path

import numpy as np

log = logging.getLogger("training.convert_musicnn")

OUT = Path(__file__).resolve().parent / "pretrained" / "musicnn_msd.npz"
MODEL = "MSD_musicnn"


def read_checkpoint(prefix: str) -> dict[str, np.ndarray]:
    import tensorflow as tf

    reader = tf.compat.v1.train.NewCheckpointReader(prefix)
    names = reader.get_variable_to_shape_map()
    return {
        k.replace("/", "."): reader.get_tensor(k).astype(np.float32)
        for k in sorted(names)
        if "Adam" not in k and not k.endswith("_power")
    }


def tf_reference(pkg_dir: Path, x: np.ndarray) -> dict[str, np.ndarray]:
    os.environ.setdefault("TF_USE_LEGACY_KERAS", "1")
    sys.path.insert(0, str(pkg_dir))
    import tensorflow as tf
    from musicnn import models  # the original graph definition

    tf.compat.v1.disable_eager_execution()
    tf.compat.v1.reset_default_graph()
    with tf.name_scope("model"):
        ph = tf.compat.v1.placeholder(tf.float32, [None, x.shape[1], x.shape[2]])
        training = tf.compat.v1.placeholder(tf.bool)
        y, *_, mean_pool, max_pool, pen = models.define_model(ph, training, MODEL, 50)
    sess = tf.compat.v1.Session()
    tf.compat.v1.train.Saver().restore(sess, str(pkg_dir / "musicnn" / MODEL) + "/")
    tags, mean, mx, p = sess.run(
        [tf.nn.sigmoid(y), mean_pool, max_pool, pen], feed_dict={ph: x, training: False}
    )
    return {"tags": tags, "mean": mean, "max": mx, "pen": p}


def check(weights: dict[str, np.ndarray], pkg_dir: Path) -> float:
    import torch

    from tagger.core.musicnn import MusicnnBackbone, load_tf_weights

    x = np.abs(np.random.default_rng(0).normal(1.5, 0.8, (2, 187, 96))).astype(np.float32)
    ref = tf_reference(pkg_dir, x)
    model = MusicnnBackbone()
    load_tf_weights(model, weights)
    model.eval()
    with torch.no_grad():
        pooled = model(torch.from_numpy(x).transpose(1, 2)[:, None])
        pen = model.penultimate(pooled)
        tags = torch.sigmoid(model.tag_layer(pen))
    err = max(
        np.abs(pooled[:, 0::2].numpy() - ref["max"]).max(),
        np.abs(pooled[:, 1::2].numpy() - ref["mean"]).max(),
        np.abs(pen.numpy() - ref["pen"]).max(),
        np.abs(tags.numpy() - ref["tags"]).max(),
    )
    return float(err)


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(prog="python -m training.convert_musicnn", description=__doc__)
    ap.add_argument("wheel", type=Path, help="musicnn-0.1.0-py3-none-any.whl")
    ap.add_argument("--out", type=Path, default=OUT)
    ap.add_argument("--check", action="store_true", help="compare with TensorFlow's output")
    args = ap.parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(name)s: %(message)s")
    with tempfile.TemporaryDirectory() as tmp:
        zipfile.ZipFile(args.wheel).extractall(tmp)
        pkg = Path(tmp)
        weights = read_checkpoint(str(pkg / "musicnn" / MODEL) + "/")
        log.info("%d tensors, %d parameters", len(weights), sum(w.size for w in weights.values()))
        if args.check:
            err = check(weights, pkg)
            log.info("largest difference from TensorFlow: %.2e", err)
            if err > 1e-3:
                log.error("the PyTorch port does not reproduce the original")
                return 1
    args.out.parent.mkdir(parents=True, exist_ok=True)
    np.savez_compressed(args.out, **weights)
    log.info("wrote %s", args.out)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
