"""The SyncNet lip-sync pipeline: face crops + MFCC -> embeddings -> Sync-C, Sync-D, AV offset.

As joonson/syncnet_python (``run_pipeline.py`` + ``SyncNetInstance.py``), but in memory: frames
are decoded once (never written as AVI/JPEG, so without its lossy re-encoding), the face is found
by our detector (MediaPipe BlazeFace, weights inside the wheel) instead of S3FD. Reproduced
conventions, each tested:

* frame rate: other rates become 25 fps by the frames ``ffmpeg -r 25`` keeps when it writes
  syncnet's AVI (``ffmpeg_r25_indices``; AVI output makes ffmpeg use its VFR sync: drop a frame
  when it falls 0.6 output frames behind);
* boxes: gaps filled by linear interpolation (syncnet's ``interp1d`` within a track), then box
  half-size and centre (not corners) smoothed by ``scipy.signal.medfilt`` with kernel 13 (zero
  padded at the ends, as syncnet's);
* crop: 40 % of the half-size around the box, extended downward to keep the mouth, grey (110)
  padding, ``cv2.resize`` to 224x224;
* colour: the network sees **BGR**, the channel order of syncnet's ``cv2.imread``.

Audio 16 kHz. Window t pairs frames t..t+4 with MFCC
rows 4t..4t+19 (0.2 s). The lip stream runs over whole frame sequences rather than stacked
windows (the same numbers, 5x less memory). The offset search and scores are ``dyadbench.metrics.sync``.
"""

from __future__ import annotations

import cv2  # OpenCV comes with mediapipe; syncnet_python resizes crops with it
import numpy as np
from scipy.signal import medfilt

from ..metrics.sync import offset_distances, sync_scores
from .audio import mfcc_syncnet, resample
from .models import BATCH_SIZES, batched, load_network, pick_device

SYNC_FPS, SYNC_SR, WINDOW = 25.0, 16_000, 5
CROP_SCALE = 0.4


def ffmpeg_r25_indices(n_frames: int, fps: float) -> np.ndarray:
    """Indices of the input frames that ``ffmpeg -i IN -r 25 OUT.avi`` keeps (syncnet_python's step 1).

    ffmpeg (5.1) writes AVI with its VFR sync: input frame i sits at t_i = i·25/fps output ticks
    (nudged by ∓2⁻¹⁷, as ffmpeg avoids exact midpoints) and lasts d = round(25/fps) ticks (or
    min(25/fps, 1) when that rounds to 0). With n the next output tick, δ = t_i − n + d: the frame
    is dropped when δ ≤ −0.6; otherwise it is written (n += 1), after n jumps to round(t_i) when
    δ > 0.6 and t_i is not behind n. Checked against ffmpeg on 30, 29.97, 50, 60 and 24 fps inputs.
    """
    if fps <= 0:
        raise ValueError(f"fps: expected > 0, got {fps}")
    step = SYNC_FPS / float(fps)
    duration = float(round(step)) if round(step) > 0 else min(step, 1.0)
    keep, next_tick = [], 0
    for i in range(int(n_frames)):
        t = i * step
        t += (1.0 if t > 0 else -1.0) / 2**17
        delta = t - next_tick + duration
        if delta <= -0.6:
            continue
        if t < next_tick and delta > 0:
            t = next_tick  # ffmpeg clips a frame that starts before the next tick
        if delta > 0.6:
            next_tick = int(np.rint(t))
        keep.append(i)
        next_tick += 1
    return np.asarray(keep, dtype=int)


def smooth_boxes(boxes: np.ndarray, kernel: int = 13) -> np.ndarray:
    """syncnet_python's track smoothing: missing boxes linearly interpolated, then the box
    half-size s = max(w, h)/2 and centre (x, y) each median-filtered (``scipy.signal.medfilt``,
    zero-padded ends); returned as square boxes (x − s, y − s, x + s, y + s)."""
    b = np.asarray(boxes, dtype=np.float64)[:, :4].copy()
    valid = np.isfinite(b).all(axis=1)
    if not valid.any():
        raise ValueError("boxes: no face was found in any frame")
    frames, idx = np.arange(len(b)), np.flatnonzero(valid)
    b = np.stack([np.interp(frames, idx, b[idx, j]) for j in range(4)], axis=1)
    size = medfilt(np.maximum(b[:, 3] - b[:, 1], b[:, 2] - b[:, 0]) / 2, kernel_size=kernel)
    cx = medfilt((b[:, 0] + b[:, 2]) / 2, kernel_size=kernel)
    cy = medfilt((b[:, 1] + b[:, 3]) / 2, kernel_size=kernel)
    return np.stack([cx - size, cy - size, cx + size, cy + size], axis=1)


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
        v_emb = self._lip_embeddings(crops[..., ::-1], n_windows)  # RGB -> BGR, as syncnet's cv2.imread
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

    def clip_embeddings(self, frames: np.ndarray, audio: np.ndarray, sr: int, fps: float,
                        boxes: np.ndarray | None = None) -> tuple[np.ndarray, np.ndarray]:
        """Video and audio embeddings (W, 1024) of one talking-face clip (RGB frames at any fps):
        the inputs of the registered ``sync`` metric."""
        if abs(fps - SYNC_FPS) > 0.01:
            keep = ffmpeg_r25_indices(len(frames), fps)
            frames = frames[keep]
            boxes = None if boxes is None else boxes[keep]
        if boxes is None:
            if self.detector is None:
                from .landmarks import FaceDetector

                self.detector = FaceDetector()
            boxes = self.detector(frames)
        crops = crop_faces(frames, smooth_boxes(boxes))
        return self.embeddings(crops, resample(audio, sr, SYNC_SR))

    def score(self, frames: np.ndarray, audio: np.ndarray, sr: int, fps: float, boxes: np.ndarray | None = None,
              edge: str = "zero_pad") -> dict:
        """Sync-C, Sync-D and the AV offset of one clip (``metrics.sync``; syncnet_python's edges by default)."""
        v, a = self.clip_embeddings(frames, audio, sr, fps, boxes)
        dists = offset_distances(v, a, max_offset=self.max_offset, edge=edge)
        return {**sync_scores(dists, max_offset=self.max_offset), "windows": len(v), "distances": dists}
