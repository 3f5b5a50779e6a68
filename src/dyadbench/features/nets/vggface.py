"""VGG-Face (Parkhi et al. 2015) as deepface builds it, and a reader for its Keras h5 weights.

deepface's Keras model: 13 3x3 convolutions (VGG-16 layout), then fc6/fc7/fc8 as 7x7, 1x1, 1x1
convolutions; the 4096-d descriptor is fc7's output (after ReLU). Keras layer names in the h5
are auto-generated (``conv2d_1``...), so the reader maps the file's weighted layers *in order* to
our 16 convolutions, transposing kernels from (kh, kw, in, out) to (out, in, kh, kw).
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import torch
import torch.nn.functional as F
from torch import nn

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

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """(N, 3, 224, 224) RGB in [0, 1] -> (N, 4096) fc7 descriptors."""
        convs = iter(self.convs)
        for c in CHANNELS:
            x = F.max_pool2d(x, 2, 2) if c is None else F.relu(next(convs)(x))
        x = F.relu(self.fc6(x))
        return F.relu(self.fc7(x)).flatten(1)


def layer_names_in_order(net: VGGFace) -> list[str]:
    return [f"convs.{i}" for i in range(len(net.convs))] + ["fc6", "fc7", "fc8"]


def read_keras_h5(path: Path) -> dict[str, np.ndarray]:
    """State dict from a Keras ``save_weights`` h5 file: weighted layers mapped in file order."""
    import h5py

    ours = layer_names_in_order(VGGFace())
    with h5py.File(path, "r") as f:
        group = f["model_weights"] if "model_weights" in f else f
        names = [n.decode() if isinstance(n, bytes) else n for n in group.attrs["layer_names"]]
        weighted = []
        for name in names:
            wnames = [w.decode() if isinstance(w, bytes) else w for w in group[name].attrs.get("weight_names", [])]
            if wnames:
                weighted.append([np.asarray(group[name][w]) for w in wnames])
    if len(weighted) != len(ours):
        raise ValueError(f"{path}: {len(weighted)} weighted layers, VGG-Face has {len(ours)}")
    state = {}
    for name, (kernel, bias) in zip(ours, weighted):
        state[f"{name}.weight"] = torch.from_numpy(np.ascontiguousarray(kernel.transpose(3, 2, 0, 1)))
        state[f"{name}.bias"] = torch.from_numpy(np.ascontiguousarray(bias))
    return state


def write_keras_h5(net: VGGFace, path: Path) -> None:
    """The inverse of ``read_keras_h5`` in Keras 2's layout (used to test the reader)."""
    import h5py

    sd = net.state_dict()
    with h5py.File(path, "w") as f:
        names = []
        for i, name in enumerate(layer_names_in_order(net)):
            keras_name = f"conv2d_{i + 1}"
            names.append(keras_name.encode())
            g = f.create_group(keras_name)
            sub = g.create_group(keras_name)
            sub["kernel:0"] = sd[f"{name}.weight"].numpy().transpose(2, 3, 1, 0)
            sub["bias:0"] = sd[f"{name}.bias"].numpy()
            g.attrs["weight_names"] = [f"{keras_name}/kernel:0".encode(), f"{keras_name}/bias:0".encode()]
        f.attrs["layer_names"] = names
