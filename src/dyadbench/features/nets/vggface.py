"""VGG-Face (Parkhi et al. 2015) as deepface builds it, and a reader for its Keras h5 weights.

deepface's Keras model (``VGGFace.py``): 13 3x3 convolutions (VGG-16 layout), then fc6/fc7/fc8 as
7x7, 1x1, 1x1 convolutions. What deepface returns as the embedding changed between versions:
0.0.79 returned fc8's 2,622 outputs before the softmax (``model.layers[-2]``); later versions
(0.0.103 read here) return fc7's 4,096 outputs after ReLU (``model.layers[-5]``), L2-normalised
in ``VggFaceClient.forward``. The wrapper (``VGGFaceFeatures``) picks one by name. This is a
``Sequential`` model: Keras generated its layer names (``conv2d_1``...) and wrote them in creation
order, so the reader maps the file's weighted layers *in order* to our 16 convolutions,
transposing kernels from (kh, kw, in, out) to (out, in, kh, kw).
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import torch
import torch.nn.functional as F
from torch import nn

from .keras_h5 import weighted_layers

CHANNELS = [(3, 64), (64, 64), None, (64, 128), (128, 128), None, (128, 256), (256, 256), (256, 256), None,
            (256, 512), (512, 512), (512, 512), None, (512, 512), (512, 512), (512, 512), None]


class VGGFace(nn.Module):
    """``width_div`` > 1 builds a thinner copy with the same layer order (for loader tests)."""

    def __init__(self, num_classes: int = 2622, width_div: int = 1):
        super().__init__()
        w = lambda c: c if c == 3 else c // width_div
        self.convs = nn.ModuleList(nn.Conv2d(w(cin), w(cout), 3, padding=1) for cin, cout in (c for c in CHANNELS if c))
        self.fc6 = nn.Conv2d(w(512), w(4096), 7)
        self.fc7 = nn.Conv2d(w(4096), w(4096), 1)
        self.fc8 = nn.Conv2d(w(4096), num_classes, 1)

    def forward(self, x: torch.Tensor, output: str = "fc7") -> torch.Tensor:
        """(N, 3, 224, 224) BGR in [0, 1] -> (N, 4096) fc7 descriptors after ReLU, or with
        ``output="fc8"`` the (N, 2622) fc8 outputs before the softmax."""
        convs = iter(self.convs)
        for c in CHANNELS:
            x = F.max_pool2d(x, 2, 2) if c is None else F.relu(next(convs)(x))
        x = F.relu(self.fc7(F.relu(self.fc6(x))))
        return (self.fc8(x) if output == "fc8" else x).flatten(1)


def layer_names_in_order(net: VGGFace) -> list[str]:
    return [f"convs.{i}" for i in range(len(net.convs))] + ["fc6", "fc7", "fc8"]


def read_keras_h5(path: Path) -> dict[str, torch.Tensor]:
    """State dict from a Keras ``save_weights`` h5 file: weighted layers mapped in file order."""
    ours = layer_names_in_order(VGGFace())
    weighted = list(weighted_layers(path).items())
    if len(weighted) != len(ours):
        raise ValueError(f"{path}: {len(weighted)} weighted layers, VGG-Face has {len(ours)}")
    state = {}
    for name, (keras_name, arrays) in zip(ours, weighted):
        if set(arrays) != {"kernel", "bias"}:
            raise ValueError(f"{path}: layer {keras_name} has weights {sorted(arrays)}, expected a convolution's kernel and bias")
        state[f"{name}.weight"] = torch.from_numpy(np.ascontiguousarray(arrays["kernel"].transpose(3, 2, 0, 1)))
        state[f"{name}.bias"] = torch.from_numpy(np.ascontiguousarray(arrays["bias"]))
    return state
