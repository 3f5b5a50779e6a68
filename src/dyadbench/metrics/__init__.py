"""Pure metric functions on NumPy arrays: no file I/O, no model calls.

One module per family; everything a task uses is re-exported here.
"""

import types as _types

from .bootstrap import bootstrap_ci, bootstrap_mean_ci, percentile_interval
from .embedding import perceptual_l2_per_clip, perceptual_l2_per_frame
from .frechet import (
    FID_FEATURE_DIM,
    FrechetReference,
    RunningStats,
    fd_infinity,
    ffd,
    fgd,
    fid_from_features,
    frechet_bootstrap,
    frechet_distance,
    frechet_distance_from_features,
)
from .frechet_interval import frechet_interval
from .gesture import (
    beat_consistency,
    fd_kinetic,
    fd_static,
    kinematic_beats,
    random_pair_diversity,
    velocities,
)
from .human import (
    binomial_test,
    fleiss_kappa,
    krippendorff_alpha_nominal,
    preference_by_group,
    preference_summary,
    wilson_interval,
)
from .listener import (
    REACT_DIM_GROUPS,
    ccc,
    dtw_distance,
    fr_corr,
    fr_dist,
    fr_div,
    fr_dvs,
    fr_syn,
    fr_var,
    l2_error,
    mse,
    paired_fd,
    si_diversity,
    temporal_variance,
)
from .retrieval import (
    chance_recall_at_k,
    mean_rank,
    median_rank,
    mrr,
    recall_at_k,
    retrieval_ranks,
)
from .sync import offset_distances, sync_confidence, sync_scores

__all__ = sorted(n for n, v in dict(globals()).items() if not n.startswith("_") and not isinstance(v, _types.ModuleType))
