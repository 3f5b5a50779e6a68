"""I3D (Carreira & Zisserman 2017: Inception-v1 inflated to 3-D, trained on Kinetics-400), in the
PyTorch layout whose weights VideoGPT's FVD loads (``i3d_pretrained_400.pt``, the layout of
piergiaj/pytorch-i3d).

What the layout fixes, so that file loads strictly:

* every convolution is a ``Unit3D`` holding ``conv3d`` (no bias) and ``bn`` (BatchNorm3d, eps
  1e-5), ReLU after; the classifier ``logits`` is a 1x1x1 ``conv3d`` with a bias and no norm;
* Inception blocks name their branches ``b0`` (1x1), ``b1a``/``b1b`` (1x1 then 3x3x3),
  ``b2a``/``b2b`` (1x1 then 3x3x3) and ``b3b`` (the 1x1 after the branch-3 max pool);
* ``logits`` is registered before the stages, so it comes first in the file.

Every convolution and pool pads as TensorFlow's ``SAME`` (the port was converted from the TF
graph): output ``ceil(size / stride)``, the padding split with the odd cell at the end. The pools
pad with zeros: their inputs follow a ReLU, so a zero never wins over a real value and the result
equals TF's pool that ignores padding. At the end: average over a 2x7x7 window (stride 1), the
classifier, and the mean over the remaining time steps: 400 logits per clip.
"""

from __future__ import annotations

import math

import torch
import torch.nn.functional as F
from torch import nn


def pad_same(x: torch.Tensor, kernel, stride) -> torch.Tensor:
    """Pad the (T, H, W) axes of ``x`` (N, C, T, H, W) as TF ``SAME`` does for ``kernel``/``stride``."""
    pads = []
    for size, k, s in zip(x.shape[2:], kernel, stride):
        total = max((math.ceil(size / s) - 1) * s + k - size, 0)
        pads.append((total // 2, total - total // 2))
    return F.pad(x, [p for pair in reversed(pads) for p in pair])  # F.pad lists the last axis first


def max_pool_same(x: torch.Tensor, kernel, stride) -> torch.Tensor:
    return F.max_pool3d(pad_same(x, kernel, stride), kernel, stride)


class Unit3D(nn.Module):
    def __init__(self, cin: int, cout: int, kernel=(1, 1, 1), stride=(1, 1, 1), *, classifier: bool = False):
        super().__init__()
        self.kernel, self.stride, self.classifier = tuple(kernel), tuple(stride), classifier
        self.conv3d = nn.Conv3d(cin, cout, self.kernel, self.stride, padding=0, bias=classifier)
        if not classifier:
            self.bn = nn.BatchNorm3d(cout, eps=1e-5)

    def forward(self, x):
        x = self.conv3d(pad_same(x, self.kernel, self.stride))
        return x if self.classifier else F.relu(self.bn(x))


class Mixed(nn.Module):
    """An Inception block; ``widths`` = (b0, b1a, b1b, b2a, b2b, b3b) output channels."""

    def __init__(self, cin: int, widths):
        super().__init__()
        w0, w1a, w1b, w2a, w2b, w3 = widths
        self.b0 = Unit3D(cin, w0)
        self.b1a, self.b1b = Unit3D(cin, w1a), Unit3D(w1a, w1b, (3, 3, 3))
        self.b2a, self.b2b = Unit3D(cin, w2a), Unit3D(w2a, w2b, (3, 3, 3))
        self.b3b = Unit3D(cin, w3)
        self.out_channels = w0 + w1b + w2b + w3

    def forward(self, x):
        pooled = max_pool_same(x, (3, 3, 3), (1, 1, 1))
        return torch.cat([self.b0(x), self.b1b(self.b1a(x)), self.b2b(self.b2a(x)), self.b3b(pooled)], 1)


# (name, kind, arguments) in the order the network applies them; names are the file's prefixes.
STAGES = (
    ("Conv3d_1a_7x7", "conv", (3, 64, (7, 7, 7), (2, 2, 2))),
    ("MaxPool3d_2a_3x3", "pool", ((1, 3, 3), (1, 2, 2))),
    ("Conv3d_2b_1x1", "conv", (64, 64)),
    ("Conv3d_2c_3x3", "conv", (64, 192, (3, 3, 3))),
    ("MaxPool3d_3a_3x3", "pool", ((1, 3, 3), (1, 2, 2))),
    ("Mixed_3b", "mixed", (192, (64, 96, 128, 16, 32, 32))),
    ("Mixed_3c", "mixed", (256, (128, 128, 192, 32, 96, 64))),
    ("MaxPool3d_4a_3x3", "pool", ((3, 3, 3), (2, 2, 2))),
    ("Mixed_4b", "mixed", (480, (192, 96, 208, 16, 48, 64))),
    ("Mixed_4c", "mixed", (512, (160, 112, 224, 24, 64, 64))),
    ("Mixed_4d", "mixed", (512, (128, 128, 256, 24, 64, 64))),
    ("Mixed_4e", "mixed", (512, (112, 144, 288, 32, 64, 64))),
    ("Mixed_4f", "mixed", (528, (256, 160, 320, 32, 128, 128))),
    ("MaxPool3d_5a_2x2", "pool", ((2, 2, 2), (2, 2, 2))),
    ("Mixed_5b", "mixed", (832, (256, 160, 320, 32, 128, 128))),
    ("Mixed_5c", "mixed", (832, (384, 192, 384, 48, 128, 128))),
)
CLASSES = 400


class I3D(nn.Module):
    """Clips (N, 3, T, 224, 224), values as the caller's convention scales them -> logits (N, 400);
    T >= 9 (the time axis is halved three times before a 2-step average)."""

    def __init__(self, classes: int = CLASSES):
        super().__init__()
        self.logits = Unit3D(1024, classes, classifier=True)  # first: the file lists it first
        self.pools = {}
        for name, kind, args in STAGES:
            if kind == "pool":
                self.pools[name] = args
            else:
                self.add_module(name, Unit3D(*args) if kind == "conv" else Mixed(*args))

    def forward(self, x):
        for name, kind, _ in STAGES:
            x = max_pool_same(x, *self.pools[name]) if kind == "pool" else getattr(self, name)(x)
        if x.shape[3:] != (7, 7):
            raise ValueError(f"I3D expects 224x224 frames (7x7 before the classifier), got {tuple(x.shape[3:])}")
        x = self.logits(F.avg_pool3d(x, (2, 7, 7), stride=1))  # (N, classes, T', 1, 1)
        return x.flatten(2).mean(2)
