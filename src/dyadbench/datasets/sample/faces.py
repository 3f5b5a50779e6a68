"""Animated real faces for sample videos: photographs that PyPI packages ship, moved and talking.

scikit-image ships ``astronaut`` (Eileen Collins) and matplotlib ships ``grace_hopper.jpg``; real
face detectors find them. Each frame rotates/shifts the head crop (yaw, pitch, roll) and opens the
jaw by the speech envelope (the lower face slides down, revealing a dark mouth interior).
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import cache

import numpy as np
from PIL import Image


@dataclass(frozen=True)
class FacePhoto:
    name: str
    image: np.ndarray  # RGB crop around the head, uint8
    mouth: tuple[int, int, int, int]  # x0, y0, x1, y1 in crop coordinates
    chin_y: int


# Face geometry measured once with dlib's 68-landmark model on the original photographs:
# (crop box x0, y0, x1, y1), mouth box, chin (jaw bottom) y, all in photo pixels.
_GEOMETRY = {
    "astronaut": ((120, 21, 320, 221), (201, 139, 246, 156), 178),
    "grace_hopper": ((83, 42, 463, 422), (233, 271, 300, 289), 333),
}
FACE_NAMES = tuple(_GEOMETRY)


def _photo_pixels(name: str) -> np.ndarray:
    if name == "astronaut":
        from skimage import data

        return data.astronaut()
    if name == "grace_hopper":
        from matplotlib import cbook

        with cbook.get_sample_data("grace_hopper.jpg") as f:
            return np.asarray(Image.open(f).convert("RGB"))
    raise ValueError(f"face: unknown photo {name!r}; choose from {FACE_NAMES}")


@cache
def load_face(name: str) -> FacePhoto:
    (x0, y0, x1, y1), (mx0, my0, mx1, my1), chin = _GEOMETRY[name]
    crop = _photo_pixels(name)[y0:y1, x0:x1].copy()
    return FacePhoto(name, crop, (mx0 - x0, my0 - y0, mx1 - x0, my1 - y0), chin - y0)


def _open_mouth(img: np.ndarray, face: FacePhoto, scale: float, amount: float) -> np.ndarray:
    """Slide the face below the mouth's centre line down by up to ~35 % of the mouth width."""
    if amount <= 0.02:
        return img
    mx0, my0, mx1, my1 = (int(round(v * scale)) for v in face.mouth)
    chin = int(round(face.chin_y * scale))
    pad = max(2, (mx1 - mx0) // 4)
    xa, xb = max(0, mx0 - pad), min(img.shape[1], mx1 + pad)
    split = (my0 + my1) // 2
    shift = int(round(amount * 0.35 * (mx1 - mx0)))
    if shift < 1 or split + shift >= img.shape[0]:
        return img
    out = img.copy()
    bottom = min(img.shape[0], chin + shift)
    out[split + shift : bottom, xa:xb] = img[split : bottom - shift, xa:xb]
    # Mouth interior: dark, narrower at the corners (an ellipse).
    yy, xx = np.mgrid[split : split + shift, mx0:mx1]
    cx, cy, rx, ry = (mx0 + mx1) / 2, split + shift / 2, max(1, (mx1 - mx0) / 2), max(1, shift / 2)
    inside = ((xx - cx) / rx) ** 2 + ((yy - cy) / ry) ** 2 <= 1.0
    region = out[split : split + shift, mx0:mx1]
    region[inside] = (45, 12, 15)
    return out


@cache
def _head_at(name: str, size: int) -> np.ndarray:
    """The head crop resized to ``size`` px once: every frame starts from it."""
    face = load_face(name)
    return np.asarray(Image.fromarray(face.image).resize((size, size), Image.BILINEAR))


def render_head(face: FacePhoto, size: int, *, yaw: float, pitch: float, roll: float, mouth_open: float) -> Image.Image:
    """The head crop at ``size`` px with the given pose (degrees) and mouth opening in [0, 1]."""
    scale = size / face.image.shape[0]
    img = _open_mouth(_head_at(face.name, size), face, scale, float(np.clip(mouth_open, 0, 1)))
    # Yaw narrows the face a little; pitch/roll rotate and shift it (a cheap 2.5-D head turn). The
    # narrowing and the rotation about the centre are one affine map (output -> input pixel), so
    # each frame costs one resampling pass.
    width = max(8, int(size * (1.0 - abs(yaw) / 140.0)))
    a = -np.deg2rad(roll)
    cos, sin = np.cos(a), np.sin(a)
    cx, cy, narrow = width / 2.0, size / 2.0, size / width
    coeffs = (narrow * cos, narrow * sin, narrow * (cx - cos * cx - sin * cy),
              -sin, cos, cy + sin * cx - cos * cy)
    return Image.fromarray(img).transform((width, size), Image.AFFINE, coeffs, resample=Image.BILINEAR)


def compose_frame(
    width: int,
    height: int,
    heads: list[tuple[FacePhoto, dict]],
    backgrounds: list[tuple[int, int, int]],
) -> np.ndarray:
    """One RGB frame with ``len(heads)`` people side by side (left to right: p0, p1, ...)."""
    canvas = Image.new("RGB", (width, height))
    slot = width // len(heads)
    for i, ((face, pose), bg) in enumerate(zip(heads, backgrounds)):
        canvas.paste(bg, (i * slot, 0, (i + 1) * slot, height))
        size = int(min(slot, height) * 0.78)
        head = render_head(face, size, yaw=pose["yaw"], pitch=pose["pitch"], roll=pose["roll"], mouth_open=pose["mouth"])
        x = i * slot + (slot - head.width) // 2 + int(pose["yaw"] / 40.0 * slot * 0.1)
        y = (height - size) // 2 + int(pose["pitch"] / 30.0 * height * 0.08)
        canvas.paste(head, (x, y))
    return np.asarray(canvas)


def head_boxes(width: int, height: int, n_people: int) -> list[tuple[float, float, float, float]]:
    """Approximate face boxes (x1, y1, x2, y2) of ``compose_frame``'s people at rest pose."""
    slot = width // n_people
    size = int(min(slot, height) * 0.78)
    boxes = []
    for i in range(n_people):
        x = i * slot + (slot - size) // 2
        y = (height - size) // 2
        boxes.append((float(x + 0.2 * size), float(y + 0.15 * size), float(x + 0.8 * size), float(y + 0.85 * size)))
    return boxes
