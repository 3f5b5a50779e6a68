r"""EMAGE's metrics on joint positions (PantoMatrix @ 0bbb03d, ``emage_evaltools/mertic.py``): beat
consistency (``BC``, below) and L1div on SMPL-X joints (``l1div_joints_item_stats``).

Its test loop (``train_emage_audio.py``) turns each generated sequence of t frames into joint
positions with SMPL-X (global orientation, translation, jaw and eyes zero; the dataset's betas —
Seamless has none, so the body model's template) and then:

1. joint velocities by central differences, one-sided at the first and last frame, ÷ dt; each
   joint's speed divided by its mean speed from ``mean_vel_smplxflame_30.npy``;
2. motion beats of joint j: the local minima (``argrelextrema``, ``np.less``, order 7) of its
   normalised speed over frames [60, t − 60) — 2 s dropped at each end — kept where the normalised
   speed exceeds 0.10. The reference reads that threshold at the minimum's index *within the cut*
   applied to the uncut sequence, i.e. 60 frames earlier than the minimum itself; reproduced here;
3. audio beats: librosa onsets of the audio cut to the same span (``features.librosa_onsets``);
4. per joint of the upper body (3, 6, 9, 12–21): the mean over audio beats of
   ``exp(−d² / 2σ²)``, d the gap to the joint's nearest motion beat, σ = 0.3 s (``GAHR``; a joint
   without motion beats counts 0), summed and divided by 13;
5. the set's value: those per-sequence scores averaged with weights t − 120 (``BC.avg``).

Joint 3 (spine 1) hangs off the pelvis, whose rotation EMAGE sets to zero: it never moves, has no
beats and counts 0, so the score cannot exceed 12/13 — a property of the reference, kept.
"""

from __future__ import annotations

import numpy as np
from scipy.spatial.transform import Rotation

from ._validation import as_float_array
from .genea_emage import l1div_finish, l1div_item_stats
from .gesture import beat_consistency

UPPER_BODY = (3, 6, 9, 12, 13, 14, 15, 16, 17, 18, 19, 20, 21)
BODY_JOINTS = 22  # SMPL-H / SMPL-X joints 0-21: pelvis and the 21 body joints (hands and face hang off them)


def forward_kinematics(rotvecs, rest_joints, parents) -> np.ndarray:
    """Joint positions (T, J, 3) of a kinematic tree posed by local axis-angle rotations (T, J, 3):
    joint j sits at its parent's position plus the parent's global rotation applied to its rest
    offset; the root stays at its rest position (as SMPL's ``batch_rigid_transform``)."""
    r = as_float_array(rotvecs, "rotvecs", ndim=3)
    rest = as_float_array(rest_joints, "rest_joints", ndim=2)
    parents = np.asarray(parents, np.int64)
    n_joints = r.shape[1]
    if rest.shape[0] < n_joints or rest.shape[1] != 3 or len(parents) < n_joints:
        raise ValueError(f"rest_joints/parents: {n_joints} joints posed, got rest joints {rest.shape} and "
                         f"{len(parents)} parents")
    if any(not 0 <= parents[j] < j for j in range(1, n_joints)):
        raise ValueError("parents: each joint's parent must come before it (a kinematic tree in SMPL's order)")
    local = Rotation.from_rotvec(r.reshape(-1, 3)).as_matrix().reshape(r.shape[0], n_joints, 3, 3)
    glob = np.empty_like(local)
    pos = np.empty(r.shape, np.float64)
    glob[:, 0], pos[:, 0] = local[:, 0], rest[0]
    for j in range(1, n_joints):
        p = parents[j]
        glob[:, j] = glob[:, p] @ local[:, j]
        pos[:, j] = pos[:, p] + glob[:, p] @ (rest[j] - rest[p])
    return pos


def body_positions(frames, rest_joints, parents) -> np.ndarray:
    """Positions (T, 22, 3) of the body joints for frames whose first 63 values are SMPL-H's
    ``body_pose`` (21 joints x axis-angle, the gesture task's first feature), root rotation zero."""
    x = as_float_array(frames, "generated", ndim=2)
    if x.shape[1] < 63:
        raise ValueError(f"generated: EMAGE's beat consistency needs SMPL-H body_pose (63 values) first, got {x.shape[1]}")
    rot = np.concatenate([np.zeros((len(x), 1, 3)), x[:, :63].reshape(len(x), 21, 3)], axis=1)
    return forward_kinematics(rot, rest_joints, parents)


SMPLX_JOINTS = 55  # pelvis, body 1-21, jaw 22, eyes 23-24, left hand 25-39, right hand 40-54


def smplx_positions(frames, rest_joints, parents, hands_mean) -> np.ndarray:
    """Positions (T, 55, 3) of every SMPL-X joint as EMAGE's ``get_motion_rep_numpy`` poses them from
    Seamless's 153 values (body_pose 63, left hand 45, right hand 45): root, jaw and eyes zero, each
    hand's rotations plus the model's mean hand pose (``hands_mean``: left 45 then right 45; smplx's
    ``flat_hand_mean=False``, its default)."""
    x = as_float_array(frames, "generated", ndim=2)
    if x.shape[1] != 153:
        raise ValueError(f"generated: expected Seamless's 153 SMPL-H values a frame (body 63, hands 45 + 45), got {x.shape[1]}")
    means = as_float_array(hands_mean, "hands_mean", ndim=1)
    if means.shape != (90,):
        raise ValueError(f"hands_mean: expected 90 values (left then right hand), got {means.shape}")
    rot = np.zeros((len(x), SMPLX_JOINTS, 3))
    rot[:, 1:22] = x[:, :63].reshape(-1, 21, 3)
    rot[:, 25:40] = (x[:, 63:108] + means[:45]).reshape(-1, 15, 3)
    rot[:, 40:55] = (x[:, 108:153] + means[45:]).reshape(-1, 15, 3)
    return forward_kinematics(rot, rest_joints, parents)


def l1div_joints_item_stats(generated, valid, rest_joints, parents, hands_mean=None) -> np.ndarray:
    """``[Σ |p − mean p|, frames]`` over one item's valid frames (sample 0) of its 55 SMPL-X joint
    positions (165 values a frame): EMAGE's ``L1div.compute`` on ``get_motion_rep_numpy``'s positions."""
    if len(rest_joints) != SMPLX_JOINTS or hands_mean is None:
        raise ValueError(f"rest_joints: EMAGE's L1div on joints needs the SMPL-X model (55 joints and its mean hand "
                         f"poses), got {len(rest_joints)} joints{'' if hands_mean is not None else ' without hands_meanl/r'}")
    pos = smplx_positions(np.asarray(generated)[0], rest_joints, parents, hands_mean)
    return l1div_item_stats(pos.reshape(1, len(pos), -1), valid)  # EMAGE's L1div itself, on the positions


def l1div_joints_set(generated, valid, rest_joints, parents, hands_mean=None) -> float:
    """EMAGE's ``L1div.avg()`` on joint positions: Σ over items ÷ total frames."""
    return l1div_finish(sum(l1div_joints_item_stats(g, v, rest_joints, parents, hands_mean)
                            for g, v in zip(generated, valid)))


def central_speeds(positions, fps: float) -> np.ndarray:
    """(T, J) speeds: central differences ÷ 2 dt inside, one-sided ÷ dt at both ends."""
    p = np.asarray(positions, np.float64)
    if len(p) < 2:
        raise ValueError(f"positions: needs at least 2 frames, got {len(p)}")
    vel = np.empty_like(p)
    vel[0], vel[-1] = (p[1] - p[0]) * fps, (p[-1] - p[-2]) * fps
    vel[1:-1] = (p[2:] - p[:-2]) * (fps / 2.0)
    return np.linalg.norm(vel, axis=-1)


def emage_motion_beats(speed, *, start: int, stop: int, order: int = 7, threshold: float = 0.10) -> np.ndarray:
    """Frame indices (from ``start``) of one joint's motion beats, as ``BC.load_motion`` keeps them."""
    s = np.asarray(speed, np.float64)
    from scipy.signal import argrelextrema  # here: scipy.signal costs ~1.4 s to import, and only gesture needs it

    minima = argrelextrema(s[start:stop], np.less, order=int(order))[0]
    return minima[s[minima] > threshold]  # the reference's mask: indices of the uncut speed (see the docstring)


def emage_beat_stats(generated, emage_onsets, rest_joints, parents, mean_velocity, fps, *, sigma: float = 0.3,
                     order: int = 7, threshold: float = 0.10, joints=UPPER_BODY, trim_s: float = 2.0) -> np.ndarray:
    """``[score x weight, weight]`` of one item (sample 0), weight = frames − 2 x trim (``BC.compute``)."""
    x = np.asarray(generated)[0]
    trim = int(round(trim_s * fps))
    n = len(x)
    if n - 2 * trim < 2 * order + 1:
        raise ValueError(f"generated: EMAGE's beat consistency drops {trim} frames at each end; {n} frames leave "
                         f"too few for order-{order} minima")
    mean_vel = as_float_array(mean_velocity, "mean_velocity", ndim=1)
    if len(mean_vel) < BODY_JOINTS or not (mean_vel > 0).all():
        raise ValueError(f"mean_velocity: expected ≥ {BODY_JOINTS} positive per-joint mean speeds, got shape {mean_vel.shape}")
    speed = central_speeds(body_positions(x, rest_joints, parents), fps) / mean_vel[:BODY_JOINTS]
    onsets = np.asarray(emage_onsets, np.float64)
    per_joint = []
    for j in joints:
        beats = emage_motion_beats(speed[:, j], start=trim, stop=n - trim, order=order, threshold=threshold)
        if not len(beats):
            per_joint.append(0.0)
            continue
        if not len(onsets):
            raise ValueError("emage_onsets: the item's audio has no onset (EMAGE's GAHR divides by their number)")
        per_joint.append(beat_consistency(beats / float(fps), onsets, sigma=sigma, direction="audio_to_motion"))
    weight = float(n - 2 * trim)
    return np.array([sum(per_joint) / len(joints) * weight, weight])


def emage_beat_finish(stats) -> float:
    """``BC.avg()``: the items' weighted scores summed ÷ their summed weights — the same ratio of
    sums as ``L1div.avg()``, so the one function computes both."""
    return l1div_finish(stats)


def emage_beat_set(generated, emage_onsets, rest_joints, parents, mean_velocity, fps, **params) -> float:
    """EMAGE's beat consistency of a set: items' scores weighted by their frames less 2 x 2 s."""
    return emage_beat_finish(sum(emage_beat_stats(g, o, rest_joints, parents, mean_velocity, fps, **params)
                                 for g, o in zip(generated, emage_onsets)))
