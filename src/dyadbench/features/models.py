"""Load the PyTorch networks from verified weights, and run them in batches on a chosen device.

``load_network(name)`` resolves the weights file through the registry (SHA-256 checked), builds
the network and loads the state dict strictly: only BatchNorm's ``num_batches_tracked`` (absent
from checkpoints saved by old PyTorch) may be missing; any other missing or unexpected key is an
error naming the keys, never a silently half-loaded model.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import numpy as np

from .weights import REGISTRY, WeightsError, pin, resolve, verify

BATCH_SIZES = {"cpu": {"syncnet": 16, "fid_inception": 16, "facenet512": 32, "vggface": 16, "deepface": 32, "facenet128": 32,
                       "i3d": 2},  # i3d: 16-frame clips
               "cuda": {"syncnet": 128, "fid_inception": 128, "facenet512": 256, "vggface": 128, "deepface": 256, "facenet128": 256,
                        "i3d": 32}}


def pick_device(device: str = "auto") -> str:
    import torch

    if device == "auto":
        return "cuda" if torch.cuda.is_available() else "cpu"
    if device.startswith("cuda") and not torch.cuda.is_available():
        raise RuntimeError(f"device {device!r} requested but CUDA is not available here")
    if device != "cpu" and not device.startswith("cuda"):
        raise ValueError(f"device: expected 'auto', 'cpu' or 'cuda[:N]', got {device!r}")
    return device


def _builders() -> dict[str, Callable]:
    from .nets.facenet import InceptionResnetV1
    from .nets.i3d import I3D
    from .nets.inception_fid import FIDInceptionV3
    from .nets.syncnet import SyncNet
    from .nets.deepface_net import DeepFaceNet
    from .nets.facenet_keras import facenet128
    from .nets.vggface import VGGFace

    return {"syncnet": SyncNet, "fid_inception": FIDInceptionV3, "facenet512": InceptionResnetV1, "vggface": VGGFace,
            "deepface": DeepFaceNet, "facenet128": facenet128, "i3d": I3D}


def read_state_dict(name: str, path: Path) -> dict:
    if name in ("vggface", "deepface", "facenet128"):  # Keras h5 files of the deepface library
        from .nets import deepface_net, facenet_keras, vggface

        try:
            return {"vggface": vggface, "deepface": deepface_net, "facenet128": facenet_keras}[name].read_keras_h5(path)
        except (OSError, KeyError, ValueError) as exc:
            raise REGISTRY[name].error(f"{path} is not {name}'s Keras h5 weights ({type(exc).__name__}: {exc})") from exc
    import torch

    try:
        state = torch.load(path, map_location="cpu", weights_only=True)
    except Exception as exc:
        raise REGISTRY[name].error(f"{path} is not a readable PyTorch checkpoint ({type(exc).__name__}: {exc})") from exc
    if isinstance(state, dict) and "state_dict" in state and isinstance(state["state_dict"], dict):
        state = state["state_dict"]
    if not isinstance(state, dict):
        raise REGISTRY[name].error(f"{path} holds a {type(state).__name__}, expected a state dict")
    return state


def load_network(name: str, path: str | Path | None = None, device: str = "cpu"):
    """The named network with verified weights, in eval mode on ``device``."""
    import torch

    builders = _builders()
    if name not in builders:
        raise KeyError(f"unknown network {name!r}; known: {sorted(builders)}")
    weights_path = resolve(name, path)
    net = builders[name]()
    state = read_state_dict(name, weights_path)
    expected = net.state_dict()
    missing = [k for k in expected if k not in state and not k.endswith("num_batches_tracked")]
    unexpected = [k for k in state if k not in expected]
    wrong = [k for k in state if k in expected and tuple(state[k].shape) != tuple(expected[k].shape)]
    if missing or unexpected or wrong:
        raise WeightsError(
            f"{name}: {weights_path} does not fit the network: missing {missing[:5]}, unexpected {unexpected[:5]}, "
            f"wrong shapes {[(k, tuple(state[k].shape), tuple(expected[k].shape)) for k in wrong[:5]]}"
        )
    net.load_state_dict({k: torch.as_tensor(v) for k, v in state.items()}, strict=False)
    net = net.eval()
    if not REGISTRY[name].sha256:  # no published digest: pin this file only once it works as the network
        with torch.inference_mode():
            outputs = [fn(net) for fn in PROBES[name]]
        if not all(bool(torch.isfinite(o).all()) for o in outputs):
            raise REGISTRY[name].error(f"{weights_path} loads but gives non-finite outputs on a fixed input")
        pin(name, verify(REGISTRY[name], weights_path))
    return net.to(pick_device(device))


# A fixed input per network (its expected shape): the check that a file without a published
# digest is the network before it is pinned.
PROBES = {
    "syncnet": (lambda n: n.forward_lip(_probe(1, 3, 5, 224, 224)), lambda n: n.forward_aud(_probe(1, 1, 13, 20))),
    "fid_inception": (lambda n: n(_probe(1, 3, 299, 299)),),
    "facenet512": (lambda n: n(_probe(1, 3, 160, 160)),),
    "facenet128": (lambda n: n(_probe(1, 3, 160, 160)),),
    "vggface": (lambda n: n(_probe(1, 3, 224, 224)),),
    "deepface": (lambda n: n(_probe(1, 3, 152, 152)),),
    "i3d": (lambda n: n(_probe(1, 3, 16, 224, 224) - 0.5),),
}


def _probe(*shape):
    import torch

    return torch.linspace(0.0, 1.0, int(np.prod(shape))).reshape(shape)


def batched(net_fn: Callable, inputs: np.ndarray, batch_size: int, device: str) -> np.ndarray:
    """Run ``net_fn`` over ``inputs`` in batches without gradients; returns float32 NumPy."""
    import torch

    outs = []
    with torch.inference_mode():
        for i in range(0, len(inputs), batch_size):
            x = torch.from_numpy(np.ascontiguousarray(inputs[i : i + batch_size])).to(device, dtype=torch.float32)
            outs.append(net_fn(x).float().cpu().numpy())
    return np.concatenate(outs) if outs else np.zeros((0,), np.float32)


class _NetFeatures:
    """A network with verified weights on a device, applied in batches to uint8 images."""

    name: str
    version, dim = 1, 0
    input_size: tuple[int, int] | None = None  # (H, W) the images must have, if fixed

    def __init__(self, path=None, device: str = "auto"):
        self.device = pick_device(device)
        self.net = load_network(self.name, path, self.device)
        self.batch_size = BATCH_SIZES["cuda" if self.device.startswith("cuda") else "cpu"][self.name]

    def preprocess(self, images: np.ndarray) -> np.ndarray:
        return images.transpose(0, 3, 1, 2).astype(np.float32) / 255.0

    def __call__(self, images: np.ndarray) -> np.ndarray:
        if self.input_size and images.shape[1:3] != self.input_size:
            raise ValueError(f"images: {self.name} expects (N, {self.input_size[0]}, {self.input_size[1]}, 3) face crops, got {images.shape}")
        return self.postprocess(batched(self.forward, self.preprocess(images), self.batch_size, self.device))

    def forward(self, x):
        return self.net(x)

    def postprocess(self, embeddings: np.ndarray) -> np.ndarray:
        return embeddings


FID_RESIZES = ("pytorch-fid", "clean", "antialias")


class InceptionFeatures(_NetFeatures):
    """FID pool3 features of RGB uint8 frames (N, H, W, 3) -> (N, 2048); any size, resized to 299 by:

    * ``pytorch-fid``: inside the network, bilinear without antialiasing (``F.interpolate``,
      ``align_corners=False``) — mseitzer/pytorch-fid's ``resize_input``;
    * ``clean``: clean-fid's ``clean`` mode — PIL bicubic on each channel as a float32 image,
      clipped to [0, 255] (``make_resizer("PIL", False, "bicubic", (299, 299))``);
    * ``antialias``: bilinear with antialiasing (``F.interpolate(..., antialias=True)``), the
      antialiased resize of recent torchmetrics.

    Without antialiasing a 1920x1080 frame squashed to 299 aliases fine detail; the last two
    low-pass first.
    """

    name, dim = "fid_inception", 2048

    def __init__(self, path=None, device: str = "auto", resize: str = "pytorch-fid"):
        if resize not in FID_RESIZES:
            raise ValueError(f"resize: expected one of {FID_RESIZES}, got {resize!r}")
        super().__init__(path, device)
        self.resize = resize

    def preprocess(self, images: np.ndarray) -> np.ndarray:
        if self.resize == "pytorch-fid" or images.shape[1:3] == (299, 299):
            return super().preprocess(images)  # the network's own bilinear resize (identity at 299)
        if self.resize == "clean":
            from PIL import Image

            out = np.empty((len(images), 3, 299, 299), np.float32)
            for i, img in enumerate(images):
                for c in range(3):
                    chan = Image.fromarray(img[:, :, c].astype(np.float32), mode="F").resize((299, 299), resample=Image.BICUBIC)
                    out[i, c] = np.asarray(chan).clip(0, 255)
            return out / 255.0
        import torch
        import torch.nn.functional as F

        x = torch.from_numpy(super().preprocess(images))
        return F.interpolate(x, size=(299, 299), mode="bilinear", align_corners=False, antialias=True).numpy()


class FaceNetFeatures(_NetFeatures):
    """FaceNet-512 embeddings of face chips (N, 160, 160, 3) uint8 -> (N, 512) unit vectors."""

    name, dim, input_size = "facenet512", 512, (160, 160)

    def preprocess(self, images):
        return (images.transpose(0, 3, 1, 2).astype(np.float32) - 127.5) / 128.0  # fixed_image_standardization


VGGFACE_OUTPUTS = ("fc7", "fc8")


class VGGFaceFeatures(_NetFeatures):
    """VGG-Face embeddings of face chips (N, 224, 224, 3) RGB uint8, as deepface computes them.

    deepface feeds BGR images scaled to [0, 1] ("base" normalisation). ``output="fc7"`` (deepface
    0.0.103): fc7 after ReLU, 4,096-d, L2-normalised; ``output="fc8"`` (deepface 0.0.79): fc8
    before the softmax, 2,622-d, not normalised."""

    name, input_size = "vggface", (224, 224)

    def __init__(self, path=None, device: str = "auto", output: str = "fc7"):
        if output not in VGGFACE_OUTPUTS:
            raise ValueError(f"output: expected one of {VGGFACE_OUTPUTS}, got {output!r}")
        super().__init__(path, device)
        self.output, self.dim = output, 4096 if output == "fc7" else self.net.fc8.out_channels

    def preprocess(self, images):
        return super().preprocess(images[..., ::-1])

    def forward(self, x):
        return self.net(x, output=self.output)

    def postprocess(self, embeddings):
        if self.output == "fc8":
            return embeddings
        norms = np.linalg.norm(embeddings.astype(np.float64), axis=1, keepdims=True)
        return (embeddings / np.maximum(norms, 1e-12)).astype(np.float32)  # an all-zero fc7 stays zero


class DeepFaceFeatures(_NetFeatures):
    """DeepFace F7 representations (4096-d) of face chips (N, 152, 152, 3) RGB uint8.

    deepface feeds its models BGR images (OpenCV order) scaled to [0, 1] ("base" normalisation):
    the channels are reversed here."""

    name, dim, input_size = "deepface", 4096, (152, 152)

    def preprocess(self, images):
        return images[..., ::-1].transpose(0, 3, 1, 2).astype(np.float32) / 255.0


FACENET128_NORMALIZATIONS = ("Facenet", "base")


class FaceNet128Features(_NetFeatures):
    """deepface's FaceNet (128-d) of face chips (N, 160, 160, 3) RGB uint8, BGR to the network.

    ``normalization="Facenet"`` (default): each image standardised by its own mean and
    (population) std over all pixels and channels — the whitening this network was trained with
    (Sandberg's ``prewhiten``), deepface's ``normalization="Facenet"``. ``"base"``: pixels / 255,
    what ``DeepFace.represent`` uses when no normalization is named (0.0.103). The
    representation is the bottleneck's batch-norm output (not L2 normalised)."""

    name, dim, input_size = "facenet128", 128, (160, 160)

    def __init__(self, path=None, device: str = "auto", normalization: str = "Facenet"):
        if normalization not in FACENET128_NORMALIZATIONS:
            raise ValueError(f"normalization: expected one of {FACENET128_NORMALIZATIONS}, got {normalization!r}")
        super().__init__(path, device)
        self.normalization = normalization

    def preprocess(self, images):
        if self.normalization == "base":
            return super().preprocess(images[..., ::-1])
        x = images[..., ::-1].transpose(0, 3, 1, 2).astype(np.float64)
        mean = x.mean(axis=(1, 2, 3), keepdims=True)
        std = x.std(axis=(1, 2, 3), keepdims=True)
        return ((x - mean) / np.maximum(std, 1e-12)).astype(np.float32)


I3D_SIZE, I3D_CLIP = 224, 16


def videogpt_preprocess(frames: np.ndarray, size: int = I3D_SIZE):
    """VideoGPT's I3D input (``videogpt/data.py: preprocess``): RGB uint8 frames (T, H, W, 3) ->
    float32 (3, T, size, size) in [-0.5, 0.5]. Divided by 255 first, the shorter side resized to
    ``size`` (the longer to ``ceil(side * size / shorter)``) bilinearly without antialiasing
    (``align_corners=False``), the centre cropped (offset ``(side - size) // 2``), minus 0.5 —
    not the [-1, 1] of the TF original, VideoGPT's own choice. One frame at a time: a 1080p clip
    in float32 would be 400 MB, and the resize treats frames independently."""
    import math

    import torch
    import torch.nn.functional as F

    h, w = frames.shape[1:3]
    scale = size / min(h, w)
    target = (size, math.ceil(w * scale)) if h < w else (math.ceil(h * scale), size)
    top, left = (target[0] - size) // 2, (target[1] - size) // 2
    out = torch.empty((3, len(frames), size, size), dtype=torch.float32)
    for t, frame in enumerate(frames):
        x = torch.from_numpy(np.ascontiguousarray(frame)).permute(2, 0, 1)[None].float() / 255.0
        x = F.interpolate(x, size=target, mode="bilinear", align_corners=False)
        out[:, t] = x[0, :, top : top + size, left : left + size] - 0.5
    return out


class I3DFeatures(_NetFeatures):
    """FVD features as VideoGPT computes them: 400 I3D logits per 16-frame clip.
    ``__call__(clips)``: uint8 (N, 16, H, W, 3) -> (N, 400); ``preprocess`` is ``videogpt_preprocess``."""

    name, dim = "i3d", 400

    def preprocess(self, clips: np.ndarray) -> np.ndarray:
        if clips.ndim != 5 or clips.shape[1] != I3D_CLIP or clips.shape[-1] != 3:
            raise ValueError(f"clips: expected (N, {I3D_CLIP}, H, W, 3) uint8, got {clips.shape}")
        import torch

        return torch.stack([videogpt_preprocess(c) for c in clips]).numpy() if len(clips) else \
            np.zeros((0, 3, I3D_CLIP, I3D_SIZE, I3D_SIZE), np.float32)
