"""An evaluation written to its result folder: ``report.json`` and ``report.html`` land together or
not at all (``report.output.result_folder``), and the folder a user named is never one holding
their own files or an input. The CLI's ``evaluate`` and the demo's lanes both call this."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

from .evaluate import evaluate


def evaluate_to_folder(task: str, data: Path, submission: Path, out: Path, *, system: str | None = None, n_boot: int = 200,
                       slice_boot: int = 50, seed: int = 0, engine: str = "local", workers: int | None = None,
                       device: str = "cpu", address: str | None = None, cache: Path | None = None,
                       conventions: dict | None = None, threads: int = 1, face_stride: int | None = None,
                       compare_to: dict | None = None, command: str | None = None,
                       progress: Callable[[int, int, str], None] | None = None) -> dict:
    from concurrent.futures import ThreadPoolExecutor
    from importlib import import_module

    from threadpoolctl import threadpool_limits

    from ..report.files import write_report
    from ..report.output import result_folder, scratch_folder
    from ..storage import cache_dir

    protect = (data, submission, cache if cache is not None else cache_dir())
    # The HTML report's plotting library (~0.9 s of imports) loads in a thread while the items are
    # scored: with worker processes this process only waits then.
    importer = ThreadPoolExecutor(1)
    html = importer.submit(import_module, "dyadbench.report.html")
    importer.shutdown(wait=False)  # the submitted import runs to its end
    with result_folder(out, protect) as tmp:  # locked; report.json and report.html land together or not at all
        # Many small matrix products: BLAS threads fight each other more than they help (3x slower on 2 cores).
        with threadpool_limits(limits=threads):
            report = evaluate(task, data, submission, system=system, n_boot=n_boot, slice_boot=slice_boot, seed=seed,
                              engine=engine, workers=workers, device=device, address=address,
                              cache_root=None if cache is None else str(cache), conventions=conventions, threads=threads,
                              progress=progress, face_stride=face_stride, scratch=scratch_folder(tmp))
        if command:
            report["command"] = command
        runs = [report]
        if compare_to is not None:
            from ..report.paired import compared_to

            report["compared_to"] = compared_to(report, compare_to)
            runs.append(compare_to)
        write_report(report, tmp)
        (tmp / "report.html").write_text(html.result().render(runs, title=f"{task}: {report['system']}",
                                                compare_to=compare_to["system"] if compare_to else "random"))
    return report
