"""The SyncNet lip-sync pipeline: face crops + MFCC -> embeddings -> Sync-C, Sync-D, AV offset.

As joonson/syncnet_python, but in memory: frames are decoded once (never written as JPEG),
the face is found by our detector (MediaPipe BlazeFace, weights inside the wheel) instead of S3FD,
its box is median-smoothed over time and cropped with syncnet's margins (40 % of the half-size
around the box, extended downward to keep the mouth), resized to 224x224. Video must be 25 fps
(other rates are resampled by frame index), audio 16 kHz. Window t pairs frames t..t+4 with MFCC
rows 4t..4t+19 (0.2 s). The lip stream runs over whole frame sequences rather than stacked
windows (the same numbers, 5x less memory). The offset search and scores are ``dyadbench.metrics.sync``.
"""

from __future__ import annotations

import cv2  # OpenCV comes with mediapipe; syncnet_python resizes crops with it
import numpy as np
from scipy.ndimage import median_filter

from ..metrics.sync import offset_distances, sync_scores
from .audio import mfcc_syncnet, resample
from .models import BATCH_SIZES, batched, load_network, pick_device

SYNC_FPS, SYNC_SR, WINDOW = 25.0, 16_000, 5
CROP_SCALE = 0.4


def to_25fps_indices(n_frames: int, fps: float) -> np.ndarray:
    """Frame indices that resample a ``fps`` video to 25 fps (nearest frame)."""
    duration = n_frames / fps
    return np.minimum(np.round(np.arange(int(duration * SYNC_FPS)) * fps / SYNC_FPS).astype(int), n_frames - 1)


def smooth_boxes(boxes: np.ndarray, kernel: int = 5) -> np.ndarray:
    """Fill missing boxes by nearest valid frame and median-filter each coordinate over time."""
    b = np.asarray(boxes, dtype=np.float64)[:, :4].copy()
    valid = np.isfinite(b).all(axis=1)
    if not valid.any():
        raise ValueError("boxes: no face was found in any frame")
    idx = np.flatnonzero(valid)
    frames = np.arange(len(b))
    pos = np.searchsorted(idx, frames)
    before, after = idx[np.clip(pos - 1, 0, len(idx) - 1)], idx[np.clip(pos, 0, len(idx) - 1)]
    nearest = np.where(np.abs(frames - before) <= np.abs(after - frames), before, after)
    b[~valid] = b[nearest[~valid]]
    return median_filter(b, size=(kernel, 1), mode="nearest")


def crop_faces(frames: np.ndarray, boxes: np.ndarray, size: int = 224) -> np.ndarray:
    """syncnet_python's crop: square half-size bs = max(w, h)/2 around the box centre, widened by
    bs·CROP_SCALE and reaching further down (mouth) than up; resized to ``size``. Parts outside
    the frame are grey (110), as syncnet's padding; only the crop window is copied, never the frame."""
    out = np.empty((len(frames), size, size, 3), np.uint8)
    height, width = frames.shape[1:3]
    for i, (frame, (x1, y1, x2, y2)) in enumerate(zip(frames, boxes)):
        bs = max(x2 - x1, y2 - y1) / 2.0
        my, mx = (y1 + y2) / 2, (x1 + x2) / 2
        # floor, as syncnet's int() on coordinates that padding has made positive
        top, bottom = int(np.floor(my - bs)), int(np.floor(my + bs * (1 + 2 * CROP_SCALE)))
        left, right = int(np.floor(mx - bs * (1 + CROP_SCALE))), int(np.floor(mx + bs * (1 + CROP_SCALE)))
        canvas = np.full((max(1, bottom - top), max(1, right - left), 3), 110, np.uint8)
        sy0, sy1, sx0, sx1 = max(0, top), min(height, bottom), max(0, left), min(width, right)
        if sy1 > sy0 and sx1 > sx0:
            canvas[sy0 - top : sy1 - top, sx0 - left : sx1 - left] = frame[sy0:sy1, sx0:sx1]
        out[i] = cv2.resize(canvas, (size, size), interpolation=cv2.INTER_LINEAR)  # syncnet_python's resize
    return out


class SyncNetScorer:
    name, version = "syncnet", 1

    def __init__(self, path=None, device: str = "auto", detector=None, max_offset: int = 15):
        self.device = pick_device(device)
        self.net = load_network("syncnet", path, self.device)
        self.batch_size = BATCH_SIZES["cuda" if self.device.startswith("cuda") else "cpu"]["syncnet"]
        self.detector = detector
        self.max_offset = max_offset

    def embeddings(self, crops: np.ndarray, audio_16k: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """(T, 224, 224, 3) 25 fps crops and 16 kHz audio -> video and audio embeddings (W, 1024)."""
        mfcc = mfcc_syncnet(audio_16k)  # (T_a, 13) at 100 Hz: 4 rows per video frame
        # As syncnet_python: whole 40 ms audio frames (640 samples) bound the video length.
        n_windows = min(len(crops), len(audio_16k) // 640) - WINDOW
        n_windows = min(n_windows, (len(mfcc) - 20) // 4 + 1)
        if n_windows < 2 * self.max_offset + 2:
            raise ValueError(f"clip too short for SyncNet: {n_windows} windows, need > {2 * self.max_offset + 1}")
        v_emb = self._lip_embeddings(crops, n_windows)
        aud = np.stack([mfcc[4 * t : 4 * t + 20].T[None] for t in range(n_windows)])  # (W, 1, 13, 20)
        a_emb = batched(self.net.forward_aud, aud, 4 * self.batch_size, self.device)
        return v_emb, a_emb

    def _lip_embeddings(self, crops: np.ndarray, n_windows: int) -> np.ndarray:
        """Window embeddings from whole-sequence passes: only the lip stream's first convolution
        spans time (5 frames, stride 1), so one pass over frames [i, i + B + 4) yields windows
        i..i+B-1 exactly, without stacking 5 overlapping copies of every frame."""
        import torch

        outs = []
        with torch.inference_mode():
            for i in range(0, n_windows, self.batch_size):
                stop = min(i + self.batch_size, n_windows)
                chunk = crops[i : stop + WINDOW - 1].transpose(3, 0, 1, 2)[None].astype(np.float32)
                mid = self.net.netcnnlip(torch.from_numpy(np.ascontiguousarray(chunk)).to(self.device))
                outs.append(self.net.netfclip(mid[0, :, :, 0, 0].T).float().cpu().numpy())
        return np.concatenate(outs)

    def score(self, frames: np.ndarray, audio: np.ndarray, sr: int, fps: float, boxes: np.ndarray | None = None,
              edge: str = "valid") -> dict:
        """Sync-C, Sync-D and the AV offset (frames at 25 fps) of one talking-face clip."""
        if abs(fps - SYNC_FPS) > 0.01:
            keep = to_25fps_indices(len(frames), fps)
            frames = frames[keep]
            boxes = None if boxes is None else boxes[keep]
        if boxes is None:
            if self.detector is None:
                from .landmarks import FaceDetector

                self.detector = FaceDetector()
            boxes = self.detector(frames)
        crops = crop_faces(frames, smooth_boxes(boxes))
        v, a = self.embeddings(crops, resample(audio, sr, SYNC_SR))
        dists = offset_distances(v, a, max_offset=self.max_offset, edge=edge)
        return {**sync_scores(dists, max_offset=self.max_offset), "windows": len(v), "distances": dists}
