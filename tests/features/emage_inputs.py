"""Deterministic inputs for the EMAGE beat-consistency tests, shared with the script that ran
EMAGE's own code on them outside the project (the pinned figures in test_emage_beats.py)."""

from __future__ import annotations

import numpy as np

FPS = 30.0
SR = 48_000


def speech_like(seed: int, seconds: float = 12.0, sr: int = SR) -> np.ndarray:
    """Float32 mono: faint noise with voiced bursts (50-250 ms) at random times, about 3 a second."""
    rng = np.random.default_rng(seed)
    n = int(seconds * sr)
    t = np.arange(n) / sr
    x = 0.003 * rng.standard_normal(n)
    for start in np.sort(rng.uniform(0, seconds - 0.3, int(seconds * 3))):
        a, b = int(start * sr), int((start + rng.uniform(0.05, 0.25)) * sr)
        f0 = rng.uniform(100, 300)
        env = np.hanning(b - a) * rng.uniform(0.05, 0.5)
        x[a:b] += env * (np.sin(2 * np.pi * f0 * t[a:b]) + 0.3 * np.sin(2 * np.pi * 3 * f0 * t[a:b])
                         + 0.2 * rng.standard_normal(b - a))
    return x.astype(np.float32)


def seamless_body(seed: int, frames: int) -> np.ndarray:
    """(T, 153) float32 SMPL-H axis-angle (body 21, left hand 15, right hand 15 joints): sums of sines."""
    rng = np.random.default_rng(100 + seed)
    t = np.arange(frames) / FPS
    x = np.zeros((frames, 51, 3))
    for j in range(51):
        for k in range(3):
            f, phase = rng.uniform(0.3, 2.0), rng.uniform(0, 2 * np.pi)
            x[:, j, k] = rng.uniform(0.05, 0.4) * np.sin(2 * np.pi * f * t + phase) + 0.05 * np.sin(2 * np.pi * 3.1 * f * t)
    return x.reshape(frames, 153).astype(np.float32)


def mean_velocity() -> np.ndarray:
    """55 float32 per-joint mean speeds, scaled so that EMAGE's 0.10 threshold drops some minima of these motions."""
    return np.random.default_rng(7).uniform(1.5, 6.0, 55).astype(np.float32)
