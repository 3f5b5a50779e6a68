"""Weights files laid out as Keras itself writes them, for deepface's three Keras models.

Written from Keras' rules (tf.keras 2, ``legacy/saving/hdf5_format.py``), not from our readers:

* ``save_weights_to_hdf5_group``: attributes ``layer_names`` (``model.layers`` order),
  ``backend``, ``keras_version``; one group per layer (created in sorted name order) with a
  ``weight_names`` attribute and one dataset per weight named ``<layer>/<weight>:0``; a layer's
  weights are its trainable then its non-trainable ones (a ``scale=False`` batch norm: beta,
  moving_mean, moving_variance).
* ``model.layers`` of a functional model (``functional._map_graph_network``): a depth-first
  walk from the output visiting each layer's inputs in call order numbers the layers (pre-order);
  a layer's depth is the longest path from it to the output; layers are listed by decreasing
  depth, ties by that number. A ``Sequential`` model lists its layers in the order they were added.

The FaceNet graph below re-describes deepface's ``Facenet.py`` (0.0.103): layer names and which
layer feeds which, nothing else.
"""

from __future__ import annotations

import h5py
import numpy as np


class Graph:
    """Layers (name, inputs) of a functional model, in call order."""

    def __init__(self):
        self.inputs: dict[str, list[str]] = {}
        self._auto: dict[str, int] = {}

    def layer(self, name: str, *inputs: str) -> str:
        assert name not in self.inputs, name
        self.inputs[name] = list(inputs)
        return name

    def auto(self, kind: str, *inputs: str) -> str:
        """A layer Keras names itself (``lambda``, ``add``): unique, never weighted."""
        n = self._auto.get(kind, 0)
        self._auto[kind] = n + 1
        return self.layer(kind if n == 0 else f"{kind}_{n}", *inputs)

    def keras_order(self, output: str) -> list[str]:
        index: dict[str, int] = {}
        post: list[str] = []
        done: set[str] = set()

        def visit(name):  # _build_map_helper
            if name in done:
                return
            index.setdefault(name, len(index))
            for parent in self.inputs[name]:
                visit(parent)
            done.add(name)
            post.append(name)

        visit(output)
        depth: dict[str, int] = {}
        for name in reversed(post):  # consumers before producers
            d = depth.setdefault(name, 0)
            for parent in self.inputs[name]:
                depth[parent] = max(depth.get(parent, 0), d + 1)
        return sorted(depth, key=lambda n: (-depth[n], index[n]))


def deepface_facenet_graph() -> tuple[Graph, str]:
    g = Graph()

    def conv_bn(name, x):  # Conv2D(use_bias=False) -> BatchNormalization(scale=False) -> Activation
        return g.layer(f"{name}_Activation", g.layer(f"{name}_BatchNorm", g.layer(name, x)))

    def chain(x, names):
        for n in names:
            x = conv_bn(n, x)
        return x

    def residual(x, block, branches, activation=True):
        mixed = g.layer(f"{block}_Concatenate", *[chain(x, b) for b in branches])
        up = g.auto("lambda", g.layer(f"{block}_Conv2d_1x1", mixed))
        x = g.auto("add", x, up)
        return g.layer(f"{block}_Activation", x) if activation else x

    x = g.layer("input_1")
    for n in ("Conv2d_1a_3x3", "Conv2d_2a_3x3", "Conv2d_2b_3x3"):
        x = conv_bn(n, x)
    x = g.layer("MaxPool_3a_3x3", x)
    for n in ("Conv2d_3b_1x1", "Conv2d_4a_3x3", "Conv2d_4b_3x3"):
        x = conv_bn(n, x)
    for i in range(1, 6):
        p = f"Block35_{i}"
        x = residual(x, p, [[f"{p}_Branch_0_Conv2d_1x1"], [f"{p}_Branch_1_Conv2d_0a_1x1", f"{p}_Branch_1_Conv2d_0b_3x3"],
                            [f"{p}_Branch_2_Conv2d_0a_1x1", f"{p}_Branch_2_Conv2d_0b_3x3", f"{p}_Branch_2_Conv2d_0c_3x3"]])
    p = "Mixed_6a"
    x = g.layer(p, chain(x, [f"{p}_Branch_0_Conv2d_1a_3x3"]),
                chain(x, [f"{p}_Branch_1_Conv2d_0a_1x1", f"{p}_Branch_1_Conv2d_0b_3x3", f"{p}_Branch_1_Conv2d_1a_3x3"]),
                g.layer(f"{p}_Branch_2_MaxPool_1a_3x3", x))
    for i in range(1, 11):
        p, b = f"Block17_{i}", 1 if i == 1 else i  # deepface names branch 1 of blocks 2..10 "Branch_<i>"
        x = residual(x, p, [[f"{p}_Branch_0_Conv2d_1x1"], [f"{p}_Branch_{b}_Conv2d_0a_1x1", f"{p}_Branch_{b}_Conv2d_0b_1x7",
                                                            f"{p}_Branch_{b}_Conv2d_0c_7x1"]])
    p = "Mixed_7a"
    x = g.layer(p, chain(x, [f"{p}_Branch_0_Conv2d_0a_1x1", f"{p}_Branch_0_Conv2d_1a_3x3"]),
                chain(x, [f"{p}_Branch_1_Conv2d_0a_1x1", f"{p}_Branch_1_Conv2d_1a_3x3"]),
                chain(x, [f"{p}_Branch_2_Conv2d_0a_1x1", f"{p}_Branch_2_Conv2d_0b_3x3", f"{p}_Branch_2_Conv2d_1a_3x3"]),
                g.layer(f"{p}_Branch_3_MaxPool_1a_3x3", x))
    for i in range(1, 7):
        p, b = f"Block8_{i}", 1 if i in (1, 6) else i
        x = residual(x, p, [[f"{p}_Branch_0_Conv2d_1x1"], [f"{p}_Branch_{b}_Conv2d_0a_1x1", f"{p}_Branch_{b}_Conv2d_0b_1x3",
                                                            f"{p}_Branch_{b}_Conv2d_0c_3x1"]], activation=i < 6)
    x = g.layer("Bottleneck", g.layer("Dropout", g.layer("AvgPool", x)))
    return g, g.layer("Bottleneck_BatchNorm", x)


def write_keras_h5(path, layer_names: list[str], weights: dict[str, list[tuple[str, np.ndarray]]]) -> None:
    """``model.save_weights(path)`` of a model whose ``model.layers`` are ``layer_names``;
    ``weights[name]`` lists (weight name, value) in Keras' order (trainable, then non-trainable)."""
    with h5py.File(path, "w") as f:
        f.attrs["layer_names"] = np.array([n.encode("utf8") for n in layer_names])
        f.attrs["backend"] = b"tensorflow"
        f.attrs["keras_version"] = b"2.15.0"
        for name in sorted(layer_names):
            g = f.create_group(name)
            values = weights.get(name, [])
            g.attrs["weight_names"] = np.array([f"{name}/{w}:0".encode("utf8") for w, _ in values])
            for w, val in values:
                dset = g.create_dataset(f"{name}/{w}:0", val.shape, dtype=val.dtype)
                dset[:] = val


def facenet_keras_weights(net) -> dict[str, list[tuple[str, np.ndarray]]]:
    """Our InceptionResnetV1's tensors under deepface's Keras layer names (Keras shapes, float32)."""
    from dyadbench.features.nets.facenet_keras import keras_layers

    def bn(mod):
        return [("beta", mod.bias.detach().numpy()), ("moving_mean", mod.running_mean.numpy()),
                ("moving_variance", mod.running_var.numpy())]

    out = {}
    for name, kind, mod in keras_layers(net):
        if kind == "basic":
            out[name] = [("kernel", mod.conv.weight.detach().numpy().transpose(2, 3, 1, 0))]
            out[f"{name}_BatchNorm"] = bn(mod.bn)
        elif kind == "up":
            out[name] = [("kernel", mod.weight.detach().numpy().transpose(2, 3, 1, 0)), ("bias", mod.bias.detach().numpy())]
        elif kind == "dense":
            out[name] = [("kernel", mod.weight.detach().numpy().T)]
        else:
            out[name] = bn(mod)
    return out


def write_deepface_facenet(net, path) -> list[str]:
    """deepface's ``facenet_weights.h5`` as Keras writes it; returns the weighted layers in file order."""
    graph, output = deepface_facenet_graph()
    order = graph.keras_order(output)
    weights = facenet_keras_weights(net)
    assert set(weights) == {n for n in order if n in weights} and len(weights) == sum(n in weights for n in order), \
        "our layer map and deepface's graph name different layers"
    write_keras_h5(path, order, weights)
    return [n for n in order if n in weights]


def write_deepface_vggface(net, path) -> None:
    """deepface's ``vgg_face_weights.h5``: a Sequential model, layers in the order added, names
    generated by Keras (``zero_padding2d``, ``conv2d``, ``conv2d_1``...)."""
    from dyadbench.features.nets.vggface import CHANNELS

    sd = {k: v.detach().numpy() for k, v in net.state_dict().items()}
    counts: dict[str, int] = {}

    def name(kind):
        n = counts.get(kind, 0)
        counts[kind] = n + 1
        return kind if n == 0 else f"{kind}_{n}"

    layers, weights, conv = [], {}, 0

    def add_conv(key):
        n = name("conv2d")
        layers.append(n)
        weights[n] = [("kernel", sd[f"{key}.weight"].transpose(2, 3, 1, 0)), ("bias", sd[f"{key}.bias"])]

    for c in CHANNELS:
        if c is None:
            layers.append(name("max_pooling2d"))
        else:
            layers.append(name("zero_padding2d"))
            add_conv(f"convs.{conv}")
            conv += 1
    add_conv("fc6")
    layers.append(name("dropout"))
    add_conv("fc7")
    layers.append(name("dropout"))
    add_conv("fc8")
    layers += [name("flatten"), name("activation")]
    write_keras_h5(path, layers, weights)


def write_deepface_deepface(net, path, f8_classes: int = 10, seed: int = 0) -> None:
    """deepface's DeepFace h5: a Sequential model with explicit names C1, M2, C3, L4, L5, L6, F0, F7, D0, F8."""
    sd = {k: v.detach().numpy() for k, v in net.state_dict().items()}
    weights = {"C1": [("kernel", sd["C1.weight"].transpose(2, 3, 1, 0)), ("bias", sd["C1.bias"])],
               "C3": [("kernel", sd["C3.weight"].transpose(2, 3, 1, 0)), ("bias", sd["C3.bias"])],
               **{n: [("kernel", sd[f"{n}.weight"]), ("bias", sd[f"{n}.bias"])] for n in ("L4", "L5", "L6")},
               "F7": [("kernel", sd["F7.weight"].T), ("bias", sd["F7.bias"])],
               "F8": [("kernel", np.random.default_rng(seed).normal(0, 0.01, (4096, f8_classes)).astype(np.float32)),
                      ("bias", np.zeros(f8_classes, np.float32))]}
    write_keras_h5(path, ["C1", "M2", "C3", "L4", "L5", "L6", "F0", "F7", "D0", "F8"], weights)
