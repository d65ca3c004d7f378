"""Golden fixtures for the MS-CaiT featurizer and the bicubic align-corners resize (area: ort).

Run with Debian's python (torch 1.13):   /usr/bin/python3 test/golden/ort_mscait.py
Writes into test/Microsoft.ML.UFlow.Tests/Fixtures/Ort/:
  mscait_fine.onnx, mscait_coarse.onnx  small random-weight CaiT-shaped models (448 and 224 inputs, patch 16)
  mscait_expected.f32                  fine map (2, D1, 28, 28) then coarse map (2, D2, 14, 14), little-endian float32
  mscait.json                          shapes, and a sample of the bicubic 448 -> 224 downsampling of the input
  bicubic.json                         small F.interpolate(bicubic, align_corners=True) cases, inputs and outputs
The input image batch is the formula in pattern() so that the C# test rebuilds it without a stored 2x3x448x448 file.
"""
import json
import os
import sys

import numpy as np
import torch
import torch.nn.functional as F

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from ort_cait_blocks import CaitTokens, ConvPatchEmbed, LayerScaleBlock, export_tokens_model, tokens_to_map  # noqa: E402

OUT = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "Microsoft.ML.UFlow.Tests", "Fixtures", "Ort")


def pattern(batch, size):
    """x[b, c, i, j] = 2 sin(0.05 (c + 1) i + 0.3 b) cos(0.07 j + 0.11 c), evaluated in float64, stored as float32."""
    b, c, i, j = np.meshgrid(np.arange(batch), np.arange(3), np.arange(size), np.arange(size), indexing="ij")
    x = 2.0 * np.sin(0.05 * (c + 1) * i + 0.3 * b) * np.cos(0.07 * j + 0.11 * c)
    return torch.from_numpy(x.astype(np.float32))


def random_cait(size, dim, heads, depth, seed):
    g = torch.Generator().manual_seed(seed)
    patch = 16
    n = (size // patch) ** 2
    blocks = [LayerScaleBlock(dim, heads) for _ in range(depth)]
    model = CaitTokens(ConvPatchEmbed(dim, patch), torch.nn.Parameter(torch.zeros(1, n, dim)), blocks,
                       torch.nn.LayerNorm(dim, eps=1e-6))
    with torch.no_grad():
        for name, p in model.named_parameters():
            if name.endswith("bias"):
                p.copy_(0.1 * torch.randn(p.shape, generator=g))
            elif "norm" in name:
                p.copy_(1.0 + 0.2 * torch.randn(p.shape, generator=g))   # LayerNorm weights near 1
            elif "gamma" in name:
                p.copy_(0.5 + 0.2 * torch.randn(p.shape, generator=g))   # make every block matter
            elif name == "pos_embed":
                p.copy_(0.5 * torch.randn(p.shape, generator=g))
            else:
                fan_in = p[0].numel()
                p.copy_(torch.randn(p.shape, generator=g) / fan_in ** 0.5)
    return model.eval()


def main():
    os.makedirs(OUT, exist_ok=True)
    torch.manual_seed(0)
    fine = random_cait(448, dim=24, heads=4, depth=2, seed=1)
    coarse = random_cait(224, dim=16, heads=4, depth=2, seed=2)
    export_tokens_model(fine, 448, os.path.join(OUT, "mscait_fine.onnx"))
    export_tokens_model(coarse, 224, os.path.join(OUT, "mscait_coarse.onnx"))

    x448 = pattern(2, 448)
    x224 = F.interpolate(x448, size=(224, 224), mode="bicubic", align_corners=True)
    with torch.no_grad():
        map1 = tokens_to_map(fine(x448))
        map2 = tokens_to_map(coarse(x224))
    np.concatenate([map1.numpy().ravel(), map2.numpy().ravel()]).astype("<f4").tofile(os.path.join(OUT, "mscait_expected.f32"))
    flat = x224.numpy().ravel()
    picks = list(range(0, flat.size, 997))
    meta = {
        "fine_shape": list(map1.shape), "coarse_shape": list(map2.shape),
        "downsampled_224_indices": picks, "downsampled_224_values": [float(flat[i]) for i in picks],
    }
    with open(os.path.join(OUT, "mscait.json"), "w") as f:
        json.dump(meta, f, indent=1)

    cases = []
    g = torch.Generator().manual_seed(3)
    for (h, w, oh, ow) in [(37, 41, 17, 23), (9, 7, 20, 15), (16, 16, 8, 8), (5, 6, 1, 1), (1, 8, 3, 4)]:
        src = torch.randn(1, 2, h, w, generator=g)
        dst = F.interpolate(src, size=(oh, ow), mode="bicubic", align_corners=True)
        cases.append({"shape": [2, h, w], "out": [oh, ow], "input": [float(v) for v in src.numpy().ravel()],
                      "expected": [float(v) for v in dst.numpy().ravel()]})
    with open(os.path.join(OUT, "bicubic.json"), "w") as f:
        json.dump({"torch": torch.__version__, "cases": cases}, f)
    for name in sorted(os.listdir(OUT)):
        print(name, os.path.getsize(os.path.join(OUT, name)))


if __name__ == "__main__":
    main()
