"""Pixel-metric speed: Python reference (sklearn roc_auc_score + precision_recall_curve, the transcribed MVTec
official AUPRO) against `uflow bench metrics` (C# PixelEvaluator), on synthetic 256x256 maps of the same kind
(float32 scores quantised to 2^-20, disc-shaped defects in 3 of 4 maps). Runs alternate to share machine noise;
the best time of each is compared.

    dotnet build src/Microsoft.ML.UFlow.Cli -c Release
    /usr/bin/python3 bench/metrics_reference.py [images] [repeats]
"""
import os
import re
import subprocess
import sys
import time

import numpy as np
from sklearn.metrics import precision_recall_curve, roc_auc_score

sys.path.insert(0, os.path.join(os.path.dirname(__file__), "..", "test", "golden"))
from metrics_golden import aupro  # noqa: E402

ROOT = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..")
UFLOW = os.path.join(ROOT, "src", "Microsoft.ML.UFlow.Cli", "bin", "Release", "net10.0", "uflow.dll")


def synthetic(n, size, seed=42):
    rng = np.random.default_rng(seed)
    masks = np.zeros((n, size, size), dtype=np.uint8)
    yy, xx = np.ogrid[:size, :size]
    for i in range(n):
        if i % 4 == 0:
            continue
        for _ in range(rng.integers(1, 4)):
            cy, cx, r = rng.integers(0, size), rng.integers(0, size), rng.integers(3, 3 + size // 8)
            masks[i][(yy - cy) ** 2 + (xx - cx) ** 2 <= r * r] = 1
    s = np.clip(0.3 + 0.1 * rng.normal(size=masks.shape) + 0.3 * masks, 0, 1)
    maps = (np.round(s.astype(np.float32) * (1 << 20)) / (1 << 20)).astype(np.float32)
    return maps, masks


def python_run(maps, masks):
    t = time.perf_counter()
    labels = masks.ravel().astype(bool)
    scores = maps.ravel()
    auroc = roc_auc_score(labels, scores)
    p, r, _ = precision_recall_curve(labels, scores)
    f1 = np.max(np.where(p + r > 0, 2 * p * r / np.maximum(p + r, 1e-300), 0))
    pro, _ = aupro(maps.astype(np.float64), masks)
    return time.perf_counter() - t, auroc, pro, f1


def csharp_run(n):
    out = subprocess.run(["dotnet", UFLOW, "bench", "metrics", "--images", str(n), "--repeat", "1"],
                         check=True, capture_output=True, text=True).stdout
    seconds = float(re.search(r"PixelEvaluator.*?: ([0-9.]+) s", out).group(1))
    return seconds, out


def main():
    n = int(sys.argv[1]) if len(sys.argv) > 1 else 83
    repeats = int(sys.argv[2]) if len(sys.argv) > 2 else 2
    maps, masks = synthetic(n, 256)
    best_py = best_cs = float("inf")
    for _ in range(repeats):
        t, auroc, pro, f1 = python_run(maps, masks)
        best_py = min(best_py, t)
        t, out = csharp_run(n)
        best_cs = min(best_cs, t)
    print(f"{n} maps of 256x256 ({maps.size / 1e6:.2f} M pixels), best of {repeats}")
    print(f"  python (sklearn AUROC + PR curve + official AUPRO): {best_py:.3f} s   AUROC {auroc:.6f} AUPRO {pro:.6f} F1 {f1:.6f}")
    print(f"  C# PixelEvaluator (Add + Compute, same metrics)    : {best_cs:.3f} s")
    print(f"  speed-up python / C#: {best_py / best_cs:.2f}x  (provisional; different RNGs, same kind of data)")


if __name__ == "__main__":
    main()
