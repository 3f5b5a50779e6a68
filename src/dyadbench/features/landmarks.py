"""MediaPipe face mesh (478 landmarks with iris), pose (33) and hands (21 per hand), offline.

The models are the ``.tflite`` files inside the mediapipe 0.10.14 wheel (legacy ``solutions``
API). Frames are processed in video mode (tracking between frames), so one instance serves one
video stream: create a new ``Landmarker`` per video. Missing detections are NaN rows, never
zeros that a metric would mistake for a pose.
"""

from __future__ import annotations

import os

import numpy as np

# MediaPipe's C++ logging (glog/absl) is chatty on stderr; keep warnings and errors only.
os.environ.setdefault("GLOG_minloglevel", "2")
os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")

FACE_POINTS, POSE_POINTS, HAND_POINTS = 478, 33, 21


def _mp():
    try:
        import mediapipe as mp
    except ImportError as exc:  # pragma: no cover - the features extra installs it
        raise ImportError("mediapipe is required: pip install 'dyadbench[features]' (mediapipe==0.10.14)") from exc
    if not hasattr(mp, "solutions"):
        raise ImportError(f"mediapipe {mp.__version__} lacks the legacy solutions API; install mediapipe==0.10.14")
    return mp


def _to_array(landmarks, n: int, width: int, height: int) -> np.ndarray:
    """Landmarks in pixels (x, y) and z in the same scale as x (MediaPipe's convention)."""
    out = np.array([(p.x * width, p.y * height, p.z * width) for p in landmarks.landmark], dtype=np.float32)
    if out.shape[0] != n:
        raise RuntimeError(f"expected {n} landmarks, MediaPipe returned {out.shape[0]}")
    return out


class FaceMesh:
    """478 face landmarks per frame (refined lips, eyes and irises)."""

    name, version = "mediapipe_face_mesh", 1

    def __init__(self, static_image_mode: bool = False, min_detection_confidence: float = 0.5):
        self._mesh = _mp().solutions.face_mesh.FaceMesh(
            static_image_mode=static_image_mode, max_num_faces=1, refine_landmarks=True,
            min_detection_confidence=min_detection_confidence, min_tracking_confidence=0.5)

    def __call__(self, frames: np.ndarray) -> np.ndarray:
        out = np.full((len(frames), FACE_POINTS, 3), np.nan, np.float32)
        for i, frame in enumerate(frames):
            res = self._mesh.process(np.ascontiguousarray(frame))
            if res.multi_face_landmarks:
                out[i] = _to_array(res.multi_face_landmarks[0], FACE_POINTS, frame.shape[1], frame.shape[0])
        return out

    def close(self) -> None:
        self._mesh.close()


class PoseHands:
    """33 body landmarks (x, y, z, visibility) and 21 landmarks for each hand per frame.

    The hand model runs only on frames where the pose model sees a wrist (visibility ≥
    ``wrist_visibility``) or finds no body at all: on head-and-shoulders framing this skips the
    costly palm detector and its false positives on clothing.
    """

    name, version = "mediapipe_pose_hands", 2

    def __init__(self, static_image_mode: bool = False, wrist_visibility: float = 0.5):
        self.wrist_visibility = wrist_visibility
        mp = _mp()
        self._pose = mp.solutions.pose.Pose(static_image_mode=static_image_mode, model_complexity=1)
        self._hands = mp.solutions.hands.Hands(static_image_mode=static_image_mode, max_num_hands=2)

    def __call__(self, frames: np.ndarray) -> dict[str, np.ndarray]:
        n = len(frames)
        pose = np.full((n, POSE_POINTS, 4), np.nan, np.float32)
        hands = np.full((n, 2, HAND_POINTS, 3), np.nan, np.float32)  # [left, right] as seen by the person
        for i, frame in enumerate(frames):
            frame = np.ascontiguousarray(frame)
            h, w = frame.shape[:2]
            res = self._pose.process(frame)
            if res.pose_landmarks:
                pose[i] = [(p.x * w, p.y * h, p.z * w, p.visibility) for p in res.pose_landmarks.landmark]
                if max(pose[i, 15, 3], pose[i, 16, 3]) < self.wrist_visibility:
                    continue  # no wrist in the picture: no hands to find
            res = self._hands.process(frame)
            for lms, handed in zip(res.multi_hand_landmarks or [], res.multi_handedness or []):
                side = 0 if handed.classification[0].label == "Left" else 1
                hands[i, side] = _to_array(lms, HAND_POINTS, w, h)
        return {"pose": pose, "hands": hands}

    def close(self) -> None:
        self._pose.close()
        self._hands.close()


class FaceDetector:
    """BlazeFace short-range boxes (x1, y1, x2, y2, score) of the most confident face per frame."""

    name, version = "mediapipe_face_detection", 1

    def __init__(self, min_detection_confidence: float = 0.5, model_selection: int = 1):
        self._det = _mp().solutions.face_detection.FaceDetection(
            model_selection=model_selection, min_detection_confidence=min_detection_confidence)

    def __call__(self, frames: np.ndarray) -> np.ndarray:
        out = np.full((len(frames), 5), np.nan, np.float32)
        for i, frame in enumerate(frames):
            res = self._det.process(np.ascontiguousarray(frame))
            if res.detections:
                best = max(res.detections, key=lambda d: d.score[0])
                box = best.location_data.relative_bounding_box
                h, w = frame.shape[:2]
                out[i] = (box.xmin * w, box.ymin * h, (box.xmin + box.width) * w, (box.ymin + box.height) * h, best.score[0])
        return out

    def close(self) -> None:
        self._det.close()
