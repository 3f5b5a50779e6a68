"""Video and audio I/O: PyAV for video (header probes and streamed decoding), soundfile for WAV.

Sources are paths or in-memory bytes (WebDataset samples, tar members); nothing is written to
disk and frames are never re-encoded.
"""

from __future__ import annotations

import io
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from fractions import Fraction
from pathlib import Path
from typing import BinaryIO, Union

import av
import numpy as np
import soundfile as sf

from .errors import DatasetError

Source = Union[str, Path, bytes, BinaryIO]  # a path, in-memory bytes or a seekable binary file


def _open(src: Source):
    if isinstance(src, (bytes, bytearray, memoryview)):
        return io.BytesIO(src)
    return src if hasattr(src, "read") else str(src)


def _size(src: Source) -> int:
    if isinstance(src, (bytes, bytearray, memoryview)):
        return len(src)
    if hasattr(src, "seek"):
        size = src.seek(0, io.SEEK_END)
        src.seek(0)
        return size
    return Path(src).stat().st_size


def _label(src: Source, label: str | None) -> str:
    return label or (f"<{len(src)} bytes>" if isinstance(src, (bytes, bytearray)) else str(src))


@dataclass(frozen=True)
class VideoInfo:
    fps: float
    frames: int
    width: int
    height: int
    codec: str

    @property
    def seconds(self) -> float:
        return self.frames / self.fps if self.fps else 0.0


def probe_video(src: Source, label: str | None = None) -> VideoInfo:
    """Read fps, frame count, size and codec from the container headers (no full decode)."""
    name = _label(src, label)
    if _size(src) == 0:
        raise DatasetError(name, "video file is empty (0 bytes)")
    try:
        with av.open(_open(src)) as container:
            if not container.streams.video:
                raise DatasetError(name, "container has no video stream")
            stream = container.streams.video[0]
            rate = stream.average_rate or stream.guessed_rate
            fps = float(rate) if rate else 0.0
            frames = int(stream.frames or 0)
            if frames == 0 and stream.duration is not None and stream.time_base is not None and fps:
                frames = int(round(float(stream.duration * stream.time_base) * fps))
            if frames == 0 and container.duration and fps:
                frames = int(round(container.duration / av.time_base * fps))
            return VideoInfo(fps, frames, stream.codec_context.width, stream.codec_context.height, stream.codec_context.name)
    except DatasetError:
        raise
    except (av.error.FFmpegError, OSError, ValueError) as exc:
        raise DatasetError(name, f"cannot be read as video ({exc})") from exc


@contextmanager
def _video_stream(src: Source, name: str, threads: int = 0):
    """The open container and its first video stream (threaded decoding: ``threads`` decoder
    threads, 0 = FFmpeg's choice, one per core)."""
    with av.open(_open(src)) as container:
        if not container.streams.video:
            raise DatasetError(name, "container has no video stream")
        stream = container.streams.video[0]
        stream.codec_context.thread_count = int(threads)
        stream.thread_type = "AUTO"
        yield container, stream


def iter_frames(
    src: Source, *, batch_size: int = 64, start: int = 0, stop: int | None = None, label: str | None = None, step: int = 1,
    threads: int = 0,
) -> Iterator[np.ndarray]:
    """Decode RGB frames [start, stop) once, yielding uint8 batches of shape (B, H, W, 3); with
    ``step`` only frames start, start + step, ... are converted to RGB (the rest are decoded, as
    a codec must, but never copied). ``threads``: decoder threads (0 = one per core; a worker of
    a pool uses 1, so N workers do not run N x cores decoder threads)."""
    name = _label(src, label)
    batch: list[np.ndarray] = []
    try:
        with _video_stream(src, name, threads) as (container, stream):
            for index, frame in enumerate(container.decode(stream)):
                if index < start:
                    continue
                if stop is not None and index >= stop:
                    break
                if (index - start) % step:
                    continue
                batch.append(frame.to_ndarray(format="rgb24"))
                if len(batch) == batch_size:
                    yield np.stack(batch)
                    batch = []
    except DatasetError:
        raise
    except (av.error.FFmpegError, OSError) as exc:
        raise DatasetError(name, f"video decoding failed ({exc})") from exc
    if batch:
        yield np.stack(batch)


def count_decoded_frames(src: Source, label: str | None = None) -> int:
    """Frames that actually decode (no colour conversion): a file cut short keeps the header count
    of the whole file ("faststart" index at the front) but decodes fewer."""
    name = _label(src, label)
    count = 0
    try:
        with _video_stream(src, name) as (container, stream):
            for _ in container.decode(stream):
                count += 1
    except DatasetError:
        raise
    except (av.error.FFmpegError, OSError):
        pass  # what decoded before the damage is the count
    return count


def read_frames(src: Source, *, start: int = 0, stop: int | None = None, label: str | None = None) -> np.ndarray:
    chunks = list(iter_frames(src, start=start, stop=stop, label=label))
    if not chunks:
        raise DatasetError(_label(src, label), f"no frames decoded in [{start}, {stop})")
    return np.concatenate(chunks)


def write_video(path: Path, frames: Iterator[np.ndarray] | np.ndarray, *, fps: Fraction | int, codec: str = "libx264",
                pix_fmt: str = "yuv420p", options: dict | None = None, audio: tuple[np.ndarray, int] | None = None) -> None:
    """Encode RGB uint8 frames; used by the sample generator, baselines that render video and study
    clips. ``audio`` (mono float samples in [-1, 1], sample rate) adds an AAC track."""
    with av.open(str(path), mode="w") as container:
        stream = None
        sound = None
        for frame in frames:
            if stream is None:
                stream = container.add_stream(codec, rate=fps)
                stream.width, stream.height = frame.shape[1], frame.shape[0]
                stream.pix_fmt = pix_fmt
                if options:
                    stream.options = options
                if audio is not None:  # after the video stream: players and readers take stream 0 as the picture
                    sound = container.add_stream("aac", rate=int(audio[1]))
                    sound.layout = "mono"
            for packet in stream.encode(av.VideoFrame.from_ndarray(np.ascontiguousarray(frame), format="rgb24")):
                container.mux(packet)
        if stream is not None:
            for packet in stream.encode():
                container.mux(packet)
        if sound is not None:
            samples = np.clip(np.asarray(audio[0], np.float32).reshape(-1), -1, 1)
            for start in range(0, len(samples), 1024):  # AAC frames hold 1024 samples
                chunk = av.AudioFrame.from_ndarray(samples[None, start : start + 1024], format="flt", layout="mono")
                chunk.sample_rate, chunk.pts = int(audio[1]), start
                for packet in sound.encode(chunk):
                    container.mux(packet)
            for packet in sound.encode():
                container.mux(packet)


@dataclass(frozen=True)
class AudioInfo:
    sample_rate: int
    frames: int
    channels: int
    subtype: str

    @property
    def seconds(self) -> float:
        return self.frames / self.sample_rate


def probe_audio(src: Source, label: str | None = None) -> AudioInfo:
    name = _label(src, label)
    try:
        info = sf.info(_open(src))
    except (RuntimeError, sf.LibsndfileError, OSError) as exc:
        raise DatasetError(name, f"cannot be read as audio ({exc})") from exc
    return AudioInfo(int(info.samplerate), int(info.frames), int(info.channels), str(info.subtype))


def read_audio(src: Source, label: str | None = None) -> tuple[np.ndarray, int]:
    """Float32 mono samples in [-1, 1] and the sample rate (channels are averaged)."""
    name = _label(src, label)
    try:
        data, sr = sf.read(_open(src), dtype="float32", always_2d=True)
    except (RuntimeError, sf.LibsndfileError, OSError) as exc:
        raise DatasetError(name, f"cannot be read as audio ({exc})") from exc
    return data.mean(axis=1), int(sr)


def read_video_audio(src: Source, label: str | None = None) -> tuple[np.ndarray, int] | None:
    """A video file's first audio track as float32 mono samples and its rate; ``None`` when it has
    none (soundfile reads no mp4, so the track is decoded with PyAV)."""
    name = _label(src, label)
    try:
        with av.open(_open(src)) as container:
            if not container.streams.audio:
                return None
            stream = container.streams.audio[0]
            resampler = av.AudioResampler(format="flt", layout="mono", rate=stream.rate)
            chunks = [f.to_ndarray().reshape(-1) for frame in container.decode(stream) for f in resampler.resample(frame)]
            chunks += [f.to_ndarray().reshape(-1) for f in resampler.resample(None)]
            rate = int(stream.rate)
    except av.FFmpegError as exc:
        raise DatasetError(name, f"cannot decode its audio track ({exc})") from exc
    return (np.concatenate(chunks).astype(np.float32) if chunks else np.zeros(0, np.float32)), rate


def write_wav(path_or_buffer, samples: np.ndarray, sample_rate: int, subtype: str = "PCM_16") -> None:
    sf.write(path_or_buffer, np.clip(samples, -1.0, 1.0), sample_rate, subtype=subtype, format="WAV")
