"""Check a model written by `digitdash export` with onnxruntime: its test accuracy.

    /path/to/venv/bin/pip install onnxruntime numpy   (and `onnx` for its checker)
    /path/to/venv/bin/python bench/onnx_check.py model.onnx [--data-dir DIR] [--expect 0.9912]

The dataset is the one the model's metadata names; its test images come from --data-dir, else
DIGITDASH_DATA_DIR, else digitdash's cache folder for it. With --expect (the accuracy
`digitdash eval` printed for the same checkpoint) it exits 1 unless the two agree to 1e-4.
When the `onnx` package is installed, its checker validates the file first.
"""

import argparse
import json
import os
import sys

import numpy as np
import onnxruntime as ort

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from idx_files import data_dir, test_split  # noqa: E402


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("model", help="the .onnx file")
    parser.add_argument("--data-dir", help="folder of the dataset's IDX files")
    parser.add_argument("--expect", type=float, help="accuracy digitdash eval printed")
    args = parser.parse_args()
    try:
        import onnx
        onnx.checker.check_model(onnx.load(args.model), full_check=True)
        print(f"onnx {onnx.__version__} checker: the model is valid")
    except ImportError:
        print("(the onnx package is not installed: its checker was skipped)")

    session = ort.InferenceSession(args.model, providers=["CPUExecutionProvider"])
    meta = session.get_modelmeta().custom_metadata_map
    dataset = meta.get("dataset", "mnist")
    classes = json.loads(meta.get("class_names", "[]"))
    images, labels = test_split(data_dir(args.data_dir, dataset))
    name = session.get_inputs()[0].name
    outputs = [session.run(None, {name: images[i:i + 1000]})[0] for i in range(0, len(labels), 1000)]
    predicted = np.concatenate(outputs).argmax(axis=1)
    accuracy = float((predicted == labels).mean())
    print(f"onnxruntime {ort.__version__}: {dataset} test accuracy {accuracy:.4f} "
          f"({int((predicted == labels).sum())} of {len(labels)}); first image read as "
          f"{classes[predicted[0]] if classes else predicted[0]}")
    if args.expect is not None and abs(accuracy - args.expect) > 1e-4:
        print(f"differs from the expected {args.expect:.4f}")
        sys.exit(1)


if __name__ == "__main__":
    main()
