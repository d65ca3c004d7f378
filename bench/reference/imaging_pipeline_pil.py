#!/usr/bin/python3
"""PIL/numpy reference for `uflow bench imaging`: decode + resize(size, BILINEAR) + ImageNet normalisation to CHW
float32, single thread, files read into memory first (as the C# benchmark does).

    /usr/bin/python3 bench/reference/imaging_pipeline_pil.py [folder] [--size 256] [--limit 100] [--passes 3]
"""
import argparse
import io
import os
import time

import numpy as np
from PIL import Image

ap = argparse.ArgumentParser()
ap.add_argument("folder", nargs="?", default="../shared/data/mvtec_ad/bottle/train/good")
ap.add_argument("--size", type=int, default=256)
ap.add_argument("--limit", type=int, default=100)
ap.add_argument("--passes", type=int, default=3)
a = ap.parse_args()
files = sorted(os.path.join(r, f) for r, _, fs in os.walk(a.folder) for f in fs if f.lower().endswith((".png", ".jpg", ".bmp")))
files = sorted(files)[: a.limit]
blobs = [open(f, "rb").read() for f in files]
mean = np.array([0.485, 0.456, 0.406], dtype=np.float32).reshape(3, 1, 1)
std = np.array([0.229, 0.224, 0.225], dtype=np.float32).reshape(3, 1, 1)
t_dec = t_res = t_norm = 0.0
for b in blobs[:8]:
    Image.open(io.BytesIO(b)).convert("RGB").resize((a.size, a.size), Image.BILINEAR)
for _ in range(a.passes):
    for b in blobs:
        t0 = time.perf_counter()
        im = Image.open(io.BytesIO(b)).convert("RGB")
        im.load()
        t1 = time.perf_counter()
        small = im.resize((a.size, a.size), Image.BILINEAR)
        t2 = time.perf_counter()
        x = (np.asarray(small, dtype=np.float32).transpose(2, 0, 1) / 255.0 - mean) / std
        x = np.ascontiguousarray(x)
        t3 = time.perf_counter()
        t_dec += t1 - t0
        t_res += t2 - t1
        t_norm += t3 - t2
n = len(blobs) * a.passes
total = t_dec + t_res + t_norm
print(f"PIL {len(blobs)} images, resize to {a.size}: decode {1000*t_dec/n:.2f} ms, resize {1000*t_res/n:.2f} ms, "
      f"normalise {1000*t_norm/n:.2f} ms per image -> {n/total:.1f} images/s (single thread)")
