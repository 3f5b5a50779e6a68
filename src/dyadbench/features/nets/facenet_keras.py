"""deepface's Keras FaceNet (InceptionResNetV1, 128-d) loaded into our InceptionResnetV1.

deepface (``Facenet.py``, read at 0.0.103) builds the network
layer by layer with explicit names and loads ``facenet_weights.h5`` with Keras ``load_weights``.
Keras wrote that file in ``model.layers`` order, which for this functional model is
topological (in each block the longest branch first), so this reader finds every layer by its
name (``keras_h5``). Kernels go from (kh, kw, in, out) to (out, in, kh, kw); Keras batch norms
are ``scale=False`` (no gamma: ours is set to 1); the bottleneck dense has no bias. Layer names
follow deepface's, including its quirk that branch 1 of Block17_i / Block8_i (i = 2..5, 2..10)
is named ``Branch_i``.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import torch

from .facenet import InceptionResnetV1
from .keras_h5 import check_all_used, take, weighted_layers

MODEL = "deepface's FaceNet (facenet_weights.h5)"


def facenet128() -> InceptionResnetV1:
    return InceptionResnetV1(num_classes=0, dim=128, normalize=False)


def keras_layers(net: InceptionResnetV1) -> list[tuple[str, str, torch.nn.Module]]:
    """(deepface layer name, kind, our module), in deepface's creation order; kind is ``basic``
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


def read_keras_h5(path: Path) -> dict[str, torch.Tensor]:
    """State dict for ``facenet128()`` from deepface's ``facenet_weights.h5``, each layer found by
    its name (Keras writes a functional model's layers in topological order, not creation order)."""
    net = facenet128()
    layers = weighted_layers(path)
    prefix = {id(m): n for n, m in net.named_modules()}
    expected, state, used = net.state_dict(), {}, set()

    def put(key: str, tensor: np.ndarray, keras_name: str) -> None:
        if tuple(tensor.shape) != tuple(expected[key].shape):
            raise ValueError(f"{path}: layer {keras_name} has shape {tuple(tensor.shape)} where {key} needs "
                             f"{tuple(expected[key].shape)}")
        state[key] = torch.from_numpy(np.ascontiguousarray(tensor))

    def batch_norm(keras_name: str, mod) -> None:  # scale=False: beta, moving mean, moving variance
        beta, mean, var = take(path, layers, keras_name, "beta", "moving_mean", "moving_variance", model=MODEL)
        key = prefix[id(mod)]
        put(f"{key}.weight", np.ones_like(beta), keras_name)
        put(f"{key}.bias", beta, keras_name)
        put(f"{key}.running_mean", mean, keras_name)
        put(f"{key}.running_var", var, keras_name)
        used.add(keras_name)

    for name, kind, mod in keras_layers(net):
        if kind == "bn":
            batch_norm(name, mod)
            continue
        conv = mod.conv if kind == "basic" else mod
        key = prefix[id(conv)]
        if kind == "dense":
            put(f"{key}.weight", take(path, layers, name, "kernel", model=MODEL)[0].T, name)
        else:
            put(f"{key}.weight", take(path, layers, name, "kernel", model=MODEL)[0].transpose(3, 2, 0, 1), name)
        if kind == "up":
            put(f"{key}.bias", take(path, layers, name, "bias", model=MODEL)[0], name)
        used.add(name)
        if kind == "basic":
            batch_norm(f"{name}_BatchNorm", mod.bn)
    check_all_used(path, layers, used, MODEL)
    return state


__all__ = ["facenet128", "keras_layers", "read_keras_h5"]
