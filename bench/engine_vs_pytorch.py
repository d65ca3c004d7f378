#!/usr/bin/python3
"""Times the `uflow bench engine` conv2d cases with PyTorch 1.13 CPU and prints PyTorch time / our time.

Run with Debian's Python (it has torch 1.13):  /usr/bin/python3 bench/engine_vs_pytorch.py --threads 2
PyTorch and uflow are timed interleaved, case by case, for several rounds (the machine may be shared), and the
median over rounds of each side's per-case median is reported. Forward = conv(x); backward = gradients of the
input, weight and bias (y.backward(dy)), exactly what `uflow bench engine` times.
"""
import argparse
import json
import math
import os
import statistics
import subprocess
import sys
import tempfile
import time

import torch

# Must match EngineBenchCommand.Cases (name, k, cin, cout, h, w).
CASES = [
    ("conv3x3_408_408_28", 3, 408, 408, 28, 28),
    ("conv3x3_408_816_28", 3, 408, 816, 28, 28),
    ("conv1x1_408_816_28", 1, 408, 816, 28, 28),
    ("conv3x3_168_168_64", 3, 168, 168, 64, 64),
    ("conv3x3_168_336_64", 3, 168, 336, 64, 64),
    ("conv3x3_320_640_32", 3, 320, 640, 32, 32),
    ("conv3x3_512_1024_16", 3, 512, 1024, 16, 16),
]

REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
DEFAULT_UFLOW = os.path.join(REPO, "src", "Microsoft.ML.UFlow.Cli", "bin", "Release", "net10.0", "uflow")


def time_torch(k, cin, cout, h, w, batch, runs):
    torch.manual_seed(0)
    conv = torch.nn.Conv2d(cin, cout, k, padding=k // 2)
    x = torch.empty(batch, cin, h, w).uniform_(-1, 1).requires_grad_(True)
    dy = torch.empty(batch, cout, h, w).uniform_(-1, 1)
    fwd, bwd = [], []
    for i in range(runs + 2):
        t0 = time.perf_counter()
        y = conv(x)
        t1 = time.perf_counter()
        y.backward(dy)
        t2 = time.perf_counter()
        if i >= 2:
            fwd.append((t1 - t0) * 1e3)
            bwd.append((t2 - t1) * 1e3)
    return statistics.median(fwd), statistics.median(bwd)


def time_uflow(uflow, name, threads, batch, runs):
    with tempfile.TemporaryDirectory() as d:
        out = os.path.join(d, "engine.json")
        subprocess.run([uflow, "bench", "engine", "--threads", str(threads), "--batch", str(batch), "--runs", str(runs),
                        "--case", name, "--json", out], check=True, stdout=subprocess.DEVNULL)
        with open(out) as f:
            doc = json.load(f)
    c = doc["cases"][0]
    return c["fwd_ms"], c["bwd_ms"]


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--threads", type=int, default=os.cpu_count())
    ap.add_argument("--batch", type=int, default=4)
    ap.add_argument("--runs", type=int, default=5, help="timed runs per case and side (median)")
    ap.add_argument("--rounds", type=int, default=3, help="interleaved rounds (median over rounds)")
    ap.add_argument("--uflow", default=DEFAULT_UFLOW, help="path of the built uflow CLI (dotnet build -c Release)")
    ap.add_argument("--case", default=None, help="only cases whose name contains this text")
    ap.add_argument("--markdown", action="store_true", help="also print a Markdown table")
    args = ap.parse_args()

    torch.set_num_threads(args.threads)
    print(f"torch {torch.__version__}, threads {torch.get_num_threads()}, mkldnn available {torch.backends.mkldnn.is_available()}, "
          f"mkldnn enabled {torch.backends.mkldnn.enabled}")
    cap = [l.strip() for l in torch.__config__.show().splitlines() if "CPU capability" in l]
    print(f"  {cap[0] if cap else ''}; oneDNN (mkldnn) is PyTorch's CPU conv path for batch > 1")
    cases = [c for c in CASES if args.case is None or args.case in c[0]]
    samples = {c[0]: {"torch": [], "ours": []} for c in cases}
    for r in range(args.rounds):
        for name, k, cin, cout, h, w in cases:
            samples[name]["torch"].append(time_torch(k, cin, cout, h, w, args.batch, args.runs))
            samples[name]["ours"].append(time_uflow(args.uflow, name, args.threads, args.batch, args.runs))
            print(f"  round {r + 1}: {name}: torch {samples[name]['torch'][-1]}, ours {samples[name]['ours'][-1]}", file=sys.stderr)

    rows = []
    for name, k, cin, cout, h, w in cases:
        tf = statistics.median(s[0] for s in samples[name]["torch"])
        tb = statistics.median(s[1] for s in samples[name]["torch"])
        of = statistics.median(s[0] for s in samples[name]["ours"])
        ob = statistics.median(s[1] for s in samples[name]["ours"])
        rows.append((name, tf, tb, of, ob, tf / of, tb / ob, (tf + tb) / (of + ob)))
    header = f"{'case':<22} {'torch fwd':>10} {'torch bwd':>10} {'ours fwd':>9} {'ours bwd':>9} {'fwd x':>6} {'bwd x':>6} {'f+b x':>6}"
    print(header)
    for r in rows:
        print(f"{r[0]:<22} {r[1]:10.2f} {r[2]:10.2f} {r[3]:9.2f} {r[4]:9.2f} {r[5]:6.2f} {r[6]:6.2f} {r[7]:6.2f}")
    geo = math.exp(sum(math.log(r[7]) for r in rows) / len(rows))
    print(f"ratio PyTorch/ours (fwd+bwd): geometric mean {geo:.2f}, min {min(r[7] for r in rows):.2f}  (> 1 means ours is faster)")
    if args.markdown:
        print()
        print("| case | PyTorch fwd ms | PyTorch bwd ms | ours fwd ms | ours bwd ms | fwd ratio | bwd ratio | fwd+bwd ratio |")
        print("|---|---:|---:|---:|---:|---:|---:|---:|")
        for r in rows:
            print(f"| {r[0]} | {r[1]:.1f} | {r[2]:.1f} | {r[3]:.1f} | {r[4]:.1f} | {r[5]:.2f} | {r[6]:.2f} | {r[7]:.2f} |")
        print(f"| **geometric mean** | | | | | | | **{geo:.2f}** |")


if __name__ == "__main__":
    main()
