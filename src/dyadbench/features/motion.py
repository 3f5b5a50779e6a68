r"""Face-motion and gesture features from landmarks (pure NumPy geometry).

Face motion (for FFD): per frame, a similarity transform (Umeyama 1991: rotation R, scale s,
translation t minimising Σ‖s R p_i + t − q_i‖² over rigid landmarks) maps the face onto the
clip's reference face; applying it to all 478 landmarks removes head pose and distance to the
camera. Subtracting the clip's mean aligned shape removes identity (face geometry), leaving
expression. The feature is the expressive subset (lips, eyes, brows, irises) flattened, in an
anatomical frame and units of the inter-ocular distance, plus the head rotation as an axis-angle vector
(radians): ``(T, 3·K + 3)``. Frames without a face stay NaN rows.

Gesture (for FGD): shoulders, elbows, wrists and both hands' 21 landmarks, relative to the
mid-shoulder root and divided by shoulder width. A missing hand is imputed at its pose wrist
(a closed hand) and flagged in the returned mask.
"""

from __future__ import annotations

from functools import lru_cache

import numpy as np
from scipy.spatial.transform import Rotation

# Landmarks on bone (forehead, nose bridge, eye corners, temples): stable under expression.
RIGID = (4, 6, 8, 9, 10, 33, 133, 151, 168, 197, 234, 263, 362, 454)
LEFT_EYE_OUTER, RIGHT_EYE_OUTER = 263, 33
UPPER_BODY = (11, 12, 13, 14, 15, 16)  # shoulders, elbows, wrists (MediaPipe pose)
WRISTS = (15, 16)


@lru_cache(maxsize=1)
def expressive_indices() -> tuple[int, ...]:
    """Lips, eyes, brows and irises of the MediaPipe face mesh (from its own connection sets)."""
    from mediapipe.python.solutions import face_mesh_connections as c

    idx = set()
    for conn in (c.FACEMESH_LIPS, c.FACEMESH_LEFT_EYE, c.FACEMESH_RIGHT_EYE, c.FACEMESH_LEFT_EYEBROW,
                 c.FACEMESH_RIGHT_EYEBROW, c.FACEMESH_LEFT_IRIS, c.FACEMESH_RIGHT_IRIS):
        for a, b in conn:
            idx.update((a, b))
    return tuple(sorted(idx))


def similarity_transform(src: np.ndarray, dst: np.ndarray) -> tuple[np.ndarray, float, np.ndarray]:
    """Umeyama: R (3x3), s, t with s R src_i + t ≈ dst_i in least squares (proper rotation)."""
    mu_s, mu_d = src.mean(0), dst.mean(0)
    a, b = src - mu_s, dst - mu_d
    cov = b.T @ a / len(src)
    u, d, vt = np.linalg.svd(cov)
    sign = np.ones(3)
    if np.linalg.det(u) * np.linalg.det(vt) < 0:
        sign[-1] = -1.0
    r = u @ np.diag(sign) @ vt
    var_s = (a**2).sum() / len(src)
    s = float((d * sign).sum() / var_s) if var_s > 0 else 1.0
    return r, s, mu_d - s * r @ mu_s


def similarity_transforms(src: np.ndarray, dst: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """``similarity_transform`` for a stack of point sets (T, K, 3) onto one (K, 3), batched."""
    mu_s, mu_d = src.mean(1), dst.mean(0)
    a, b = src - mu_s[:, None], dst - mu_d
    cov = np.einsum("kj,tki->tji", b, a) / src.shape[1]  # (T, 3, 3) = b^T a / K per frame
    u, d, vt = np.linalg.svd(cov)
    sign = np.ones((len(src), 3))
    sign[np.linalg.det(u) * np.linalg.det(vt) < 0, -1] = -1.0
    r = u @ (sign[:, :, None] * vt)
    var_s = (a**2).sum(axis=(1, 2)) / src.shape[1]
    scale = np.where(var_s > 0, (d * sign).sum(1) / np.where(var_s > 0, var_s, 1.0), 1.0)
    t = mu_d - scale[:, None] * np.einsum("tij,tj->ti", r, mu_s)
    return r, scale, t


def face_motion_features(landmarks: np.ndarray, *, remove_identity: bool = True, indices=None) -> np.ndarray:
    """(T, 478, 3) landmarks (NaN rows where no face) -> (T, 3K + 3) face-motion features."""
    lm = np.asarray(landmarks, dtype=np.float64)
    if lm.ndim != 3 or lm.shape[2] != 3:
        raise ValueError(f"landmarks: expected (frames, points, 3), got {lm.shape}")
    idx = np.asarray(indices if indices is not None else expressive_indices())
    valid = np.isfinite(lm).all(axis=(1, 2))
    out = np.full((lm.shape[0], 3 * len(idx) + 3), np.nan, np.float32)
    if not valid.any():
        return out
    rigid = list(RIGID)
    frames = lm[valid]
    # Reference: first valid frame, refined twice to the mean of the aligned frames.
    ref = frames[0][rigid]
    for _ in range(2):
        r, sc, tr = similarity_transforms(frames[:, rigid], ref)
        ref = (sc[:, None, None] * np.einsum("tij,tkj->tki", r, frames[:, rigid]) + tr[:, None]).mean(0)
    ref = _canonical(ref, rigid)
    r, sc, tr = similarity_transforms(frames[:, rigid], ref)
    shapes = np.full((lm.shape[0], len(idx), 3), np.nan)
    rotvecs = np.full((lm.shape[0], 3), np.nan)
    shapes[valid] = sc[:, None, None] * np.einsum("tij,tkj->tki", r, frames[:, idx]) + tr[:, None]
    rotvecs[valid] = Rotation.from_matrix(np.transpose(r, (0, 2, 1))).as_rotvec()  # head rotation from the reference
    if remove_identity:
        shapes[valid] -= shapes[valid].mean(axis=0)
    out[valid] = np.concatenate([shapes[valid].reshape(valid.sum(), -1), rotvecs[valid]], axis=1)
    return out


def _canonical(ref: np.ndarray, rigid: list[int]) -> np.ndarray:
    """The reference in an anatomical frame (x: right to left eye corner, y: nose tip to
    forehead, z: their cross product), centred, in units of the inter-ocular distance — so the
    features do not depend on the pose of the frames the reference was built from."""
    eye_r, eye_l = ref[rigid.index(RIGHT_EYE_OUTER)], ref[rigid.index(LEFT_EYE_OUTER)]
    up = ref[rigid.index(10)] - ref[rigid.index(4)]
    e1 = (eye_l - eye_r) / (np.linalg.norm(eye_l - eye_r) or 1.0)
    e2 = up - (up @ e1) * e1
    e2 /= np.linalg.norm(e2) or 1.0
    basis = np.stack([e1, e2, np.cross(e1, e2)], axis=1)
    return (ref - ref.mean(0)) @ basis / (np.linalg.norm(eye_l - eye_r) or 1.0)


def _apply(transform, points: np.ndarray) -> np.ndarray:
    r, s, t = transform
    return s * points @ r.T + t


def gesture_features(pose: np.ndarray, hands: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """(T, 33, 4) pose and (T, 2, 21, 3) hands -> ((T, (6 + 42)·2) features, (T, 2) hand mask).

    2-D image coordinates (x, y) are used: MediaPipe's z for pose and hands is a relative depth
    on a different scale, and the benchmarks' gesture features are image-plane keypoints.
    """
    pose = np.asarray(pose, dtype=np.float64)
    hands = np.asarray(hands, dtype=np.float64).copy()
    if pose.ndim != 3 or pose.shape[1:] != (33, 4):
        raise ValueError(f"pose: expected (frames, 33, 4), got {pose.shape}")
    if hands.shape != (pose.shape[0], 2, 21, 3):
        raise ValueError(f"hands: expected ({pose.shape[0]}, 2, 21, 3), got {hands.shape}")
    root = (pose[:, 11, :2] + pose[:, 12, :2]) / 2.0
    width = np.linalg.norm(pose[:, 11, :2] - pose[:, 12, :2], axis=1)
    width = np.where(width > 1e-6, width, np.nan)
    hand_mask = np.isfinite(hands).all(axis=(2, 3))
    for side, wrist in enumerate(WRISTS):
        missing = ~hand_mask[:, side]
        hands[missing, side, :, :2] = pose[missing, wrist, None, :2]
    body = (pose[:, UPPER_BODY, :2] - root[:, None]) / width[:, None, None]
    hand_xy = (hands[..., :2] - root[:, None, None]) / width[:, None, None, None]
    feats = np.concatenate([body.reshape(len(pose), -1), hand_xy.reshape(len(pose), -1)], axis=1)
    return feats.astype(np.float32), hand_mask
