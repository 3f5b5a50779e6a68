"""A checkpoint laid out as VideoGPT's ``i3d_pretrained_400.pt`` (piergiaj/pytorch-i3d's
``InceptionI3d.state_dict()`` saved by ``torch.save``): the classifier ``logits`` first (the
reference registers it before calling ``build()``), then every stage in order; per unit
``conv3d.weight`` then BatchNorm's weight, bias, running_mean, running_var, num_batches_tracked;
float32 tensors, int64 counters. Written from the I3D paper's table (Carreira & Zisserman 2017,
Fig. 3 widths), not from dyadbench's network, so a loader that only reads its own files fails.
Seeded random values, scaled so activations stay O(1) through 60 layers."""

from __future__ import annotations

from collections import OrderedDict

import torch

# (stage, in channels, widths b0, b1a, b1b, b2a, b2b, b3b)
_MIXED = [
    ("Mixed_3b", 192, (64, 96, 128, 16, 32, 32)), ("Mixed_3c", 256, (128, 128, 192, 32, 96, 64)),
    ("Mixed_4b", 480, (192, 96, 208, 16, 48, 64)), ("Mixed_4c", 512, (160, 112, 224, 24, 64, 64)),
    ("Mixed_4d", 512, (128, 128, 256, 24, 64, 64)), ("Mixed_4e", 512, (112, 144, 288, 32, 64, 64)),
    ("Mixed_4f", 528, (256, 160, 320, 32, 128, 128)), ("Mixed_5b", 832, (256, 160, 320, 32, 128, 128)),
    ("Mixed_5c", 832, (384, 192, 384, 48, 128, 128)),
]


def _units():
    yield "Conv3d_1a_7x7", 3, 64, 7
    yield "Conv3d_2b_1x1", 64, 64, 1
    yield "Conv3d_2c_3x3", 64, 192, 3
    for stage, cin, (w0, w1a, w1b, w2a, w2b, w3) in _MIXED:
        yield f"{stage}.b0", cin, w0, 1
        yield f"{stage}.b1a", cin, w1a, 1
        yield f"{stage}.b1b", w1a, w1b, 3
        yield f"{stage}.b2a", cin, w2a, 1
        yield f"{stage}.b2b", w2a, w2b, 3
        yield f"{stage}.b3b", cin, w3, 1


def videogpt_i3d_state(seed: int = 0) -> OrderedDict:
    g = torch.Generator().manual_seed(seed)
    rand = lambda *shape: torch.rand(*shape, generator=g)
    normal = lambda *shape: torch.randn(*shape, generator=g)
    sd = OrderedDict()
    sd["logits.conv3d.weight"] = normal(400, 1024, 1, 1, 1) / 32.0
    sd["logits.conv3d.bias"] = normal(400) * 0.1
    for prefix, cin, cout, k in _units():
        fan_in = cin * k ** 3
        sd[f"{prefix}.conv3d.weight"] = normal(cout, cin, k, k, k) * (2.0 / fan_in) ** 0.5
        sd[f"{prefix}.bn.weight"] = 0.5 + rand(cout)
        sd[f"{prefix}.bn.bias"] = normal(cout) * 0.1
        sd[f"{prefix}.bn.running_mean"] = normal(cout) * 0.1
        sd[f"{prefix}.bn.running_var"] = 0.5 + rand(cout)
        sd[f"{prefix}.bn.num_batches_tracked"] = torch.tensor(0, dtype=torch.int64)
    return sd


def seeded_video(seed: int = 1, frames: int = 16, height: int = 120, width: int = 160):
    """A uint8 (T, H, W, 3) clip: smooth moving shapes plus noise, so resizing and time both matter."""
    g = torch.Generator().manual_seed(seed)
    t = torch.arange(frames, dtype=torch.float32)[:, None, None]
    y = torch.arange(height, dtype=torch.float32)[None, :, None]
    x = torch.arange(width, dtype=torch.float32)[None, None, :]
    full = torch.zeros(frames, height, width)
    base = torch.stack([full + 128 + 100 * torch.sin((x + 3 * t) / 9.0) * torch.cos(y / 13.0),
                        full + 128 + 90 * torch.cos((y - 2 * t) / 7.0),
                        full + 128 + 80 * torch.sin((x + y + t) / 11.0)], -1)
    noise = torch.randint(-20, 21, base.shape, generator=g).float()
    return (base + noise).clamp(0, 255).to(torch.uint8).numpy()
