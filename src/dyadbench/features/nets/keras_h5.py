"""Reading Keras ``save_weights`` h5 files (the layout deepface's weights are published in).

Keras (``save_weights_to_hdf5_group``) writes ``layer_names`` in ``model.layers`` order — for a
functional model that is *topological* (layers sorted by depth from the output), not the order
in which the model's code created them — and, per layer, a group holding ``weight_names`` and one
dataset per weight (``<layer>/<weight>:0``). Readers therefore find a layer by its name, and a
weight inside it by its short name (``kernel``, ``bias``, ``beta``, ``moving_mean``...), never by
position, except for a ``Sequential`` model, whose order is its creation order and whose layer
names Keras generated (``conv2d_1``...).
"""

from __future__ import annotations

from pathlib import Path

import numpy as np


def _text(value) -> str:
    return value.decode() if isinstance(value, bytes) else str(value)


def weighted_layers(path: Path) -> dict[str, dict[str, np.ndarray]]:
    """The file's layers that hold weights, in file order: ``{layer: {short weight name: array}}``."""
    import h5py

    out: dict[str, dict[str, np.ndarray]] = {}
    try:
        f = h5py.File(path, "r")
    except OSError as exc:
        raise ValueError(f"{path}: not an HDF5 file ({exc})") from exc
    with f:
        group = f["model_weights"] if "model_weights" in f else f
        if "layer_names" not in group.attrs:
            raise ValueError(f"{path}: no 'layer_names' attribute; expected a Keras save_weights h5 file")
        for name in map(_text, group.attrs["layer_names"]):
            wnames = [_text(w) for w in group[name].attrs.get("weight_names", [])]
            if wnames:
                out[name] = {w.rsplit("/", 1)[-1].split(":")[0]: np.asarray(group[name][w]) for w in wnames}
    return out


def take(path: Path, layers: dict, name: str, *weights: str, model: str) -> list[np.ndarray]:
    """Arrays ``weights`` of layer ``name``, with a one-line error naming what is missing."""
    if name not in layers:
        raise ValueError(f"{path}: no weighted layer {name!r}; expected {model}'s Keras h5 (its layers include "
                         f"{', '.join(list(layers)[:4])}...)")
    missing = [w for w in weights if w not in layers[name]]
    if missing:
        raise ValueError(f"{path}: layer {name!r} has weights {sorted(layers[name])}, expected {list(weights)}")
    return [layers[name][w] for w in weights]


def check_all_used(path: Path, layers: dict, used: set, model: str) -> None:
    """Refuse weighted layers the network does not have (a file of another model or version)."""
    extra = [n for n in layers if n not in used]
    if extra:
        raise ValueError(f"{path}: {len(extra)} weighted layers that {model} does not have ({', '.join(extra[:3])}...)")
