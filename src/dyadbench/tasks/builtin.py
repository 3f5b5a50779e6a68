"""The built-in tasks of both benchmarks (declarations only)."""

from __future__ import annotations

from .registry import Task, register

MOTION_BASELINES = ("random", "mirror", "mean", "nearest_neighbour")

register(Task(
    name="seamless/facial-motion",
    dataset="seamless",
    protocol="motion",
    split="test",
    description="Generate one participant's face motion (movement:expression, 128-d at 30 Hz) given the other.",
    feature_keys=("movement:expression",),
    valid_key="movement:is_valid",
    metrics=("ffd", "paired_fd", "fd_kinetic", "l2", "variance", "si_diversity", "fr_corr", "fr_dist", "fr_syn", "fr_div"),
    baselines=MOTION_BASELINES,
))

register(Task(
    name="seamless/gesture",
    dataset="seamless",
    protocol="motion",
    split="test",
    description="Generate one participant's body and hand motion (SMPL-H axis-angle, 153-d at 30 Hz) given the other.",
    feature_keys=("smplh:body_pose", "smplh:left_hand_pose", "smplh:right_hand_pose"),
    valid_key="smplh:is_valid",
    metrics=("fgd", "paired_fd", "fd_kinetic", "diversity", "variance", "beat_consistency", "cross_sample_variance",
             "l1div", "speed_hellinger", "jerk", "acceleration"),
    baselines=MOTION_BASELINES,
    si_clusters=20,
))

register(Task(
    name="seamless/video",
    dataset="seamless",
    protocol="video",
    split="test",
    description="Generate one participant's video (30 fps mp4) given the other; FID on frames, FVD on 16-frame clips, Sync-C/Sync-D, FFD on extracted face motion.",
    metrics=("ffd", "paired_fd", "face_detection_rate", "fid", "fvd", "sync"),
    baselines=("mirror", "ground_truth"),
))

register(Task(
    name="realtalk/listener-retrieval",
    dataset="realtalk",
    protocol="retrieval",
    split="eval",
    description="For each eval speaker clip rank the bank's 1,896 listener clips (scores.npz); Recall@500/1000, median rank, perceptual L2 of the top-1 listener.",
    metrics=("recall_at_500", "recall_at_1000", "median_rank", "mean_rank", "mrr", "perceptual_l2",
             "perceptual_l2_dlib", "perceptual_l2_facenet128", "perceptual_l2_facenet512", "perceptual_l2_vggface",
             "perceptual_l2_deepface"),
    baselines=("random", "speaker_nearest_neighbour", "affect"),
    fps=25.0,
    options={
        # Goal -> where the true listener should rank: a socially appropriate listener near the top,
        # a rude response pushes it down. The first goal is the reference (the plain `scores` array).
        "goals": {"appropriate": "high", "rude": "low"},
        # Published rows (RealTalk, Geng et al. 2023, Table 1; 407 queries, bank 1,896): shown beside
        # ours, marked as published numbers. (R@500, R@1000, median rank)
        "published": {"Social response (RealTalk)": (0.31, 0.56, 834), "w/o CLIP tuning": (0.29, 0.60, 830),
                      "w/o keyframes": (0.31, 0.56, 895), "Learning2Listen": (0.26, 0.50, 996),
                      "Random": (0.26, 0.52, 948), "Rude response (RealTalk)": (0.22, 0.47, 1061)},
    },
))
