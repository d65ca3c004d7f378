"""PyTorch timing of the same U-shaped flow as `uflow bench flow` (plain torch, FrEIA@pin AllInOneBlock semantics).

Usage: /usr/bin/python3 bench/torch/flow_bench.py --config resnet50v2 --batch 8 --iters 5 --threads 2
Prints one JSON line: forward and training-step (forward, loss, backward, Adam step) milliseconds per image (medians).
"""
import argparse
import json
import os
import statistics
import sys
import time

import torch

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "..", "test", "golden"))
from flow_torch import UFlow, loss_fn  # noqa: E402

CONFIGS = {
    "mscait": ([(768, 28, 28), (384, 14, 14)], False),
    "resnet50v2": ([(256, 64, 64), (512, 32, 32), (1024, 16, 16)], True),
    "mobilenetv2": ([(24, 64, 64), (32, 32, 32), (96, 16, 16)], True),
}


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--config", required=True, choices=sorted(CONFIGS))
    ap.add_argument("--batch", type=int, default=8)
    ap.add_argument("--iters", type=int, default=5)
    ap.add_argument("--warmup", type=int, default=1)
    ap.add_argument("--threads", type=int, default=os.cpu_count())
    a = ap.parse_args()
    torch.set_num_threads(a.threads)
    torch.manual_seed(0)
    scales, layernorm = CONFIGS[a.config]
    flow = UFlow(scales, steps=4, layernorm=layernorm, seed=0)
    feats = [torch.randn(a.batch, *s) for s in scales]
    opt = torch.optim.Adam(flow.parameters(), lr=1e-4, weight_decay=1e-5)

    def forward():
        with torch.no_grad():
            flow(feats)

    def train_step():
        opt.zero_grad()
        z, ljd = flow(feats)
        loss_fn(z, ljd).backward()
        opt.step()

    def timed(fn):
        for _ in range(a.warmup):
            fn()
        times = []
        for _ in range(a.iters):
            t0 = time.perf_counter()
            fn()
            times.append((time.perf_counter() - t0) * 1000.0 / a.batch)
        return statistics.median(times)

    fwd = timed(forward)
    step = timed(train_step)
    print(json.dumps({"impl": "pytorch", "torch": torch.__version__, "config": a.config, "batch": a.batch, "threads": a.threads,
                      "forward_ms_per_image": fwd, "train_step_ms_per_image": step}))


if __name__ == "__main__":
    main()
