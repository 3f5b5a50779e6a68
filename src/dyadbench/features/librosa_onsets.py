r"""Audio onsets as ``librosa.onset.onset_detect`` finds them, and EMAGE's use of it.

EMAGE's beat consistency (PantoMatrix @ 0bbb03d, ``emage_evaltools/mertic.py``, ``BC.load_audio``)
loads the audio with ``librosa.load(path, sr=16000)`` and calls
``librosa.onset.onset_detect(y=..., sr=16000, hop_length=512, units="time")``. That chain, written
from librosa's documented defaults (librosa 0.10/0.11) and checked against librosa 0.11.0's output
(``tests/features/test_librosa_onsets.py`` pins figures printed by librosa itself, run outside the
project), without librosa's numba dependency:

1. load: float32 mono (channels averaged), resampled by soxr at "HQ" quality (librosa's default
   ``res_type="soxr_hq"``), length fixed to ``ceil(n * sr_out / sr_in)``;
2. onset strength: power (``|STFT|²``) mel spectrogram — Hann window of 2048, hop 512, centred
   frames with zero padding, 128 Slaney-scale mel bands on [0, sr/2] with Slaney area
   normalisation — in dB (``10 log10 max(S, 1e-10)``, floored 80 dB below its maximum); the
   positive first difference between frames, averaged over bands, shifted right by
   ``1 + 2048 // (2 * 512) = 3`` frames (zeros in front) and cut to the spectrogram's length;
3. peak picking on the envelope scaled to [0, 1]: frame n is an onset when it is the maximum of
   ``x[n - pre_max : n + post_max]`` and at least ``delta = 0.07`` above the mean of
   ``x[n - pre_avg : n + post_avg]``, at least ``wait`` frames after the previous onset; the
   windows are librosa's 30 ms / 100 ms in frames, ``floor(seconds * sr / hop)``. At 16 kHz and
   hop 512 that makes ``pre_max = 0``, ``post_max = 1`` and ``wait = 0``: every frame is its own
   "local maximum", so consecutive frames above the local mean are all onsets (a property of
   EMAGE's settings, kept);
4. ``units="time"``: frame x hop / sr.
"""

from __future__ import annotations

import math

import numpy as np
from scipy.signal import get_window

N_FFT = 2048
N_MELS = 128
TOP_DB = 80.0
AMIN = 1e-10
DELTA = 0.07


def load_like_librosa(audio, sr: int, sr_out: int) -> np.ndarray:
    """``librosa.load(..., sr=sr_out)`` on samples already read as float32 mono."""
    import soxr

    x = np.asarray(audio, np.float32)
    if x.ndim != 1:
        raise ValueError(f"audio: expected mono samples, got shape {x.shape}")
    if sr == sr_out:
        return x
    n_out = int(math.ceil(len(x) * sr_out / sr))
    y = soxr.resample(x, sr, sr_out, quality="HQ").astype(np.float32, copy=False)
    if len(y) >= n_out:
        return y[:n_out]
    return np.pad(y, (0, n_out - len(y)))


def _hz_to_mel(f):
    """Slaney's mel scale: linear (3 bands per 200 Hz) below 1 kHz, logarithmic above."""
    f = np.asarray(f, np.float64)
    f_sp, min_log_hz = 200.0 / 3, 1000.0
    logstep = math.log(6.4) / 27.0
    return np.where(f >= min_log_hz, min_log_hz / f_sp + np.log(np.maximum(f, 1e-300) / min_log_hz) / logstep, f / f_sp)


def _mel_to_hz(m):
    m = np.asarray(m, np.float64)
    f_sp, min_log_hz = 200.0 / 3, 1000.0
    min_log_mel, logstep = min_log_hz / f_sp, math.log(6.4) / 27.0
    return np.where(m >= min_log_mel, min_log_hz * np.exp(logstep * (m - min_log_mel)), f_sp * m)


def mel_filterbank(sr: float, n_fft: int = N_FFT, n_mels: int = N_MELS) -> np.ndarray:
    """(n_mels, n_fft // 2 + 1) triangular filters with Slaney area normalisation, float32."""
    bins = np.fft.rfftfreq(n_fft, 1.0 / sr)
    edges = _mel_to_hz(np.linspace(_hz_to_mel(0.0), _hz_to_mel(sr / 2.0), n_mels + 2))
    widths = np.diff(edges)
    rising = (bins[None, :] - edges[:-2, None]) / widths[:-1, None]
    falling = (edges[2:, None] - bins[None, :]) / widths[1:, None]
    filters = np.maximum(0.0, np.minimum(rising, falling))
    filters *= (2.0 / (edges[2:] - edges[:-2]))[:, None]  # equal area per band
    return filters.astype(np.float32)


def onset_envelope(y, sr: float, hop: int = 512, n_fft: int = N_FFT) -> np.ndarray:
    """librosa's ``onset_strength`` with its defaults (see the module docstring, step 2), float32."""
    y = np.asarray(y, np.float32)
    padded = np.pad(y, (n_fft // 2, n_fft // 2))
    n_frames = 1 + (len(padded) - n_fft) // hop if len(padded) >= n_fft else 0
    if n_frames < 2:
        return np.zeros(max(n_frames, 0), np.float32)
    window = get_window("hann", n_fft, fftbins=True)
    basis = mel_filterbank(sr, n_fft)
    mel = np.empty((N_MELS, n_frames), np.float32)
    frames = np.lib.stride_tricks.sliding_window_view(padded, n_fft)[::hop]
    for start in range(0, n_frames, 1024):  # a block of frames at a time: memory does not grow with the audio
        block = np.fft.rfft(frames[start:start + 1024] * window, axis=1).astype(np.complex64)
        power = (block.real ** 2 + block.imag ** 2).astype(np.float32)
        mel[:, start:start + len(block)] = basis @ power.T
    db = 10.0 * np.log10(np.maximum(AMIN, mel))
    db = np.maximum(db, db.max() - TOP_DB)
    flux = np.maximum(0.0, db[:, 1:] - db[:, :-1]).mean(axis=0, dtype=np.float32)
    shift = 1 + n_fft // (2 * hop)
    return np.concatenate([np.zeros(shift, np.float32), flux])[:n_frames]


def pick_onsets(envelope, sr: float, hop: int, delta: float = DELTA) -> np.ndarray:
    """Onset frames of an onset envelope, librosa's ``onset_detect`` peak picking (step 3)."""
    x = np.asarray(envelope, np.float32)
    x = x - x.min() if x.size else x
    if not x.size or not x.any():
        return np.zeros(0, np.int64)
    x = x / (x.max() + np.finfo(np.float32).tiny)
    pre_max, post_max = int(0.03 * sr // hop), int(0.00 * sr // hop + 1)
    pre_avg, post_avg = int(0.10 * sr // hop), int(0.10 * sr // hop + 1)
    wait = int(0.03 * sr // hop)
    n = len(x)
    idx = np.arange(n)
    # Window sums through a cumulative sum (float64): the mean of x[max(0, i-pre) : min(n, i+post)].
    csum = np.concatenate([[0.0], np.cumsum(x, dtype=np.float64)])
    lo, hi = np.maximum(0, idx - pre_avg), np.minimum(n, idx + post_avg)
    above = x >= (csum[hi] - csum[lo]) / (hi - lo) + np.float32(delta)
    # x[n] must be the maximum of x[n - pre_max : n + post_max] (the window clipped at the ends).
    padded = np.concatenate([np.full(pre_max, -np.inf, np.float32), x, np.full(post_max - 1, -np.inf, np.float32)])
    local_max = x == np.lib.stride_tricks.sliding_window_view(padded, pre_max + post_max).max(axis=1)
    candidates = np.flatnonzero(local_max & above)
    if wait <= 0:
        return candidates
    picked, last = [], -np.inf
    for i in candidates:  # greedy: an onset silences the next `wait` frames
        if i > last + wait:
            picked.append(i)
            last = i
    return np.asarray(picked, np.int64)


def onset_times(y, sr: float, hop: int = 512) -> np.ndarray:
    """``librosa.onset.onset_detect(y=y, sr=sr, hop_length=hop, units="time")``."""
    return pick_onsets(onset_envelope(y, sr, hop), sr, hop) * hop / float(sr)


def emage_onsets(audio, sr: int, n_frames: int, fps: float, *, trim_s: float = 2.0, sr_out: int = 16_000,
                 hop: int = 512) -> np.ndarray:
    """EMAGE's audio beats for an item of ``n_frames`` motion frames: the audio loaded at 16 kHz,
    cut to [trim_s, (n_frames − trim frames) / fps) — ``y[2 * 16000 : int((t - 60) / 30 * 16000)]``
    in its test loop — and its onset times, in seconds from the cut's start."""
    y = load_like_librosa(audio, sr, sr_out)
    trim = int(round(trim_s * fps))
    start, stop = int(round(trim_s * sr_out)), int((n_frames - trim) / fps * sr_out)
    if stop - start < N_FFT:
        raise ValueError(f"audio: EMAGE's beat consistency drops {trim_s:g} s at each end; {n_frames} frames "
                         f"({n_frames / fps:.2f} s) leave no audio to detect onsets in")
    return onset_times(y[start:stop], sr_out, hop)
