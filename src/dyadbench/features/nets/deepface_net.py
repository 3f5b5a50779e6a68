"""DeepFace (Taigman et al. 2014) as the ``deepface`` library builds it, and its Keras h5 reader.

deepface's Keras model (input 152x152x3, BGR in [0, 1]): C1 conv 32@11x11 → M2 max-pool 3x3
stride 2 ``same`` → C3 conv 16@9x9 → L4, L5 (stride 2), L6: *locally connected* 16@9x9, 7x7,
5x5 (a separate filter bank at every output position) → flatten (channels last) → F7 dense 4096
(the representation deepface returns) → F8 dense 8631 (classes; not used). Weights:
``VGGFace2_DeepFace_weights_val-0.9034.h5`` (layers named C1 ... F8).

Keras conventions reproduced: ``LocallyConnected2D`` kernels are (positions, kh·kw·C_in, C_out)
with each patch flattened in (row, column, channel) order and positions in row-major order;
biases are (rows, cols, C_out); ``same`` max pooling pads at the bottom/right only; ``Flatten``
of channels-last tensors; dense kernels are (in, out).
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import torch
import torch.nn.functional as F
from torch import nn

from .keras_h5 import take, weighted_layers

INPUT = 152


class LocallyConnected2d(nn.Module):
    """Keras ``LocallyConnected2D`` (valid padding): (N, C, H, W) -> (N, out, oh, ow)."""

    def __init__(self, in_ch: int, out_ch: int, in_hw: int, kernel: int, stride: int = 1):
        super().__init__()
        self.kernel, self.stride = kernel, stride
        self.out_hw = (in_hw - kernel) // stride + 1
        positions = self.out_hw * self.out_hw
        self.weight = nn.Parameter(torch.zeros(positions, kernel * kernel * in_ch, out_ch))  # Keras layout
        self.bias = nn.Parameter(torch.zeros(self.out_hw, self.out_hw, out_ch))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        n, c = x.shape[:2]
        k = self.kernel
        patches = F.unfold(x, k, stride=self.stride)  # (N, C·k·k, L), each patch in (C, kh, kw) order
        patches = patches.reshape(n, c, k, k, -1).permute(0, 4, 2, 3, 1).reshape(n, -1, k * k * c)  # -> (kh, kw, C)
        out = torch.einsum("nlk,lko->nlo", patches, self.weight) + self.bias.reshape(-1, self.bias.shape[-1])
        return out.reshape(n, self.out_hw, self.out_hw, -1).permute(0, 3, 1, 2)


def max_pool_same(x: torch.Tensor, size: int = 3, stride: int = 2) -> torch.Tensor:
    """TensorFlow's ``padding='same'`` max pooling: the padding goes bottom/right first."""
    def pads(n):
        out = -(-n // stride)
        total = max((out - 1) * stride + size - n, 0)
        return total // 2, total - total // 2

    (top, bottom), (left, right) = pads(x.shape[2]), pads(x.shape[3])
    return F.max_pool2d(F.pad(x, (left, right, top, bottom), value=float("-inf")), size, stride)


class DeepFaceNet(nn.Module):
    """(N, 3, 152, 152) BGR in [0, 1] -> (N, 4096) F7 representations."""

    def __init__(self, num_classes: int = 8631):
        super().__init__()
        self.C1 = nn.Conv2d(3, 32, 11)
        self.C3 = nn.Conv2d(32, 16, 9)
        self.L4 = LocallyConnected2d(16, 16, 63, 9)
        self.L5 = LocallyConnected2d(16, 16, 55, 7, stride=2)
        self.L6 = LocallyConnected2d(16, 16, 25, 5)
        self.F7 = nn.Linear(21 * 21 * 16, 4096)
        self.num_classes = num_classes  # F8 is in the file; the representation stops at F7

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = max_pool_same(F.relu(self.C1(x)))
        x = F.relu(self.L6(F.relu(self.L5(F.relu(self.L4(F.relu(self.C3(x))))))))
        return F.relu(self.F7(x.permute(0, 2, 3, 1).flatten(1)))  # Keras flattens channels last


def read_keras_h5(path: Path) -> dict[str, torch.Tensor]:
    """State dict from deepface's h5 (Keras ``save_weights`` layout; layers by name, F8 ignored)."""
    layers, state = weighted_layers(path), {}
    for layer in ("C1", "C3", "L4", "L5", "L6", "F7"):
        kernel, bias = take(path, layers, layer, "kernel", "bias", model="deepface's DeepFace")
        if layer in ("C1", "C3"):
            kernel = kernel.transpose(3, 2, 0, 1)  # (kh, kw, in, out) -> (out, in, kh, kw)
        elif layer == "F7":
            kernel = kernel.T  # (in, out) -> (out, in)
        state[f"{layer}.weight"] = torch.from_numpy(np.ascontiguousarray(kernel))
        state[f"{layer}.bias"] = torch.from_numpy(np.ascontiguousarray(bias))
    return state
