"""Load a digitdash checkpoint into the PyTorch network and print its test accuracy.

The network is bench/torch_reference.py's `DeepMnist`. A checkpoint's `model.safetensors`
holds float32 tensors, row-major, in the layout PyTorch uses, so every tensor is copied as it
is; no transpose is needed anywhere:

    safetensors name  shape            PyTorch parameter   note
    0.weight          [32, 1, 5, 5]    conv1.weight        Conv2d: [out, in, kh, kw]
    0.bias            [32]             conv1.bias
    1.weight          [64, 32, 5, 5]   conv2.weight
    1.bias            [64]             conv2.bias
    3.weight          [1024, 3136]     hidden.weight       Linear: [out, in]
    3.bias            [1024]           hidden.bias
    5.weight          [10, 1024]       logits.weight
    5.bias            [10]             logits.bias
    4.p               [] (float64)     -                   dropout probability, not a weight

The names are the places of the layers in digitdash's network tuple (2 is the flatten, 4 the
dropout). Both convolutions are cross-correlations with 'same' padding (2 on each side), as
PyTorch's; the 3136 inputs of the hidden layer are the [64, 7, 7] maps flattened in (channel,
row, column) order, as `torch.flatten(x, start_dim=1)` does. Pixels are bytes / 255 in 0..1.

    /path/to/venv/bin/pip install torch safetensors numpy
    /path/to/venv/bin/python bench/torch_checkpoint.py runs/NAME/checkpoints/best-step-... \\
        [--data-dir DIR]

The data folder defaults to DIGITDASH_DATA_DIR, else digitdash's cache folder for the dataset
the checkpoint was trained on.
"""

import argparse
import os
import sys

import torch
from safetensors.torch import load_file

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from idx_files import checkpoint_dataset, data_dir, test_split  # noqa: E402
from torch_reference import DeepMnist  # noqa: E402

# digitdash's tensor names -> DeepMnist's parameter names.
NAMES = {
    "0.weight": "conv1.weight",
    "0.bias": "conv1.bias",
    "1.weight": "conv2.weight",
    "1.bias": "conv2.bias",
    "3.weight": "hidden.weight",
    "3.bias": "hidden.bias",
    "5.weight": "logits.weight",
    "5.bias": "logits.bias",
}


def load_checkpoint(path):
    """DeepMnist with a digitdash checkpoint's weights (a folder or its model.safetensors)."""
    weights = os.path.join(path, "model.safetensors") if os.path.isdir(path) else path
    tensors = load_file(weights)
    model = DeepMnist()
    state = {ours: tensors[theirs] for theirs, ours in NAMES.items()}
    model.load_state_dict(state, strict=True)
    return model.eval()


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("checkpoint", help="runs/NAME/checkpoints/... or its model.safetensors")
    parser.add_argument("--data-dir", help="folder of the dataset's IDX files")
    args = parser.parse_args()
    dataset = checkpoint_dataset(args.checkpoint)
    folder = data_dir(args.data_dir, dataset)
    images, labels = test_split(folder)
    model = load_checkpoint(args.checkpoint)
    correct = 0
    with torch.inference_mode():
        for first in range(0, len(labels), 1000):
            logits = model(torch.from_numpy(images[first:first + 1000]))
            correct += int((logits.argmax(dim=1).numpy() == labels[first:first + 1000]).sum())
    print(f"pytorch {torch.__version__}: {dataset} test accuracy {correct / len(labels):.4f} "
          f"({correct} of {len(labels)}) from {args.checkpoint}")


if __name__ == "__main__":
    main()
