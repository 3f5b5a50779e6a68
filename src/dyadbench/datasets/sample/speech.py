"""A two-person conversation script, speech-like audio aligned with its words, and motion tracks.

Turns alternate between the two people (with short backchannels from the listener). Each word
is voiced: a glottal pulse train at the speaker's pitch through three formant resonators per
syllable, under a smooth envelope — so energy-based VAD, pitch trackers, onset detectors and
MFCCs see speech-shaped signal exactly where the transcript puts the words. espeak-ng, when
installed, is not needed: the synthesizer keeps sample data deterministic across machines.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
from scipy.ndimage import gaussian_filter1d
from scipy.signal import lfilter

VOCABULARY = ["so", "I", "think", "the", "main", "thing", "is", "that", "we", "never", "really", "talked", "about", "it", "and", "honestly", "it", "was", "a", "surprise", "when", "you", "called", "me", "last", "week", "because", "I", "thought", "you", "were", "still", "travelling", "with", "your", "family", "in", "the", "mountains", "where", "the", "weather", "is", "always", "strange"]
BACKCHANNELS = ("yeah", "mhm", "right", "okay", "wow")
# How much a listener's slow affect follows its partner's (their correlation). Real listeners
# mirror partly; at 1 (the samples before) a listener was recoverable from its partner: median
# rank 1 for RealTalk's speaker nearest neighbour, a learned facial-motion model at 0.4x the mean
# baseline's L2 — sample data easier than the task it stands for.
MIMICRY = 0.5
# (F1, F2, F3) Hz of a few vowels.
VOWELS = np.array([[730, 1090, 2440], [270, 2290, 3010], [300, 870, 2240], [530, 1840, 2480], [570, 840, 2410]], float)


@dataclass
class Word:
    word: str
    start: float
    end: float
    score: float


@dataclass
class Segment:
    """One transcript segment (a turn or a backchannel) of one person."""

    speaker: int
    words: list[Word] = field(default_factory=list)

    @property
    def start(self) -> float:
        return self.words[0].start

    @property
    def end(self) -> float:
        return self.words[-1].end

    @property
    def text(self) -> str:
        return " ".join(w.word for w in self.words)


def conversation(seconds: float, rng: np.random.Generator, *, turn_range=(1.5, 4.0)) -> list[Segment]:
    """Alternating turns filling ``seconds``; the listener sometimes backchannels.

    Turns shrink for short recordings so that both people always get the floor at least once.
    """
    high = min(turn_range[1], max(0.5, seconds / 2 - 0.5))
    turn_range = (min(turn_range[0], 0.6 * high), high)
    segments: list[Segment] = []
    t, speaker = 0.2, int(rng.integers(0, 2))
    while t < seconds - 0.6:
        turn_end = min(seconds - 0.2, t + rng.uniform(*turn_range))
        seg = Segment(speaker)
        w = t
        while w < turn_end - 0.25:
            dur = rng.uniform(0.18, 0.45)
            word = VOCABULARY[int(rng.integers(0, len(VOCABULARY)))]
            seg.words.append(Word(word, round(w, 3), round(min(w + dur, turn_end), 3), round(float(rng.uniform(0.7, 1.0)), 3)))
            w += dur + rng.uniform(0.04, 0.15)
        if seg.words:
            segments.append(seg)
            if seg.end - seg.start > 2.0 and rng.random() < 0.5:  # a backchannel mid-turn
                b = rng.uniform(seg.start + 0.5, seg.end - 0.6)
                segments.append(Segment(1 - speaker, [Word(str(rng.choice(BACKCHANNELS)), round(b, 3), round(b + 0.3, 3), 0.9)]))
        t = turn_end + rng.uniform(0.2, 0.6)
        speaker = 1 - speaker
    return sorted(segments, key=lambda s: s.start)


def synthesize(segments: list[Segment], speaker: int, seconds: float, sample_rate: int, f0: float, rng: np.random.Generator) -> np.ndarray:
    """Float32 audio of ``speaker``'s words (silence elsewhere, a faint noise floor)."""
    n = int(round(seconds * sample_rate))
    out = rng.normal(0.0, 2e-4, n)
    for seg in segments:
        if seg.speaker != speaker:
            continue
        for word in seg.words:
            a, b = int(word.start * sample_rate), min(n, int(word.end * sample_rate))
            if b - a < 32:
                continue
            out[a:b] += _voiced(b - a, sample_rate, f0 * rng.uniform(0.9, 1.15), rng)
    return np.clip(out, -1, 1).astype(np.float32)


def _voiced(length: int, sr: int, f0: float, rng: np.random.Generator) -> np.ndarray:
    """One word: 1-3 syllables of a pulse train through vowel formants."""
    n_syll = int(rng.integers(1, 4))
    bounds = np.linspace(0, length, n_syll + 1).astype(int)
    out = np.zeros(length)
    for a, b in zip(bounds[:-1], bounds[1:]):
        t = np.arange(b - a) / sr
        pitch = f0 * (1.0 + 0.08 * np.sin(2 * np.pi * 3.0 * t))
        phase = np.cumsum(pitch / sr)
        source = (np.diff(np.floor(phase), prepend=0.0) > 0).astype(float)  # one pulse per period
        sig = source
        for formant, bw in zip(VOWELS[int(rng.integers(0, len(VOWELS)))], (80.0, 120.0, 160.0)):
            r = np.exp(-np.pi * bw / sr)
            theta = 2 * np.pi * formant / sr
            sig = lfilter([1 - r], [1, -2 * r * np.cos(theta), r * r], sig)
        env = np.sin(np.pi * np.linspace(0, 1, b - a)) ** 0.6
        out[a:b] = sig * env
    peak = np.max(np.abs(out)) or 1.0
    return 0.5 * out / peak


def envelope_per_frame(audio: np.ndarray, sample_rate: int, fps: float, n_frames: int) -> np.ndarray:
    """RMS per video frame, scaled to [0, 1] by its 99th percentile (drives the mouth)."""
    hop = sample_rate / fps
    rms = np.array([np.sqrt(np.mean(audio[int(i * hop) : max(int((i + 1) * hop), int(i * hop) + 1)] ** 2)) for i in range(n_frames)])
    ref = np.percentile(rms, 99) or 1.0
    return np.clip(rms / ref, 0.0, 1.0)


def speaking_mask(segments: list[Segment], speaker: int, fps: float, n_frames: int) -> np.ndarray:
    mask = np.zeros(n_frames, bool)
    for seg in segments:
        if seg.speaker == speaker:
            mask[int(seg.start * fps) : int(np.ceil(seg.end * fps))] = True
    return mask


def head_track(n_frames: int, fps: float, speaking: np.ndarray, rng: np.random.Generator) -> dict[str, np.ndarray]:
    """Smooth yaw/pitch/roll (degrees): livelier while speaking, nods while listening."""
    t = np.arange(n_frames) / fps
    smooth = lambda scale, sigma: gaussian_filter1d(rng.normal(0, 1, n_frames), sigma * fps) * scale * np.sqrt(sigma * fps)
    gain = np.where(speaking, 1.0, 0.5)
    nod = np.where(speaking, 0.0, 4.0 * np.sin(2 * np.pi * 1.6 * t) * (np.sin(2 * np.pi * 0.2 * t) > 0.3))
    return {
        "yaw": np.clip(smooth(5.0, 0.6) * gain, -25, 25),
        "pitch": np.clip(smooth(3.0, 0.5) * gain + nod, -15, 15),
        "roll": np.clip(smooth(2.5, 0.8) * gain, -10, 10),
    }


def _unit_scale(x: np.ndarray) -> np.ndarray:
    """``x`` divided by its standard deviation per column — or by its root mean square where the
    series is all offset (std under 2 % of the RMS: a series shorter than the smoothing window,
    as in a 1-second sample, whose std of 1e-3 under an offset of 0.3 made values in the hundreds
    and NaN emotion scores after the softmax). Every series that did not blow up keeps its
    values: the samples' data are unchanged for them."""
    std = x.std(axis=0, keepdims=True)
    rms = np.sqrt((x * x).mean(axis=0, keepdims=True))
    return x / np.where(std > 0.02 * rms, std + 1e-9, rms + 1e-9)


def shared_affect(n_frames: int, fps: float, rng: np.random.Generator, *, lag_s: float = 0.4,
                  coupling: float = 1.0, own_rng: np.random.Generator | None = None) -> tuple[np.ndarray, np.ndarray]:
    """A slowly varying 2-d affect both people share, the second following the first with a lag
    (mimicry): the dyadic coupling that paired metrics and retrieval baselines can exploit.

    ``coupling`` < 1: the follower's affect is only that correlated with the leader's (the rest
    its own, drawn from ``own_rng``), as real listeners mirror a speaker partly — a listener is then
    not recoverable from its speaker. ``rng`` is drawn from as before, so everything else a sample
    generator draws after it (turns, words, the clips they make) stays as it was."""
    lag = int(round(lag_s * fps))
    smooth = lambda g: gaussian_filter1d(g.normal(0, 1, (n_frames + lag, 2)), 0.8 * fps, axis=0)
    raw = _unit_scale(smooth(rng))
    follower = raw[:n_frames]
    if coupling < 1.0:
        own = _unit_scale(smooth(own_rng if own_rng is not None else rng)[:n_frames])
        follower = coupling * follower + np.sqrt(1.0 - coupling**2) * own
    return raw[lag:], follower
