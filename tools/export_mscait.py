"""Exports the two ONNX models the MS-CaiT featurizer (ml.Transforms.CaiTFeaturizer, Onnx/BackboneGraph.PrepareMsCait) needs.

U-Flow's MS-CaiT (METHOD.md A.2.1) runs two ImageNet-pretrained timm models, frozen:
  fine   cait_m48_448 (cait_m48_448.fb_dist_in1k), 448x448 input, first 41 blocks -> tokens (B, 784, 768)
  coarse cait_s24_224 (cait_s24_224.fb_dist_in1k), 224x224 input, first 21 blocks -> tokens (B, 196, 384)
Each exported graph is: patch embedding -> + pos_embed -> blocks[:k] -> final LayerNorm (no class token, no
class-attention blocks, no head), with input 'input' [B, 3, S, S] and output 'tokens' [B, N, D], dynamic batch.
The featurizer does the rest in its merged graph: the bicubic align-corners 448 -> 224 downsampling of the normalised image for the
coarse model, and the row-major reshape of tokens into maps.

Usage (on a machine with internet access or a populated timm/Hugging Face cache):
    pip install torch timm==0.9.16
    python tools/export_mscait.py --out models/
which writes models/mscait_m48_448_fine.onnx (about 1.2 GB) and models/mscait_s24_224_coarse.onnx (about 150 MB).
Check: --verify compares ONNX Runtime's tokens with PyTorch's on a random input (needs onnxruntime installed).
"""
import argparse
import os

import torch
from torch import nn


class CaitTokens(nn.Module):
    """The part of a timm CaiT model MS-CaiT runs (METHOD.md A.2.1 steps 2-5)."""

    def __init__(self, cait, blocks):
        super().__init__()
        self.patch_embed = cait.patch_embed
        self.pos_embed = cait.pos_embed
        self.blocks = nn.Sequential(*list(cait.blocks)[:blocks])
        self.norm = cait.norm

    def forward(self, x):
        x = self.patch_embed(x) + self.pos_embed   # timm's PatchEmbed flattens row-major: token = row * W' + col
        return self.norm(self.blocks(x))           # pos_drop has p = 0


def export(name, size, blocks, path, verify):
    import timm
    cait = timm.create_model(name, pretrained=True).eval()
    model = CaitTokens(cait, blocks).eval()
    dummy = torch.zeros(1, 3, size, size)
    torch.onnx.export(model, dummy, path, input_names=["input"], output_names=["tokens"],
                      dynamic_axes={"input": {0: "N"}, "tokens": {0: "N"}}, opset_version=17, do_constant_folding=True)
    print(f"wrote {path}")
    if verify:
        import numpy as np
        import onnxruntime as ort
        x = torch.randn(2, 3, size, size)
        with torch.no_grad():
            expected = model(x).numpy()
        actual = ort.InferenceSession(path, providers=["CPUExecutionProvider"]).run(None, {"input": x.numpy()})[0]
        print(f"  max |ORT - torch| = {np.abs(actual - expected).max():.3g} (tokens {actual.shape})")


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--out", default=".", help="output folder")
    parser.add_argument("--verify", action="store_true", help="compare ONNX Runtime with PyTorch after export")
    args = parser.parse_args()
    os.makedirs(args.out, exist_ok=True)
    export("cait_m48_448.fb_dist_in1k", 448, 41, os.path.join(args.out, "mscait_m48_448_fine.onnx"), args.verify)
    export("cait_s24_224.fb_dist_in1k", 224, 21, os.path.join(args.out, "mscait_s24_224_coarse.onnx"), args.verify)


if __name__ == "__main__":
    main()
