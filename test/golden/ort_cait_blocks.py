"""CaiT pieces in plain PyTorch, as METHOD.md A.2.1 describes them (timm's cait.py structure, written from the spec).

Shared by test/golden/ort_mscait.py (random-weight test models) and documents what tools/export_mscait.py exports
from real timm models: patch embedding -> + pos_embed -> first k LayerScaleBlocks -> final LayerNorm -> tokens (B, N, D).
"""
import torch
from torch import nn


class TalkingHeadAttn(nn.Module):
    def __init__(self, dim, heads):
        super().__init__()
        self.heads = heads
        self.scale = (dim // heads) ** -0.5
        self.qkv = nn.Linear(dim, 3 * dim, bias=True)
        self.proj_l = nn.Linear(heads, heads)  # mixes the attention logits across heads
        self.proj_w = nn.Linear(heads, heads)  # mixes the attention probabilities across heads
        self.proj = nn.Linear(dim, dim)

    def forward(self, x):
        b, n, c = x.shape
        qkv = self.qkv(x).reshape(b, n, 3, self.heads, c // self.heads).permute(2, 0, 3, 1, 4)
        q, k, v = qkv[0] * self.scale, qkv[1], qkv[2]
        attn = q @ k.transpose(-2, -1)                                   # B, h, N, N
        attn = self.proj_l(attn.permute(0, 2, 3, 1)).permute(0, 3, 1, 2)
        attn = attn.softmax(dim=-1)
        attn = self.proj_w(attn.permute(0, 2, 3, 1)).permute(0, 3, 1, 2)
        x = (attn @ v).transpose(1, 2).reshape(b, n, c)
        return self.proj(x)


class LayerScaleBlock(nn.Module):
    def __init__(self, dim, heads):
        super().__init__()
        self.norm1 = nn.LayerNorm(dim, eps=1e-6)
        self.attn = TalkingHeadAttn(dim, heads)
        self.norm2 = nn.LayerNorm(dim, eps=1e-6)
        self.mlp = nn.Sequential(nn.Linear(dim, 4 * dim), nn.GELU(), nn.Linear(4 * dim, dim))  # exact (erf) GELU
        self.gamma_1 = nn.Parameter(torch.ones(dim))
        self.gamma_2 = nn.Parameter(torch.ones(dim))

    def forward(self, x):
        x = x + self.gamma_1 * self.attn(self.norm1(x))
        return x + self.gamma_2 * self.mlp(self.norm2(x))


class CaitTokens(nn.Module):
    """The part of a CaiT model MS-CaiT runs: no class token, no class-attention blocks, no head."""

    def __init__(self, patch_embed, pos_embed, blocks, norm):
        super().__init__()
        self.patch_embed = patch_embed  # maps (B, 3, S, S) to tokens (B, N, D), row-major token order
        self.pos_embed = pos_embed
        self.blocks = nn.Sequential(*blocks)
        self.norm = norm

    def forward(self, x):
        x = self.patch_embed(x) + self.pos_embed
        return self.norm(self.blocks(x))


class ConvPatchEmbed(nn.Module):
    def __init__(self, dim, patch):
        super().__init__()
        self.proj = nn.Conv2d(3, dim, kernel_size=patch, stride=patch, bias=True)

    def forward(self, x):
        return self.proj(x).flatten(2).transpose(1, 2)


def tokens_to_map(tokens):
    """(B, N, D) -> (B, D, H', W') with map[c, i, j] = token[i * W' + j][c] (METHOD.md A.2.1 step 6)."""
    b, n, d = tokens.shape
    side = int(round(n ** 0.5))
    return tokens.permute(0, 2, 1).reshape(b, d, side, side)


def export_tokens_model(model, size, path, opset=17):
    """Exports (B, 3, size, size) -> tokens (B, N, D) with a dynamic batch, input 'input', output 'tokens'."""
    model.eval()
    dummy = torch.zeros(1, 3, size, size)
    torch.onnx.export(model, dummy, path, input_names=["input"], output_names=["tokens"],
                      dynamic_axes={"input": {0: "N"}, "tokens": {0: "N"}}, opset_version=opset, do_constant_folding=True)
