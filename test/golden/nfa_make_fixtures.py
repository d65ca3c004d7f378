#!/usr/bin/python3
"""Golden fixtures for the tree NFA (METHOD.md A.7), written independently from the C# code.

A literal implementation: max-tree nodes as explicit pixel sets (one per level and 4-connected component of the
upper level set), log10 PFA with the Chernoff expression as coded, the prune / merge driver iterated on explicit
parent / children maps, NaN -> 0, PyTorch F.interpolate to S x S, min over scales, log10 N_T with mpmath.
Run with Debian's /usr/bin/python3 (numpy, torch 1.13, mpmath):

    /usr/bin/python3 test/golden/nfa_make_fixtures.py

Writes test/Microsoft.ML.UFlow.Tests/Fixtures/Nfa/nfa_pipeline.json (a few KB).
"""
import json
import math
import os
from collections import deque

import mpmath
import numpy as np
import torch
import torch.nn.functional as F

ALPHA, BETA = 0.316915, 4.062570


def upper_component(x, h, w, start):
    level = x[start]
    seen = {start}
    queue = deque([start])
    while queue:
        p = queue.popleft()
        r, c = divmod(p, w)
        for rr, cc in ((r - 1, c), (r + 1, c), (r, c - 1), (r, c + 1)):
            if 0 <= rr < h and 0 <= cc < w:
                q = rr * w + cc
                if x[q] >= level and q not in seen:
                    seen.add(q)
                    queue.append(q)
    return frozenset(seen)


def log_pfa(size, x, channels, guard):
    u = float(x) / channels
    if guard and u <= 1.0:
        return 0.0
    return size * (-(channels / 2.0) * (u - 1.0 - math.log(u)) / math.log(10.0))


def scale_map(x, h, w, channels, guard):
    """Per-scale map: log10 PFA of the final region of each pixel, NaN elsewhere."""
    nodes = {}
    for p in range(h * w):
        comp = upper_component(x, h, w, p)
        nodes.setdefault((float(x[p]), comp), None)
    nodes = list(nodes.keys())
    value = {n: log_pfa(len(n[1]), n[0], channels, guard) for n in nodes}
    parent = {}
    for n in nodes:
        best = None
        anyp = next(iter(n[1]))
        for m in nodes:
            if m[0] < n[0] and anyp in m[1] and (best is None or m[0] > best[0]):
                best = m
        parent[n] = best
    children = {n: [] for n in nodes}
    for n in nodes:
        if parent[n] is not None:
            children[parent[n]].append(n)

    def branch(leaf):
        out = [leaf]
        cur = leaf
        while parent[cur] is not None and len(children[parent[cur]]) == 1:
            cur = parent[cur]
            out.append(cur)
        return out

    def delete(d):
        p = parent[d]
        for c in children[d]:
            parent[c] = p
            if p is not None:
                children[p].append(c)
        if p is not None:
            children[p].remove(d)
        del parent[d]
        del children[d]

    def best_of(nodes_in_branch):
        best = nodes_in_branch[0]
        for v in nodes_in_branch:
            if value[v] < value[best]:
                best = v
        return best

    def prune():
        for leaf in [v for v in parent if not children[v]]:
            b = branch(leaf)
            keep = best_of(b)
            for v in b:
                if v != keep:
                    delete(v)

    def merge():
        cands = [b for b in parent if len(children[b]) >= 2 and all(not children[c] for c in children[b])]
        merged = False
        for b in cands:
            if value[b] <= min(value[c] for c in children[b]):
                for c in list(children[b]):
                    delete(c)
                merged = True
        return merged

    prune()
    merged = merge()
    while merged:
        prune()
        merged = merge()
    prune()
    out = np.full(h * w, np.nan)
    for leaf in [v for v in parent if not children[v]]:
        r = best_of(branch(leaf))
        for p in r[1]:
            assert np.isnan(out[p])
            out[p] = value[r]
    return out


def log10_number_of_tests(pixel_counts):
    mpmath.mp.dps = 30
    total = mpmath.mpf(0)
    for a in pixel_counts:
        total += a * mpmath.fsum(ALPHA * mpmath.power(BETA, n) / n for n in range(1, a + 1))
    return float(mpmath.log10(total))


def pipeline(name, zs, size, mode, guard):
    maps = []
    upsampled = []
    for z in zs:
        c, h, w = z.shape
        x = (torch.from_numpy(z) ** 2).sum(0).numpy().astype(np.float32).reshape(-1)
        m = scale_map(x, h, w, c, guard)
        maps.append(m)
        filled = torch.from_numpy(np.nan_to_num(m, nan=0.0).astype(np.float32).reshape(1, 1, h, w))
        if mode == "bilinear":
            up = F.interpolate(filled, size=(size, size), mode="bilinear", align_corners=False)
        else:
            up = F.interpolate(filled, size=(size, size), mode="nearest")
        upsampled.append(up)
    m = torch.min(torch.cat(upsampled, 0), 0).values
    log_nt = log10_number_of_tests([z.shape[1] * z.shape[2] for z in zs])
    neg = -(torch.tensor(log_nt, dtype=torch.float32) + m)
    return {
        "name": name,
        "size": size,
        "mode": mode,
        "guard": guard,
        "log10_nt": log_nt,
        "scales": [{"c": int(z.shape[0]), "h": int(z.shape[1]), "w": int(z.shape[2]), "z": [float("%.9g" % v) for v in z.reshape(-1)]} for z in zs],
        "scale_maps": [[None if np.isnan(v) else float(v) for v in mm] for mm in maps],
        "neg_log10_nfa": [float(v) for v in neg.reshape(-1).numpy()],
    }


def latents(rng, sigma, planted):
    fine = (sigma * rng.standard_normal((24, 8, 8))).astype(np.float32)
    coarse = (sigma * rng.standard_normal((12, 4, 4))).astype(np.float32)
    if planted:
        fine[:, 2:6, 3:7] *= 2.0
        coarse[:, 1:3, 2:4] *= 2.0
    return [fine, coarse]


def main():
    rng = np.random.default_rng(20240610)
    planted = latents(rng, 1.0, True)
    under = latents(rng, 0.8, False)
    cases = [
        pipeline("planted_bilinear", planted, 32, "bilinear", False),
        pipeline("planted_nearest", planted, 20, "nearest", False),
        pipeline("under_dispersed_official", under, 16, "bilinear", False),
        pipeline("under_dispersed_guard", under, 16, "bilinear", True),
    ]
    here = os.path.dirname(os.path.abspath(__file__))
    out = os.path.join(here, "..", "Microsoft.ML.UFlow.Tests", "Fixtures", "Nfa", "nfa_pipeline.json")
    with open(out, "w") as f:
        json.dump({"generator": "test/golden/nfa_make_fixtures.py", "cases": cases}, f)
    for c in cases:
        neg = np.array(c["neg_log10_nfa"])
        print(c["name"], "log10_nt", round(c["log10_nt"], 5), "max -log10 NFA", round(float(neg.max()), 3), "detected", int((neg > 0).sum()))


if __name__ == "__main__":
    main()
