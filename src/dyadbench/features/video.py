"""Decode a video once and stream its frames, in batches, to every extractor that needs them.

Each extractor opens a fresh ``stream()`` per video (MediaPipe tracks across frames), receives
every RGB batch (``update``) and returns named arrays at the end (``result``). With a
``FeatureCache`` and the video's content hash, extractors already cached are skipped, and when
all are cached the video is not decoded at all.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Protocol

import numpy as np

from ..datasets import media
from .cache import FeatureCache


class Stream(Protocol):
    def update(self, frames: np.ndarray) -> None: ...

    def result(self) -> dict[str, np.ndarray]: ...


class FrameExtractor(Protocol):
    name: str
    version: int

    def stream(self) -> Stream: ...


class _Collect:
    """A stream that applies ``fn`` to each batch and concatenates the named outputs."""

    def __init__(self, fn, finish=None, close=None):
        self.fn, self.finish, self.close = fn, finish, close
        self.parts: dict[str, list[np.ndarray]] = {}

    def update(self, frames):
        out = self.fn(frames)
        for k, v in (out if isinstance(out, dict) else {"features": out}).items():
            self.parts.setdefault(k, []).append(v)

    def result(self):
        if self.close:
            self.close()
        arrays = {k: np.concatenate(v) for k, v in self.parts.items()}
        return self.finish(arrays) if self.finish else arrays


class FaceMotion:
    """MediaPipe face mesh -> ``landmarks`` (T, 478, 3) and ``face_motion`` (T, D) features."""

    name, version = "face_motion", 1
    stats_key = "face_motion"  # the array whose per-frame rows feed dataset statistics (FD reference)

    def stream(self):
        from .landmarks import FaceMesh
        from .motion import face_motion_features

        mesh = FaceMesh()
        return _Collect(lambda f: {"landmarks": mesh(f)},
                        finish=lambda a: {**a, "face_motion": face_motion_features(a["landmarks"])}, close=mesh.close)


class Gesture:
    """MediaPipe pose + hands -> ``pose``, ``hands``, ``gesture`` (T, 96) and ``hand_mask``."""

    name, version = "gesture", 2
    stats_key = "gesture"

    def stream(self):
        from .landmarks import PoseHands
        from .motion import gesture_features

        model = PoseHands()

        def finish(a):
            feats, mask = gesture_features(a["pose"], a["hands"])
            return {**a, "gesture": feats, "hand_mask": mask}

        return _Collect(model, finish=finish, close=model.close)


class FaceIdentity:
    """dlib 128-d face descriptors per frame (NaN rows where no face); optional aligned chips."""

    name, version = "face_identity", 1
    stats_key = "descriptor"

    def __init__(self, upsample: int = 1, chip_sizes: tuple[int, ...] = ()):
        self.upsample, self.chip_sizes = upsample, chip_sizes

    def stream(self):
        from .identity import DlibFaces

        faces = DlibFaces(upsample=self.upsample, chip_sizes=self.chip_sizes)
        return _Collect(faces)


class FaceBoxes:
    """MediaPipe BlazeFace boxes (T, 5): x1, y1, x2, y2, score (NaN rows where none)."""

    name, version = "face_boxes", 1
    stats_key = None  # boxes are not a feature space

    def stream(self):
        from .landmarks import FaceDetector

        det = FaceDetector()
        return _Collect(lambda f: {"boxes": det(f)}, close=det.close)


def face_crops(frames: np.ndarray, boxes: np.ndarray, scale: float = 1.5) -> tuple[np.ndarray, np.ndarray]:
    """Square crops of side ``scale``·max(w, h) around each detected face (edge-padded where they
    leave the frame), resized to 299; and the indices of the frames that had a face."""
    import cv2

    found = np.flatnonzero(np.isfinite(boxes[:, :4]).all(axis=1))
    out = np.empty((len(found), 299, 299, 3), np.uint8)
    for k, i in enumerate(found):
        x1, y1, x2, y2 = boxes[i, :4]
        half = scale * max(x2 - x1, y2 - y1) / 2
        cx, cy = (x1 + x2) / 2, (y1 + y2) / 2
        top, left = int(np.floor(cy - half)), int(np.floor(cx - half))
        side = max(1, int(np.ceil(2 * half)))
        pad = side
        padded = np.pad(frames[i], ((pad, pad), (pad, pad), (0, 0)), mode="edge")
        crop = padded[top + pad : top + pad + side, left + pad : left + pad + side]
        out[k] = cv2.resize(crop, (299, 299), interpolation=cv2.INTER_AREA)
    return out, found


class InceptionPool:
    """FID Inception-v3 pool3 features (T, 2048) of every ``stride``-th frame (``resize``: see
    ``InceptionFeatures``); the ``_face`` variant crops each frame to its face first (frames
    without a face are left out), so the background stops dominating the distance."""

    name, version = "fid_inception", 1
    stats_key = "pool3"
    weights = "fid_inception"  # the registry's weights file its network needs
    resize, face = "pytorch-fid", False

    def __init__(self, path=None, device: str = "auto", stride: int = 1):
        from .models import InceptionFeatures

        self.model = InceptionFeatures(path, device, resize=self.resize)
        self.stride = stride

    def stream(self):
        state = {"offset": 0}
        detector = None
        if self.face:
            from .landmarks import FaceDetector

            detector = FaceDetector()

        def fn(frames):
            start = (-state["offset"]) % self.stride
            state["offset"] += len(frames)
            picked = frames[start :: self.stride]
            if detector is not None and len(picked):
                picked, _ = face_crops(picked, detector(picked))
            return {"pool3": self.model(picked) if len(picked) else np.zeros((0, 2048), np.float32)}

        return _Collect(fn, close=detector.close if detector else None)


class InceptionPoolClean(InceptionPool):
    name, resize = "fid_inception_clean", "clean"


class InceptionPoolAntialias(InceptionPool):
    name, resize = "fid_inception_antialias", "antialias"


class InceptionPoolFace(InceptionPool):
    name, resize, face = "fid_inception_face", "antialias", True


class I3DClips:
    """FVD features, VideoGPT's recipe: 400 I3D logits (T', 400) for each run of 16 consecutive
    frames (frames 0-15, 16-31, ...; a last run shorter than 16 is left out). VideoGPT scores 256
    clips drawn at random from the test videos; here every clip of every video counts, so the
    number does not depend on a draw. Frames are resized as they arrive: at most one clip of
    224x224 frames and one batch of clips is held, whatever the video's resolution or length."""

    name, version = "i3d_videogpt", 1
    stats_key = "logits"
    weights = "i3d"

    def __init__(self, path=None, device: str = "auto"):
        from .models import I3DFeatures

        self.model = I3DFeatures(path, device)

    def stream(self):
        import torch

        from .models import I3D_CLIP, batched, videogpt_preprocess

        pending: dict[str, list] = {"frames": [], "clips": []}
        empty = np.zeros((0, self.model.dim), np.float32)

        def run(flush: bool = False) -> np.ndarray:
            if not pending["clips"] or (len(pending["clips"]) < self.model.batch_size and not flush):
                return empty
            clips, pending["clips"] = torch.stack(pending["clips"]).numpy(), []
            return batched(self.model.forward, clips, self.model.batch_size, self.model.device)

        def fn(frames):
            out = []
            for frame in frames:
                pending["frames"].append(videogpt_preprocess(frame[None])[:, 0])
                if len(pending["frames"]) == I3D_CLIP:
                    pending["clips"].append(torch.stack(pending["frames"], 1))
                    pending["frames"] = []
                    out.append(run())
            return {"logits": np.concatenate([empty, *out])}

        def finish(arrays):
            return {"logits": np.concatenate([arrays.get("logits", empty), run(flush=True)]).astype(np.float32)}

        return _Collect(fn, finish=finish)


FID_EXTRACTORS = {c.name: c for c in (InceptionPool, InceptionPoolClean, InceptionPoolAntialias, InceptionPoolFace)}
VIDEO_FD_EXTRACTORS = {**FID_EXTRACTORS, I3DClips.name: I3DClips}
EXTRACTORS = {"face_motion": FaceMotion, "gesture": Gesture, "face_identity": FaceIdentity, "face_boxes": FaceBoxes,
              **VIDEO_FD_EXTRACTORS}


def extract_video(source: media.Source, extractors: Iterable[FrameExtractor], *, cache: FeatureCache | None = None,
                  input_hash: str | None = None, batch_size: int = 32, label: str | None = None,
                  decode_threads: int = 0) -> dict[str, dict[str, np.ndarray]]:
    """Run every extractor over one decode of ``source`` (``decode_threads`` decoder threads, 0 =
    one per core); returns ``{extractor name: arrays}``."""
    extractors = list(extractors)
    results: dict[str, dict[str, np.ndarray]] = {}
    todo = []
    for ex in extractors:
        cached = cache.get(input_hash, ex.name, ex.version) if cache is not None and input_hash else None
        if cached is not None:
            results[ex.name] = cached
        else:
            todo.append(ex)
    if not todo:
        return results
    streams = [(ex, ex.stream()) for ex in todo]
    for batch in media.iter_frames(source, batch_size=batch_size, label=label, threads=decode_threads):
        for _, stream in streams:
            stream.update(batch)
    for ex, stream in streams:
        arrays = stream.result()
        if cache is not None and input_hash:
            cache.put(input_hash, ex.name, ex.version, arrays)
        results[ex.name] = arrays
    return results
