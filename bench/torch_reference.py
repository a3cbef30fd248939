"""PyTorch timings of the Deep MNIST network, for `digitdash bench --compare`.

The network is the one digitdash benchmarks: a 5x5 convolution to 32 channels (SAME padding),
ReLU, 2x2 max-pool, a 5x5 convolution to 64 channels (SAME), ReLU, 2x2 max-pool, a dense layer
of 1024 units with ReLU, and a dense layer of 10 logits, trained with softmax cross-entropy
and Adam at a learning rate of 1e-4. No dropout, as in `digitdash bench`.

It measures, on the CPU in eager mode:
  - the median wall time of one training step (forward, backward, Adam update) on one fixed
    batch of random images and labels, after some untimed warm-up steps;
  - inference throughput: 10,000 random images classified in batches of 1,000;
  - the peak resident memory of the process.

It prints one JSON line whose keys are those of `digitdash bench --json`.

Set up an interpreter once, in the digitdash checkout:
    python3 -m venv .venv-bench && .venv-bench/bin/pip install -r bench/requirements.txt
digitdash runs a built-in copy of this file; to run it by hand:
    .venv-bench/bin/python bench/torch_reference.py [--steps 60] [--batch 50] [--threads 0]
"""

import argparse
import json
import resource
import statistics
import sys
import time

import torch
from torch import nn
from torch.nn import functional as F

INFERENCE_IMAGES = 10_000
INFERENCE_BATCH = 1_000


def parse_args():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--steps", type=int, default=60, help="timed training steps")
    parser.add_argument("--warmup", type=int, default=10, help="untimed steps before them")
    parser.add_argument("--batch", type=int, default=50, help="images per training step")
    parser.add_argument(
        "--threads", type=int, default=0, help="intra-op threads; 0 keeps PyTorch's choice"
    )
    return parser.parse_args()


class DeepMnist(nn.Module):
    """Two convolution blocks, then two dense layers; returns logits."""

    def __init__(self):
        super().__init__()
        self.conv1 = nn.Conv2d(1, 32, kernel_size=5, padding="same")
        self.conv2 = nn.Conv2d(32, 64, kernel_size=5, padding="same")
        self.hidden = nn.Linear(64 * 7 * 7, 1024)
        self.logits = nn.Linear(1024, 10)

    def forward(self, images):
        x = F.max_pool2d(F.relu(self.conv1(images)), kernel_size=2)
        x = F.max_pool2d(F.relu(self.conv2(x)), kernel_size=2)
        x = F.relu(self.hidden(torch.flatten(x, start_dim=1)))
        return self.logits(x)


def step_times(model, batch, warmup, steps):
    """Wall time of each timed training step, in seconds."""
    optimizer = torch.optim.Adam(model.parameters(), lr=1e-4)
    images = torch.rand(batch, 1, 28, 28)
    labels = torch.randint(0, 10, (batch,))
    times = []
    for i in range(warmup + max(steps, 1)):
        started = time.perf_counter()
        optimizer.zero_grad(set_to_none=True)
        loss = F.cross_entropy(model(images), labels)
        loss.backward()
        optimizer.step()
        loss.item()
        if i >= warmup:
            times.append(time.perf_counter() - started)
    return times


def images_per_second(model):
    """Inference throughput over INFERENCE_IMAGES random images."""
    images = torch.rand(INFERENCE_IMAGES, 1, 28, 28)
    model.eval()
    with torch.inference_mode():
        model(images[:INFERENCE_BATCH])  # warm-up, untimed
        started = time.perf_counter()
        for first in range(0, INFERENCE_IMAGES, INFERENCE_BATCH):
            model(images[first:first + INFERENCE_BATCH])
        elapsed = time.perf_counter() - started
    return INFERENCE_IMAGES / elapsed


def peak_rss_mb():
    """Peak resident memory of this process in MB (ru_maxrss is KiB on Linux, bytes on macOS)."""
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    return peak / (1024 * 1024) if sys.platform == "darwin" else peak / 1024


def main():
    args = parse_args()
    if args.threads > 0:
        torch.set_num_threads(args.threads)
    torch.manual_seed(0)
    model = DeepMnist()
    times_ms = sorted(t * 1e3 for t in step_times(model, args.batch, args.warmup, args.steps))
    median_ms = statistics.median(times_ms)
    throughput = images_per_second(model)
    print(json.dumps({
        "framework": f"pytorch {torch.__version__} eager",
        "threads": torch.get_num_threads(),
        "instruction_set": torch.backends.cpu.get_cpu_capability(),
        "batch_size": args.batch,
        "train_step_ms_median": round(median_ms, 2),
        "train_step_ms_min": round(times_ms[0], 2),
        "train_step_ms_max": round(times_ms[-1], 2),
        "train_samples_per_s": round(args.batch / (median_ms / 1e3), 1),
        "inference_images_per_s": round(throughput, 1),
        "inference_data": f"{INFERENCE_IMAGES:,} random images",
        "peak_rss_mb": round(peak_rss_mb(), 1),
    }))


if __name__ == "__main__":
    main()
