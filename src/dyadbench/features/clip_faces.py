"""Per-frame face embeddings of one person in a RealTalk clip, in several face-model spaces.

The person's face is the dlib detection that overlaps their annotated box; dlib's 5-point
alignment gives the 128-d descriptor and aligned chips for FaceNet-128 and FaceNet-512 (160 px),
DeepFace (152 px) and VGG-Face (224 px). Every ``stride``-th frame is used. Frames without a face are NaN rows (the metric
skips and counts them). Results are cached by (video content hash, clip, role, stride).
"""

from __future__ import annotations

import numpy as np

from .cache import FeatureCache

# space -> (network, wrapper options); the variants reproduce other deepface versions or settings.
SPACE_MODELS = {"facenet128": ("facenet128", {}), "facenet128_base": ("facenet128", {"normalization": "base"}),
                "facenet512": ("facenet512", {}), "vggface": ("vggface", {}), "vggface_fc8": ("vggface", {"output": "fc8"}),
                "deepface": ("deepface", {})}
SPACES = ("dlib", *SPACE_MODELS)
VERSION = 2  # bump when the embeddings change: the cache keys on it (2: VGG-Face as deepface 0.0.103, BGR + L2)
CHIP = {"facenet128": 160, "facenet512": 160, "vggface": 224, "deepface": 152}


def space_model(space: str, device: str = "cpu"):
    """The feature model of a face space, its weights verified and loaded (``WeightsError`` if not)."""
    from .models import DeepFaceFeatures, FaceNet128Features, FaceNetFeatures, VGGFaceFeatures

    network, options = SPACE_MODELS[space]
    return {"facenet128": FaceNet128Features, "facenet512": FaceNetFeatures, "vggface": VGGFaceFeatures,
            "deepface": DeepFaceFeatures}[network](device=device, **options)


def space_network(space: str) -> str:
    """The network (and weights file) a face space runs: ``vggface_fc8`` runs ``vggface``."""
    return SPACE_MODELS[space][0] if space in SPACE_MODELS else space


def clip_face_embeddings(clip, role: str, spaces: tuple[str, ...], *, stride: int = 8, device: str = "cpu",
                         cache: FeatureCache | None = None, models: dict | None = None) -> dict[str, np.ndarray]:
    from .identity import DlibFaces

    unknown = [s for s in spaces if s not in SPACES]
    if unknown:
        raise ValueError(f"spaces: unknown {unknown}; choose from {SPACES}")
    key = f"{clip.dataset.video_hash(clip.video_id)}-{clip.start}-{clip.n_frames}-{role}-{stride}"
    name = "clip_faces_" + "_".join(spaces)
    if cache is not None and (hit := cache.get(key, name, VERSION)) is not None:
        return hit
    frames = np.concatenate(list(clip.frames(step=stride)))
    ann = clip.dataset.annotations(clip.video_id)
    boxes = np.array([ann.get(t, {}).get("people", {}).get(role, {}).get("bbox", [np.nan] * 4)
                      for t in range(clip.start, clip.stop, stride)], dtype=np.float64)[: len(frames)]
    models = models if models is not None else {}
    sizes = tuple(CHIP[space_network(s)] for s in spaces if space_network(s) in CHIP)
    if ("dlib", sizes) not in models:  # build each model once per run (setdefault would build it every call)
        models[("dlib", sizes)] = DlibFaces(upsample=1, chip_sizes=sizes)
    faces = models[("dlib", sizes)](frames, boxes)
    out = {}
    for space in spaces:
        if space == "dlib":
            out[space] = faces["descriptor"]
            continue
        network = SPACE_MODELS[space][0]
        if space not in models:
            models[space] = space_model(space, device)
        net = models[space]
        emb = np.full((len(frames), net.dim), np.nan, np.float32)
        if faces["found"].any():
            emb[faces["found"]] = net(faces[f"chip{CHIP[network]}"][faces["found"]])
        out[space] = emb
    if cache is not None:
        cache.put(key, name, VERSION, out)
    return out
