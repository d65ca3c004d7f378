"""Golden values for the CS-Flow parity tests (Training/CsFlow/CsFlowTorchParityTests.cs, via CsFlowGolden.cs).

Written from METHOD.md Part C (not copied from the official code). Plain PyTorch 1.13, float32, tiny shapes.
Run with Debian's python (has torch):  /usr/bin/python3 test/golden/csflow_parity.py
Writes test/Microsoft.ML.UFlow.Tests/Fixtures/CsFlow/csflow_parity.json (index) and .bin (little-endian float32).

Contents: a 2-block CS-Flow (C = 5, so C1 = 2 and C2 = 3; hidden 4; kernels [3, 5]; scales 8x8, 4x4, 2x2; batch 2)
with PyTorch-default conv init (seed 0) and non-zero gammas; permutations from np.random.seed(k) as the official code;
  * block 0's coupling applied alone to x: outputs and log-det;
  * the whole flow: latents, log-det, per-dimension loss, gradients of every parameter and of x;
  * one training step as the official code: clip_grad_norm_ then Adam(lr 2e-4, eps 1e-4, wd 1e-5), with max_norm
    0.1 here (instead of 1.0) so that the clipping actually scales the gradients;
    the updated parameters.
"""
import json
import os

import numpy as np
import torch
import torch.nn as nn
import torch.nn.functional as F

C, HIDDEN, KERNELS, SIZE, BATCH, ALPHA = 5, 4, [3, 5], 8, 2, 3.0
CLIP = 0.1  # below the gradient norm (about 0.25) so that clipping really scales; training uses 1.0
OUT = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "Microsoft.ML.UFlow.Tests", "Fixtures", "CsFlow")


class CrossScaleSubnet(nn.Module):
    def __init__(self, cin, cout, k):
        super().__init__()
        p = k // 2
        for s in range(3):
            setattr(self, f"conv_in{s}", nn.Conv2d(cin, HIDDEN, k, padding=p))
        for s in range(3):
            setattr(self, f"conv_out{s}", nn.Conv2d(HIDDEN, cout, k, padding=p))
        self.up_conv10 = nn.Conv2d(HIDDEN, cout, k, padding=p)
        self.up_conv21 = nn.Conv2d(HIDDEN, cout, k, padding=p)
        self.down_conv01 = nn.Conv2d(HIDDEN, cout, k, padding=p, stride=2)
        self.down_conv12 = nn.Conv2d(HIDDEN, cout, k, padding=p, stride=2)
        for s in range(3):
            setattr(self, f"gamma{s}", nn.Parameter(torch.zeros(1)))

    def forward(self, x):
        h = [F.leaky_relu(getattr(self, f"conv_in{s}")(x[s]), 0.1) for s in range(3)]
        up = lambda t: F.interpolate(t, scale_factor=2, mode="bilinear", align_corners=False)
        o0 = self.conv_out0(h[0]) + self.up_conv10(up(h[1]))
        o1 = self.conv_out1(h[1]) + self.down_conv01(h[0]) + self.up_conv21(up(h[2]))
        o2 = self.conv_out2(h[2]) + self.down_conv12(h[1])
        return [self.gamma0 * o0, self.gamma1 * o1, self.gamma2 * o2]


def soft_clamp(h):
    return ALPHA * 0.636 * torch.atan(h / ALPHA)


class Coupling(nn.Module):
    def __init__(self, k):
        super().__init__()
        self.c1 = C // 2
        self.c2 = C - self.c1
        self.s2 = CrossScaleSubnet(self.c2, 2 * self.c1, k)
        self.s1 = CrossScaleSubnet(self.c1, 2 * self.c2, k)

    def forward(self, x):
        x1 = [t[:, :self.c1] for t in x]
        x2 = [t[:, self.c1:] for t in x]
        r = self.s2(x2)
        s = [soft_clamp(ri[:, :self.c1]) for ri in r]
        y1 = [torch.exp(s[i]) * x1[i] + r[i][:, self.c1:] for i in range(3)]
        r2 = self.s1(y1)
        s2 = [soft_clamp(ri[:, :self.c2]) for ri in r2]
        y2 = [torch.exp(s2[i]) * x2[i] + r2[i][:, self.c2:] for i in range(3)]
        out = [torch.clamp(torch.cat([y1[i], y2[i]], 1), -1e6, 1e6) for i in range(3)]
        logdet = sum(si.sum(dim=(1, 2, 3)) for si in s) + sum(si.sum(dim=(1, 2, 3)) for si in s2)
        return out, logdet


class Flow(nn.Module):
    def __init__(self):
        super().__init__()
        self.perms = []
        for k, ks in enumerate(KERNELS):
            np.random.seed(k)
            self.perms.append([np.random.permutation(C) for _ in range(3)])
            setattr(self, f"block{k}", Coupling(ks))

    def forward(self, x):
        logdet = 0
        for k in range(len(KERNELS)):
            x = [x[s][:, torch.from_numpy(self.perms[k][s])] for s in range(3)]
            x, ld = getattr(self, f"block{k}")(x)
            logdet = logdet + ld
        return x, logdet


def main():
    torch.manual_seed(0)
    flow = Flow()
    with torch.no_grad():
        g = torch.Generator().manual_seed(1)
        for name, p in flow.named_parameters():
            if "gamma" in name:
                p.copy_(0.3 + 0.6 * torch.rand(1, generator=g))
    x = [torch.randn(BATCH, C, SIZE >> s, SIZE >> s, generator=torch.Generator().manual_seed(2 + s)) for s in range(3)]

    arrays = []  # (name, tensor)
    params0 = [(n, p.detach().clone()) for n, p in flow.named_parameters()]
    arrays += [("param/" + n, t) for n, t in params0]
    arrays += [(f"x{s}", x[s]) for s in range(3)]

    with torch.no_grad():
        out, ld = flow.block0(x)
    arrays += [(f"block0_out{s}", out[s]) for s in range(3)] + [("block0_logdet", ld)]

    xg = [t.clone().requires_grad_(True) for t in x]
    z, logdet = flow(xg)
    d = sum(t[0].numel() for t in z)
    loss = torch.mean(0.5 * sum(torch.sum(t ** 2, dim=(1, 2, 3)) for t in z) - logdet) / d
    loss.backward()
    arrays += [(f"z{s}", z[s].detach()) for s in range(3)] + [("logdet", logdet.detach()), ("loss", loss.detach().reshape(1))]
    arrays += [("grad/" + n, p.grad.detach().clone()) for n, p in flow.named_parameters()]
    arrays += [(f"grad_x{s}", xg[s].grad) for s in range(3)]

    norm = torch.nn.utils.clip_grad_norm_(flow.parameters(), CLIP)
    opt = torch.optim.Adam(flow.parameters(), lr=2e-4, eps=1e-4, weight_decay=1e-5)
    opt.step()
    arrays += [("step/" + n, p.detach().clone()) for n, p in flow.named_parameters()]

    os.makedirs(OUT, exist_ok=True)
    index = {"channels": C, "hidden": HIDDEN, "kernels": KERNELS, "size": SIZE, "batch": BATCH, "alpha": ALPHA,
             "clip": CLIP, "grad_norm": float(norm), "torch": torch.__version__,
             "permutations": [[p.tolist() for p in block] for block in flow.perms],
             "parameters": [n for n, _ in params0], "arrays": {}}
    offset = 0
    with open(os.path.join(OUT, "csflow_parity.bin"), "wb") as f:
        for name, t in arrays:
            a = t.detach().numpy().astype("<f4").ravel()
            f.write(a.tobytes())
            index["arrays"][name] = {"offset": offset, "shape": list(t.shape)}
            offset += a.size
    with open(os.path.join(OUT, "csflow_parity.json"), "w") as f:
        json.dump(index, f, indent=1)
    print(f"loss {loss.item():.6f}, grad norm {float(norm):.6f}, {offset} floats")


if __name__ == "__main__":
    main()
