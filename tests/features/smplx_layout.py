"""A small body-model file in the layout of SMPL-X's ``SMPLX_NEUTRAL_2020.npz`` (the file EMAGE loads).

Same member names, dtypes and trailing shapes as the SMPL-X 1.1 release (2020 neutral model: 300 shape
+ 100 expression components, 486 pose correctives = 54 joints x 9; 55 joints in SMPL-X's kinematic
tree, ``kintree_table[0, 0]`` holding the uint32 "no parent" 4294967295; ``joint2num``/``part2num``
pickled dicts, which is why ``smplx`` loads it with ``allow_pickle=True``), but a few hundred
vertices instead of 10,475 so the file stays small. The numbers are random: what matters is that
``smplx`` reads this file and that dyadbench reads the same numbers from it.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

# SMPL-X's parents (pelvis, body 1-21, jaw, eyes 23-24, left hand 25-39, right hand 40-54).
SMPLX_PARENTS = [-1, 0, 0, 0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 9, 9, 12, 13, 14, 16, 17, 18, 19, 15, 15, 15,
                 20, 25, 26, 20, 28, 29, 20, 31, 32, 20, 34, 35, 20, 37, 38,
                 21, 40, 41, 21, 43, 44, 21, 46, 47, 21, 49, 50, 21, 52, 53]


CORE_VERTICES = 240


def write_smplx_npz(path: Path, seed: int = 0, n_vertices: int = CORE_VERTICES) -> Path:
    """``n_vertices`` > 240 pads the mesh with vertices no joint regresses from (the rest joints do
    not change): ``smplx`` itself needs the real 10,475, whose face and foot landmarks it indexes."""
    rng = np.random.default_rng(seed)
    n_joints, n_faces, core = 55, 2 * n_vertices, CORE_VERTICES
    # A body-sized rest skeleton: each joint 5-25 cm from its parent, vertices scattered around joints.
    joints = np.zeros((n_joints, 3))
    for j in range(1, n_joints):
        step = rng.normal(size=3)
        joints[j] = joints[SMPLX_PARENTS[j]] + step / np.linalg.norm(step) * rng.uniform(0.05, 0.25)
    owner = rng.integers(0, n_joints, core)
    owner[:n_joints] = np.arange(n_joints)
    v_template = joints[owner] + rng.normal(scale=0.02, size=(core, 3))
    regressor = np.zeros((n_joints, n_vertices))
    for j in range(n_joints):  # non-negative rows summing to one over the joint's own vertices
        members = np.flatnonzero(owner == j)
        w = rng.uniform(0.2, 1.0, len(members))
        regressor[j, members] = w / w.sum()
    kintree = np.stack([np.array(SMPLX_PARENTS, np.int64), np.arange(n_joints, dtype=np.int64)])
    kintree[0, 0] = 4294967295
    hands_mean = rng.normal(scale=0.3, size=(2, 45))  # smplx adds these to the hand poses: fixed with the joints
    rng = np.random.default_rng([seed, n_vertices])  # what follows does not move the joints
    v_template = np.concatenate([v_template, rng.normal(scale=0.3, size=(n_vertices - core, 3))])
    weights = rng.uniform(size=(n_vertices, n_joints))
    members = {
        "hands_meanr": hands_mean[1], "hands_meanl": hands_mean[0],
        "lmk_bary_coords": rng.dirichlet(np.ones(3), 51), "vt": rng.uniform(size=(n_vertices, 2)),
        "posedirs": rng.normal(scale=1e-3, size=(n_vertices, 3, 486)),
        "part2num": np.array({"global": 0, "head": 1}, dtype=object),
        "hands_coeffsr": rng.normal(size=(1554, 45)), "hands_coeffsl": rng.normal(size=(1554, 45)),
        "lmk_faces_idx": rng.integers(0, n_faces, 51).astype(np.int64),
        "J_regressor": regressor,
        "dynamic_lmk_faces_idx": rng.integers(0, n_faces, (79, 17)).astype(np.int64),
        "hands_componentsr": rng.normal(size=(45, 45)), "hands_componentsl": rng.normal(size=(45, 45)),
        "shapedirs": rng.normal(scale=1e-3, size=(n_vertices, 3, 400)),
        "dynamic_lmk_bary_coords": rng.dirichlet(np.ones(3), (79, 17)),
        "ft": rng.integers(0, n_vertices, (n_faces, 3)).astype(np.uint32),
        "joint2num": np.array({"pelvis": 0, "left_hip": 1}, dtype=object),
        "v_template": v_template, "allow_pickle": np.array(True),
        "f": rng.integers(0, n_vertices, (n_faces, 3)).astype(np.uint32),
        "kintree_table": kintree, "weights": weights / weights.sum(1, keepdims=True),
    }
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    with open(path, "wb") as f:
        np.savez(f, **members)
    return path
