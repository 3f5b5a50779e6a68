"""Pure metric functions on NumPy arrays: no file I/O, no model calls.

Every registered metric is a function here (``ffd``, ``paired_fd``, ``si_diversity``, ``recall_at_500``,
...): the registered convention's function (chosen by name), scored through the one engine
(``metrics.aggregate``), so it returns the value and interval ``evaluate`` reports on the same
items (``metrics.public``). The formula kernels they call live in one module per family
(``frechet``, ``listener``, ``gesture``, ``retrieval``, ``sync``, ``embedding``); the building
blocks below are re-exported for direct use.
"""

import types as _types

from .bootstrap import bootstrap_ci, bootstrap_mean_ci, percentile_interval
from .compare import paired_difference
from .embedding import perceptual_l2_per_clip, perceptual_l2_per_frame
from .frechet import FID_FEATURE_DIM, FrechetReference, RunningStats, fd_infinity, frechet_bootstrap, frechet_distance, frechet_distance_from_features
from .frechet_interval import frechet_delta_from_sums, frechet_interval
from .gesture import beat_consistency, kinematic_beats, random_pair_diversity, velocities
from .human import (
    binomial_test,
    fleiss_kappa,
    krippendorff_alpha_nominal,
    preference_by_group,
    preference_summary,
    wilson_interval,
)
from .listener import REACT_DIM_GROUPS, ccc, dtw_distance, l2_error, mse, temporal_variance
from .public import FUNCTIONS as _FUNCTIONS
from .retrieval import chance_recall_at_k, recall_at_k, retrieval_ranks
from .sync import offset_distances, sync_confidence, sync_scores

globals().update(_FUNCTIONS)  # ffd, fgd, fid, paired_fd, si_diversity, fr_corr, median_rank, ...: one per registered metric

__all__ = sorted(n for n, v in dict(globals()).items() if not n.startswith("_") and not isinstance(v, _types.ModuleType))
