#!/usr/bin/python3
"""Times one CS-Flow training step (forward, per-dimension loss, backward, clip 1.0, Adam) in PyTorch 1.13 CPU and in
`uflow bench csflow` (synthetic features, same sizes), interleaved for several rounds, and prints PyTorch / uflow.

Run with Debian's Python (it has torch 1.13):
  /usr/bin/python3 bench/csflow_vs_pytorch.py --threads 2 --channels 96 --feature-size 24 --hidden 1024 --batch 2
The PyTorch model is the one of test/golden/csflow_parity.py (written from METHOD.md Part C); the default permutation
and weights differ from uflow's, which does not change the work done.
"""
import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time

import torch

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "test", "golden"))
import csflow_parity as ref  # noqa: E402

REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
DEFAULT_UFLOW = os.path.join(REPO, "src", "Microsoft.ML.UFlow.Cli", "bin", "Release", "net10.0", "uflow")


def torch_steps(args):
    ref.C, ref.HIDDEN, ref.KERNELS = args.channels, args.hidden, [3, 3, 3, 5]
    torch.manual_seed(0)
    flow = ref.Flow()
    opt = torch.optim.Adam(flow.parameters(), lr=2e-4, eps=1e-4, weight_decay=1e-5)
    x = [torch.randn(args.batch, args.channels, args.feature_size >> s, args.feature_size >> s) for s in range(3)]
    times = []
    for i in range(args.steps + 1):
        t0 = time.perf_counter()
        opt.zero_grad()
        z, logdet = flow(x)
        d = sum(t[0].numel() for t in z)
        loss = torch.mean(0.5 * sum(torch.sum(t ** 2, dim=(1, 2, 3)) for t in z) - logdet) / d
        loss.backward()
        torch.nn.utils.clip_grad_norm_(flow.parameters(), 1.0)
        opt.step()
        if i > 0:
            times.append(time.perf_counter() - t0)
    return statistics.median(times)


def uflow_steps(args):
    with tempfile.TemporaryDirectory() as d:
        out = os.path.join(d, "csflow.json")
        subprocess.run([args.uflow, "bench", "csflow", "--channels", str(args.channels), "--feature-size", str(args.feature_size),
                        "--hidden", str(args.hidden), "--batch", str(args.batch), "--steps", str(args.steps),
                        "--threads", str(args.threads), "--json", out],
                       check=True, stdout=subprocess.DEVNULL)
        with open(out) as f:
            return statistics.median(json.load(f)["step_s"])


def main():
    p = argparse.ArgumentParser()
    p.add_argument("--threads", type=int, default=2)
    p.add_argument("--channels", type=int, default=96)
    p.add_argument("--feature-size", type=int, default=24)
    p.add_argument("--hidden", type=int, default=1024)
    p.add_argument("--batch", type=int, default=2)
    p.add_argument("--steps", type=int, default=2)
    p.add_argument("--rounds", type=int, default=2)
    p.add_argument("--uflow", default=DEFAULT_UFLOW)
    args = p.parse_args()
    torch.set_num_threads(args.threads)
    rows = []
    for r in range(args.rounds):
        t = torch_steps(args)
        u = uflow_steps(args)
        rows.append((t, u))
        print(f"round {r + 1}: PyTorch {t:.2f} s/step, uflow {u:.2f} s/step, PyTorch/uflow = {t / u:.2f}", flush=True)
    t = statistics.median([a for a, _ in rows])
    u = statistics.median([b for _, b in rows])
    print(f"median: PyTorch {t:.2f} s/step, uflow {u:.2f} s/step, PyTorch/uflow = {t / u:.2f} "
          f"(C={args.channels}, features {args.feature_size}, hidden {args.hidden}, batch {args.batch}, {args.threads} threads)")


if __name__ == "__main__":
    main()
