#!/usr/bin/python3
"""Golden fixture for Optim.Adam and GradientClipping: PyTorch 1.13 CPU, float32.

Run: /usr/bin/python3 test/golden/engine_adam.py  (writes test/Microsoft.ML.UFlow.Tests/Fixtures/Engine/adam.json)
Two parameters (sizes 37 and 5, exercising the SIMD tails), seeded values and per-step gradients, 6 steps of
torch.optim.Adam for each setting; after each step's gradients are set, clip_grad_norm_(max_norm=1.5) runs first
(its returned norm is recorded). Floats are stored as exact float32 bit patterns (hex) to allow exact comparison.
"""
import json
import os
import struct

import torch


def bits(t):
    return [format(struct.unpack("<I", struct.pack("<f", float(x)))[0], "08x") for x in t.detach().reshape(-1).tolist()]


def run(lr, eps, wd, seed):
    g = torch.Generator().manual_seed(seed)
    params = [torch.nn.Parameter(torch.rand(37, generator=g) * 2 - 1), torch.nn.Parameter(torch.rand(5, generator=g) * 2 - 1)]
    init = [bits(p) for p in params]
    opt = torch.optim.Adam(params, lr=lr, betas=(0.9, 0.999), eps=eps, weight_decay=wd)
    steps = []
    for step in range(6):
        grads = [(torch.rand(p.shape, generator=g) * 2 - 1) * (0.5 if step % 2 else 3.0) for p in params]
        for p, gr in zip(params, grads):
            p.grad = gr.clone()
        norm = torch.nn.utils.clip_grad_norm_(params, 1.5)
        clipped = [bits(p.grad) for p in params]
        opt.step()
        steps.append({"grads": [bits(x) for x in grads], "norm": float(norm), "clipped": clipped, "params": [bits(p) for p in params]})
    return {"lr": lr, "eps": eps, "weight_decay": wd, "init": init, "steps": steps}


def main():
    out = os.path.join(os.path.dirname(__file__), "..", "Microsoft.ML.UFlow.Tests", "Fixtures", "Engine")
    os.makedirs(out, exist_ok=True)
    doc = {"torch": torch.__version__, "cases": [run(1e-3, 1e-8, 0.0, 1), run(2e-4, 1e-4, 1e-5, 2), run(0.05, 1e-8, 0.1, 3)]}
    with open(os.path.join(out, "adam.json"), "w") as f:
        json.dump(doc, f)


if __name__ == "__main__":
    main()
