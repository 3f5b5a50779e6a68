"""``dyadbench demo``: the main job on generated sample data, in two parallel lanes.

Lane "seamless" writes the features-only motion sample, trains the learned facial-motion and
gesture baselines and evaluates every motion baseline; lane "realtalk+video" writes the RealTalk
sample (the slowest step: rendering), trains the learned listener, evaluates every retrieval
baseline, then the small video task (measured: the lanes end within ~30 s of each other). Each lane is one process with one BLAS/torch thread, so two
cores are both busy; the parent prints each lane's steps as they finish and every report after.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from concurrent.futures import ProcessPoolExecutor
from pathlib import Path

DEMO_DYADS, DEMO_SECONDS = 15, 10.0  # per label and split: 34 facial-motion and 54 gesture test items (the release's faults written in leave out 30 and 6)
DEMO_VIDEOS, DEMO_VIDEO_SECONDS = 33, 46.1  # 95 clips of 15.36 s with a clear speaker, 20 retrieval queries
DEMO_FACE_STRIDE = 96  # perceptual L2: 4 frames a clip (dlib's descriptor costs ~0.14 s a frame on these cores)
# Learned baselines: bounded epochs (not wall time), so the demo's checkpoints are reproducible.
DEMO_TRAIN = {"seamless/facial-motion": {"epochs": 20, "hidden": 64, "window": 64},
              "seamless/gesture": {"epochs": 20, "hidden": 64, "window": 64},
              "realtalk/listener-retrieval": {"epochs": 20, "hidden": 64, "window": 96}}

_queue = None


def _init_lane(queue) -> None:
    global _queue
    _queue = queue
    import torch
    from threadpoolctl import threadpool_limits

    torch.set_num_threads(1)
    threadpool_limits(1)


def _say(lane: str, what: str, seconds: float) -> None:
    if _queue is not None:
        _queue.put((lane, what, seconds))


class _Lane:
    def __init__(self, name: str, out: Path, seed: int, bootstrap: int, slice_bootstrap: int):
        self.name, self.out, self.seed = name, out, seed
        self.bootstrap, self.slice_bootstrap = bootstrap, slice_bootstrap
        self.reports: list[tuple[str, str, dict]] = []
        self.timings: dict[str, float] = {}

    def step(self, label: str, fn: Callable, *args, about: str = "", **kwargs):
        """``label`` keys the time summary (summed over calls); ``about`` (e.g. the baseline) is only said."""
        t = time.perf_counter()
        result = fn(*args, **kwargs)
        dt = time.perf_counter() - t
        self.timings[label] = self.timings.get(label, 0.0) + dt
        _say(self.name, f"{label} {about}".rstrip(), dt)
        return result

    def task(self, task, root: Path, face_stride: int | None = None, learned: bool = True) -> None:
        """Every declared baseline (and, when ``learned``, a briefly trained model) written and evaluated."""
        from .baselines import LEARNED, run_baseline
        from .runner.to_folder import evaluate_to_folder
        from .training.trainer import TrainConfig, train

        folder = task.name.replace("/", "__")
        run = self.out / "runs" / folder / "learned-model"
        if learned:
            self.step(f"{task.name}: train learned", train, root, run,
                      TrainConfig(task=task.name, seed=self.seed, **DEMO_TRAIN[task.name]))
        for name in (*task.baselines, *([LEARNED] if learned else [])):
            sub = self.out / "submissions" / folder / name
            self.step(f"{task.name}: baselines", run_baseline, task.name, name, root, sub, self.seed, run, about=name)
            report = self.step(f"{task.name}: evaluate", evaluate_to_folder, task.name, root, sub, self.out / "runs" / folder / name,
                               about=name,
                               system=name, n_boot=self.bootstrap, slice_boot=self.slice_bootstrap, seed=self.seed,
                               engine="local", workers=1, device="cpu", face_stride=face_stride)
            self.reports.append((task.name, name, report))


def _seamless_lane(out: Path, seed: int, bootstrap: int, slice_bootstrap: int):
    from .datasets.sample.seamless_sample import write_seamless_sample
    from .tasks.registry import list_tasks

    lane = _Lane("seamless", out, seed, bootstrap, slice_bootstrap)
    root = out / "data" / "seamless-features"
    if not (root / "assets").exists():
        lane.step("sample seamless (features)", write_seamless_sample, root, dyads=DEMO_DYADS, seconds=DEMO_SECONDS, seed=seed,
                  layout="files", video=False, splits=("train", "test"), faults=True)  # the release's faults, counted in each report
    for task in list_tasks():
        if task.protocol == "motion":
            lane.task(task, root)
    return lane.reports, lane.timings


def _realtalk_video_lane(out: Path, seed: int, bootstrap: int, slice_bootstrap: int):
    from .datasets.sample.realtalk_sample import write_realtalk_sample
    from .datasets.sample.seamless_sample import write_seamless_sample
    from .tasks.registry import list_tasks

    lane = _Lane("realtalk+video", out, seed, bootstrap, slice_bootstrap)
    rt_root = out / "data" / "realtalk"
    if not (rt_root / "annotations.tar.gz").exists():
        lane.step("sample realtalk", write_realtalk_sample, rt_root, videos=DEMO_VIDEOS, seconds=DEMO_VIDEO_SECONDS, seed=seed,
                  width=320, height=180)
    for task in list_tasks():
        if task.protocol == "retrieval":
            lane.task(task, rt_root, face_stride=DEMO_FACE_STRIDE)
    video_root = out / "data" / "seamless"
    if not (video_root / "assets").exists():
        lane.step("sample seamless (video)", write_seamless_sample, video_root, dyads=1, seconds=4.0, seed=seed, splits=("test",))
    for task in list_tasks():
        if task.protocol == "video":  # the small video task: no learned baseline (it generates pixels)
            lane.task(task, video_root, learned=False)
    return lane.reports, lane.timings


def run_demo(out: Path, seed: int, bootstrap: int, slice_bootstrap: int,
             on_step: Callable[[str, str, float], None] = lambda lane, what, s: None) -> tuple[list[dict], dict[str, float]]:
    """Both lanes in parallel; returns the reports in task order (baselines as declared, then
    learned) and the seconds per step."""
    import multiprocessing as mp
    import queue as queue_module

    from .tasks.registry import list_tasks

    out.mkdir(parents=True, exist_ok=True)
    ctx = mp.get_context("spawn")  # torch and BLAS pools do not survive fork well
    queue = ctx.Queue()
    with ProcessPoolExecutor(2, mp_context=ctx, initializer=_init_lane, initargs=(queue,)) as pool:
        futures = [pool.submit(lane, out, seed, bootstrap, slice_bootstrap) for lane in (_realtalk_video_lane, _seamless_lane)]
        while not all(f.done() for f in futures):
            try:
                on_step(*queue.get(timeout=0.5))
            except queue_module.Empty:  # nothing finished in the last half second
                pass
        results = [f.result() for f in futures]  # re-raises a lane's error here
    while not queue.empty():
        on_step(*queue.get())
    by_key = {(t, n): r for reports, _ in results for t, n, r in reports}
    timings = {k: v for _, t in results for k, v in t.items()}
    order = [(t.name, n) for t in list_tasks() for n in (*t.baselines, "learned")]
    return [by_key[k] for k in order if k in by_key], timings
