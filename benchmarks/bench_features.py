"""Feature extraction costs on one clip, side by side in one run.

1. Decode only vs decode + each extractor (frames/s and ratio to decode).
2. All non-neural work (landmark geometry, gesture geometry, box smoothing, face crops, audio
   resampling and MFCC) as a fraction of decode time.
3. The in-memory Sync pipeline (decode once -> detect -> crop -> SyncNet) vs a frames-to-JPEG
   pipeline in syncnet_python's style (every frame written to and read back from JPEG files,
   detection on the read-back frames, crops written to and read back from JPEG files, then the
   same SyncNet). SyncNet uses random weights of the official architecture: timing does not
   depend on the weights' values.

4. ``--networks [--device cuda]``: each network the video and retrieval tasks run (random weights
   of the official architecture: time does not depend on their values), one batch of its own batch
   size for that device, and the 1080p resize the FID and FVD recipes do before it: ms per input
   (frame, SyncNet 5-frame window, I3D 16-frame clip) and per video frame.

Run: .venv/bin/python benchmarks/bench_features.py [--seconds 8] [--width 640 --height 360]
     .venv/bin/python benchmarks/bench_features.py --networks [--device cuda] [--threads 1]
"""

from __future__ import annotations

import argparse
import tempfile
from pathlib import Path

import numpy as np
from _timing import best_of, timed
from PIL import Image


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--seconds", type=float, default=8.0)
    ap.add_argument("--width", type=int, default=640)
    ap.add_argument("--height", type=int, default=360)
    ap.add_argument("--networks", action="store_true", help="time the networks alone (section 4)")
    ap.add_argument("--device", default="cpu")
    ap.add_argument("--threads", type=int, default=1)
    args = ap.parse_args()
    if args.networks:
        return networks(args.device, args.threads)

    import torch

    from dyadbench.datasets import media
    from dyadbench.datasets.sample.seamless_sample import write_seamless_sample
    from dyadbench.datasets.seamless import SeamlessInteraction
    from dyadbench.features.audio import mfcc_syncnet, resample
    from dyadbench.features.landmarks import FaceDetector
    from dyadbench.features.motion import face_motion_features, gesture_features
    from dyadbench.features.nets.syncnet import SyncNet
    from dyadbench.features.sync import (
        SyncNetScorer,
        crop_faces,
        ffmpeg_r25_indices,
        smooth_boxes,
    )
    from dyadbench.features.video import (
        FaceBoxes,
        FaceIdentity,
        FaceMotion,
        Gesture,
        extract_video,
    )

    torch.set_num_threads(max(1, torch.get_num_threads()))
    tmp = Path(tempfile.mkdtemp())
    write_seamless_sample(tmp, dyads=1, seconds=args.seconds, width=args.width, height=args.height)
    p = next(SeamlessInteraction(tmp, label="improvised", split="train").participants())
    video = p.store.path(p.member("mp4"))
    n = p.video_info.frames
    print(f"clip: {n} frames, {args.width}x{args.height}, {args.seconds:g} s at 30 fps\n")

    t_decode, _ = timed(lambda: sum(len(b) for b in media.iter_frames(video, batch_size=32)))
    rows = [("decode only", t_decode)]
    outputs = {}
    for ex in (FaceBoxes(), FaceMotion(), Gesture(), FaceIdentity(upsample=0)):
        t, out = timed(lambda ex=ex: extract_video(video, [ex], batch_size=32))
        outputs.update(out)
        rows.append((f"decode + {ex.name}", t))
    t_all, _ = timed(lambda: extract_video(video, [FaceBoxes(), FaceMotion(), Gesture()], batch_size=32))
    rows.append(("decode once + face_boxes + face_motion + gesture", t_all))
    print("| pipeline | seconds | frames/s | ratio to decode |\n|---|---|---|---|")
    for name, t in rows:
        print(f"| {name} | {t:.2f} | {n / t:.1f} | {t / t_decode:.1f}x |")

    frames = np.concatenate(list(media.iter_frames(video)))
    audio, sr = p.audio()
    lm = outputs["face_motion"]["landmarks"]
    pose, hands = outputs["gesture"]["pose"], outputs["gesture"]["hands"]
    boxes = outputs["face_boxes"]["boxes"]
    keep = ffmpeg_r25_indices(n, 30.0)
    parts = {
        "face-motion geometry": lambda: face_motion_features(lm),
        "gesture geometry": lambda: gesture_features(pose, hands),
        "box smoothing + 224 crops": lambda: crop_faces(frames[keep], smooth_boxes(boxes[keep])),
        "resample 48k->16k + MFCC": lambda: mfcc_syncnet(resample(audio, sr, 16000)),
    }
    print("\n| non-neural step | seconds | share of decode time |\n|---|---|---|")
    total = 0.0
    for name, fn in parts.items():
        t, _ = timed(fn)
        total += t
        print(f"| {name} | {t:.3f} | {100 * t / t_decode:.0f} % |")
    print(f"| **all non-neural work** | {total:.3f} | **{100 * total / t_decode:.0f} %** |")

    torch.manual_seed(0)
    scorer = SyncNetScorer.__new__(SyncNetScorer)
    scorer.net, scorer.device, scorer.batch_size, scorer.max_offset, scorer.detector = SyncNet().eval(), "cpu", 16, 15, FaceDetector()

    def ours():
        fr = np.concatenate(list(media.iter_frames(video)))[keep]
        crops = crop_faces(fr, smooth_boxes(scorer.detector(fr)))
        return scorer.embeddings(crops, resample(audio, sr, 16000))

    def jpeg_pipeline():
        work = Path(tempfile.mkdtemp())
        for i, frame in enumerate(np.concatenate(list(media.iter_frames(video)))[keep]):
            Image.fromarray(frame).save(work / f"{i:06d}.jpg", quality=95)
        files = sorted(work.glob("*.jpg"))
        read = np.stack([np.asarray(Image.open(f)) for f in files])
        crops = crop_faces(read, smooth_boxes(scorer.detector(read)))
        (work / "crops").mkdir()
        for i, c in enumerate(crops):
            Image.fromarray(c).save(work / "crops" / f"{i:06d}.jpg", quality=95)
        crops = np.stack([np.asarray(Image.open(f)) for f in sorted((work / "crops").glob("*.jpg"))])
        # syncnet_python stacks 5-frame windows; we give it the same per-window network calls.
        video_t = torch.from_numpy(crops.transpose(3, 0, 1, 2).astype(np.float32))
        n_win = min(len(crops), len(audio) * 16000 // sr // 640) - 5
        with torch.inference_mode():
            v = torch.cat([scorer.net.forward_lip(torch.stack([video_t[:, t : t + 5] for t in range(i, min(i + 16, n_win))]))
                           for i in range(0, n_win, 16)])
        mfcc = mfcc_syncnet(resample(audio, sr, 16000))
        a = scorer.net.forward_aud(torch.from_numpy(np.stack([mfcc[4 * t : 4 * t + 20].T[None] for t in range(n_win)])))
        return v, a

    t_ours, _ = timed(ours)
    t_jpeg, _ = timed(jpeg_pipeline)
    print("\n| Sync pipeline | seconds | ratio |\n|---|---|---|")
    print(f"| in memory (ours) | {t_ours:.2f} | 1.0x |")
    print(f"| frames to JPEG files | {t_jpeg:.2f} | {t_jpeg / t_ours:.2f}x slower |")


# network -> (input shape without the batch axis, video frames one input stands for, forward method)
NETWORK_INPUTS = {
    "fid_inception": ((3, 299, 299), 1, "forward"), "syncnet": ((3, 5, 224, 224), 1, "forward_lip"),
    "facenet512": ((3, 160, 160), 1, "forward"), "facenet128": ((3, 160, 160), 1, "forward"),
    "vggface": ((3, 224, 224), 1, "forward"), "deepface": ((3, 152, 152), 1, "forward"),
    "i3d": ((3, 16, 224, 224), 16, "forward"),
}


def networks(device: str, threads: int) -> None:
    import torch
    import torch.nn.functional as F

    from dyadbench.features.models import BATCH_SIZES, _builders, pick_device, videogpt_preprocess

    device = pick_device(device)
    torch.set_num_threads(threads)
    sizes = BATCH_SIZES["cuda" if device.startswith("cuda") else "cpu"]
    sync = (lambda: torch.cuda.synchronize()) if device.startswith("cuda") else (lambda: None)
    print(f"device {device}, {threads} CPU thread(s)\n")
    print("| network | batch | ms / input | ms / video frame | video frames / s |\n|---|---:|---:|---:|---:|")
    for name, (shape, frames_per_input, method) in NETWORK_INPUTS.items():
        torch.manual_seed(0)
        net = _builders()[name]().eval().to(device)
        batch = sizes[name]
        x = torch.rand((batch, *shape), device=device)
        fn = getattr(net, method)

        def run():
            with torch.inference_mode():
                fn(x)
            sync()

        seconds, _ = best_of(run, repeats=2)
        per_input = 1000 * seconds / batch
        per_frame = per_input / frames_per_input
        print(f"| {name} | {batch} | {per_input:.1f} | {per_frame:.1f} | {1000 / per_frame:.0f} |")
    frame = np.random.default_rng(0).integers(0, 256, (1080, 1920, 3), np.uint8)
    resize_fid = lambda: F.interpolate(torch.from_numpy(frame).permute(2, 0, 1)[None].float() / 255, size=(299, 299),
                                       mode="bilinear", align_corners=False)
    print("\n| 1080p frame preprocessing (CPU) | ms / frame |\n|---|---:|")
    for label, fn in (("FID: to float, bilinear to 299", resize_fid),
                      ("FVD: VideoGPT recipe (shorter side to 224, crop)", lambda: videogpt_preprocess(frame[None]))):
        seconds, _ = best_of(fn, repeats=5)
        print(f"| {label} | {1000 * seconds:.1f} |")


if __name__ == "__main__":
    main()
