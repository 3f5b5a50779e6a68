"""The runner: ``evaluate(task, data, submission) -> report``, the protocols that gather each item's
inputs (``protocols``: motion, video, retrieval), the streamed motion evaluation
(``motion_stream``) and the dataset items a task scores (``items``). Work runs in parallel through
``dyadbench.engine`` (local processes or Ray); every number comes from ``metrics.aggregate``.
"""

from .evaluate import evaluate

__all__ = ["evaluate"]
