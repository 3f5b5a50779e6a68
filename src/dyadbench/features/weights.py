"""Model weights registry: file name, SHA-256, official source; local resolution and verification.

Nothing is ever downloaded. A weights file is looked up, in order, at an explicit path, in
``$DYADBENCH_WEIGHTS`` and in ``$DYADBENCH_CACHE/weights`` (default ``~/.cache/dyadbench/weights``).
It is verified by SHA-256 before use; the verified digest is remembered per (path, size, mtime)
so a 90 MB file is hashed once, not on every run. Where no digest is published (marked None),
the digest of the first file that loads into its network (expected tensor names and shapes,
finite outputs on a fixed input) is pinned and a later, different file is refused
(``dyadbench weights forget NAME`` unpins). A missing or mismatching file raises
``WeightsError`` naming the file, the expected SHA-256 and where to download it officially.
Weights that ship inside PyPI packages (dlib's models, MediaPipe's) are listed too, located in
their package.
"""

from __future__ import annotations

import hashlib
import importlib.util
import json
import os
from dataclasses import dataclass
from pathlib import Path

from ..storage import cache_dir


class WeightsError(FileNotFoundError):
    """A weights file is missing or does not match its SHA-256."""


@dataclass(frozen=True)
class WeightsSpec:
    name: str
    filename: str
    sha256: str | None  # None: verified by size only (the digest is not yet confirmed)
    source: str
    description: str
    size: int | None = None
    package: str | None = None  # ships inside this PyPI package (path relative to it)

    def error(self, problem: str) -> WeightsError:
        where = f"pip install {self.package}" if self.package else self.source
        digest = self.sha256 or ("(none published: the first file that loads into the network is pinned; "
                                 + (f"size {self.size:,} bytes" if self.size else "size not published") + ")")
        return WeightsError(
            f"{self.name}: {problem}. Expected file {self.filename!r} with SHA-256 {digest}. "
            f"Official source: {where}. Put it in $DYADBENCH_WEIGHTS or {weights_dir()} (or pass its path)."
        )


REGISTRY: dict[str, WeightsSpec] = {}


def register(spec: WeightsSpec) -> WeightsSpec:
    REGISTRY[spec.name] = spec
    return spec


register(WeightsSpec(
    "syncnet", "syncnet_v2.model", "961e8696f888fce4f3f3a6c3d5b3267cf5b343100b238e79b2659bff2c605442",
    "http://www.robots.ox.ac.uk/~vgg/software/lipsync/data/syncnet_v2.model (download_model.sh of joonson/syncnet_python)",
    "SyncNet audio-visual embedding (Chung & Zisserman 2016); SHA-256 as reported by a public mirror", size=54_573_114))
register(WeightsSpec(
    "fid_inception", "pt_inception-2015-12-05-6726825d.pth", None,
    "https://github.com/mseitzer/pytorch-fid/releases/download/fid_weights/pt_inception-2015-12-05-6726825d.pth",
    "TF-FID Inception-v3 ported to PyTorch (pool3, 2048-d); the hash prefix 6726825d in the name is checked", size=None))
register(WeightsSpec(
    "facenet512", "20180402-114759-vggface2.pt", None,
    "https://github.com/timesler/facenet-pytorch/releases/download/v2.2.9/20180402-114759-vggface2.pt",
    "FaceNet InceptionResnetV1 trained on VGGFace2 (512-d)", size=None))
register(WeightsSpec(
    "vggface", "vgg_face_weights.h5", None,
    "https://github.com/serengil/deepface_models/releases/download/v1.0/vgg_face_weights.h5",
    "VGG-Face (Parkhi et al. 2015) as Keras weights of deepface (4096-d)", size=None))
register(WeightsSpec(
    "clip", "clip/model.safetensors", None,
    "https://huggingface.co/openai/clip-vit-base-patch32 (a folder: model.safetensors, config.json, vocab.json, "
    "merges.txt, tokenizer_config.json, preprocessor_config.json; any CLIP checkpoint in the Hugging Face layout)",
    "CLIP text and image towers for the text-conditioned retrieval route (any CLIP-style checkpoint)", size=None))
register(WeightsSpec(
    "facenet128", "facenet_weights.h5", None,
    "https://github.com/serengil/deepface_models/releases/download/v1.0/facenet_weights.h5",
    "FaceNet InceptionResNetV1 (128-d) as Keras weights of deepface", size=None))
register(WeightsSpec(
    "deepface", "VGGFace2_DeepFace_weights_val-0.9034.h5", None,
    "https://github.com/swghosh/DeepFace/releases/download/weights-vggface2-2d-aligned/VGGFace2_DeepFace_weights_val-0.9034.h5.zip "
    "(unzip it; the file deepface downloads)",
    "DeepFace (Taigman et al. 2014) trained on VGGFace2, Keras weights of deepface (F7, 4096-d)", size=None))
register(WeightsSpec(
    "i3d", "i3d_pretrained_400.pt", None,
    "VideoGPT's i3d_pretrained_400.pt, Google Drive file id 1mQK8KD8G6UWRa5t87SRMm5PVXtlpneJT "
    "(wilson1yan/VideoGPT, videogpt/download.py: _I3D_PRETRAINED_ID; `gdown --id 1mQK8KD8G6UWRa5t87SRMm5PVXtlpneJT`)",
    "I3D Inception-v1 on Kinetics-400 in the piergiaj/pytorch-i3d layout: the FVD network of VideoGPT (400 logits a clip)",
    size=None))
register(WeightsSpec(
    "smplx_neutral_2020", "SMPLX_NEUTRAL_2020.npz", None,
    "https://huggingface.co/spaces/H-Liu1997/EMAGE/resolve/main/EMAGE/smplx_models/smplx/SMPLX_NEUTRAL_2020.npz "
    "(the file EMAGE's evaluation downloads; the SMPL-X model, under its licence at https://smpl-x.is.tue.mpg.de)",
    "SMPL-X 2020 neutral body model: its template's joints (J_regressor @ v_template) and kinematic tree pose "
    "EMAGE's joint positions (only those three arrays are read; nothing is unpickled)", size=None))
register(WeightsSpec(
    "emage_mean_velocity", "mean_vel_smplxflame_30.npy", "53b5e48f2a7bf78c41a6de6395d6bb4f29018465ca5d0ee2820a2be3eebb7137",
    "https://huggingface.co/spaces/H-Liu1997/EMAGE/resolve/main/EMAGE/test_sequences/weights/mean_vel_smplxflame_30.npy "
    "(also PantoMatrix/PantoMatrix @ 0bbb03d, emage_evaltools/mean_vel_smplxflame_30.npy)",
    "EMAGE's per-joint mean speeds of SMPL-X at 30 fps (55 float32): beat consistency's speed normaliser; "
    "SHA-256 of the file in the PantoMatrix repository", size=348))
register(WeightsSpec(
    "dlib_face_recognition", "dlib_face_recognition_resnet_model_v1.dat", None, "PyPI face-recognition-models",
    "dlib ResNet face descriptor (128-d)", package="face-recognition-models"))
register(WeightsSpec(
    "dlib_shape_predictor_5", "shape_predictor_5_face_landmarks.dat", None, "PyPI face-recognition-models",
    "dlib 5-point face alignment", package="face-recognition-models"))


def weights_dir() -> Path:
    return cache_dir() / "weights"


def sha256_of(path: Path, chunk: int = 1 << 20) -> str:
    h = hashlib.sha256()
    with open(path, "rb") as f:
        while block := f.read(chunk):
            h.update(block)
    return h.hexdigest()


def _package_file(spec: WeightsSpec) -> Path | None:
    module = spec.package.replace("-", "_")
    found = importlib.util.find_spec(module)  # locate without importing (its __init__ needs pkg_resources)
    if found is None or not found.submodule_search_locations:
        return None
    path = Path(list(found.submodule_search_locations)[0]) / "models" / spec.filename
    return path if path.exists() else None


def candidates(spec: WeightsSpec, path: str | Path | None = None) -> list[Path]:
    out = []
    if path is not None:
        out.append(Path(path))
    if os.environ.get("DYADBENCH_WEIGHTS"):
        out.append(Path(os.environ["DYADBENCH_WEIGHTS"]) / spec.filename)
    out.append(weights_dir() / spec.filename)
    return out


def _verified_cache() -> Path:
    return cache_dir() / "weights-verified.json"


def verify(spec: WeightsSpec, path: Path) -> str:
    """SHA-256 of ``path`` if it matches ``spec``; raises ``WeightsError`` otherwise."""
    st = path.stat()
    key = f"{path.resolve()}|{st.st_size}|{st.st_mtime_ns}"
    memo_path = _verified_cache()
    try:
        memo = json.loads(memo_path.read_text())
    except (OSError, ValueError):
        memo = {}
    digest = memo.get(key) or sha256_of(path)
    if spec.sha256 and digest != spec.sha256:
        raise spec.error(f"{path} has SHA-256 {digest}, which does not match")
    pinned = memo.setdefault("pinned", {})
    if not spec.sha256 and pinned.get(spec.name, digest) != digest:
        # No published digest: the first file that loaded is trusted, a silently different one refused.
        raise spec.error(f"{path} has SHA-256 {digest}, but {pinned[spec.name]} was pinned on first use "
                         f"(if this file is the right one: `dyadbench weights forget {spec.name}`)")
    if spec.size and st.st_size != spec.size:
        raise spec.error(f"{path} has {st.st_size} bytes, expected {spec.size}")
    if spec.name == "fid_inception" and not digest.startswith("6726825d"):
        raise spec.error(f"{path} has SHA-256 {digest}, which does not start with the 6726825d in its name")
    memo[key] = digest
    try:
        memo_path.parent.mkdir(parents=True, exist_ok=True)
        memo_path.write_text(json.dumps(memo))
    except OSError:
        pass  # a read-only cache only costs re-hashing next time
    return digest


def _memo() -> dict:
    try:
        return json.loads(_verified_cache().read_text())
    except (OSError, ValueError):
        return {}


def _save_memo(memo: dict) -> None:
    try:
        _verified_cache().parent.mkdir(parents=True, exist_ok=True)
        _verified_cache().write_text(json.dumps(memo))
    except OSError:
        pass


def pin(name: str, digest: str) -> None:
    """Trust ``digest`` for weights without a published one: called once the file has loaded into its
    network with the expected tensors and given finite outputs (``models.load_network``), never on
    the bytes alone."""
    if REGISTRY[name].sha256:
        return
    memo = _memo()
    memo.setdefault("pinned", {}).setdefault(name, digest)
    _save_memo(memo)


def forget(name: str) -> str | None:
    """Unpin ``name`` (the next file that loads is pinned); returns the digest that was pinned."""
    if name not in REGISTRY:
        raise KeyError(f"unknown weights {name!r}; known: {sorted(REGISTRY)}")
    memo = _memo()
    old = memo.get("pinned", {}).pop(name, None)
    _save_memo(memo)
    return old


def resolve(name: str, path: str | Path | None = None) -> Path:
    """Verified local path of the named weights; ``WeightsError`` with the source if absent."""
    if name not in REGISTRY:
        raise KeyError(f"unknown weights {name!r}; known: {sorted(REGISTRY)}")
    spec = REGISTRY[name]
    if spec.package:
        found = _package_file(spec)
        if found is None:
            raise spec.error(f"package {spec.package} is not installed")
        return found
    for candidate in candidates(spec, path):
        if candidate.is_file():
            verify(spec, candidate)
            return candidate
    raise spec.error("file not found (looked in " + ", ".join(str(c) for c in candidates(spec, path)) + ")")


def status() -> list[dict]:
    """One row per registered weights file: where it is and whether it verifies."""
    rows = []
    for spec in REGISTRY.values():
        row = {"name": spec.name, "file": spec.filename, "sha256": spec.sha256 or "-", "source": spec.source}
        try:
            row["path"], row["status"] = str(resolve(spec.name)), "ok"
        except WeightsError as exc:
            row["path"], row["status"] = "-", "missing" if "not found" in str(exc) or "not installed" in str(exc) else "mismatch"
        rows.append(row)
    return rows
