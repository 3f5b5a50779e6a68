"""dlib face detection, 5-point alignment and the 128-d ResNet face descriptor (offline).

The detector is dlib's HOG frontal-face detector (inside the dlib-bin wheel); the shape
predictor and descriptor weights ship inside PyPI ``face-recognition-models``. Aligned face
chips from the same landmarks feed FaceNet (160 px) and VGG-Face (224 px).
"""

from __future__ import annotations

import numpy as np

from .weights import resolve


def _dlib():
    try:
        import dlib
    except ImportError as exc:  # pragma: no cover - the features extra installs it
        raise ImportError("dlib is required: pip install 'dyadbench[features]' (dlib-bin)") from exc
    return dlib


def _iou(a, b) -> float:
    x1, y1, x2, y2 = max(a[0], b[0]), max(a[1], b[1]), min(a[2], b[2]), min(a[3], b[3])
    inter = max(0.0, x2 - x1) * max(0.0, y2 - y1)
    union = (a[2] - a[0]) * (a[3] - a[1]) + (b[2] - b[0]) * (b[3] - b[1]) - inter
    return inter / union if union > 0 else 0.0


class DlibFaces:
    """Per frame: the chosen face's 128-d descriptor and aligned chips.

    With ``boxes`` (per-frame (x1, y1, x2, y2), e.g. RealTalk's role boxes) the detection that
    overlaps the box most is used; otherwise the largest face. ``upsample`` doubles the image
    before detection (faces under ~80 px).
    """

    name, version, dim = "dlib_face_descriptor", 1, 128

    def __init__(self, upsample: int = 0, chip_sizes: tuple[int, ...] = ()):
        dlib = _dlib()
        self._detector = dlib.get_frontal_face_detector()
        self._shape = dlib.shape_predictor(str(resolve("dlib_shape_predictor_5")))
        self._rec = dlib.face_recognition_model_v1(str(resolve("dlib_face_recognition")))
        self._chip = dlib.get_face_chip
        self._rect = dlib.rectangle
        self.upsample = int(upsample)
        self.chip_sizes = tuple(chip_sizes)

    def detect(self, frame: np.ndarray, box=None):
        dets = list(self._detector(frame, self.upsample))
        if not dets:
            return None
        if box is not None and np.isfinite(box).all():
            best = max(dets, key=lambda d: _iou((d.left(), d.top(), d.right(), d.bottom()), box))
            return best if _iou((best.left(), best.top(), best.right(), best.bottom()), box) > 0.1 else None
        return max(dets, key=lambda d: d.width() * d.height())

    def __call__(self, frames: np.ndarray, boxes: np.ndarray | None = None) -> dict[str, np.ndarray]:
        n = len(frames)
        desc = np.full((n, 128), np.nan, np.float32)
        chips = {s: np.zeros((n, s, s, 3), np.uint8) for s in self.chip_sizes}
        found = np.zeros(n, bool)
        for i, frame in enumerate(frames):
            frame = np.ascontiguousarray(frame)
            det = self.detect(frame, None if boxes is None else boxes[i])
            if det is None:
                continue
            shape = self._shape(frame, det)
            desc[i] = np.asarray(self._rec.compute_face_descriptor(frame, shape), np.float32)
            for s in self.chip_sizes:
                chips[s][i] = self._chip(frame, shape, size=s, padding=0.25)
            found[i] = True
        return {"descriptor": desc, "found": found, **{f"chip{s}": c for s, c in chips.items()}}
