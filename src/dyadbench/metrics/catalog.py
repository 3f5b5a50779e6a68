"""The registered metrics of both benchmarks, each with its named conventions.

Each convention names the reference code it reproduces (repository @ commit, file). The default
convention of every metric is listed in the README's metric-conventions table (generated from this
file by ``dyadbench metrics``).
"""

from __future__ import annotations

import numpy as np

from . import emage_beats as EB
from . import genea_emage as GE
from . import motion as MM
from . import motion_fd as MF
from .embedding import perceptual_l2_item
from .spec import Convention, MetricSpec, Streaming, register_metric
from .retrieval import (
    chance_recall_at_k,
    delta_median_rank,
    k_for_bank,
    mean_rank,
    median_rank,
    moved_share,
    mrr,
    recall_at_k_for_bank,
)
from .sync import sync_confidence

L2L = "evonneng/learning2listen @ a0825d5, src/test_vq_decoder.py"
LML = "sanjayss34/lm-listener @ 53ce4ec, evaluate_listener.py"
DIM = "Boese0601/Dyadic-Interaction-Modeling @ 9fc92f7, code/metrics/eval_utils.py + code/test_l2l.py"
REACT = "reactmultimodalchallenge/baseline_react2023 @ c5a8ff8 (= baseline_react2024 @ 0c3ce58), metric/"
A2P = "facebookresearch/audio2photoreal @ 449761e, utils/eval.py"
VIDEOGPT_FVD = ("wilson1yan/VideoGPT @ 733d2b1, videogpt/fvd/fvd.py (get_fvd_logits, frechet_distance), "
                "videogpt/fvd/pytorch_i3d.py, videogpt/data.py (preprocess)")
PYTORCH_FID = "mseitzer/pytorch-fid, fid_score.py (pooled pool3 statistics)"
SYNCNET = "joonson/syncnet_python @ 6efbb1c, SyncNetInstance.py (calc_pdist + evaluate)"
GENEA = "Svito-zar/genea_numerical_evaluations"
EMAGE = "PantoMatrix/PantoMatrix @ 0bbb03d, emage_evaltools/mertic.py"
ON_FEATURES = "on the task's features as 3-value joint groups (the reference uses joint positions; no body model ships here)"

MOTION = {"generated": "generated", "reference": "reference", "valid": "valid"}
STATS = {"mean": "mean", "std": "std"}


FD_STREAM = Streaming(MF.fd_item_stats, MF.fd_finish, reference_part=MF.fd_reference_sums)


def _fd_conventions(pooled_reference: str) -> dict:
    return {
        "pooled": Convention(MF.fd_set, False, "FD between all valid frames of all items (sample 0), pooled",
                             pooled_reference + ", one sample", interval="frechet", stream=FD_STREAM),
        "audio2photoreal": Convention(MF.fd_set, False, "every sample's valid frames pooled against the ground truth "
                                      "repeated once per sample (equals 'pooled' for one sample)", pooled_reference,
                                      {"samples": "all"}, interval="frechet", stream=FD_STREAM),
        "per_clip": Convention(MF.fd_item, True, "FD of each clip against its own ground truth, averaged over clips",
                               f"{LML} ('fid'); {DIM} ('fid_exp')"),
    }


for _name, _what in (("ffd", "Fréchet distance on face-motion features (FFD)"),
                     ("fgd", "Fréchet distance on gesture features (FGD)"),
                     ("fd", "Fréchet distance on the task's per-frame features")):
    register_metric(MetricSpec(_name, _what, "lower", MOTION, _fd_conventions(A2P + " (FD_g)"), "pooled", lower=0.0))

register_metric(MetricSpec(
    "fid", "Fréchet Inception distance on video frames (pool3 of the TF-ported Inception-v3)", "lower",
    {"generated": "pool3_generated", "reference": "pool3_reference", "valid": "pool3_valid"},
    {"pytorch-fid": Convention(MF.fd_set, False, "whole frames, bilinear resize to 299 without antialiasing", PYTORCH_FID,
                               interval="frechet", frechet_rows=MF.fd_set_rows, features={"extractor": "fid_inception"}),
     "clean-fid": Convention(MF.fd_set, False, "whole frames, clean-fid's 'clean' resize (PIL bicubic per float channel)",
                             "GaParmar/clean-fid, resize.py (mode clean)", interval="frechet", frechet_rows=MF.fd_set_rows,
                             features={"extractor": "fid_inception_clean"}),
     "antialias": Convention(MF.fd_set, False, "whole frames, antialiased bilinear resize (torchmetrics)",
                             "Lightning-AI/torchmetrics, image/fid.py (antialiased resize)", interval="frechet",
                             frechet_rows=MF.fd_set_rows,
                             features={"extractor": "fid_inception_antialias"}),
     "face-crop": Convention(MF.fd_set, False, "square face crops (1.5x the detected box) instead of whole frames",
                             interval="frechet", frechet_rows=MF.fd_set_rows, features={"extractor": "fid_inception_face"})},
    "pytorch-fid", lower=0.0))

register_metric(MetricSpec(
    "fvd", "Fréchet video distance: FD between the I3D logits of generated and true 16-frame clips", "lower",
    {"generated": "i3d_generated", "reference": "i3d_reference", "valid": "i3d_valid"},
    {"videogpt": Convention(MF.fd_set, False, "every 16-frame clip (frames 0-15, 16-31, ...), VideoGPT's I3D input "
                            "([-0.5, 0.5], shorter side bilinear to 224, centre crop), 400 logits; FD in float64 "
                            "(VideoGPT's own is float32: 1.4e-5 relative apart on 400-d logits)", VIDEOGPT_FVD,
                            interval="frechet", frechet_rows=MF.fd_set_rows, features={"extractor": "i3d_videogpt"})},
    "videogpt", lower=0.0))

register_metric(MetricSpec(
    "paired_fd", "FD on [partner ‖ generated] vs [partner ‖ true] frames: does the reaction fit the partner?", "lower",
    {**MOTION, "partner": "partner"},
    {"pooled": Convention(MF.paired_fd_set, False, "pooled over all items' valid frames", L2L + " (P-FD, pooled)",
                          interval="frechet", stream=Streaming(MF.paired_fd_item_stats, MF.paired_fd_finish,
                                                          reference_part=MF.paired_fd_reference_sums)),
     "per_clip": Convention(MF.paired_fd_item, True, "per clip, averaged over clips", f"{LML} ('fid2'); {DIM} ('pfid')")},
    "pooled", lower=0.0))

_KINETIC_STREAM = Streaming(MF.fd_kinetic_item_stats, MF.fd_kinetic_finish, reference_part=MF.fd_kinetic_reference_sums)
register_metric(MetricSpec(
    "fd_kinetic", "FD on frame-to-frame velocities (FD_k)", "lower", {**MOTION, "fps": "fps"},
    # Default per second: the same motion gives the same number at 25, 29.97, 30 or 240 Hz. At 30 Hz
    # it is exactly fps² = 900 times Audio2Photoreal's number, which takes plain frame differences.
    {"pooled": Convention(MF.fd_kinetic_set, False, "velocities per second (frame differences × fps) of valid frame "
                          "pairs, sample 0, pooled; at 30 Hz 900x the 'audio2photoreal' value",
                          interval="frechet", stream=_KINETIC_STREAM),
     "audio2photoreal": Convention(MF.fd_kinetic_set, False, "plain frame differences (no fps) within each item, every "
                                   "sample pooled against the ground truth repeated once per sample", A2P + " (fid_k)",
                                   {"per_second": False, "samples": "all"}, interval="frechet",
                                   stream=_KINETIC_STREAM)}, "pooled", lower=0.0))

register_metric(MetricSpec(
    "cross_sample_variance", "Variance across an item's samples (needs M ≥ 2 samples per item)", "higher",
    {"generated": "generated", "valid": "valid"},
    {"audio2photoreal": Convention(MM.cross_sample_variance_set, False, "np.var over the samples axis (÷M), mean over "
                                   "every value of every valid frame, pooled over items, raw", A2P + " ('cross var')",
                                   stream=Streaming(MM.cross_sample_variance_item_stats, MM.cross_sample_variance_finish))},
    "audio2photoreal"))

register_metric(MetricSpec(
    "l2", "Per-frame error between generated and true motion", "lower", {**MOTION, **STATS},
    {"dyadbench": Convention(MM.l2_item, True, "mean per-frame L2 norm on standardized features, every valid frame"),
     "learning2listen": Convention(MM.l2_item, True, "mean per-frame L2 norm, standardized, frames after the 32-frame seed",
                                   L2L, {"skip_frames": 32}),
     "lm-listener": Convention(MM.mse_item, True,
                               "mean squared error on raw features per clip, averaged over clips", f"{LML} ('l2'); {DIM} ('mse')")},
    "dyadbench"))

register_metric(MetricSpec(
    "variance", "Temporal variance of the generated motion (compare with the ground truth's)", "closer to reference",
    {"generated": "generated", "valid": "valid", **STATS},
    {"dyadbench": Convention(MM.variance_item, True, "per clip: variance over time (÷T) of standardized features, mean over dims"),
     "lm-listener": Convention(MM.variance_item, True, "per clip: np.mean(np.var(x, axis=0)) on raw features", LML,
                               {"standardize": False}),
     "react": Convention(MM.variance_item, True, "FRVar: torch.var over time (÷(T−1)), mean over samples and dims, raw",
                         REACT + "FRVar.py", {"standardize": False, "ddof": 1, "samples": "all"}),
     "audio2photoreal": Convention(MM.variance_item, True, "var_k: np.var over time (÷T) per sample and dim, raw, mean over "
                                   "samples and dims, then over items", A2P + " (var_k)",
                                   {"standardize": False, "samples": "all"})},
    "dyadbench", reference_inputs={"generated": "reference_samples"}))

register_metric(MetricSpec(
    "variance_pooled", "DIM's printed variance: np.var over all values of all frames", "closer to reference",
    {"generated": "generated", "valid": "valid"},
    {"dim": Convention(MM.variance_pooled_set, False, "np.var of every value of every frame, raw", DIM + " (var_exp)")},
    "dim", reference_inputs={"generated": "reference_samples"}))

SI_STREAM = Streaming(MM.si_item_stats, MM.si_finish, prepare=MM.si_fit)
register_metric(MetricSpec(
    "si_diversity", "Entropy (bits) of generated frames over k-means clusters of the ground truth", "closer to reference",
    {**MOTION, **STATS, "n_clusters": "si_clusters"},
    {"dyadbench": Convention(MM.si_diversity_set, False, "standardized; scikit-learn KMeans, 10 restarts, best inertia, "
                             "fitted on a seeded sample of at most 20,000 ground-truth frames",
                             params={"fit_frames": 20_000}, stream=SI_STREAM),
     "dim": Convention(MM.si_diversity_set, False,
                       "raw float32; KMeans(random_state=0, n_init='auto'); −Σ p log2(p + 1e-6); k = 40 exp / 20 pose",
                       DIM + " (calcuate_sid)",
                       {"standardize": False, "n_init": "auto", "log_eps": 1e-6, "dtype": np.float32},
                       stream=SI_STREAM)},
    "dyadbench", reference_inputs={"generated": "reference_samples"}, lower=0.0))

register_metric(MetricSpec(
    "diversity", "Mean distance of 10,000 random pairs of generated frames", "closer to reference",
    {"generated": "generated", "valid": "valid", **STATS},
    {"dyadbench": Convention(MM.diversity_set, False, "standardized features, sample 0, 10,000 seeded pairs",
                             pair_terms=MM.diversity_terms),
     "raw": Convention(MM.diversity_set, False, "raw features, sample 0, 10,000 seeded pairs of distinct frames",
                       params={"standardize": False}, pair_terms=MM.diversity_terms),
     "audio2photoreal": Convention(MM.diversity_set, False, "var_g: raw features of every sample pooled; 10,000 first "
                                   "and 10,000 second frames each drawn without replacement (seeded; A2P's are not)",
                                   A2P + " (calculate_diversity, var_g)",
                                   {"standardize": False, "samples": "all", "pairs": "audio2photoreal"},
                                   pair_terms=MM.diversity_terms)},
    "dyadbench", reference_inputs={"generated": "reference_samples"}))

register_metric(MetricSpec(
    "fr_corr", "FRCorr: concordance (CCC) of the generated with the appropriate (true) listener", "higher", MOTION,
    {"dyadbench": Convention(MM.fr_corr_item, True, "CCC mean over dims, mean over samples"),
     "react": Convention(MM.fr_corr_item, True, "CCC (+1e-8) mean over dims, summed over the samples", REACT + "FRC.py",
                         {"sample_reduce": "sum", "eps": 1e-8})},
    "dyadbench"))

register_metric(MetricSpec(
    "fr_dist", "FRDist: DTW distance to the appropriate (true) listener", "lower", {**MOTION, **STATS, "fps": "fps"},
    {"dyadbench": Convention(MM.fr_dist_item, True, "sample 0, standardized, DTW/dims on 10 s segments"),
     "react": Convention(MM.fr_dist_item, True, "whole sequence, raw 25-d REACT frames, grouped weighted DTW, summed over samples",
                         REACT + "FRD.py", {"segment_s": None, "standardize": False, "react_groups": True, "sample_reduce": "sum"})},
    "dyadbench"))

register_metric(MetricSpec(
    "fr_div", "FRDiv: diversity among an item's samples (needs M ≥ 2 samples per item)", "higher",
    {"generated": "generated", "valid": "valid"},
    {"react": Convention(MM.fr_div_item, True, "Σ_{i≠j} ‖x_i − x_j‖² / (M(M−1)·T·D) over one item's samples, raw",
                         REACT + "S_MSE.py")}, "react"))

register_metric(MetricSpec(
    "fr_syn", "FRSyn: |lag| of best listener–partner cross-correlation (frames)", "closer to reference",
    {"generated": "generated", "partner": "partner"},
    {"react": Convention(MM.fr_syn_item, True, "correlations averaged over dims, one best lag in ±49, every sample",
                         REACT + "TLCC.py (compute_TLCC)"),
     "react_mp": Convention(MM.fr_syn_item, True, "as react, but sample 0 only (compute_TLCC_mp returns inside its loop)",
                            REACT + "TLCC.py (compute_TLCC_mp)", {"samples": "first"}),
     "per_dim": Convention(MM.fr_syn_item, True, "best lag per dim, averaged (dyadbench 0.1)", params={"lag_from": "per_dim"})},
    "react", reference_inputs={"generated": "reference_samples"}))

register_metric(MetricSpec(
    "beat_consistency", "How close each kinematic beat (a minimum of joint speed) lies to the nearest audio onset, "
                        "averaged as a Gaussian of the gap: gestures that land on the speech rhythm score near 1", "higher",
    {"generated": "generated", "onsets": "onsets", "fps": "fps"},
    {"beat": Convention(MM.beat_consistency_item, True, "motion→audio, σ = 0.1 s; minima of mean speed over all "
                        "values of the task's features; spectral-flux onsets", "BEAT (Liu et al. 2022) / Bailando BeatAlign",
                        features={"onsets": "spectral_flux"}),
     "emage": Convention(EB.emage_beat_set, False, "audio→motion per upper-body joint (3, 6, 9, 12-21), σ = 0.3 s, on "
                         "SMPL-X joint positions (body_pose; root, jaw, eyes zero; no betas); minima of order 7 where the "
                         "speed ÷ EMAGE's mean speed > 0.10; librosa onsets at 16 kHz, hop 512; 2 s cut at each end; "
                         "items weighted by frames − 4 s. Needs SMPLX_NEUTRAL_2020.npz and mean_vel_smplxflame_30.npy",
                         f"{EMAGE} (BC) + train_emage_audio.py (its test loop)",
                         features={"onsets": "emage", "body_model": "smplx_neutral_2020", "mean_velocity": "emage_mean_velocity"},
                         stream=Streaming(EB.emage_beat_stats, EB.emage_beat_finish))},
    "beat", reference_inputs={"generated": "reference_samples"}))

for _order, _name, _what, _nth in ((3, "jerk", "Average jerk", "third"), (2, "acceleration", "Average acceleration", "second")):
    register_metric(MetricSpec(
        _name, f"{_what} of the generated motion (GENEA; compare with the ground truth's)", "closer to reference",
        {"generated": "generated", "valid": "valid", "fps": "fps"},
        {"genea": Convention(GE.mean_derivative_item, True,
                             f"per item: mean over joints of the mean norm of the {_nth} frame difference x fps^{_order}, "
                             f"sample 0, {ON_FEATURES}", f"{GENEA} @ 287c0e4, calk_jerk_or_acceleration.py",
                             {"order": _order})},
        "genea", reference_inputs={"generated": "reference_samples"}, lower=0.0))

register_metric(MetricSpec(
    "speed_hellinger", "Hellinger distance between the generated and true joint-speed histograms (GENEA)", "lower",
    {"generated": "generated", "reference": "reference", "valid": "valid", "fps": "fps"},
    {"genea": Convention(GE.speed_hellinger_set, False, "per-joint speeds (first difference x fps), unit bins on [0, 59] "
                         f"summed over joints and items; sqrt(1 − Σ sqrt(p q)); {ON_FEATURES}",
                         f"{GENEA} @ 287c0e4, calc_histogram.py + @ 72f267d, hellinger_distance.py",
                         stream=Streaming(GE.speed_hellinger_item_stats, GE.speed_hellinger_finish,
                                           reference_part=GE.speed_hellinger_reference_counts)),
     "genea_literal": Convention(GE.speed_hellinger_set, False, "as genea, after dropping the first two values of each frame "
                                 "as calc_histogram.py's [:, 2:] does (meant for its position files' fixed hips)",
                                 f"{GENEA} @ 287c0e4, calc_histogram.py + @ 72f267d, hellinger_distance.py",
                                 {"drop_leading": 2},
                                 stream=Streaming(GE.speed_hellinger_item_stats, GE.speed_hellinger_finish,
                                           reference_part=GE.speed_hellinger_reference_counts))},
    "genea", lower=0.0, upper=1.0))

register_metric(MetricSpec(
    "l1div", "L1div: mean L1 distance of generated frames to their item's mean pose (EMAGE)", "closer to reference",
    {"generated": "generated", "valid": "valid"},
    {"emage": Convention(GE.l1div_set, False, "Σ over items of Σ abs(x − item mean) over valid frames and values, ÷ total "
                         "frames; sample 0; on the task's features (the reference uses joint positions; no body model ships here)", f"{EMAGE} (L1div)",
                         stream=Streaming(GE.l1div_item_stats, GE.l1div_finish)),
     "emage_joints": Convention(EB.l1div_joints_set, False, "as emage, on the 55 SMPL-X joint positions EMAGE's test loop "
                                "computes (body_pose and hands + the model's mean hand pose; root, jaw, eyes zero; no "
                                "betas; 165 values a frame). Needs SMPLX_NEUTRAL_2020.npz",
                                f"{EMAGE} (L1div) + emage_utils/motion_rep_transfer.py (get_motion_rep_numpy)",
                                features={"body_model": "smplx_neutral_2020"},
                                stream=Streaming(EB.l1div_joints_item_stats, GE.l1div_finish))},
    "emage", reference_inputs={"generated": "reference_samples"}, lower=0.0))

register_metric(MetricSpec(
    "face_detection_rate", "Share of generated frames in which a face was detected", "higher", {"detected": "detected"},
    {"dyadbench": Convention(MM.detection_rate_item, True, "MediaPipe face detection per frame")}, "dyadbench"))

register_metric(MetricSpec(
    "sync", "SyncNet lip sync: Sync-C (confidence; Wav2Lip's LSE-C) and Sync-D (distance at the best offset; "
            "Wav2Lip's LSE-D)", "higher",
    {"video_emb": "sync_video_emb", "audio_emb": "sync_audio_emb"},
    {"syncnet_python": Convention(sync_confidence, True, "±15 frames; audio zero-padded at the edges; ‖v − a + 1e-6‖",
                                  SYNCNET, {"edge": "zero_pad", "eps": 1e-6}),
     "valid_edges": Convention(sync_confidence, True, "±15 frames; edge frames compared only with real audio",
                               params={"edge": "valid"})},
    # Wav2Lip's evaluation (Rudrabha/Wav2Lip, evaluation/scores_LSE/SyncNetInstance_calc_scores.py, run inside
    # syncnet_python) computes the same min distance / median − min over ±vshift offsets: the same numbers.
    "syncnet_python", parts={"sync_c": "higher", "sync_d": "lower"}, aliases={"sync_c": "LSE-C", "sync_d": "LSE-D"}))

RANKS = {"ranks": "ranks", "bank_size": "bank_size"}


def _recall_notes(k: int):
    def notes(shared: dict) -> dict:
        bank = shared["bank_size"]
        used = k_for_bank(k, bank)
        scaled = {"note": f"k scaled to the bank of {bank} (k·B/1896)"} if used != k else {}
        return {"k": used, "chance": chance_recall_at_k(used, bank), **scaled}

    return notes


for _k in (500, 1000):
    register_metric(MetricSpec(
        f"recall_at_{_k}", f"Share of queries whose true listener ranks in the top {_k} of the bank", "higher", RANKS,
        {"realtalk": Convention(recall_at_k_for_bank, False, "rank ≤ k, ties counted against the method",
                                "RealTalk (Geng et al. 2023), Table 1", {"k": _k})}, "realtalk", annotate=_recall_notes(_k),
        lower=0.0, upper=1.0))

_RANK_WORDS = {
    "median_rank": "Median over queries of the true listener's rank among the bank's listener clips "
                   "(1 = ranked first; chance is half the bank, 948 of 1,896 on the release)",
    "mean_rank": "Mean over queries of the true listener's rank in the bank (pulled up by the few queries "
                 "a method gets badly wrong; chance is half the bank)",
    "mrr": "Mean reciprocal rank: the average of 1/rank of the true listener (1 when it is always ranked "
           "first; rewards getting it to the very top)",
}
for _name, _fn, _dir in (("median_rank", median_rank, "lower"), ("mean_rank", mean_rank, "lower"), ("mrr", mrr, "higher")):
    register_metric(MetricSpec(
        _name, _RANK_WORDS[_name], _dir, {"ranks": "ranks"},
        {"realtalk": Convention(_fn, False, "1-based ranks, ties counted against the method", "RealTalk (Geng et al. 2023)")},
        "realtalk", annotate=(lambda shared: {"chance": (shared["bank_size"] + 1) / 2}) if _name == "median_rank" else None,
        lower=0.0 if _name == "mrr" else 1.0, upper=1.0 if _name == "mrr" else None))

GOAL = "RealTalk (Geng et al. 2023), goal-conditioned retrieval (Table 1: Social vs Rude response)"
register_metric(MetricSpec(
    "delta_median_rank", "Median rank under a goal minus under the reference goal (same queries)", "closer to reference",
    {"ranks": "ranks", "ranks_reference": "ranks_reference"},
    {"realtalk": Convention(delta_median_rank, False, "median(r_goal) − median(r_reference); a rude goal should make it > 0", GOAL)},
    "realtalk"))
register_metric(MetricSpec(
    "moved_share", "Share of queries whose true listener moved the goal's way (down for rude, up for appropriate)", "higher",
    {"ranks": "ranks", "ranks_reference": "ranks_reference", "goal_direction": "goal_direction"},
    {"realtalk": Convention(moved_share, False, "mean over queries of [r_goal > r_reference] (goal 'low') or [<] ('high'); "
                                                "goal-blind scores give ≈ 0.5", GOAL)},
    "realtalk"))

PERCEPTUAL = "RealTalk (Geng et al. 2023), perceptual loss"
PER_QUERY = "mean per-frame L2 over frames where both faces were found, per query"
DEEPFACE = "serengil/deepface 0.0.103"
# Each space's embedding as the library named computes it; a convention's ``features["space"]``
# tells the retrieval protocol which embedding to compute (face spaces in ``features.clip_faces``).
_SPACE_CONVENTIONS = {
    "": {"realtalk": Convention(perceptual_l2_item, True, PER_QUERY + "; RealTalk's released embeddings", PERCEPTUAL)},
    "_dlib": {"realtalk": Convention(perceptual_l2_item, True, PER_QUERY + "; dlib 128-d descriptor of 5-point-aligned "
                                     "150 px chips", PERCEPTUAL)},
    "_facenet128": {
        "realtalk": Convention(perceptual_l2_item, True, PER_QUERY + "; deepface Facenet, BGR, per-image whitening "
                               "(normalization='Facenet', what the network was trained with)",
                               f"{PERCEPTUAL}; {DEEPFACE}, Facenet.py + represent(normalization='Facenet')",
                               features={"space": "facenet128"}),
        "base": Convention(perceptual_l2_item, True, PER_QUERY + "; deepface Facenet, BGR, pixels / 255 (represent's "
                           "default normalization='base')", f"{PERCEPTUAL}; {DEEPFACE}, represent() defaults",
                           features={"space": "facenet128_base"})},
    "_facenet512": {"realtalk": Convention(perceptual_l2_item, True, PER_QUERY + "; facenet-pytorch InceptionResnetV1 "
                                           "(vggface2), L2-normalised 512-d", f"{PERCEPTUAL}; timesler/facenet-pytorch v2.2.9")},
    "_vggface": {
        "realtalk": Convention(perceptual_l2_item, True, PER_QUERY + "; VGG-Face fc7 after ReLU, L2-normalised, BGR [0, 1]",
                               f"{PERCEPTUAL}; {DEEPFACE}, VGGFace.py (VggFaceClient.forward)", features={"space": "vggface"}),
        "deepface-0.0.79": Convention(perceptual_l2_item, True, PER_QUERY + "; VGG-Face fc8 (2,622-d, before softmax), "
                                      "not normalised, BGR [0, 1]", f"{PERCEPTUAL}; serengil/deepface 0.0.79, VGGFace.py",
                                      features={"space": "vggface_fc8"})},
    "_deepface": {"realtalk": Convention(perceptual_l2_item, True, PER_QUERY + "; DeepFace F7 (4096-d), BGR [0, 1]",
                                         f"{PERCEPTUAL}; {DEEPFACE}, FbDeepFace.py")},
}
for _space, _what in (("", "RealTalk's released visual embeddings"), ("_dlib", "dlib face descriptor (128-d)"),
                      ("_facenet128", "FaceNet (128-d)"), ("_facenet512", "FaceNet-512"), ("_vggface", "VGG-Face"),
                      ("_deepface", "DeepFace (F7, 4096-d)")):
    register_metric(MetricSpec(
        f"perceptual_l2{_space}", f"L2 between the top-1 retrieved and the true listener's faces in the {_what} space", "lower",
        {"predicted": f"top1{_space or '_released'}", "reference": f"true{_space or '_released'}"},
        _SPACE_CONVENTIONS[_space], "realtalk"))
