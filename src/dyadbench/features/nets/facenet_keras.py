"""deepface's Keras FaceNet (InceptionResNetV1, 128-d) loaded into our InceptionResnetV1.

deepface builds the network layer by layer (``Facenet.py``) and loads ``facenet_weights.h5`` with
Keras ``load_weights``, which pairs the file's *weighted layers in order* with the model's. So
does this reader: the creation order is stem convolutions, then in every block branch 0, branch
1, (branch 2), the up-projection; each convolution is followed by its batch norm. Kernels go
from (kh, kw, in, out) to (out, in, kh, kw); Keras batch norms are ``scale=False`` (no gamma:
ours is set to 1); the bottleneck dense has no bias. Layer names (for messages and the test
writer) follow deepface's, including its quirk that branch 1 of Block17_i / Block8_i (i = 2..5,
2..10) is named ``Branch_i``.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import torch

from .facenet import InceptionResnetV1


def facenet128() -> InceptionResnetV1:
    return InceptionResnetV1(num_classes=0, dim=128, normalize=False)


def keras_layers(net: InceptionResnetV1) -> list[tuple[str, str, torch.nn.Module]]:
    """(deepface layer name, kind, our module) in deepface's creation order; kind is ``basic``
    (conv + batch norm), ``up`` (conv with bias), ``dense`` or ``bn``."""
    out = []
    for name, mod in (("Conv2d_1a_3x3", net.conv2d_1a), ("Conv2d_2a_3x3", net.conv2d_2a), ("Conv2d_2b_3x3", net.conv2d_2b),
                      ("Conv2d_3b_1x1", net.conv2d_3b), ("Conv2d_4a_3x3", net.conv2d_4a), ("Conv2d_4b_3x3", net.conv2d_4b)):
        out.append((name, "basic", mod))
    for i, blk in enumerate(net.repeat_1, 1):
        p = f"Block35_{i}"
        out += [(f"{p}_Branch_0_Conv2d_1x1", "basic", blk.branch0), (f"{p}_Branch_1_Conv2d_0a_1x1", "basic", blk.branch1[0]),
                (f"{p}_Branch_1_Conv2d_0b_3x3", "basic", blk.branch1[1]), (f"{p}_Branch_2_Conv2d_0a_1x1", "basic", blk.branch2[0]),
                (f"{p}_Branch_2_Conv2d_0b_3x3", "basic", blk.branch2[1]), (f"{p}_Branch_2_Conv2d_0c_3x3", "basic", blk.branch2[2]),
                (f"{p}_Conv2d_1x1", "up", blk.conv2d)]
    m = net.mixed_6a
    out += [("Mixed_6a_Branch_0_Conv2d_1a_3x3", "basic", m.branch0), ("Mixed_6a_Branch_1_Conv2d_0a_1x1", "basic", m.branch1[0]),
            ("Mixed_6a_Branch_1_Conv2d_0b_3x3", "basic", m.branch1[1]), ("Mixed_6a_Branch_1_Conv2d_1a_3x3", "basic", m.branch1[2])]
    for i, blk in enumerate(net.repeat_2, 1):
        p, b = f"Block17_{i}", 1 if i == 1 else i
        out += [(f"{p}_Branch_0_Conv2d_1x1", "basic", blk.branch0), (f"{p}_Branch_{b}_Conv2d_0a_1x1", "basic", blk.branch1[0]),
                (f"{p}_Branch_{b}_Conv2d_0b_1x7", "basic", blk.branch1[1]), (f"{p}_Branch_{b}_Conv2d_0c_7x1", "basic", blk.branch1[2]),
                (f"{p}_Conv2d_1x1", "up", blk.conv2d)]
    m = net.mixed_7a
    out += [("Mixed_7a_Branch_0_Conv2d_0a_1x1", "basic", m.branch0[0]), ("Mixed_7a_Branch_0_Conv2d_1a_3x3", "basic", m.branch0[1]),
            ("Mixed_7a_Branch_1_Conv2d_0a_1x1", "basic", m.branch1[0]), ("Mixed_7a_Branch_1_Conv2d_1a_3x3", "basic", m.branch1[1]),
            ("Mixed_7a_Branch_2_Conv2d_0a_1x1", "basic", m.branch2[0]), ("Mixed_7a_Branch_2_Conv2d_0b_3x3", "basic", m.branch2[1]),
            ("Mixed_7a_Branch_2_Conv2d_1a_3x3", "basic", m.branch2[2])]
    for i, blk in enumerate([*net.repeat_3, net.block8], 1):
        p, b = f"Block8_{i}", 1 if i in (1, 6) else i
        out += [(f"{p}_Branch_0_Conv2d_1x1", "basic", blk.branch0), (f"{p}_Branch_{b}_Conv2d_0a_1x1", "basic", blk.branch1[0]),
                (f"{p}_Branch_{b}_Conv2d_0b_1x3", "basic", blk.branch1[1]), (f"{p}_Branch_{b}_Conv2d_0c_3x1", "basic", blk.branch1[2]),
                (f"{p}_Conv2d_1x1", "up", blk.conv2d)]
    return out + [("Bottleneck", "dense", net.last_linear), ("Bottleneck_BatchNorm", "bn", net.last_bn)]


def _file_layers(path: Path) -> list[tuple[str, list[np.ndarray]]]:
    """The weighted layers of a Keras ``save_weights`` h5, in file order, each with its arrays."""
    import h5py

    out = []
    with h5py.File(path, "r") as f:
        group = f["model_weights"] if "model_weights" in f else f
        for name in group.attrs["layer_names"]:
            name = name.decode() if isinstance(name, bytes) else name
            wnames = [w.decode() if isinstance(w, bytes) else w for w in group[name].attrs.get("weight_names", [])]
            if wnames:
                out.append((name, [np.asarray(group[name][w]) for w in wnames]))
    return out


def read_keras_h5(path: Path) -> dict[str, torch.Tensor]:
    """State dict for ``facenet128()`` from deepface's ``facenet_weights.h5``."""
    net = facenet128()
    ours, file = [], _file_layers(path)
    for name, kind, mod in keras_layers(net):  # a Keras conv and its batch norm are two layers
        ours += [(name, "conv", mod.conv), (f"{name}_BatchNorm", "bn", mod.bn)] if kind == "basic" else [(name, kind, mod)]
    if len(file) != len(ours):
        raise ValueError(f"{path}: {len(file)} weighted layers, deepface's FaceNet has {len(ours)}")
    state = {}
    prefix = {id(m): n for n, m in net.named_modules()}
    for (fname, arrays), (name, kind, mod) in zip(file, ours):
        key = prefix[id(mod)]
        if kind in ("conv", "up"):
            state[f"{key}.weight"] = torch.from_numpy(np.ascontiguousarray(arrays[0].transpose(3, 2, 0, 1)))
            if kind == "up":
                state[f"{key}.bias"] = torch.from_numpy(np.ascontiguousarray(arrays[1]))
        elif kind == "dense":
            state[f"{key}.weight"] = torch.from_numpy(np.ascontiguousarray(arrays[0].T))
        else:  # scale=False batch norm: beta, moving mean, moving variance
            if len(arrays) != 3:
                raise ValueError(f"{path}: layer {fname} has {len(arrays)} arrays, expected a batch norm without scale (3)")
            beta, mean, var = arrays
            state[f"{key}.weight"] = torch.ones(len(beta))
            state[f"{key}.bias"], state[f"{key}.running_mean"], state[f"{key}.running_var"] = (
                torch.from_numpy(np.ascontiguousarray(a)) for a in (beta, mean, var))
        expected = net.state_dict()[f"{key}.weight"].shape
        if tuple(state[f"{key}.weight"].shape) != tuple(expected):
            raise ValueError(f"{path}: layer {fname} has shape {tuple(state[f'{key}.weight'].shape)} where {name} needs {tuple(expected)}")
    return state


def write_keras_h5(net: InceptionResnetV1, path: Path) -> None:
    """deepface's file layout from our weights (batch-norm gammas must be 1): used to test the reader."""
    import h5py

    with h5py.File(path, "w") as f:
        names = []

        def layer(name, arrays):
            names.append(name.encode())
            g = f.create_group(name)
            sub = g.create_group(name)
            wn = []
            for wname, arr in arrays:
                sub[f"{wname}:0"] = arr
                wn.append(f"{name}/{wname}:0".encode())
            g.attrs["weight_names"] = wn

        def bn(name, mod):
            layer(name, [("beta", mod.bias.detach().numpy()), ("moving_mean", mod.running_mean.numpy()),
                         ("moving_variance", mod.running_var.numpy())])

        layer("input_1", [])
        for name, kind, mod in keras_layers(net):
            if kind == "basic":
                layer(name, [("kernel", mod.conv.weight.detach().numpy().transpose(2, 3, 1, 0))])
                bn(f"{name}_BatchNorm", mod.bn)
            elif kind == "up":
                layer(name, [("kernel", mod.weight.detach().numpy().transpose(2, 3, 1, 0)), ("bias", mod.bias.detach().numpy())])
            elif kind == "dense":
                layer(name, [("kernel", mod.weight.detach().numpy().T)])
            else:
                bn(name, mod)
        f.attrs["layer_names"] = names


__all__ = ["facenet128", "keras_layers", "read_keras_h5", "write_keras_h5"]
