"""The test split of a dataset's IDX files, for the checks in this folder.

Reads `t10k-images-idx3-ubyte(.gz)` and `t10k-labels-idx1-ubyte(.gz)` from a folder, as
digitdash does: gzipped or raw, under the `-idx` or `.idx` spelling. Images come back as float32
pixels in 0..1 shaped [N, 1, 28, 28]; labels as int64.
"""

import gzip
import json
import os
import struct

import numpy as np

NAMES = {"images": "t10k-images-idx3-ubyte", "labels": "t10k-labels-idx1-ubyte"}


def cache_dir(dataset):
    """digitdash's default folder for `dataset`: $XDG_CACHE_HOME/digitdash/<dataset>."""
    base = os.environ.get("XDG_CACHE_HOME") or os.path.expanduser("~/.cache")
    return os.path.join(base, "digitdash", dataset)


def data_dir(given, dataset):
    """The folder to read: `given`, else DIGITDASH_DATA_DIR, else digitdash's cache folder."""
    return given or os.environ.get("DIGITDASH_DATA_DIR") or cache_dir(dataset)


def checkpoint_dataset(checkpoint):
    """The dataset a digitdash checkpoint (folder or model.safetensors) was trained on."""
    folder = checkpoint if os.path.isdir(checkpoint) else os.path.dirname(checkpoint)
    try:
        with open(os.path.join(folder, "checkpoint.json")) as meta:
            return json.load(meta)["config"]["data"].get("dataset", "mnist")
    except (OSError, KeyError, ValueError):
        return "mnist"


def _read(folder, name):
    for candidate in (name + ".gz", name, name.replace("-idx", ".idx", 1),
                      name.replace("-idx", ".idx", 1) + ".gz"):
        path = os.path.join(folder, candidate)
        if os.path.isfile(path):
            with open(path, "rb") as f:
                raw = f.read()
            return gzip.decompress(raw) if raw[:2] == b"\x1f\x8b" else raw
    raise SystemExit(f"{folder} has no {name}(.gz): pass --data-dir DIR")


def test_split(folder):
    """(images [N,1,28,28] float32 in 0..1, labels [N] int64) of the test split in `folder`."""
    images = _read(folder, NAMES["images"])
    labels = _read(folder, NAMES["labels"])
    magic, count, rows, cols = struct.unpack(">IIII", images[:16])
    if (magic, rows, cols) != (2051, 28, 28):
        raise SystemExit(f"{folder}: not a 28x28 IDX images file")
    pixels = np.frombuffer(images, dtype=np.uint8, offset=16).reshape(count, 1, 28, 28)
    magic, label_count = struct.unpack(">II", labels[:8])
    if magic != 2049 or label_count != count:
        raise SystemExit(f"{folder}: the labels file does not match the images")
    targets = np.frombuffer(labels, dtype=np.uint8, offset=8).astype(np.int64)
    return pixels.astype(np.float32) / 255.0, targets
