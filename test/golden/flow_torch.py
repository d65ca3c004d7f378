"""Plain-PyTorch U-Flow flow (METHOD.md A.2.2, A.3, A.4, A.6), FrEIA@pin AllInOneBlock semantics without FrEIA.

Shared by flow_parity.py (golden fixture) and flow_bench.py (timing). Run with /usr/bin/python3 (torch 1.13).
"""
import math
import struct

import numpy as np
import torch
import torch.nn as nn
import torch.nn.functional as F

GLOBAL_SCALE_INIT = 2.0 * math.log(math.exp(5.0) - 1.0)


class AllInOneBlock(nn.Module):
    """Coupling on channels [C1, C) given the first C1 = ceil(C/2); soft clamp 2*tanh(s) (pinned form);
    global affine 0.1*softplus_{beta=0.5}(g), offset; then a fixed permutation applied as a 1x1 conv."""

    def __init__(self, channels, kernel, perm, clamp=2.0, ratio=1.0):
        super().__init__()
        self.c1 = channels - channels // 2
        self.c2 = channels // 2
        hidden = int(self.c1 * ratio)
        self.clamp = clamp
        self.subnet = nn.Sequential(
            nn.Conv2d(self.c1, hidden, kernel, padding=kernel // 2),
            nn.ReLU(),
            nn.Conv2d(hidden, 2 * self.c2, kernel, padding=kernel // 2),
        )
        self.global_scale = nn.Parameter(torch.full((1, channels, 1, 1), GLOBAL_SCALE_INIT))
        self.global_offset = nn.Parameter(torch.zeros(1, channels, 1, 1))
        w = torch.zeros(channels, channels, 1, 1)
        for i, p in enumerate(perm):
            w[i, p, 0, 0] = 1.0
        self.register_buffer("w_perm", w)
        self.perm = list(perm)

    def forward(self, x):
        x1, x2 = torch.split(x, [self.c1, self.c2], dim=1)
        a = self.subnet(x1) * 0.1
        s, t = a[:, : self.c2], a[:, self.c2 :]
        j = self.clamp * torch.tanh(s)
        y2 = x2 * torch.exp(j) + t
        ljd = torch.sum(j, dim=(1, 2, 3))
        u = torch.cat((x1, y2), 1)
        scale = 0.1 * F.softplus(self.global_scale, beta=0.5)
        out = F.conv2d(u * scale + self.global_offset, self.w_perm)
        ljd = ljd + x.shape[2] * x.shape[3] * torch.sum(torch.log(scale))
        return out, ljd


def plan(scales):
    """Channel plan of A.3.1 for adjacent 2x scales, finest first."""
    L = len(scales)
    stage = [0] * L
    up = [0] * L
    stage[L - 1] = scales[L - 1][0]
    for l in range(L - 1, 0, -1):
        v = stage[l]
        up[l] = (v // 8) * 4
        stage[l - 1] = scales[l - 1][0] + up[l] // 4
    return stage, up


class UFlow(nn.Module):
    def __init__(self, scales, steps=4, layernorm=False, seed=0):
        super().__init__()
        self.scales = scales
        self.stage_channels, self.up = plan(scales)
        rng = np.random.RandomState(seed)
        self.stages = nn.ModuleList()
        for l, c in enumerate(self.stage_channels):
            self.stages.append(nn.ModuleList([AllInOneBlock(c, 3 if s % 2 == 0 else 1, rng.permutation(c)) for s in range(steps)]))
        self.norms = nn.ModuleList([nn.LayerNorm(list(s)) for s in scales]) if layernorm else None

    def forward(self, features):
        L = len(self.scales)
        xs = [self.norms[l](f) for l, f in enumerate(features)] if self.norms is not None else list(features)
        ljd = torch.zeros(features[0].shape[0], device=features[0].device)
        h = xs[L - 1]
        for blk in self.stages[L - 1]:
            h, j = blk(h)
            ljd = ljd + j
        latents = [None] * L
        for l in range(L - 1, 0, -1):
            n_up = self.up[l]
            a, b = h[:, :n_up], h[:, n_up:]
            latents[l] = b
            h = torch.cat((xs[l - 1], F.pixel_shuffle(a, 2)), 1)
            for blk in self.stages[l - 1]:
                h, j = blk(h)
                ljd = ljd + j
        latents[0] = h
        return latents, ljd

    def named_flow_parameters(self):
        """(C#-side name, tensor) pairs in the C# naming scheme."""
        out = []
        for l in range(len(self.scales)):
            if self.norms is not None:
                out.append((f"layernorm{l}.weight", self.norms[l].weight))
                out.append((f"layernorm{l}.bias", self.norms[l].bias))
            for s, blk in enumerate(self.stages[l]):
                p = f"stage{l}.step{s}"
                out += [
                    (p + ".subnet.0.weight", blk.subnet[0].weight), (p + ".subnet.0.bias", blk.subnet[0].bias),
                    (p + ".subnet.2.weight", blk.subnet[2].weight), (p + ".subnet.2.bias", blk.subnet[2].bias),
                    (p + ".global_scale", blk.global_scale), (p + ".global_offset", blk.global_offset),
                ]
        return out


def loss_fn(latents, ljd):
    """Official loss (A.4): per-sample sum of 0.5 z^2 over every latent, minus log-det, batch mean."""
    sq = sum(0.5 * torch.sum(z ** 2, dim=(1, 2, 3)) for z in latents)
    return torch.mean(sq - ljd)


def anomaly_map(latents, size):
    """A.6: 1 - mean_l bilinear(exp(-0.5 * mean_c z^2)), align_corners=False."""
    probs = [F.interpolate(torch.exp(-torch.mean(z ** 2, dim=1, keepdim=True) * 0.5), size=size, mode="bilinear", align_corners=False) for z in latents]
    return 1.0 - torch.mean(torch.stack(probs, dim=-1), dim=-1)


def write_arrays(path, arrays):
    """Little-endian container: b'UFGOLD01', int32 count, then per array: int32 name length, UTF-8 name,
    int32 rank, int32 dims, float32 values."""
    with open(path, "wb") as f:
        f.write(b"UFGOLD01")
        f.write(struct.pack("<i", len(arrays)))
        for name, value in arrays:
            a = np.ascontiguousarray(np.asarray(value, dtype="<f4"))
            nb = name.encode("utf-8")
            f.write(struct.pack("<i", len(nb)))
            f.write(nb)
            f.write(struct.pack("<i", a.ndim))
            f.write(struct.pack(f"<{a.ndim}i", *a.shape))
            f.write(a.tobytes())
