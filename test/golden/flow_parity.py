"""Golden fixture for the C# U-shaped flow: weights, inputs, latents, log-det, loss, gradients of one training step,
the weights after one Adam step (lr 1e-3, weight decay 1e-5) and the anomaly map, on tiny shapes.

Run from the repository root:  /usr/bin/python3 test/golden/flow_parity.py
Writes test/Microsoft.ML.UFlow.Tests/Fixtures/Flow/flow_parity_<name>.bin (read by Training/UFlowModuleGoldenTests).
"""
import os
import sys

import torch

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from flow_torch import UFlow, anomaly_map, loss_fn, write_arrays  # noqa: E402

OUT = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "Microsoft.ML.UFlow.Tests", "Fixtures", "Flow")
CASES = {
    # two scales, odd fine-stage channel count (5 + 8/4 = 7), no LayerNorm
    "two_scales": dict(scales=[(5, 8, 8), (16, 4, 4)], layernorm=False, batch=3, seed=1),
    # three scales with the trainable feature LayerNorm
    "three_scales_ln": dict(scales=[(2, 8, 8), (6, 4, 4), (16, 2, 2)], layernorm=True, batch=2, seed=2),
}
MAP_SIZE = 20


def build(name, scales, layernorm, batch, seed):
    torch.manual_seed(seed)
    flow = UFlow(scales, steps=4, layernorm=layernorm, seed=seed)
    with torch.no_grad():  # move every parameter away from its initial value
        for pname, p in flow.named_flow_parameters():
            if "global" in pname or "layernorm" in pname:
                p.add_(0.3 * torch.randn_like(p))
            else:
                p.mul_(3.0)
    features = [torch.randn(batch, *s) for s in scales]
    features[0] = features[0] * 0.7 + 0.5
    arrays = [("config.scales", torch.tensor(scales, dtype=torch.float32)), ("config.layernorm", torch.tensor([1.0 if layernorm else 0.0]))]
    for l, stage in enumerate(flow.stages):
        for s, blk in enumerate(stage):
            arrays.append((f"perm.stage{l}.step{s}", torch.tensor(blk.perm, dtype=torch.float32)))
    named = flow.named_flow_parameters()
    arrays += [("param." + n, p.detach().clone().reshape(-1)) if "global" in n else ("param." + n, p.detach().clone()) for n, p in named]
    arrays += [(f"input{l}", f) for l, f in enumerate(features)]
    latents, ljd = flow(features)
    loss = loss_fn(latents, ljd)
    arrays += [(f"latent{l}", z.detach()) for l, z in enumerate(latents)]
    arrays += [("logdet", ljd.detach()), ("loss", loss.detach().reshape(1))]
    arrays.append(("anomaly_map", anomaly_map([z.detach() for z in latents], (MAP_SIZE, MAP_SIZE))))
    opt = torch.optim.Adam([p for _, p in named], lr=1e-3, weight_decay=1e-5)
    opt.zero_grad()
    loss.backward()
    arrays += [("grad." + n, p.grad.detach().reshape(-1) if "global" in n else p.grad.detach()) for n, p in named]
    opt.step()
    arrays += [("after_step." + n, p.detach().reshape(-1) if "global" in n else p.detach()) for n, p in named]
    path = os.path.join(OUT, f"flow_parity_{name}.bin")
    write_arrays(path, arrays)
    print(f"{path}: loss {loss.item():.6f}, logdet {ljd.tolist()}")


if __name__ == "__main__":
    os.makedirs(OUT, exist_ok=True)
    for case, cfg in CASES.items():
        build(case, **cfg)
